//===- ShapeKernels.cpp - Data movement ONNX operators --------------------===//
//
// Reshape-like ops return views (no copy); Transpose/Slice/Concat/Gather...
// move bytes without looking at the element type.
//
//===----------------------------------------------------------------------===//

#include "Broadcast.h"
#include "DTypeDispatch.h"
#include "OnnxKernels.h"

#include "s10/Dialect/ONNX/ShapeRules.h"

#include "llvm/ADT/STLExtras.h"

#include <numeric>

using namespace llvm;
using namespace s10::runtime;

namespace {
constexpr int64_t kGrain = 32768;

SmallVector<int64_t, 6> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t, 6> s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// Copies `n` elements of `elt` bytes from `src` (stride `stride` elements)
/// to contiguous `dst`.
inline void stridedCopy(char *dst, const char *src, int64_t n, int64_t stride,
                        size_t elt) {
  if (stride == 1) {
    std::memcpy(dst, src, n * elt);
    return;
  }
  switch (elt) {
  case 1:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = src[i * stride];
    return;
  case 2:
    for (int64_t i = 0; i < n; ++i)
      reinterpret_cast<uint16_t *>(dst)[i] =
          reinterpret_cast<const uint16_t *>(src)[i * stride];
    return;
  case 4:
    for (int64_t i = 0; i < n; ++i)
      reinterpret_cast<uint32_t *>(dst)[i] =
          reinterpret_cast<const uint32_t *>(src)[i * stride];
    return;
  case 8:
    for (int64_t i = 0; i < n; ++i)
      reinterpret_cast<uint64_t *>(dst)[i] =
          reinterpret_cast<const uint64_t *>(src)[i * stride];
    return;
  default:
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(dst + i * elt, src + i * stride * elt, elt);
  }
}

/// out (contiguous, shape `dims`) = in at `base + sum(i_d * strides[d])`.
void gatherStrided(ThreadPool *pool, char *out, const char *in, size_t elt,
                   ArrayRef<int64_t> dims, ArrayRef<int64_t> strides,
                   int64_t base) {
  // Drop size-1 dims and merge dims contiguous in the source.
  SmallVector<int64_t, 6> d, s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1)
      continue;
    if (!d.empty() && s.back() == strides[i] * dims[i]) {
      d.back() *= dims[i];
      s.back() = strides[i];
      continue;
    }
    d.push_back(dims[i]);
    s.push_back(strides[i]);
  }
  if (d.empty()) {
    d.push_back(1);
    s.push_back(1);
  }
  int64_t total = shapeNumel(d);
  if (total == 0)
    return;
  int64_t inner = d.back(), innerStride = s.back();
  int64_t rows = total / inner;
  size_t r = d.size();
  auto body = [&](int64_t r0, int64_t r1) {
    SmallVector<int64_t, 6> idx(r - 1, 0);
    int64_t rem = r0, off = base;
    for (int64_t k = int64_t(r) - 2; k >= 0; --k) {
      idx[k] = rem % d[k];
      rem /= d[k];
      off += idx[k] * s[k];
    }
    for (int64_t row = r0; row < r1; ++row) {
      stridedCopy(out + row * inner * elt, in + off * elt, inner, innerStride,
                  elt);
      for (int64_t k = int64_t(r) - 2; k >= 0; --k) {
        off += s[k];
        if (++idx[k] < d[k])
          break;
        off -= s[k] * d[k];
        idx[k] = 0;
      }
    }
  };
  int64_t rowGrain = std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1));
  if (pool)
    pool->parallelFor(rows, rowGrain, body);
  else
    body(0, rows);
}

Error emit(Tensor t, SmallVectorImpl<Tensor> &out) {
  out.push_back(std::move(t));
  return Error::success();
}

/// Axes from input `idx` when present, else from attribute "axes".
std::optional<SmallVector<int64_t, 8>>
axesFrom(KernelContext &ctx, MutableArrayRef<Tensor> in, size_t idx) {
  if (const Tensor &t = optionalInput(in, idx))
    return t.toInt64Vector();
  return ctx.attrInts("axes");
}

//===----------------------------------------------------------------------===//
// Views: Reshape, Flatten, Squeeze, Unsqueeze, Identity
//===----------------------------------------------------------------------===//

