//===- Kernels.cpp - Model-level CPU kernels ------------------------------===//

#include "s10/Runtime/Kernels.h"

#include "Blas.h"
#include "FastMath.h"
#include "OnnxKernels.h"

#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"

#include <algorithm>
#include <limits>
#include <mutex>

using namespace llvm;
using namespace s10::runtime;

Error s10::runtime::initBlasThreading() { return loadBlas(); }

const char *s10::runtime::getBlasCoreName() {
  if (Error e = loadBlas()) {
    consumeError(std::move(e));
    return "unavailable";
  }
  return blas().coreName;
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

static void sgemmSerial(bool transA, bool transB, int64_t m, int64_t n,
                        int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c,
                        int64_t ldc) {
  blas().sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
               transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
               ldb, beta, c, ldc);
}

void s10::runtime::gemm(ThreadPool *pool, bool transA, bool transB, int64_t m,
                        int64_t n, int64_t k, float alpha, const float *a,
                        int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc) {
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  double flops = 2.0 * double(m) * double(n) * double(k);
  if (flops < 4e5) {
    sgemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Pieces of fixed shape, as many as there are and whatever the thread
  // count: OpenBLAS's sum for an element of C depends on the shape of the
  // call it is computed in (its edge kernels order the products
  // differently, e.g. with the Zen kernels), so pieces that followed the
  // thread count would make results follow it too. Columns in pieces of
  // 512 when there are at least two, else rows in pieces of 48.
  constexpr int64_t kCols = 512, kRows = 48;
  auto run = [&](int64_t units, auto piece) {
    auto body = [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u)
        piece(u);
    };
    if (pool && pool->size() > 1)
      pool->parallelFor(units, 1, body);
    else
      body(0, units);
  };
  if (n >= 2 * kCols) {
    run((n + kCols - 1) / kCols, [&](int64_t u) {
      int64_t n0 = u * kCols, n1 = std::min(n, n0 + kCols);
      const float *bp = transB ? b + n0 * ldb : b + n0;
      sgemmSerial(transA, transB, m, n1 - n0, k, alpha, a, lda, bp, ldb, beta,
                  c + n0, ldc);
    });
    return;
  }
  if (m >= 2 * kRows) {
    run((m + kRows - 1) / kRows, [&](int64_t u) {
      int64_t m0 = u * kRows, m1 = std::min(m, m0 + kRows);
      const float *ap = transA ? a + m0 : a + m0 * lda;
      sgemmSerial(transA, transB, m1 - m0, n, k, alpha, ap, lda, b, ldb, beta,
                  c + m0 * ldc, ldc);
    });
    return;
  }
  sgemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void s10::runtime::linear(ThreadPool *pool, const float *x, int64_t rows,
                          int64_t in, const float *w, bool wInOut, int64_t out,
                          const float *bias, float *y) {
  if (wInOut)
    gemm(pool, false, false, rows, out, in, 1.0f, x, in, w, out, 0.0f, y, out);
  else
    gemm(pool, false, true, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  if (bias)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < out; ++j)
        y[r * out + j] += bias[j];
}

//===----------------------------------------------------------------------===//
// Row helpers (vectorized)
//===----------------------------------------------------------------------===//

S10_MULTIVERSION void s10::runtime::expInPlace(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = fastExp(x[i]);
}

S10_MULTIVERSION static float rowMax(const float *x, int64_t n) {
  // Lane-wise maxima vectorize without reassociation flags.
  constexpr int L = 16;
  float lanes[L];
  for (int j = 0; j < L; ++j)
    lanes[j] = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j)
      lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  float m = -std::numeric_limits<float>::infinity();
  for (int j = 0; j < L; ++j)
    m = lanes[j] > m ? lanes[j] : m;
  for (; i < n; ++i)
    m = x[i] > m ? x[i] : m;
  return m;
}

