//===- MiscKernels.cpp - Losses, quantization, windows, rearrangements ----===//
//
// Operators no LLaMA export uses but that are cheap to have: they widen the
// ONNX conformance coverage. All compute in double and cast back.
//
//===----------------------------------------------------------------------===//

#include "Broadcast.h"
#include "DTypeDispatch.h"
#include "OnnxKernels.h"

#include <cmath>

using namespace llvm;
using namespace s10::runtime;

namespace {

Error emit(Tensor t, SmallVectorImpl<Tensor> &out) {
  out.push_back(std::move(t));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// NLL of log-probabilities `logp` [N, C, d...] (as double) and `target`
/// [N, d...]; returns the loss in `logp`'s dtype with the node's reduction.
Expected<Tensor> nllLoss(KernelContext &ctx, const std::vector<double> &logp,
                         ArrayRef<int64_t> shape, const Tensor &target,
                         const Tensor &weight, DType type) {
  if (shape.size() < 2)
    return makeError("input must be [N, C, ...]");
  int64_t n = shape[0], c = shape[1];
  int64_t inner = shapeNumel(shape.drop_front(2));
  if (target.numel() != n * inner)
    return makeError("target " + target.describe() + " does not match input " +
                     shapeStr(shape));
  std::string reduction = ctx.attrString("reduction").value_or("mean");
  bool hasIgnore = ctx.hasAttr("ignore_index");
  int64_t ignore = ctx.attrInt("ignore_index", 0);
  std::vector<double> loss(n * inner);
  double weightSum = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < inner; ++j) {
      int64_t t = target.getInt(i * inner + j);
      if (hasIgnore && t == ignore) {
        loss[i * inner + j] = 0;
        continue;
      }
      if (t < 0 || t >= c)
        return makeError("target " + Twine(t) + " is out of range");
      double w = weight ? weight.getDouble(t) : 1.0;
      loss[i * inner + j] = -logp[(i * c + t) * inner + j] * w;
      weightSum += w;
    }
  if (reduction == "none") {
    Tensor r = Tensor::empty(DType::F64, target.shape());
    std::copy(loss.begin(), loss.end(), r.mutable_as<double>());
    return r.castTo(type);
  }
  double sum = 0;
  for (double v : loss)
    sum += v;
  if (reduction == "mean")
    sum = weightSum != 0 ? sum / weightSum : 0.0;
  else if (reduction != "sum")
    return makeError("unknown reduction '" + reduction + "'");
  return Tensor::scalar<double>(DType::F64, sum).castTo(type);
}

Error nllLossKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  Tensor x = in[0].castTo(DType::F64);
  std::vector<double> logp(x.data_as<double>(),
                           x.data_as<double>() + x.numel());
  auto r = nllLoss(ctx, logp, in[0].shape(), in[1], optionalInput(in, 2),
                   in[0].dtype());
  if (!r)
    return r.takeError();
  return emit(*r, out);
}