Error reshapeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &data = in[0];
  SmallVector<int64_t, 8> req = in[1].toInt64Vector();
  bool allowZero = ctx.attrInt("allowzero", 0) != 0;
  Shape shape;
  int64_t infer = -1, known = 1;
  for (auto [i, s] : llvm::enumerate(req)) {
    if (s == 0 && !allowZero) {
      if (int64_t(i) >= data.rank())
        return makeError("shape " + shapeStr(req) + " copies dimension " +
                         Twine(i) + " of a rank-" + Twine(data.rank()) +
                         " input");
      s = data.dim(i);
    }
    if (s == -1) {
      if (infer >= 0)
        return makeError("shape " + shapeStr(req) + " has several -1");
      infer = i;
      shape.push_back(1);
      continue;
    }
    if (s < 0)
      return makeError("invalid shape " + shapeStr(req));
    shape.push_back(s);
    known *= s;
  }
  if (infer >= 0) {
    if (known == 0 || data.numel() % known != 0)
      return makeError("cannot reshape " + data.describe() + " to " +
                       shapeStr(req));
    shape[infer] = data.numel() / known;
  }
  if (shapeNumel(shape) != data.numel())
    return makeError("cannot reshape " + data.describe() + " to " +
                     shapeStr(req));
  return emit(data.reshaped(shape), out);
}

Error flattenKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  int64_t axis = ctx.attrInt("axis", 1);
  if (axis < 0)
    axis += x.rank();
  if (axis < 0 || axis > x.rank())
    return makeError("axis out of range");
  int64_t outer = shapeNumel(x.shape().take_front(axis));
  return emit(
      x.reshaped({outer, outer ? x.numel() / outer
                               : shapeNumel(x.shape().drop_front(axis))}),
      out);
}

Error squeezeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  auto axes = axesFrom(ctx, in, 1);
  SmallVector<bool, 8> drop(x.rank(), false);
  if (axes) {
    for (int64_t a : *axes) {
      auto ax = normalizeAxis(a, x.rank());
      if (!ax)
        return ax.takeError();
      if (x.dim(*ax) != 1)
        return makeError("cannot squeeze dimension " + Twine(*ax) + " of " +
                         x.describe());
      drop[*ax] = true;
    }
  } else {
    for (int64_t i = 0; i < x.rank(); ++i)
      drop[i] = x.dim(i) == 1;
  }
  Shape shape;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (!drop[i])
      shape.push_back(x.dim(i));
  return emit(x.reshaped(shape), out);
}

Error unsqueezeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                      SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  auto axes = axesFrom(ctx, in, 1);
  if (!axes)
    return makeError("missing axes");
  int64_t rank = x.rank() + axes->size();
  SmallVector<bool, 8> isNew(rank, false);
  for (int64_t a : *axes) {
    auto ax = normalizeAxis(a, rank);
    if (!ax)
      return ax.takeError();
    if (isNew[*ax])
      return makeError("repeated axis " + Twine(a));
    isNew[*ax] = true;
  }
  Shape shape;
  int64_t j = 0;
  for (int64_t i = 0; i < rank; ++i)
    shape.push_back(isNew[i] ? 1 : x.dim(j++));
  return emit(x.reshaped(shape), out);
}

Error identityKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                     SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  return emit(in[0], out);
}

Error dropoutKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &training = optionalInput(in, 2);
  const Tensor &ratio = optionalInput(in, 1);
  // Training mode drops at random; only a zero ratio is deterministic.
  if (training && training.getInt(0) != 0 &&
      (ratio ? ratio.getDouble(0) : 0.5) != 0.0)
    return makeError("training-mode Dropout (random) is not supported");
  out.push_back(in[0]);
  if (ctx.op->getNumResults() > 1) {
    Tensor mask = Tensor::empty(DType::Bool, in[0].shape());
    std::fill_n(mask.mutable_as<bool>(), mask.numel(), true);
    out.push_back(mask);
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Transpose, Slice, Concat, Split, Expand, Tile, Pad
//===----------------------------------------------------------------------===//

Error transposeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                      SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  SmallVector<int64_t, 8> perm;
  if (auto p = ctx.attrInts("perm")) {
    perm = *p;
  } else {
    for (int64_t i = x.rank() - 1; i >= 0; --i)
      perm.push_back(i);
  }
  if (int64_t(perm.size()) != x.rank())
    return makeError("perm has " + Twine(perm.size()) + " entries for " +
                     x.describe());
  SmallVector<bool, 8> seen(x.rank(), false);
  for (int64_t &p : perm) {
    auto ax = normalizeAxis(p, x.rank());
    if (!ax || seen[*ax]) {
      if (!ax)
        consumeError(ax.takeError());
      return makeError("invalid perm");
    }
    p = *ax;
    seen[p] = true;
  }
  return emit(transposeTensor(x, perm, &ctx.pool), out);
}

