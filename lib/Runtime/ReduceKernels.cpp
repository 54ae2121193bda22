//===- ReduceKernels.cpp - Reductions and arg-reductions ------------------===//
//
// The reduced axes are moved last (a transpose, unless they already are), so
// every reduction is a loop over contiguous rows.
//
//===----------------------------------------------------------------------===//

#include "DTypeDispatch.h"
#include "OnnxKernels.h"

#include <cmath>
#include <limits>

using namespace llvm;
using namespace s10::runtime;

namespace {

enum class Red {
  Sum,
  Mean,
  Max,
  Min,
  Prod,
  SumSquare,
  L1,
  L2,
  LogSum,
  LogSumExp
};

/// The input with the axes in `reduce` moved last, and the row length.
std::pair<Tensor, int64_t> moveAxesLast(const Tensor &x, ArrayRef<bool> reduce,
                                        ThreadPool *pool) {
  SmallVector<int64_t, 6> perm;
  int64_t len = 1;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (!reduce[i])
      perm.push_back(i);
  for (int64_t i = 0; i < x.rank(); ++i)
    if (reduce[i]) {
      perm.push_back(i);
      len *= x.dim(i);
    }
  bool identity = true;
  for (int64_t i = 0; i < x.rank(); ++i)
    identity &= perm[i] == i;
  return {identity ? x : transposeTensor(x, perm, pool), len};
}

template <Red R>
Error reduceKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  bool keepDims = ctx.attrInt("keepdims", 1) != 0;
  bool noopEmpty = ctx.attrInt("noop_with_empty_axes", 0) != 0;
  SmallVector<int64_t, 8> axes;
  if (const Tensor &a = optionalInput(in, 1))
    axes = a.toInt64Vector();
  else if (auto a = ctx.attrInts("axes"))
    axes = *a;
  if (axes.empty() && noopEmpty) {
    out.push_back(x);
    return Error::success();
  }
  int64_t rank = x.rank();
  SmallVector<bool, 8> reduce(rank, axes.empty());
  for (int64_t a : axes) {
    auto ax = normalizeAxis(a, rank);
    if (!ax)
      return ax.takeError();
    reduce[*ax] = true;
  }
  Shape outShape;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduce[i])
      outShape.push_back(x.dim(i));
    else if (keepDims)
      outShape.push_back(1);
  }
  auto [moved, len] = moveAxesLast(x, reduce, &ctx.pool);
  int64_t rows = shapeNumel(outShape);
  DType dt = x.dtype();
  Tensor result = Tensor::empty(dt, outShape);
  Error err = Error::success();
  dispatchAll(dt, [&, &moved = moved, len = len](auto tag) {
    constexpr DType D = decltype(tag)::value;
    using S = typename DT<D>::S;
    if constexpr (D == DType::Bool) {
      err = makeError("reduction over bool");
    } else {
      // Floats accumulate in double, integers in their own type (int64
      // for sums of narrow types would change wrap-around semantics).
      using A = std::conditional_t<isFloatD<D>(), double, typename DT<D>::C>;
      const S *src = moved.template data_as<S>();
      S *dst = result.template mutable_as<S>();
      ctx.pool.parallelFor(
          rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(len, 1)),
          [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
              const S *row = src + r * len;
              A acc;
              if constexpr (R == Red::Max || R == Red::Min) {
                if (len == 0) {
                  acc = R == Red::Max ? std::numeric_limits<A>::lowest()
                                      : std::numeric_limits<A>::max();
                  if constexpr (std::is_floating_point_v<A>)
                    acc = R == Red::Max ? -INFINITY : INFINITY;
                } else {
                  acc = A(load<D>(row[0]));
                  for (int64_t i = 1; i < len; ++i) {
                    A v = A(load<D>(row[i]));
                    if constexpr (std::is_floating_point_v<A>)
                      if (std::isnan(v)) {
                        acc = v;
                        break;
                      }
                    acc = R == Red::Max ? (v > acc ? v : acc)
                                        : (v < acc ? v : acc);
                  }
                }
              } else if constexpr (R == Red::Prod) {
                acc = 1;
                for (int64_t i = 0; i < len; ++i)
                  acc *= A(load<D>(row[i]));
              } else if constexpr (R == Red::LogSumExp) {
                A mx = std::numeric_limits<A>::lowest();
                if constexpr (std::is_floating_point_v<A>)
                  mx = -INFINITY;
                for (int64_t i = 0; i < len; ++i)
                  mx = std::max(mx, A(load<D>(row[i])));
                A sum = 0;
                for (int64_t i = 0; i < len; ++i)
                  sum += std::exp(double(A(load<D>(row[i])) - mx));
                acc = A(double(mx) + std::log(double(sum)));
                if (std::isinf(double(mx)))
                  acc = mx;
              } else {
                acc = 0;
                for (int64_t i = 0; i < len; ++i) {
                  A v = A(load<D>(row[i]));
                  if constexpr (R == Red::SumSquare || R == Red::L2)
                    acc += v * v;
                  else if constexpr (R == Red::L1)
                    acc += v < 0 ? A(-v) : v;
                  else
                    acc += v;
                }
                if constexpr (R == Red::Mean)
                  acc = len ? A(acc / A(len)) : A(NAN);
                else if constexpr (R == Red::L2)
                  acc = A(std::sqrt(double(acc)));
                else if constexpr (R == Red::LogSum)
                  acc = A(std::log(double(acc)));
              }
              dst[r] = store<D>(typename DT<D>::C(acc));
            }
          });
    }
  });
  if (err)
    return err;
  out.push_back(std::move(result));
  return Error::success();
}