/// x[i] = exp(x[i] - m); returns the sum (lane-wise f32, combined in
/// double).
S10_MULTIVERSION static double expShiftSum(float *x, int64_t n, float m) {
  constexpr int L = 16;
  float lanes[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) {
      float e = fastExp(x[i + j] - m);
      x[i + j] = e;
      lanes[j] += e;
    }
  double sum = 0;
  for (int j = 0; j < L; ++j)
    sum += lanes[j];
  for (; i < n; ++i) {
    x[i] = fastExp(x[i] - m);
    sum += x[i];
  }
  return sum;
}

/// Sum of exp(x[i] - m) without writing x, in blocks so every f32 lane
/// adds few terms before going to double.
S10_MULTIVERSION static double expShiftSumConst(const float *x, int64_t n,
                                                float m) {
  constexpr int L = 16;
  double sum = 0;
  int64_t i = 0;
  while (i + L <= n) {
    float lanes[L] = {};
    int64_t end = std::min<int64_t>(n - (n - i) % L, i + 64 * L);
    for (; i < end; i += L)
      for (int j = 0; j < L; ++j)
        lanes[j] += fastExp(x[i + j] - m);
    for (int j = 0; j < L; ++j)
      sum += lanes[j];
  }
  for (; i < n; ++i)
    sum += fastExp(x[i] - m);
  return sum;
}

void s10::runtime::softmaxRow(float *x, int64_t n) {
  if (n <= 0)
    return;
  float m = rowMax(x, n);
  if (std::isinf(m) && m < 0) {
    // Every entry is -inf: ONNX runtimes return NaN; so do we.
    for (int64_t i = 0; i < n; ++i)
      x[i] = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  double sum = expShiftSum(x, n, m);
  float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i)
    x[i] *= inv;
}

double s10::runtime::logSumExpRow(const float *x, int64_t n) {
  float m = rowMax(x, n);
  if (std::isinf(m))
    return m;
  return double(m) + std::log(expShiftSumConst(x, n, m));
}

double s10::runtime::logSumExp(const float *x, int64_t n) {
  return logSumExpRow(x, n);
}

//===----------------------------------------------------------------------===//
// RMSNorm, SwiGLU
//===----------------------------------------------------------------------===//

void s10::runtime::rmsNorm(ThreadPool *pool, const float *x, int64_t rows,
                           int64_t n, const float *w, double eps, float *y) {
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *xr = x + r * n;
      float *yr = y + r * n;
      double ss = 0;
      for (int64_t i = 0; i < n; ++i)
        ss += double(xr[i]) * double(xr[i]);
      // As the reference computes it: f32 mean, f32 rsqrt, x * r * w.
      float mean = float(ss / double(n));
      float inv = float(1.0 / std::sqrt(double(mean + float(eps))));
      for (int64_t i = 0; i < n; ++i)
        yr[i] = w[i] * (xr[i] * inv);
    }
  };
  if (pool)
    pool->parallelFor(
        rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), body);
  else
    body(0, rows);
}

S10_MULTIVERSION static void swigluRange(const float *g, const float *u,
                                         float *o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i];
    o[i] = gi / (1.0f + fastExp(-gi)) * u[i];
  }
}

void s10::runtime::swiglu(ThreadPool *pool, const float *gate, const float *up,
                          int64_t n, float *out) {
  if (pool)
    pool->parallelFor(n, 32768, [&](int64_t b, int64_t e) {
      swigluRange(gate + b, up + b, out + b, e - b);
    });
  else
    swigluRange(gate, up, out, n);
}

//===----------------------------------------------------------------------===//
// Rotary
//===----------------------------------------------------------------------===//

RotaryTable::RotaryTable(int64_t headDim, double theta) : half(headDim / 2) {
  invFreq.resize(half);
  for (int64_t i = 0; i < half; ++i) {
    float expo = float(2 * i) / float(headDim);
    invFreq[i] = 1.0f / powf(float(theta), expo);
  }
}

RotaryTable::RotaryTable(ArrayRef<float> inv)
    : half(inv.size()), invFreq(inv.begin(), inv.end()) {}