Error sliceKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  SmallVector<int64_t, 8> starts, ends, axes, steps;
  if (in.size() >= 3 && in[1] && in[2]) {
    starts = in[1].toInt64Vector();
    ends = in[2].toInt64Vector();
    if (const Tensor &a = optionalInput(in, 3))
      axes = a.toInt64Vector();
    if (const Tensor &s = optionalInput(in, 4))
      steps = s.toInt64Vector();
  } else {
    // Opset < 10: attributes.
    auto s = ctx.attrInts("starts"), e = ctx.attrInts("ends");
    if (!s || !e)
      return makeError("missing starts/ends");
    starts = *s;
    ends = *e;
    if (auto a = ctx.attrInts("axes"))
      axes = *a;
  }
  if (starts.size() != ends.size())
    return makeError("starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    return makeError("starts, ends, axes and steps differ in length");

  int64_t rank = x.rank();
  Shape shape(x.shape());
  SmallVector<int64_t, 6> first(rank, 0), step(rank, 1);
  SmallVector<bool, 8> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    auto ax = normalizeAxis(axes[i], rank);
    if (!ax)
      return ax.takeError();
    if (seen[*ax])
      return makeError("repeated axis");
    seen[*ax] = true;
    if (steps[i] == 0)
      return makeError("slice step cannot be 0");
    s10::onnx::SliceRange range =
        s10::onnx::sliceRange(x.dim(*ax), starts[i], ends[i], steps[i]);
    shape[*ax] = range.length;
    first[*ax] = range.first;
    step[*ax] = steps[i];
  }
  Tensor result = Tensor::empty(x.dtype(), shape);
  if (result.numel() == 0)
    return emit(result, out);
  SmallVector<int64_t, 6> inStrides = stridesOf(x.shape()), strides(rank);
  int64_t base = 0;
  for (int64_t d = 0; d < rank; ++d) {
    base += first[d] * inStrides[d];
    strides[d] = inStrides[d] * step[d];
  }
  gatherStrided(&ctx.pool, static_cast<char *>(result.rawMutable()),
                static_cast<const char *>(x.raw()), dtypeSize(x.dtype()), shape,
                strides, base);
  return emit(result, out);
}

Error concatKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out) {
  if (in.empty())
    return makeError("needs at least one input");
  if (Error e = requireInputs(in, in.size()))
    return e;
  const Tensor &x0 = in[0];
  auto axis = normalizeAxis(ctx.attrInt("axis", 0), x0.rank());
  if (!axis)
    return axis.takeError();
  Shape shape(x0.shape());
  shape[*axis] = 0;
  for (const Tensor &t : in) {
    if (t.rank() != x0.rank() || t.dtype() != x0.dtype())
      return makeError("inputs differ in rank or type: " + x0.describe() +
                       " and " + t.describe());
    for (int64_t d = 0; d < t.rank(); ++d)
      if (d != *axis && t.dim(d) != x0.dim(d))
        return makeError("inputs differ outside the axis: " + x0.describe() +
                         " and " + t.describe());
    shape[*axis] += t.dim(*axis);
  }
  Tensor result = Tensor::empty(x0.dtype(), shape);
  size_t elt = dtypeSize(x0.dtype());
  int64_t outer = shapeNumel(ArrayRef<int64_t>(shape).take_front(*axis));
  int64_t inner = shapeNumel(ArrayRef<int64_t>(shape).drop_front(*axis + 1));
  int64_t outRow = shape[*axis] * inner * elt;
  char *dst = static_cast<char *>(result.rawMutable());
  auto body = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      int64_t off = 0;
      for (const Tensor &t : in) {
        int64_t bytes = t.dim(*axis) * inner * elt;
        std::memcpy(dst + o * outRow + off,
                    static_cast<const char *>(t.raw()) + o * bytes, bytes);
        off += bytes;
      }
    }
  };
  ctx.pool.parallelFor(
      outer, std::max<int64_t>(1, kGrain * 4 / std::max<int64_t>(outRow, 1)),
      body);
  return emit(result, out);
}

Error splitKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  auto axis = normalizeAxis(ctx.attrInt("axis", 0), x.rank());
  if (!axis)
    return axis.takeError();
  int64_t n = ctx.op->getNumResults(), dim = x.dim(*axis);
  SmallVector<int64_t, 8> sizes;
  if (const Tensor &s = optionalInput(in, 1)) {
    sizes = s.toInt64Vector();
  } else if (auto s = ctx.attrInts("split")) {
    sizes = *s;
  } else {
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if (int64_t(sizes.size()) != n)
    return makeError("split has " + Twine(sizes.size()) + " sizes for " +
                     Twine(n) + " outputs");
  if (std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim)
    return makeError("split sizes do not add up to the dimension");
  SmallVector<int64_t, 6> strides = stridesOf(x.shape());
  int64_t offset = 0;
  size_t elt = dtypeSize(x.dtype());
  for (int64_t s : sizes) {
    Shape shape(x.shape());
    shape[*axis] = s;
    Tensor t = Tensor::empty(x.dtype(), shape);
    if (t.numel())
      gatherStrided(&ctx.pool, static_cast<char *>(t.rawMutable()),
                    static_cast<const char *>(x.raw()), elt, shape, strides,
                    offset * strides[*axis]);
    out.push_back(t);
    offset += s;
  }
  return Error::success();
}