template <bool IsMax>
Error argKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  const Tensor &x = in[0];
  auto axis = normalizeAxis(ctx.attrInt("axis", 0), x.rank());
  if (!axis)
    return axis.takeError();
  bool keepDims = ctx.attrInt("keepdims", 1) != 0;
  bool selectLast = ctx.attrInt("select_last_index", 0) != 0;
  SmallVector<bool, 8> reduce(x.rank(), false);
  reduce[*axis] = true;
  auto [moved, len] = moveAxesLast(x, reduce, &ctx.pool);
  Shape outShape(x.shape());
  if (keepDims)
    outShape[*axis] = 1;
  else
    outShape.erase(outShape.begin() + *axis);
  Tensor result = Tensor::empty(DType::I64, outShape);
  if (len == 0)
    return makeError("arg-reduction over an empty axis");
  int64_t rows = x.numel() / len;
  Tensor xd = moved.castTo(DType::F64);
  const double *src = xd.data_as<double>();
  int64_t *dst = result.mutable_as<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = src + r * len;
    int64_t best = 0;
    for (int64_t i = 1; i < len; ++i) {
      bool better = IsMax ? row[i] > row[best] : row[i] < row[best];
      bool tie = row[i] == row[best];
      if (better || (tie && selectLast))
        best = i;
    }
    dst[r] = best;
  }
  out.push_back(std::move(result));
  return Error::success();
}

} // namespace

void s10::runtime::registerReduceKernels(KernelTable &t) {
  t["ReduceSum"] = reduceKernel<Red::Sum>;
  t["ReduceMean"] = reduceKernel<Red::Mean>;
  t["ReduceMax"] = reduceKernel<Red::Max>;
  t["ReduceMin"] = reduceKernel<Red::Min>;
  t["ReduceProd"] = reduceKernel<Red::Prod>;
  t["ReduceSumSquare"] = reduceKernel<Red::SumSquare>;
  t["ReduceL1"] = reduceKernel<Red::L1>;
  t["ReduceL2"] = reduceKernel<Red::L2>;
  t["ReduceLogSum"] = reduceKernel<Red::LogSum>;
  t["ReduceLogSumExp"] = reduceKernel<Red::LogSumExp>;
  t["ArgMax"] = argKernel<true>;
  t["ArgMin"] = argKernel<false>;
}
