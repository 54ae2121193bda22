//===- MathKernels.cpp - MatMul, Gemm, Softmax, normalizations ------------===//

#include "Blas.h"
#include "Broadcast.h"
#include "DTypeDispatch.h"
#include "OnnxKernels.h"

#include "s10/Runtime/Kernels.h"

#include <cmath>

using namespace llvm;
using namespace s10::runtime;

namespace {

Error emit(Tensor t, SmallVectorImpl<Tensor> &out) {
  out.push_back(std::move(t));
  return Error::success();
}

bool isHalfLike(DType t) { return t == DType::F16 || t == DType::BF16; }

//===----------------------------------------------------------------------===//
// MatMul
//===----------------------------------------------------------------------===//

/// Batched row-major product in the compute type T (float: BLAS).
template <typename T>
void batchedProduct(ThreadPool &pool, const T *a, const T *b, T *c,
                    ArrayRef<int64_t> aOff, ArrayRef<int64_t> bOff, int64_t m,
                    int64_t n, int64_t k) {
  int64_t batches = aOff.size();
  auto one = [&](int64_t i, bool parallel) {
    const T *ap = a + aOff[i], *bp = b + bOff[i];
    T *cp = c + i * m * n;
    if constexpr (std::is_same_v<T, float>) {
      gemm(parallel ? &pool : nullptr, false, false, m, n, k, 1.0f, ap, k, bp,
           n, 0.0f, cp, n);
    } else if constexpr (std::is_same_v<T, double>) {
      if (m && n && k)
        blas().dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0,
                     ap, k, bp, n, 0.0, cp, n);
      else
        std::fill(cp, cp + m * n, 0.0);
    } else {
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) {
          T acc = 0;
          for (int64_t x = 0; x < k; ++x)
            acc += ap[r * k + x] * bp[x * n + j];
          cp[r * n + j] = acc;
        }
    }
  };
  if (batches >= pool.size() && batches > 1) {
    pool.parallelTasks(batches, [&](int64_t i, int) { one(i, false); });
  } else {
    for (int64_t i = 0; i < batches; ++i)
      one(i, true);
  }
}

Error matMulKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  Tensor a = in[0], b = in[1];
  if (a.dtype() != b.dtype())
    return makeError("operand types differ: " + a.describe() + " and " +
                     b.describe());
  if (a.rank() == 0 || b.rank() == 0)
    return makeError("MatMul operands must have rank >= 1");
  DType dt = a.dtype();
  bool aVec = a.rank() == 1, bVec = b.rank() == 1;
  if (aVec)
    a = a.reshaped({1, a.dim(0)});
  if (bVec)
    b = b.reshaped({b.dim(0), 1});
  int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  if (b.dim(-2) != k)
    return makeError("inner dimensions differ: " + in[0].describe() + " x " +
                     in[1].describe());
  Shape aBatch(a.shape().drop_back(2)), bBatch(b.shape().drop_back(2));
  auto batch = broadcastShapes({aBatch, bBatch});
  if (!batch)
    return batch.takeError();
  Shape outShape = *batch;
  outShape.push_back(m);
  outShape.push_back(n);

  // Batch offsets; a constant 2-D right operand folds A's batch into M.
  SmallVector<int64_t> aOff, bOff;
  int64_t effM = m;
  if (shapeNumel(bBatch) == 1 && aBatch.size() >= bBatch.size() &&
      ArrayRef<int64_t>(*batch) == ArrayRef<int64_t>(aBatch)) {
    effM = m * shapeNumel(aBatch);
    aOff.push_back(0);
    bOff.push_back(0);
  } else {
    BroadcastPlan plan = planBroadcast({aBatch, bBatch}, *batch);
    int64_t nb = shapeNumel(*batch);
    aOff.resize(nb);
    bOff.resize(nb);
    runBroadcast(
        plan, nullptr, 0,
        [&](int64_t o, const int64_t *io, int64_t cnt, const int64_t *is) {
          for (int64_t i = 0; i < cnt; ++i) {
            aOff[o + i] = (io[0] + i * is[0]) * m * k;
            bOff[o + i] = (io[1] + i * is[1]) * k * n;
          }
        });
  }

  Tensor result;
  if (dt == DType::F32 || isHalfLike(dt)) {
    Tensor af = a.toF32(), bf = b.toF32();
    result = Tensor::empty(DType::F32, outShape);
    batchedProduct<float>(ctx.pool, af.f32(), bf.f32(), result.f32Mutable(),
                          aOff, bOff, effM, n, k);
    if (isHalfLike(dt))
      result = result.castTo(dt);
  } else if (dt == DType::F64) {
    result = Tensor::empty(DType::F64, outShape);
    batchedProduct<double>(ctx.pool, a.data_as<double>(), b.data_as<double>(),
                           result.mutable_as<double>(), aOff, bOff, effM, n, k);
  } else if (isInteger(dt)) {
    Tensor a64 = a.castTo(DType::I64), b64 = b.castTo(DType::I64);
    result = Tensor::empty(DType::I64, outShape);
    batchedProduct<int64_t>(
        ctx.pool, a64.data_as<int64_t>(), b64.data_as<int64_t>(),
        result.mutable_as<int64_t>(), aOff, bOff, effM, n, k);
    result = result.castTo(dt);
  } else {
    return makeError("unsupported MatMul type " + a.describe());
  }
  if (aVec || bVec) {
    Shape s(batch->begin(), batch->end());
    if (!aVec)
      s.push_back(m);
    if (!bVec)
      s.push_back(n);
    result = result.reshaped(s);
  }
  return emit(result, out);
}