/// Broadcast copy of `x` to `shape` (which must be compatible).
Tensor broadcastTo(ThreadPool *pool, const Tensor &x, ArrayRef<int64_t> shape) {
  Tensor result = Tensor::empty(x.dtype(), shape);
  BroadcastPlan plan = planBroadcast({Shape(x.shape())}, shape);
  size_t elt = dtypeSize(x.dtype());
  const char *src = static_cast<const char *>(x.raw());
  char *dst = static_cast<char *>(result.rawMutable());
  runBroadcast(
      plan, pool, kGrain,
      [&](int64_t oo, const int64_t *io, int64_t n, const int64_t *is) {
        if (is[0] == 1) {
          std::memcpy(dst + oo * elt, src + io[0] * elt, n * elt);
          return;
        }
        for (int64_t i = 0; i < n; ++i)
          std::memcpy(dst + (oo + i) * elt, src + io[0] * elt, elt);
      });
  return result;
}

Error expandKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &x = in[0];
  auto req = in[1].toInt64Vector();
  auto shape =
      broadcastShapes({Shape(x.shape()), Shape(req.begin(), req.end())});
  if (!shape)
    return shape.takeError();
  if (ArrayRef<int64_t>(*shape) == x.shape())
    return emit(x, out);
  return emit(broadcastTo(&ctx.pool, x, *shape), out);
}

Error tileKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                 SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &x = in[0];
  auto reps = in[1].toInt64Vector();
  if (int64_t(reps.size()) != x.rank())
    return makeError("repeats must have one entry per dimension");
  Shape shape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (reps[d] < 0)
      return makeError("negative repeat");
    shape.push_back(x.dim(d) * reps[d]);
  }
  Tensor result = Tensor::empty(x.dtype(), shape);
  size_t elt = dtypeSize(x.dtype());
  SmallVector<int64_t, 6> inStrides = stridesOf(x.shape());
  const char *src = static_cast<const char *>(x.raw());
  char *dst = static_cast<char *>(result.rawMutable());
  SmallVector<int64_t, 6> idx(shape.size(), 0);
  for (int64_t i = 0, n = result.numel(); i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      off += (idx[d] % x.dim(d)) * inStrides[d];
    std::memcpy(dst + i * elt, src + off * elt, elt);
    nextIndex(idx, shape);
  }
  return emit(result, out);
}

Error padKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  int64_t rank = x.rank();
  SmallVector<int64_t, 8> pads;
  if (const Tensor &p = optionalInput(in, 1))
    pads = p.toInt64Vector();
  else if (auto p = ctx.attrInts("pads"))
    pads = *p;
  SmallVector<int64_t, 8> axes;
  if (const Tensor &a = optionalInput(in, 3)) {
    for (int64_t v : a.toInt64Vector()) {
      auto ax = normalizeAxis(v, rank);
      if (!ax)
        return ax.takeError();
      axes.push_back(*ax);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size())
    return makeError("pads must have two entries per axis");
  SmallVector<int64_t, 6> before(rank, 0), after(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    before[axes[i]] = pads[i];
    after[axes[i]] = pads[i + axes.size()];
  }
  std::string mode = ctx.attrString("mode").value_or("constant");
  Tensor value;
  if (const Tensor &v = optionalInput(in, 2))
    value = v.castTo(x.dtype());
  else
    value = Tensor::scalar<double>(DType::F64, ctx.attrFloat("value", 0.0))
                .castTo(x.dtype());
  Shape shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t s = x.dim(d) + before[d] + after[d];
    if (s < 0)
      return makeError("negative padded dimension");
    shape.push_back(s);
  }
  if (mode != "constant")
    for (int64_t d = 0; d < rank; ++d)
      if (x.dim(d) == 0 && shape[d] > 0)
        return makeError("cannot " + mode + "-pad an empty dimension");
  Tensor result = Tensor::empty(x.dtype(), shape);
  size_t elt = dtypeSize(x.dtype());
  SmallVector<int64_t, 6> inStrides = stridesOf(x.shape());
  const char *src = static_cast<const char *>(x.raw());
  const char *fill = static_cast<const char *>(value.raw());
  char *dst = static_cast<char *>(result.rawMutable());
  SmallVector<int64_t, 6> idx(rank, 0);
  for (int64_t i = 0, n = result.numel(); i < n; ++i) {
    int64_t off = 0;
    bool inside = true;
    for (int64_t d = 0; d < rank && inside; ++d) {
      int64_t j = idx[d] - before[d], dim = x.dim(d);
      if (j < 0 || j >= dim) {
        if (mode == "constant") {
          inside = false;
          break;
        }
        if (mode == "edge") {
          j = std::clamp<int64_t>(j, 0, dim - 1);
        } else if (mode == "wrap") {
          j = ((j % dim) + dim) % dim;
        } else if (mode == "reflect") {
          if (dim == 1) {
            j = 0;
          } else {
            int64_t period = 2 * (dim - 1);
            j = ((j % period) + period) % period;
            if (j >= dim)
              j = period - j;
          }
        } else {
          return makeError("unsupported pad mode '" + mode + "'");
        }
      }
      off += j * inStrides[d];
    }
    std::memcpy(dst + i * elt, inside ? src + off * elt : fill, elt);
    nextIndex(idx, shape);
  }
  return emit(result, out);
}