Error softmaxCrossEntropyKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                                SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &scores = in[0];
  if (scores.rank() < 2)
    return makeError("scores must be [N, C, ...]");
  int64_t n = scores.dim(0), c = scores.dim(1);
  int64_t inner = shapeNumel(scores.shape().drop_front(2));
  Tensor x = scores.castTo(DType::F64);
  const double *xp = x.data_as<double>();
  std::vector<double> logp(x.numel());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < inner; ++j) {
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < c; ++k)
        mx = std::max(mx, xp[(i * c + k) * inner + j]);
      for (int64_t k = 0; k < c; ++k)
        sum += std::exp(xp[(i * c + k) * inner + j] - mx);
      double lse = mx + std::log(sum);
      for (int64_t k = 0; k < c; ++k)
        logp[(i * c + k) * inner + j] = xp[(i * c + k) * inner + j] - lse;
    }
  auto r = nllLoss(ctx, logp, scores.shape(), in[1], optionalInput(in, 2),
                   scores.dtype());
  if (!r)
    return r.takeError();
  out.push_back(*r);
  if (ctx.op->getNumResults() > 1) {
    Tensor lp = Tensor::empty(DType::F64, scores.shape());
    std::copy(logp.begin(), logp.end(), lp.mutable_as<double>());
    out.push_back(lp.castTo(scores.dtype()));
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Quantize / Dequantize
//===----------------------------------------------------------------------===//

/// Index of the per-axis parameter for element `i` of a tensor of `shape`.
int64_t paramIndex(int64_t i, ArrayRef<int64_t> shape, int64_t axis,
                   int64_t count) {
  if (count == 1)
    return 0;
  int64_t inner = shapeNumel(shape.drop_front(axis + 1));
  return (i / inner) % shape[axis];
}

Error quantizeLinearKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                           SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &x = in[0], &scale = in[1];
  const Tensor &zp = optionalInput(in, 2);
  // The axis only matters for per-axis parameters.
  Expected<int64_t> axis = int64_t(0);
  if (scale.numel() > 1)
    axis = normalizeAxis(ctx.attrInt("axis", 1), x.rank());
  if (!axis)
    return axis.takeError();
  DType outType = zp ? zp.dtype() : DType::U8;
  double lo, hi;
  switch (outType) {
  case DType::U8:
    lo = 0, hi = 255;
    break;
  case DType::I8:
    lo = -128, hi = 127;
    break;
  case DType::U16:
    lo = 0, hi = 65535;
    break;
  case DType::I16:
    lo = -32768, hi = 32767;
    break;
  default:
    return makeError("unsupported quantized type " + dtypeName(outType));
  }
  Tensor r = Tensor::empty(DType::F64, x.shape());
  double *rp = r.mutable_as<double>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t p = paramIndex(i, x.shape(), *axis, scale.numel());
    double q = std::nearbyint(x.getDouble(i) / scale.getDouble(p));
    q += zp ? zp.getDouble(p) : 0.0;
    rp[i] = std::clamp(q, lo, hi);
  }
  return emit(r.castTo(outType), out);
}

Error dequantizeLinearKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                             SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &x = in[0], &scale = in[1];
  const Tensor &zp = optionalInput(in, 2);
  // The axis only matters for per-axis parameters.
  Expected<int64_t> axis = int64_t(0);
  if (scale.numel() > 1)
    axis = normalizeAxis(ctx.attrInt("axis", 1), x.rank());
  if (!axis)
    return axis.takeError();
  Tensor r = Tensor::empty(DType::F64, x.shape());
  double *rp = r.mutable_as<double>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t p = paramIndex(i, x.shape(), *axis, scale.numel());
    rp[i] =
        (x.getDouble(i) - (zp ? zp.getDouble(p) : 0.0)) * scale.getDouble(p);
  }
  return emit(r.castTo(ctx.floatType(scale.dtype())), out);
}

//===----------------------------------------------------------------------===//
// Window functions
//===----------------------------------------------------------------------===//

template <int Kind>
Error windowKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  int64_t size = in[0].getInt(0);
  if (size < 0)
    return makeError("negative window size");
  bool periodic = ctx.attrInt("periodic", 1) != 0;
  auto type = dtypeFromOnnx(ctx.attrInt("output_datatype", 1));
  if (!type)
    return type.takeError();
  double n = double(periodic ? size : size - 1);
  Tensor r = Tensor::empty(DType::F64, {size});
  double *p = r.mutable_as<double>();
  for (int64_t i = 0; i < size; ++i) {
    double a = n > 0 ? 2.0 * M_PI * double(i) / n : 0.0;
    if (Kind == 0) // Hann
      p[i] = 0.5 - 0.5 * std::cos(a);
    else if (Kind == 1) // Hamming
      p[i] = 25.0 / 46.0 - (1.0 - 25.0 / 46.0) * std::cos(a);
    else // Blackman
      p[i] = 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2.0 * a);
  }
  return emit(r.castTo(ctx.floatType(*type)), out);
}

//===----------------------------------------------------------------------===//
// DepthToSpace / SpaceToDepth, MeanVarianceNormalization, LRN
//===----------------------------------------------------------------------===//

Error depthToSpaceKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                         SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  if (x.rank() != 4)
    return makeError("DepthToSpace needs a 4-D input");
  int64_t b = ctx.attrInt("blocksize", 0);
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (b <= 0 || c % (b * b))
    return makeError("channels are not a multiple of blocksize^2");
  bool crd = ctx.attrString("mode").value_or("DCR") == "CRD";
  Tensor t;
  if (crd)
    t = transposeTensor(x.reshaped({n, c / (b * b), b, b, h, w}),
                        {0, 1, 4, 2, 5, 3}, &ctx.pool);
  else
    t = transposeTensor(x.reshaped({n, b, b, c / (b * b), h, w}),
                        {0, 3, 4, 1, 5, 2}, &ctx.pool);
  return emit(t.reshaped({n, c / (b * b), h * b, w * b}), out);
}