//===----------------------------------------------------------------------===//
// Gemm
//===----------------------------------------------------------------------===//

Error gemmKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                 SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &a = in[0], &b = in[1];
  const Tensor &c = optionalInput(in, 2);
  if (a.rank() != 2 || b.rank() != 2)
    return makeError("Gemm operands must be 2-D");
  bool ta = ctx.attrInt("transA", 0), tb = ctx.attrInt("transB", 0);
  double alpha = ctx.attrFloat("alpha", 1.0), beta = ctx.attrFloat("beta", 1.0);
  int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
  int64_t kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
  if (k != kb)
    return makeError("inner dimensions differ: " + a.describe() + " x " +
                     b.describe());
  DType dt = a.dtype();
  bool useF32 = dt == DType::F32 || isHalfLike(dt);
  DType ct = useF32 ? DType::F32 : DType::F64;
  Tensor y = Tensor::zeros(ct, {m, n});
  if (c && beta != 0.0) {
    auto shape = broadcastShapes({Shape(c.shape()), Shape({m, n})});
    if (!shape || ArrayRef<int64_t>(*shape) != ArrayRef<int64_t>({m, n})) {
      if (!shape)
        consumeError(shape.takeError());
      return makeError("C " + c.describe() + " does not broadcast to [" +
                       Twine(m) + ", " + Twine(n) + "]");
    }
    Tensor cc = c.castTo(ct);
    BroadcastPlan plan = planBroadcast({Shape(cc.shape())}, {m, n});
    size_t elt = dtypeSize(ct);
    runBroadcast(
        plan, nullptr, 0,
        [&](int64_t o, const int64_t *io, int64_t cnt, const int64_t *is) {
          for (int64_t i = 0; i < cnt; ++i)
            std::memcpy(static_cast<char *>(y.rawMutable()) + (o + i) * elt,
                        static_cast<const char *>(cc.raw()) +
                            (io[0] + i * is[0]) * elt,
                        elt);
        });
  } else {
    beta = 0.0;
  }
  Tensor ac = a.castTo(ct), bc = b.castTo(ct);
  if (useF32) {
    gemm(&ctx.pool, ta, tb, m, n, k, float(alpha), ac.f32(), a.dim(1), bc.f32(),
         b.dim(1), float(beta), y.f32Mutable(), n);
  } else if (m && n) {
    if (k)
      blas().dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                   tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                   ac.data_as<double>(), a.dim(1), bc.data_as<double>(),
                   b.dim(1), beta, y.mutable_as<double>(), n);
    else
      for (int64_t i = 0; i < m * n; ++i)
        y.mutable_as<double>()[i] *= beta;
  }
  return emit(y.castTo(dt), out);
}

//===----------------------------------------------------------------------===//
// Softmax family
//===----------------------------------------------------------------------===//

enum class SoftKind { Softmax, LogSoftmax, Hardmax };