//===----------------------------------------------------------------------===//
// Gather / Scatter
//===----------------------------------------------------------------------===//

Expected<int64_t> checkIndex(int64_t i, int64_t dim) {
  if (i < -dim || i >= dim)
    return makeError("index " + Twine(i) +
                     " is out of bounds for a dimension of " + Twine(dim));
  return i < 0 ? i + dim : i;
}

Error gatherKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &data = in[0], &indices = in[1];
  auto axis = normalizeAxis(ctx.attrInt("axis", 0), data.rank());
  if (!axis)
    return axis.takeError();
  Shape shape(data.shape().take_front(*axis));
  shape.append(indices.shape().begin(), indices.shape().end());
  shape.append(data.shape().begin() + *axis + 1, data.shape().end());
  Tensor result = Tensor::empty(data.dtype(), shape);
  size_t elt = dtypeSize(data.dtype());
  int64_t outer = shapeNumel(data.shape().take_front(*axis));
  int64_t inner = shapeNumel(data.shape().drop_front(*axis + 1));
  int64_t dim = data.dim(*axis), n = indices.numel();
  SmallVector<int64_t, 8> idx(n);
  for (int64_t i = 0; i < n; ++i) {
    auto v = checkIndex(indices.getInt(i), dim);
    if (!v)
      return v.takeError();
    idx[i] = *v;
  }
  const char *src = static_cast<const char *>(data.raw());
  char *dst = static_cast<char *>(result.rawMutable());
  size_t block = inner * elt;
  auto body = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(dst + (o * n + i) * block, src + (o * dim + idx[i]) * block,
                    block);
  };
  ctx.pool.parallelFor(outer, 1, body);
  return emit(result, out);
}

Error gatherElementsKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                           SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &data = in[0], &indices = in[1];
  auto axis = normalizeAxis(ctx.attrInt("axis", 0), data.rank());
  if (!axis)
    return axis.takeError();
  if (indices.rank() != data.rank())
    return makeError("indices and data ranks differ");
  Tensor result = Tensor::empty(data.dtype(), indices.shape());
  size_t elt = dtypeSize(data.dtype());
  SmallVector<int64_t, 6> ds = stridesOf(data.shape());
  SmallVector<int64_t, 6> idx(indices.rank(), 0);
  const char *src = static_cast<const char *>(data.raw());
  char *dst = static_cast<char *>(result.rawMutable());
  for (int64_t i = 0, n = indices.numel(); i < n; ++i) {
    int64_t off = 0;
    for (int64_t d = 0; d < data.rank(); ++d) {
      int64_t j = idx[d];
      if (d == *axis) {
        auto v = checkIndex(indices.getInt(i), data.dim(d));
        if (!v)
          return v.takeError();
        j = *v;
      }
      off += j * ds[d];
    }
    std::memcpy(dst + i * elt, src + off * elt, elt);
    nextIndex(idx, indices.shape());
  }
  return emit(result, out);
}