void RotaryTable::ensure(int64_t n) {
  if (n <= size)
    return;
  int64_t newSize = std::max<int64_t>(n, std::max<int64_t>(2 * size, 512));
  cosT.resize(newSize * half);
  sinT.resize(newSize * half);
  for (int64_t p = size; p < newSize; ++p)
    for (int64_t i = 0; i < half; ++i) {
      float angle = float(p) * invFreq[i];
      cosT[p * half + i] = float(std::cos(double(angle)));
      sinT[p * half + i] = float(std::sin(double(angle)));
    }
  size = newSize;
}

void s10::runtime::rotary(ThreadPool *pool, const float *x, int64_t batch,
                          int64_t seq, int64_t heads, const RotaryTable &table,
                          int64_t posOffset, float *y) {
  int64_t d = table.getHeadDim(), half = d / 2;
  int64_t rowLen = heads * d;
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t t = r % seq;
      const float *c = table.cosRow(posOffset + t);
      const float *s = table.sinRow(posOffset + t);
      for (int64_t h = 0; h < heads; ++h) {
        const float *xh = x + r * rowLen + h * d;
        float *yh = y + r * rowLen + h * d;
        for (int64_t i = 0; i < half; ++i) {
          float x1 = xh[i], x2 = xh[i + half];
          yh[i] = x1 * c[i] - x2 * s[i];
          yh[i + half] = x2 * c[i] + x1 * s[i];
        }
      }
    }
  };
  int64_t rows = batch * seq;
  if (pool)
    pool->parallelFor(rows, std::max<int64_t>(1, 16384 / rowLen), body);
  else
    body(0, rows);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

void s10::runtime::attention(ThreadPool *pool, const AttentionShape &sh,
                             const float *q, const float *const *k,
                             const float *const *v, float *out) {
  const int64_t D = sh.headDim, H = sh.heads, KVH = sh.kvHeads;
  const int64_t qRow = H * D, kvRow = KVH * D;
  const int64_t group = H / KVH;
  // Query rows are processed in blocks: with a causal mask a block only
  // needs the keys up to its last row, which skips most of the masked half.
  const int64_t R = 64;
  const int64_t blocks = (sh.seq + R - 1) / R;
  const int64_t tasks = sh.batch * H * blocks;
  int workers = pool ? pool->size() : 1;
  std::vector<std::vector<float>> scratch(workers);

  auto task = [&](int64_t id, int worker) {
    int64_t blk = id % blocks;
    int64_t h = (id / blocks) % H;
    int64_t b = id / (blocks * H);
    int64_t g = h / group;
    int64_t t0 = blk * R, t1 = std::min(sh.seq, t0 + R), rows = t1 - t0;
    int64_t cols = sh.kvSeq;
    if (sh.causal)
      cols = std::min<int64_t>(sh.kvSeq, std::max<int64_t>(0, sh.past + t1));
    const float *qp = q + (b * sh.seq + t0) * qRow + h * D;
    float *op = out + (b * sh.seq + t0) * qRow + h * D;
    if (cols == 0) {
      for (int64_t r = 0; r < rows; ++r)
        std::fill(op + r * qRow, op + r * qRow + D, 0.0f);
      return;
    }
    std::vector<float> &sc = scratch[worker];
    if (int64_t(sc.size()) < rows * cols)
      sc.resize(rows * cols);
    float *s = sc.data();
    const float *kp = k[b] + g * D, *vp = v[b] + g * D;
    sgemmSerial(false, true, rows, cols, D, sh.scale, qp, qRow, kp, kvRow, 0.0f,
                s, cols);
    for (int64_t r = 0; r < rows; ++r) {
      float *sr = s + r * cols;
      int64_t valid = cols;
      if (sh.causal)
        valid =
            std::min<int64_t>(cols, std::max<int64_t>(0, sh.past + t0 + r + 1));
      if (valid == 0) {
        std::fill(sr, sr + cols, 0.0f);
        continue;
      }
      softmaxRow(sr, valid);
      std::fill(sr + valid, sr + cols, 0.0f);
    }
    sgemmSerial(false, false, rows, D, cols, 1.0f, s, cols, vp, kvRow, 0.0f, op,
                qRow);
  };
  if (pool)
    pool->parallelTasks(tasks, task);
  else
    for (int64_t t = 0; t < tasks; ++t)
      task(t, 0);
}