template <SoftKind Kind>
Error softmaxKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  Shape origShape(in[0].shape());
  Tensor x = std::move(in[0]);
  DType dt = x.dtype();
  if (!isFloat(dt))
    return makeError("expects a float input, got " + x.describe());
  if (x.rank() == 0)
    x = x.reshaped({1});
  auto axis = normalizeAxis(ctx.attrInt("axis", -1), x.rank());
  if (!axis)
    return axis.takeError();
  // Move the axis last.
  int64_t rank = x.rank();
  SmallVector<int64_t, 6> perm;
  bool last = *axis == rank - 1;
  if (!last) {
    for (int64_t i = 0; i < rank; ++i)
      if (i != *axis)
        perm.push_back(i);
    perm.push_back(*axis);
    x = transposeTensor(x, perm, &ctx.pool);
  }
  int64_t n = x.dim(-1), rows = n ? x.numel() / n : 0;
  Tensor y;
  if (dt == DType::F64) {
    y = Tensor::empty(DType::F64, x.shape());
    const double *src = x.data_as<double>();
    double *dst = y.mutable_as<double>();
    for (int64_t r = 0; r < rows; ++r) {
      const double *s = src + r * n;
      double *d = dst + r * n;
      double mx = -INFINITY;
      int64_t arg = 0;
      for (int64_t i = 0; i < n; ++i)
        if (s[i] > mx) {
          mx = s[i];
          arg = i;
        }
      if (Kind == SoftKind::Hardmax) {
        for (int64_t i = 0; i < n; ++i)
          d[i] = i == arg;
        continue;
      }
      double sum = 0;
      for (int64_t i = 0; i < n; ++i)
        sum += std::exp(s[i] - mx);
      for (int64_t i = 0; i < n; ++i)
        d[i] = Kind == SoftKind::Softmax ? std::exp(s[i] - mx) / sum
                                         : s[i] - mx - std::log(sum);
    }
  } else {
    // Work in place when the executor handed the input over.
    y = x.toF32();
    x = Tensor();
    if (!y.isUniqueWritable())
      y = y.clone();
    float *d = y.f32Mutable();
    ctx.pool.parallelFor(
        rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)),
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            float *row = d + r * n;
            if constexpr (Kind == SoftKind::Softmax) {
              softmaxRow(row, n);
            } else if constexpr (Kind == SoftKind::LogSoftmax) {
              float lse = float(logSumExpRow(row, n));
              for (int64_t i = 0; i < n; ++i)
                row[i] -= lse;
            } else {
              int64_t arg = 0;
              for (int64_t i = 1; i < n; ++i)
                if (row[i] > row[arg])
                  arg = i;
              for (int64_t i = 0; i < n; ++i)
                row[i] = i == arg;
            }
          }
        });
    if (isHalfLike(dt))
      y = y.castTo(dt);
  }
  if (!last) {
    SmallVector<int64_t, 6> inv(rank);
    for (int64_t i = 0; i < rank; ++i)
      inv[perm[i]] = i;
    y = transposeTensor(y, inv, &ctx.pool);
  }
  return emit(y.reshaped(origShape), out);
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