Error gatherNDKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                     SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &data = in[0], &indices = in[1];
  int64_t b = ctx.attrInt("batch_dims", 0);
  int64_t q = indices.rank(), r = data.rank();
  if (q < 1 || b < 0 || b >= std::min(q, r))
    return makeError("invalid batch_dims / ranks for GatherND");
  int64_t m = indices.dim(-1);
  if (m < 1 || b + m > r)
    return makeError("indices' last dimension is too large");
  for (int64_t d = 0; d < b; ++d)
    if (data.dim(d) != indices.dim(d))
      return makeError("batch dimensions differ");
  Shape shape(indices.shape().drop_back());
  shape.append(data.shape().begin() + b + m, data.shape().end());
  Tensor result = Tensor::empty(data.dtype(), shape);
  size_t elt = dtypeSize(data.dtype());
  int64_t batches = shapeNumel(data.shape().take_front(b));
  int64_t perBatch = shapeNumel(indices.shape().slice(b, q - 1 - b));
  int64_t slice = shapeNumel(data.shape().drop_front(b + m));
  SmallVector<int64_t, 6> ds = stridesOf(data.shape());
  int64_t batchStride = batches ? data.numel() / batches : 0;
  const char *src = static_cast<const char *>(data.raw());
  char *dst = static_cast<char *>(result.rawMutable());
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t k = 0; k < perBatch; ++k) {
      int64_t row = bi * perBatch + k, off = bi * batchStride;
      for (int64_t j = 0; j < m; ++j) {
        auto v = checkIndex(indices.getInt(row * m + j), data.dim(b + j));
        if (!v)
          return v.takeError();
        off += *v * ds[b + j];
      }
      std::memcpy(dst + row * slice * elt, src + off * elt, slice * elt);
    }
  return emit(result, out);
}

template <typename T> inline T reduceValue(StringRef mode, T a, T b) {
  if (mode == "add")
    return T(a + b);
  if (mode == "mul")
    return T(a * b);
  if (mode == "max")
    return a < b ? b : a;
  if (mode == "min")
    return b < a ? b : a;
  return b;
}

/// Writes `src` element `si` into `dst` element `di` with a reduction.
void scatterOne(StringRef mode, DType type, char *dst, int64_t di,
                const char *src, int64_t si) {
  if (mode == "none") {
    size_t elt = dtypeSize(type);
    std::memcpy(dst + di * elt, src + si * elt, elt);
    return;
  }
  dispatchAll(type, [&](auto tag) {
    constexpr DType D = decltype(tag)::value;
    using S = typename DT<D>::S;
    if constexpr (D != DType::Bool) {
      S *d = reinterpret_cast<S *>(dst);
      const S *s = reinterpret_cast<const S *>(src);
      d[di] = store<D>(reduceValue(mode, load<D>(d[di]), load<D>(s[si])));
    }
  });
}

Error scatterNDKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                      SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 3))
    return e;
  const Tensor &data = in[0], &indices = in[1], &updates = in[2];
  std::string mode = ctx.attrString("reduction").value_or("none");
  Tensor result = data.clone();
  int64_t m = indices.dim(-1), r = data.rank();
  if (m > r)
    return makeError("indices' last dimension exceeds the data rank");
  int64_t slice = shapeNumel(data.shape().drop_front(m));
  int64_t n = indices.numel() / std::max<int64_t>(m, 1);
  SmallVector<int64_t, 6> ds = stridesOf(data.shape());
  char *dst = static_cast<char *>(result.rawMutable());
  const char *src = static_cast<const char *>(updates.raw());
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (int64_t j = 0; j < m; ++j) {
      auto v = checkIndex(indices.getInt(k * m + j), data.dim(j));
      if (!v)
        return v.takeError();
      off += *v * ds[j];
    }
    for (int64_t e = 0; e < slice; ++e)
      scatterOne(mode, data.dtype(), dst, off + e, src, k * slice + e);
  }
  return emit(result, out);
}

Error scatterElementsKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                            SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 3))
    return e;
  const Tensor &data = in[0], &indices = in[1], &updates = in[2];
  auto axis = normalizeAxis(ctx.attrInt("axis", 0), data.rank());
  if (!axis)
    return axis.takeError();
  std::string mode = ctx.attrString("reduction").value_or("none");
  Tensor result = data.clone();
  SmallVector<int64_t, 6> ds = stridesOf(data.shape());
  SmallVector<int64_t, 6> idx(indices.rank(), 0);
  char *dst = static_cast<char *>(result.rawMutable());
  const char *src = static_cast<const char *>(updates.raw());
  for (int64_t i = 0, n = indices.numel(); i < n; ++i) {
    int64_t off = 0;
    for (int64_t d = 0; d < data.rank(); ++d) {
      int64_t j = idx[d];
      if (d == *axis) {
        auto v = checkIndex(indices.getInt(i), data.dim(d));
        if (!v)
          return v.takeError();
        j = *v;
      }
      off += j * ds[d];
    }
    scatterOne(mode, data.dtype(), dst, off, src, i);
    nextIndex(idx, indices.shape());
  }
  return emit(result, out);
}

//===----------------------------------------------------------------------===//
// Generators: Shape, Size, Range, ConstantOfShape, Constant, EyeLike
//===----------------------------------------------------------------------===//