Error spaceToDepthKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                         SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  if (x.rank() != 4)
    return makeError("SpaceToDepth needs a 4-D input");
  int64_t b = ctx.attrInt("blocksize", 0);
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (b <= 0 || h % b || w % b)
    return makeError("spatial dims are not multiples of blocksize");
  Tensor t = transposeTensor(x.reshaped({n, c, h / b, b, w / b, b}),
                             {0, 3, 5, 1, 2, 4}, &ctx.pool);
  return emit(t.reshaped({n, c * b * b, h / b, w / b}), out);
}

Error mvnKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  SmallVector<int64_t, 8> axes =
      ctx.attrInts("axes").value_or(SmallVector<int64_t, 8>{0, 2, 3});
  SmallVector<bool, 8> reduce(x.rank(), false);
  for (int64_t a : axes) {
    auto ax = normalizeAxis(a, x.rank());
    if (!ax)
      return ax.takeError();
    reduce[*ax] = true;
  }
  // Group elements by their kept coordinates.
  Tensor xd = x.castTo(DType::F64);
  const double *xp = xd.data_as<double>();
  int64_t total = x.numel();
  std::vector<int64_t> key(total);
  SmallVector<int64_t, 6> idx(x.rank(), 0);
  int64_t groups = 1;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (!reduce[d])
      groups *= x.dim(d);
  for (int64_t i = 0; i < total; ++i) {
    int64_t k = 0;
    for (int64_t d = 0; d < x.rank(); ++d)
      if (!reduce[d])
        k = k * x.dim(d) + idx[d];
    key[i] = k;
    nextIndex(idx, x.shape());
  }
  std::vector<double> sum(groups, 0), sq(groups, 0), cnt(groups, 0);
  for (int64_t i = 0; i < total; ++i) {
    sum[key[i]] += xp[i];
    sq[key[i]] += xp[i] * xp[i];
    cnt[key[i]] += 1;
  }
  Tensor r = Tensor::empty(DType::F64, x.shape());
  double *rp = r.mutable_as<double>();
  for (int64_t i = 0; i < total; ++i) {
    double mean = sum[key[i]] / cnt[key[i]];
    double var = sq[key[i]] / cnt[key[i]] - mean * mean;
    rp[i] = (xp[i] - mean) / (std::sqrt(std::max(var, 0.0)) + 1e-9);
  }
  return emit(r.castTo(x.dtype()), out);
}

Error lrnKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  if (x.rank() < 3)
    return makeError("LRN needs [N, C, ...]");
  double alpha = ctx.attrFloat("alpha", 1e-4),
         beta = ctx.attrFloat("beta", 0.75);
  double bias = ctx.attrFloat("bias", 1.0);
  int64_t size = ctx.attrInt("size", 1);
  int64_t n = x.dim(0), c = x.dim(1);
  int64_t inner = shapeNumel(x.shape().drop_front(2));
  Tensor xd = x.castTo(DType::F64);
  const double *xp = xd.data_as<double>();
  Tensor r = Tensor::empty(DType::F64, x.shape());
  double *rp = r.mutable_as<double>();
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t j = 0; j < inner; ++j) {
        double ss = 0;
        for (int64_t k = std::max<int64_t>(0, ch - before);
             k <= std::min<int64_t>(c - 1, ch + after); ++k) {
          double v = xp[(i * c + k) * inner + j];
          ss += v * v;
        }
        int64_t idx = (i * c + ch) * inner + j;
        rp[idx] = xp[idx] / std::pow(bias + alpha / double(size) * ss, beta);
      }
  return emit(r.castTo(x.dtype()), out);
}

} // namespace

void s10::runtime::registerMiscKernels(KernelTable &t) {
  t["NegativeLogLikelihoodLoss"] = nllLossKernel;
  t["SoftmaxCrossEntropyLoss"] = softmaxCrossEntropyKernel;
  t["QuantizeLinear"] = quantizeLinearKernel;
  t["DequantizeLinear"] = dequantizeLinearKernel;
  t["HannWindow"] = windowKernel<0>;
  t["HammingWindow"] = windowKernel<1>;
  t["BlackmanWindow"] = windowKernel<2>;
  t["DepthToSpace"] = depthToSpaceKernel;
  t["SpaceToDepth"] = spaceToDepthKernel;
  t["MeanVarianceNormalization"] = mvnKernel;
  t["LRN"] = lrnKernel;
}