Error layerNormKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                      SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &x = in[0], &scale = in[1];
  const Tensor &bias = optionalInput(in, 2);
  auto axis = normalizeAxis(ctx.attrInt("axis", -1), x.rank());
  if (!axis)
    return axis.takeError();
  double eps = ctx.attrFloat("epsilon", 1e-5);
  int64_t n = shapeNumel(x.shape().drop_front(*axis));
  int64_t rows = n ? x.numel() / n : 0;
  auto expandParam = [&](const Tensor &p) -> Expected<std::vector<double>> {
    std::vector<double> v(n);
    if (p.numel() == n) {
      for (int64_t i = 0; i < n; ++i)
        v[i] = p.getDouble(i);
    } else if (p.numel() == 1) {
      std::fill(v.begin(), v.end(), p.getDouble(0));
    } else {
      return makeError("scale/bias " + p.describe() +
                       " does not match the normalized size " + Twine(n));
    }
    return v;
  };
  auto sv = expandParam(scale);
  if (!sv)
    return sv.takeError();
  std::vector<double> bv(n, 0.0);
  if (bias) {
    auto b = expandParam(bias);
    if (!b)
      return b.takeError();
    bv = *b;
  }
  Shape statShape(x.shape().take_front(*axis));
  statShape.append(x.rank() - *axis, 1);
  Tensor y = Tensor::empty(DType::F64, x.shape());
  Tensor mean = Tensor::empty(DType::F64, statShape);
  Tensor invStd = Tensor::empty(DType::F64, statShape);
  Tensor xd = x.castTo(DType::F64);
  const double *xp = xd.data_as<double>();
  double *yp = y.mutable_as<double>();
  for (int64_t r = 0; r < rows; ++r) {
    const double *s = xp + r * n;
    double mu = 0, var = 0;
    for (int64_t i = 0; i < n; ++i)
      mu += s[i];
    mu /= double(n);
    for (int64_t i = 0; i < n; ++i)
      var += (s[i] - mu) * (s[i] - mu);
    var /= double(n);
    double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i)
      yp[r * n + i] = (s[i] - mu) * inv * (*sv)[i] + bv[i];
    mean.mutable_as<double>()[r] = mu;
    invStd.mutable_as<double>()[r] = inv;
  }
  out.push_back(y.castTo(x.dtype()));
  // Mean / InvStdDev are in the stash type (f32 by default).
  DType stash = ctx.floatType(ctx.attrInt("stash_type", 1) == 11 ? DType::F64
                                                                 : DType::F32);
  out.push_back(mean.castTo(stash));
  out.push_back(invStd.castTo(stash));
  return Error::success();
}

Error batchNormKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                      SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 5))
    return e;
  bool training = ctx.attrInt("training_mode", 0) != 0;
  const Tensor &x = in[0];
  if (x.rank() < 2)
    return makeError("BatchNormalization needs rank >= 2");
  double eps = ctx.attrFloat("epsilon", 1e-5);
  double momentum = ctx.attrFloat("momentum", 0.9);
  int64_t n = x.dim(0), c = x.dim(1);
  int64_t spatial = shapeNumel(x.shape().drop_front(2));
  for (int i = 1; i < 5; ++i)
    if (in[i].numel() != c)
      return makeError("parameter " + Twine(i) + " must have C elements");
  Tensor xd = x.castTo(DType::F64);
  Tensor y = Tensor::empty(DType::F64, x.shape());
  Tensor runMean = Tensor::empty(DType::F64, {c});
  Tensor runVar = Tensor::empty(DType::F64, {c});
  const double *xp = xd.data_as<double>();
  double *yp = y.mutable_as<double>();
  for (int64_t ch = 0; ch < c; ++ch) {
    double s = in[1].getDouble(ch), b = in[2].getDouble(ch);
    double mu = in[3].getDouble(ch), var = in[4].getDouble(ch);
    if (training) {
      // Batch statistics (population variance); running stats updated
      // with the momentum.
      double bm = 0, bv = 0, count = double(n * spatial);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < spatial; ++j)
          bm += xp[(i * c + ch) * spatial + j];
      bm /= count;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < spatial; ++j) {
          double d = xp[(i * c + ch) * spatial + j] - bm;
          bv += d * d;
        }
      bv /= count;
      runMean.mutable_as<double>()[ch] = mu * momentum + bm * (1 - momentum);
      runVar.mutable_as<double>()[ch] = var * momentum + bv * (1 - momentum);
      mu = bm;
      var = bv;
    }
    double inv = s / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < spatial; ++j) {
        int64_t idx = (i * c + ch) * spatial + j;
        yp[idx] = (xp[idx] - mu) * inv + b;
      }
  }
  out.push_back(y.castTo(x.dtype()));
  if (training) {
    out.push_back(runMean.castTo(in[3].dtype()));
    out.push_back(runVar.castTo(in[4].dtype()));
  }
  return Error::success();
}

} // namespace

void s10::runtime::registerMathKernels(KernelTable &t) {
  t["MatMul"] = matMulKernel;
  t["Gemm"] = gemmKernel;
  t["Softmax"] = softmaxKernel<SoftKind::Softmax>;
  t["LogSoftmax"] = softmaxKernel<SoftKind::LogSoftmax>;
  t["Hardmax"] = softmaxKernel<SoftKind::Hardmax>;
  t["LayerNormalization"] = layerNormKernel;
  t["BatchNormalization"] = batchNormKernel;
}