Error shapeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  int64_t rank = in[0].rank();
  int64_t start = ctx.attrInt("start", 0), end = ctx.attrInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  SmallVector<int64_t, 6> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(in[0].dim(i));
  return emit(Tensor::i64({int64_t(dims.size())}, dims), out);
}

Error sizeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                 SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  return emit(Tensor::scalar<int64_t>(DType::I64, in[0].numel()), out);
}

Error rangeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 3))
    return e;
  DType dt = in[0].dtype();
  if (isFloat(dt)) {
    double start = in[0].getDouble(0), limit = in[1].getDouble(0),
           delta = in[2].getDouble(0);
    if (delta == 0)
      return makeError("Range delta cannot be 0");
    int64_t n =
        std::max<int64_t>(0, int64_t(std::ceil((limit - start) / delta)));
    Tensor r = Tensor::empty(DType::F64, {n});
    double *p = r.mutable_as<double>();
    for (int64_t i = 0; i < n; ++i)
      p[i] = start + double(i) * delta;
    return emit(r.castTo(ctx.floatType(dt)), out);
  }
  int64_t start = in[0].getInt(0), limit = in[1].getInt(0),
          delta = in[2].getInt(0);
  if (delta == 0)
    return makeError("Range delta cannot be 0");
  int64_t n = 0;
  if ((delta > 0 && limit > start) || (delta < 0 && limit < start))
    n = (limit - start + delta + (delta > 0 ? -1 : 1)) / delta;
  Tensor r = Tensor::empty(DType::I64, {n});
  int64_t *p = r.mutable_as<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    p[i] = start + i * delta;
  return emit(r.castTo(dt), out);
}

Error constantOfShapeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                            SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  auto dims = in[0].toInt64Vector();
  for (int64_t d : dims)
    if (d < 0)
      return makeError("negative dimension in " + shapeStr(dims));
  auto value = ctx.attrTensor("value");
  if (!value)
    return value.takeError();
  Tensor v = *value ? **value : Tensor::scalar<float>(DType::F32, 0.0f);
  if (v.numel() != 1)
    return makeError("value must hold one element");
  v = ctx.normalize(v);
  Tensor result = Tensor::empty(v.dtype(), dims);
  size_t elt = dtypeSize(v.dtype());
  char *dst = static_cast<char *>(result.rawMutable());
  for (int64_t i = 0; i < result.numel(); ++i)
    std::memcpy(dst + i * elt, v.raw(), elt);
  return emit(result, out);
}

Error constantKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                     SmallVectorImpl<Tensor> &out) {
  auto value = ctx.attrTensor("value");
  if (!value)
    return value.takeError();
  if (*value)
    return emit(ctx.normalize(**value), out);
  if (ctx.hasAttr("value_float"))
    return emit(Tensor::scalar<float>(DType::F32,
                                      float(ctx.attrFloat("value_float", 0))),
                out);
  if (ctx.hasAttr("value_int"))
    return emit(
        Tensor::scalar<int64_t>(DType::I64, ctx.attrInt("value_int", 0)), out);
  if (auto fs = ctx.attrFloats("value_floats"))
    return emit(Tensor::f32({int64_t(fs->size())}, *fs), out);
  if (auto is = ctx.attrInts("value_ints"))
    return emit(Tensor::i64({int64_t(is->size())}, *is), out);
  return makeError("unsupported Constant (no value / value_float / "
                   "value_int / value_floats / value_ints attribute)");
}

Error eyeLikeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  if (x.rank() != 2)
    return makeError("EyeLike needs a 2-D input");
  DType dt = x.dtype();
  if (ctx.hasAttr("dtype")) {
    auto d = dtypeFromOnnx(ctx.attrInt("dtype", 1));
    if (!d)
      return d.takeError();
    dt = *d;
  }
  int64_t k = ctx.attrInt("k", 0);
  Tensor r = Tensor::zeros(DType::F64, x.shape());
  double *p = r.mutable_as<double>();
  for (int64_t i = 0; i < x.dim(0); ++i)
    if (i + k >= 0 && i + k < x.dim(1))
      p[i * x.dim(1) + i + k] = 1.0;
  return emit(r.castTo(ctx.floatType(dt)), out);
}

Error nonZeroKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                    SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  SmallVector<int64_t> hits;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (x.getDouble(i) != 0)
      hits.push_back(i);
  int64_t rank = x.rank(), n = hits.size();
  Tensor r = Tensor::empty(DType::I64, {rank, n});
  int64_t *p = r.mutable_as<int64_t>();
  for (int64_t j = 0; j < n; ++j) {
    int64_t rem = hits[j];
    for (int64_t d = rank - 1; d >= 0; --d) {
      p[d * n + j] = rem % x.dim(d);
      rem /= x.dim(d);
    }
  }
  return emit(r, out);
}