//===----------------------------------------------------------------------===//
// Quantized weights
//===----------------------------------------------------------------------===//

Expected<Tensor> s10::runtime::dequantizeWeight(squeeze::QuantizedWeightOp op) {
  auto type = op.getResult().getType();
  int64_t out = type.getOutFeatures(), in = type.getInFeatures();
  int64_t gs = type.getScheme().getGroupSize();
  int64_t groups = type.getNumGroups();
  auto codesOr = tensorFromElementsAttr(op.getCodes());
  if (!codesOr)
    return codesOr.takeError();
  auto scalesOr = tensorFromElementsAttr(op.getScales());
  if (!scalesOr)
    return scalesOr.takeError();
  auto offsetsOr = tensorFromElementsAttr(op.getOffsets());
  if (!offsetsOr)
    return offsetsOr.takeError();
  Tensor codes = *codesOr;
  Tensor scales = scalesOr->toF32(), offsets = offsetsOr->toF32();
  if (codes.numel() != out * in || scales.numel() != out * groups ||
      offsets.numel() != out * groups)
    return makeError("quantized weight parameters do not match its type");
  Tensor mask, sScales, sOffsets;
  if (auto m = op.getSalientMaskAttr()) {
    auto maskOr = tensorFromElementsAttr(m);
    if (!maskOr)
      return maskOr.takeError();
    mask = maskOr->castTo(DType::Bool);
    auto ssOr = op.getSalientScalesAttr()
                    ? tensorFromElementsAttr(op.getSalientScalesAttr())
                    : Expected<Tensor>(makeError("missing salient_scales"));
    if (!ssOr)
      return ssOr.takeError();
    auto soOr = op.getSalientOffsetsAttr()
                    ? tensorFromElementsAttr(op.getSalientOffsetsAttr())
                    : Expected<Tensor>(makeError("missing salient_offsets"));
    if (!soOr)
      return soOr.takeError();
    sScales = ssOr->toF32();
    sOffsets = soOr->toF32();
    if (mask.numel() != out * in || sScales.numel() != out * groups ||
        sOffsets.numel() != out * groups)
      return makeError("salient parameters do not match the weight type");
  }
  // Codes are non-negative by construction (k-bit codes, binary {0, 1});
  // read them zero-extended whatever the signless storage type.
  std::vector<uint32_t> code(out * in);
  switch (codes.dtype()) {
  case DType::I8:
  case DType::U8:
    for (int64_t i = 0; i < out * in; ++i)
      code[i] = codes.data_as<uint8_t>()[i];
    break;
  case DType::I16:
  case DType::U16:
    for (int64_t i = 0; i < out * in; ++i)
      code[i] = codes.data_as<uint16_t>()[i];
    break;
  case DType::Bool:
    for (int64_t i = 0; i < out * in; ++i)
      code[i] = codes.data_as<bool>()[i];
    break;
  default:
    for (int64_t i = 0; i < out * in; ++i)
      code[i] = uint32_t(codes.getInt(i));
    break;
  }
  Tensor w = Tensor::empty(DType::F32, {out, in});
  float *wp = w.f32Mutable();
  const float *s = scales.f32(), *o = offsets.f32();
  const bool *mp = mask ? mask.data_as<bool>() : nullptr;
  const float *ss = sScales ? sScales.f32() : nullptr;
  const float *so = sOffsets ? sOffsets.f32() : nullptr;
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      int64_t g = j / gs, idx = i * in + j;
      float c = float(code[idx]);
      if (mp && mp[idx])
        wp[idx] = ss[i * groups + g] * c + so[i * groups + g];
      else
        wp[idx] = s[i * groups + g] * c + o[i * groups + g];
    }
  return w;
}