//===----------------------------------------------------------------------===//
// CumSum, Trilu
//===----------------------------------------------------------------------===//

Error cumSumKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  const Tensor &x = in[0];
  auto axis = normalizeAxis(in[1].getInt(0), x.rank());
  if (!axis)
    return axis.takeError();
  bool exclusive = ctx.attrInt("exclusive", 0),
       reverse = ctx.attrInt("reverse", 0);
  int64_t outer = shapeNumel(x.shape().take_front(*axis));
  int64_t dim = x.dim(*axis);
  int64_t inner = shapeNumel(x.shape().drop_front(*axis + 1));
  Tensor result = Tensor::empty(x.dtype(), x.shape());
  Error err = Error::success();
  dispatchAll(x.dtype(), [&](auto tag) {
    constexpr DType D = decltype(tag)::value;
    using S = typename DT<D>::S;
    using C = std::conditional_t<isFloatD<D>(), double, typename DT<D>::C>;
    if constexpr (D == DType::Bool) {
      err = makeError("CumSum on bool");
    } else {
      const S *src = x.data_as<S>();
      S *dst = result.mutable_as<S>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          C acc = 0;
          for (int64_t s = 0; s < dim; ++s) {
            int64_t k = reverse ? dim - 1 - s : s;
            int64_t idx = (o * dim + k) * inner + i;
            C v = C(load<D>(src[idx]));
            if (exclusive) {
              dst[idx] = store<D>(typename DT<D>::C(acc));
              acc += v;
            } else {
              acc += v;
              dst[idx] = store<D>(typename DT<D>::C(acc));
            }
          }
        }
    }
  });
  if (err)
    return err;
  return emit(result, out);
}

Error triluKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  if (x.rank() < 2)
    return makeError("Trilu needs rank >= 2");
  int64_t k = 0;
  if (const Tensor &kt = optionalInput(in, 1))
    k = kt.getInt(0);
  bool upper = ctx.attrInt("upper", 1) != 0;
  Tensor result = x.clone();
  int64_t rows = x.dim(-2), cols = x.dim(-1);
  int64_t mats = rows * cols != 0 ? x.numel() / (rows * cols) : 0;
  size_t elt = dtypeSize(x.dtype());
  char *p = static_cast<char *>(result.rawMutable());
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        bool keep = upper ? j - i >= k : j - i <= k;
        if (!keep)
          std::memset(p + ((m * rows + i) * cols + j) * elt, 0, elt);
      }
  return emit(result, out);
}

} // namespace

Tensor s10::runtime::transposeTensor(const Tensor &x, ArrayRef<int64_t> perm,
                                     ThreadPool *pool) {
  Shape shape;
  SmallVector<int64_t, 6> inStrides = stridesOf(x.shape()), strides;
  for (int64_t p : perm) {
    shape.push_back(x.dim(p));
    strides.push_back(inStrides[p]);
  }
  Tensor result = Tensor::empty(x.dtype(), shape);
  if (result.numel())
    gatherStrided(pool, static_cast<char *>(result.rawMutable()),
                  static_cast<const char *>(x.raw()), dtypeSize(x.dtype()),
                  shape, strides, 0);
  return result;
}

void s10::runtime::registerShapeKernels(KernelTable &t) {
  t["Reshape"] = reshapeKernel;
  t["Flatten"] = flattenKernel;
  t["Squeeze"] = squeezeKernel;
  t["Unsqueeze"] = unsqueezeKernel;
  t["Identity"] = identityKernel;
  t["Dropout"] = dropoutKernel;
  t["Transpose"] = transposeKernel;
  t["Slice"] = sliceKernel;
  t["Concat"] = concatKernel;
  t["Split"] = splitKernel;
  t["Expand"] = expandKernel;
  t["Tile"] = tileKernel;
  t["Pad"] = padKernel;
  t["Gather"] = gatherKernel;
  t["GatherElements"] = gatherElementsKernel;
  t["GatherND"] = gatherNDKernel;
  t["ScatterND"] = scatterNDKernel;
  t["ScatterElements"] = scatterElementsKernel;
  t["Shape"] = shapeKernel;
  t["Size"] = sizeKernel;
  t["Range"] = rangeKernel;
  t["ConstantOfShape"] = constantOfShapeKernel;
  t["Constant"] = constantKernel;
  t["EyeLike"] = eyeLikeKernel;
  t["NonZero"] = nonZeroKernel;
  t["CumSum"] = cumSumKernel;
  t["Trilu"] = triluKernel;
}
