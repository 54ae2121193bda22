//===- ElementwiseKernels.cpp - Elementwise ONNX operators ----------------===//
//
// Unary and broadcasting binary/variadic operators, comparisons, logic,
// Where, Clip and Cast. f16/bf16 are computed in f32 and rounded once to the
// tensor type (exact mode); in f32 mode they never reach a kernel.
//
//===----------------------------------------------------------------------===//

#include "Broadcast.h"
#include "DTypeDispatch.h"
#include "FastMath.h"
#include "OnnxKernels.h"

#include <cmath>
#include <type_traits>

using namespace llvm;
using namespace s10::runtime;

namespace {
constexpr int64_t kGrain = 32768;

bool isHalfLike(DType t) { return t == DType::F16 || t == DType::BF16; }

/// The output buffer for an elementwise result: an input that the executor
/// handed over (last use) with the right shape and dtype, else a new one.
Tensor outputLike(MutableArrayRef<Tensor> candidates, DType type,
                  ArrayRef<int64_t> shape) {
  for (Tensor &t : candidates)
    if (t && t.isUniqueWritable() && t.dtype() == type && t.shape() == shape)
      return t;
  return Tensor::empty(type, shape);
}

template <typename TA, typename TB, typename TO, typename F>
void binaryLoop(ThreadPool &pool, const BroadcastPlan &plan, const TA *a,
                const TB *b, TO *o, F f) {
  runBroadcast(
      plan, &pool, kGrain,
      [&](int64_t oo, const int64_t *io, int64_t n, const int64_t *is) {
        const TA *pa = a + io[0];
        const TB *pb = b + io[1];
        TO *po = o + oo;
        if (is[0] == 1 && is[1] == 1) {
          for (int64_t i = 0; i < n; ++i)
            po[i] = f(pa[i], pb[i]);
        } else if (is[0] == 1) {
          TB y = pb[0];
          for (int64_t i = 0; i < n; ++i)
            po[i] = f(pa[i], y);
        } else if (is[1] == 1) {
          TA x = pa[0];
          for (int64_t i = 0; i < n; ++i)
            po[i] = f(x, pb[i]);
        } else {
          TO r = f(pa[0], pb[0]);
          for (int64_t i = 0; i < n; ++i)
            po[i] = r;
        }
      });
}

enum Allowed : unsigned { kInts = 1, kFloats = 2, kBools = 4 };

template <DType D, unsigned Allow> constexpr bool allowed() {
  if constexpr (D == DType::Bool)
    return (Allow & kBools) != 0;
  else if constexpr (isFloatD<D>())
    return (Allow & kFloats) != 0;
  else
    return (Allow & kInts) != 0;
}

/// out = f(a, b) with broadcasting; a and b share a dtype.
template <unsigned Allow, typename F>
Expected<Tensor> binaryOp(KernelContext &ctx, Tensor a, Tensor b, F f) {
  if (a.dtype() != b.dtype())
    return makeError("operand types differ: " + a.describe() + " and " +
                     b.describe());
  auto shape = broadcastShapes({Shape(a.shape()), Shape(b.shape())});
  if (!shape)
    return shape.takeError();
  DType dt = a.dtype();
  if (isHalfLike(dt)) {
    auto r = binaryOp<Allow>(ctx, a.toF32(), b.toF32(), f);
    if (!r)
      return r.takeError();
    return r->castTo(dt);
  }
  Tensor pair[2] = {a, b};
  a = Tensor(), b = Tensor();
  Tensor out = outputLike(pair, dt, *shape);
  BroadcastPlan plan =
      planBroadcast({Shape(pair[0].shape()), Shape(pair[1].shape())}, *shape);
  Error err = Error::success();
  dispatchAll(dt, [&](auto tag) {
    constexpr DType D = decltype(tag)::value;
    using S = typename DT<D>::S;
    constexpr bool ok = allowed<D, Allow>();
    if constexpr (ok && !(D == DType::F16 || D == DType::BF16)) {
      binaryLoop(ctx.pool, plan, pair[0].data_as<S>(), pair[1].data_as<S>(),
                 out.mutable_as<S>(),
                 [&](S x, S y) -> S { return static_cast<S>(f(x, y)); });
    } else {
      err = makeError("unsupported element type " + dtypeName(D));
    }
  });
  if (err)
    return std::move(err);
  return out;
}

/// bool out = f(a, b) with broadcasting.
template <unsigned Allow, typename F>
Expected<Tensor> compareOp(KernelContext &ctx, Tensor a, Tensor b, F f) {
  if (a.dtype() != b.dtype())
    return makeError("operand types differ: " + a.describe() + " and " +
                     b.describe());
  if (isHalfLike(a.dtype())) {
    a = a.toF32();
    b = b.toF32();
  }
  auto shape = broadcastShapes({Shape(a.shape()), Shape(b.shape())});
  if (!shape)
    return shape.takeError();
  Tensor out = Tensor::empty(DType::Bool, *shape);
  BroadcastPlan plan =
      planBroadcast({Shape(a.shape()), Shape(b.shape())}, *shape);
  Error err = Error::success();
  dispatchAll(a.dtype(), [&](auto tag) {
    constexpr DType D = decltype(tag)::value;
    using S = typename DT<D>::S;
    constexpr bool ok = allowed<D, Allow>();
    if constexpr (ok && !(D == DType::F16 || D == DType::BF16)) {
      binaryLoop(ctx.pool, plan, a.data_as<S>(), b.data_as<S>(),
                 out.mutable_as<bool>(),
                 [&](S x, S y) -> bool { return f(x, y); });
    } else {
      err = makeError("unsupported element type " + dtypeName(D));
    }
  });
  if (err)
    return std::move(err);
  return out;
}

/// out = f(x) elementwise, same dtype.
template <unsigned Allow, typename F>
Expected<Tensor> unaryOp(KernelContext &ctx, Tensor x, F f) {
  DType dt = x.dtype();
  if (isHalfLike(dt)) {
    auto r = unaryOp<Allow>(ctx, x.toF32(), f);
    if (!r)
      return r.takeError();
    return r->castTo(dt);
  }
  Tensor in[1] = {x};
  x = Tensor();
  Tensor out = outputLike(in, dt, in[0].shape());
  Error err = Error::success();
  dispatchAll(dt, [&](auto tag) {
    constexpr DType D = decltype(tag)::value;
    using S = typename DT<D>::S;
    constexpr bool ok = allowed<D, Allow>();
    if constexpr (ok && !(D == DType::F16 || D == DType::BF16)) {
      const S *src = in[0].data_as<S>();
      S *dst = out.mutable_as<S>();
      ctx.pool.parallelFor(out.numel(), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          dst[i] = static_cast<S>(f(src[i]));
      });
    } else {
      err = makeError("unsupported element type " + dtypeName(D));
    }
  });
  if (err)
    return std::move(err);
  return out;
}

/// bool out = f(x) for float x.
template <typename F> Expected<Tensor> floatPredicate(Tensor x, F f) {
  if (!isFloat(x.dtype()))
    return makeError("expects a float input, got " + x.describe());
  Tensor out = Tensor::empty(DType::Bool, x.shape());
  bool *o = out.mutable_as<bool>();
  if (x.dtype() == DType::F64) {
    const double *p = x.data_as<double>();
    for (int64_t i = 0; i < x.numel(); ++i)
      o[i] = f(p[i]);
  } else {
    Tensor f32 = x.toF32();
    const float *p = f32.f32();
    for (int64_t i = 0; i < x.numel(); ++i)
      o[i] = f(double(p[i]));
  }
  return out;
}

Error setResult(Expected<Tensor> r, SmallVectorImpl<Tensor> &outputs) {
  if (!r)
    return r.takeError();
  outputs.push_back(std::move(*r));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Binary arithmetic
//===----------------------------------------------------------------------===//

template <typename T> inline T divValue(T x, T y) {
  if constexpr (std::is_integral_v<T>)
    return y == 0 ? T(0) : T(x / y);
  else
    return x / y;
}

#define BINARY_KERNEL(NAME, ALLOW, EXPR)                                       \
  Error NAME(KernelContext &ctx, MutableArrayRef<Tensor> in,                   \
             SmallVectorImpl<Tensor> &out) {                                   \
    if (Error e = requireInputs(in, 2))                                        \
      return e;                                                                \
    return setResult(binaryOp<ALLOW>(ctx, std::move(in[0]), std::move(in[1]),  \
                                     [](auto x, auto y) { return EXPR; }),     \
                     out);                                                     \
  }

BINARY_KERNEL(addKernel, kInts | kFloats, x + y)
BINARY_KERNEL(subKernel, kInts | kFloats, x - y)
BINARY_KERNEL(mulKernel, kInts | kFloats, x *y)
BINARY_KERNEL(divKernel, kInts | kFloats, divValue(x, y))
BINARY_KERNEL(bitAndKernel, kInts, x &y)
BINARY_KERNEL(bitOrKernel, kInts, x | y)
BINARY_KERNEL(bitXorKernel, kInts, x ^ y)
BINARY_KERNEL(andKernel, kBools, x &&y)
BINARY_KERNEL(orKernel, kBools, x || y)
BINARY_KERNEL(xorKernel, kBools, x != y)
#undef BINARY_KERNEL

template <typename T> inline T maxValue(T x, T y) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(x) || std::isnan(y))
      return std::numeric_limits<T>::quiet_NaN();
  return x < y ? y : x;
}
template <typename T> inline T minValue(T x, T y) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(x) || std::isnan(y))
      return std::numeric_limits<T>::quiet_NaN();
  return y < x ? y : x;
}

/// Variadic Max / Min / Sum / Mean: a left fold of the binary op.
template <int Kind>
Error variadicKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                     SmallVectorImpl<Tensor> &out) {
  if (in.empty())
    return makeError("needs at least one input");
  if (Error e = requireInputs(in, in.size()))
    return e;
  Tensor acc = in[0];
  for (size_t i = 1; i < in.size(); ++i) {
    Expected<Tensor> r =
        Kind == 0 ? binaryOp<kInts | kFloats>(
                        ctx, acc, in[i],
                        [](auto x, auto y) { return maxValue(x, y); })
        : Kind == 1
            ? binaryOp<kInts | kFloats>(
                  ctx, acc, in[i],
                  [](auto x, auto y) { return minValue(x, y); })
            : binaryOp<kInts | kFloats>(ctx, acc, in[i],
                                        [](auto x, auto y) { return x + y; });
    if (!r)
      return r.takeError();
    acc = std::move(*r);
  }
  if (Kind == 3 && in.size() > 1) {
    Tensor n = Tensor::scalar<double>(DType::F64, double(in.size()))
                   .castTo(acc.dtype());
    auto r = binaryOp<kInts | kFloats>(
        ctx, acc, n, [](auto x, auto y) { return divValue(x, y); });
    if (!r)
      return r.takeError();
    acc = std::move(*r);
  }
  if (in.size() == 1)
    acc = acc.clone();
  out.push_back(std::move(acc));
  return Error::success();
}

Error modKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  bool fmod = ctx.attrInt("fmod", 0) != 0;
  if (isFloat(in[0].dtype()) && !fmod)
    return makeError("Mod on floats requires fmod=1");
  return setResult(
      binaryOp<kInts | kFloats>(ctx, in[0], in[1],
                                [fmod](auto x, auto y) {
                                  using T = decltype(x);
                                  if constexpr (std::is_floating_point_v<T>) {
                                    return std::fmod(x, y);
                                  } else {
                                    if (y == 0)
                                      return T(0);
                                    T r = T(x % y);
                                    // Python semantics: the sign of the
                                    // divisor.
                                    if (!fmod && r != 0 && ((r < 0) != (y < 0)))
                                      r = T(r + y);
                                    return r;
                                  }
                                }),
      out);
}

Error powKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  Tensor base = in[0], expo = in[1];
  DType dt = base.dtype();
  // Squaring is what exporters emit for RMSNorm: keep it exact and fast.
  if (expo.numel() == 1 && expo.getDouble(0) == 2.0 && isFloat(dt))
    return setResult(binaryOp<kFloats>(ctx, base, base,
                                       [](auto x, auto y) { return x * y; }),
                     out);
  if (isFloat(dt)) {
    Tensor e = expo.castTo(dt == DType::F64 ? DType::F64 : DType::F32);
    if (isHalfLike(dt))
      base = base.toF32();
    auto r = binaryOp<kFloats>(ctx, base, e,
                               [](auto x, auto y) { return std::pow(x, y); });
    if (!r)
      return r.takeError();
    return setResult(r->castTo(dt), out);
  }
  // Integer base: compute in double, truncate back.
  Tensor b64 = base.castTo(DType::F64), e64 = expo.castTo(DType::F64);
  auto r = binaryOp<kFloats>(ctx, b64, e64,
                             [](auto x, auto y) { return std::pow(x, y); });
  if (!r)
    return r.takeError();
  return setResult(r->castTo(dt), out);
}

Error preluKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  return setResult(
      binaryOp<kInts | kFloats>(
          ctx, in[0], in[1], [](auto x, auto s) { return x < 0 ? s * x : x; }),
      out);
}

//===----------------------------------------------------------------------===//
// Comparisons
//===----------------------------------------------------------------------===//

#define COMPARE_KERNEL(NAME, ALLOW, EXPR)                                      \
  Error NAME(KernelContext &ctx, MutableArrayRef<Tensor> in,                   \
             SmallVectorImpl<Tensor> &out) {                                   \
    if (Error e = requireInputs(in, 2))                                        \
      return e;                                                                \
    return setResult(compareOp<ALLOW>(ctx, in[0], in[1],                       \
                                      [](auto x, auto y) { return EXPR; }),    \
                     out);                                                     \
  }
COMPARE_KERNEL(equalKernel, kInts | kFloats | kBools, x == y)
COMPARE_KERNEL(lessKernel, kInts | kFloats, x < y)
COMPARE_KERNEL(lessEqualKernel, kInts | kFloats, x <= y)
COMPARE_KERNEL(greaterKernel, kInts | kFloats, x > y)
COMPARE_KERNEL(greaterEqualKernel, kInts | kFloats, x >= y)
#undef COMPARE_KERNEL

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

template <typename T> inline T sigmoidValue(T x) {
  if constexpr (std::is_same_v<T, float>)
    return 1.0f / (1.0f + fastExp(-x));
  else
    return T(1) / (T(1) + std::exp(-x));
}

#define UNARY_KERNEL(NAME, ALLOW, EXPR)                                        \
  Error NAME(KernelContext &ctx, MutableArrayRef<Tensor> in,                   \
             SmallVectorImpl<Tensor> &out) {                                   \
    if (Error e = requireInputs(in, 1))                                        \
      return e;                                                                \
    return setResult(unaryOp<ALLOW>(ctx, std::move(in[0]),                     \
                                    [&](auto x) {                              \
                                      using T = decltype(x);                   \
                                      (void)sizeof(T);                         \
                                      return EXPR;                             \
                                    }),                                        \
                     out);                                                     \
  }

UNARY_KERNEL(negKernel, kInts | kFloats, T(-x))
UNARY_KERNEL(absKernel, kInts | kFloats,
             T(std::is_unsigned_v<T> ? x : (x < 0 ? T(-x) : x)))
UNARY_KERNEL(signKernel, kInts | kFloats, T((x > 0) - (x < 0)))
UNARY_KERNEL(reluKernel, kInts | kFloats, T(x > 0 ? x : 0))
UNARY_KERNEL(notKernel, kBools, !x)
UNARY_KERNEL(bitNotKernel, kInts, T(~x))
UNARY_KERNEL(sqrtKernel, kFloats, std::sqrt(x))
UNARY_KERNEL(reciprocalKernel, kFloats, T(1) / x)
UNARY_KERNEL(expKernel, kFloats, std::exp(x))
UNARY_KERNEL(logKernel, kFloats, std::log(x))
UNARY_KERNEL(cosKernel, kFloats, std::cos(x))
UNARY_KERNEL(sinKernel, kFloats, std::sin(x))
UNARY_KERNEL(tanKernel, kFloats, std::tan(x))
UNARY_KERNEL(acosKernel, kFloats, std::acos(x))
UNARY_KERNEL(asinKernel, kFloats, std::asin(x))
UNARY_KERNEL(atanKernel, kFloats, std::atan(x))
UNARY_KERNEL(coshKernel, kFloats, std::cosh(x))
UNARY_KERNEL(sinhKernel, kFloats, std::sinh(x))
UNARY_KERNEL(acoshKernel, kFloats, std::acosh(x))
UNARY_KERNEL(asinhKernel, kFloats, std::asinh(x))
UNARY_KERNEL(atanhKernel, kFloats, std::atanh(x))
UNARY_KERNEL(tanhKernel, kFloats, std::tanh(x))
UNARY_KERNEL(sigmoidKernel, kFloats, sigmoidValue(x))
UNARY_KERNEL(erfKernel, kFloats, std::erf(x))
UNARY_KERNEL(floorKernel, kFloats, std::floor(x))
UNARY_KERNEL(ceilKernel, kFloats, std::ceil(x))
UNARY_KERNEL(roundKernel, kFloats, std::nearbyint(x))
UNARY_KERNEL(softplusKernel, kFloats,
             T(x > T(20) ? x : std::log1p(std::exp(x))))
UNARY_KERNEL(softsignKernel, kFloats, x / (T(1) + std::fabs(x)))
UNARY_KERNEL(mishKernel, kFloats,
             T(x *std::tanh(x > T(20) ? x : std::log1p(std::exp(x)))))
#undef UNARY_KERNEL

/// Unary float ops with attributes.
#define UNARY_ATTR_KERNEL(NAME, SETUP, EXPR)                                   \
  Error NAME(KernelContext &ctx, MutableArrayRef<Tensor> in,                   \
             SmallVectorImpl<Tensor> &out) {                                   \
    if (Error e = requireInputs(in, 1))                                        \
      return e;                                                                \
    SETUP;                                                                     \
    return setResult(unaryOp<kFloats>(ctx, std::move(in[0]),                   \
                                      [&](auto x) {                            \
                                        using T = decltype(x);                 \
                                        return T(EXPR);                        \
                                      }),                                      \
                     out);                                                     \
  }

UNARY_ATTR_KERNEL(leakyReluKernel, double alpha = ctx.attrFloat("alpha", 0.01),
                  x < 0 ? T(alpha) * x : x)
UNARY_ATTR_KERNEL(eluKernel, double alpha = ctx.attrFloat("alpha", 1.0),
                  x < 0 ? T(alpha) * (std::exp(x) - T(1)) : x)
UNARY_ATTR_KERNEL(
    seluKernel,
    double alpha = ctx.attrFloat("alpha", 1.67326319217681884765625);
    double gamma = ctx.attrFloat("gamma", 1.05070102214813232421875),
    x <= 0 ? T(gamma) * (T(alpha) * std::exp(x) - T(alpha)) : T(gamma) * x)
UNARY_ATTR_KERNEL(celuKernel, double alpha = ctx.attrFloat("alpha", 1.0),
                  std::max(T(0), x) +
                      std::min(T(0),
                               T(alpha) * (std::exp(x / T(alpha)) - T(1))))
UNARY_ATTR_KERNEL(thresholdedReluKernel,
                  double alpha = ctx.attrFloat("alpha", 1.0),
                  x > T(alpha) ? x : T(0))
UNARY_ATTR_KERNEL(hardSigmoidKernel, double alpha = ctx.attrFloat("alpha", 0.2);
                  double beta = ctx.attrFloat("beta", 0.5),
                  std::max(T(0), std::min(T(1), T(alpha) * x + T(beta))))
UNARY_ATTR_KERNEL(hardSwishKernel, (void)0,
                  x *std::max(T(0), std::min(T(1), x / T(6) + T(0.5))))
UNARY_ATTR_KERNEL(shrinkKernel, double bias = ctx.attrFloat("bias", 0.0);
                  double lambd = ctx.attrFloat("lambd", 0.5),
                  x < T(-lambd) ? x + T(bias)
                                : (x > T(lambd) ? x - T(bias) : T(0)))
#undef UNARY_ATTR_KERNEL

Error geluKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                 SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  bool tanhApprox = ctx.attrString("approximate").value_or("none") == "tanh";
  return setResult(
      unaryOp<kFloats>(
          ctx, std::move(in[0]),
          [&](auto x) {
            using T = decltype(x);
            if (tanhApprox)
              return T(0.5) * x *
                     (T(1) + std::tanh(T(0.7978845608028654) *
                                       (x + T(0.044715) * x * x * x)));
            return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
          }),
      out);
}

Error isNaNKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  return setResult(
      floatPredicate(in[0], [](double x) { return std::isnan(x); }), out);
}

Error isInfKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  bool neg = ctx.attrInt("detect_negative", 1),
       pos = ctx.attrInt("detect_positive", 1);
  return setResult(floatPredicate(in[0],
                                  [&](double x) {
                                    return std::isinf(x) &&
                                           ((x > 0 && pos) || (x < 0 && neg));
                                  }),
                   out);
}

//===----------------------------------------------------------------------===//
// Where, Clip, Cast
//===----------------------------------------------------------------------===//

Error whereKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                  SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 3))
    return e;
  const Tensor &c = in[0], &x = in[1], &y = in[2];
  if (c.dtype() != DType::Bool)
    return makeError("condition must be bool, got " + c.describe());
  if (x.dtype() != y.dtype())
    return makeError("X and Y types differ: " + x.describe() + " and " +
                     y.describe());
  Shape shapes[3] = {Shape(c.shape()), Shape(x.shape()), Shape(y.shape())};
  auto shape = broadcastShapes(shapes);
  if (!shape)
    return shape.takeError();
  BroadcastPlan plan = planBroadcast(shapes, *shape);
  size_t elt = dtypeSize(x.dtype());
  Tensor result = Tensor::empty(x.dtype(), *shape);
  const bool *cp = c.data_as<bool>();
  const char *xp = static_cast<const char *>(x.raw());
  const char *yp = static_cast<const char *>(y.raw());
  char *op = static_cast<char *>(result.rawMutable());
  runBroadcast(
      plan, &ctx.pool, kGrain,
      [&](int64_t oo, const int64_t *io, int64_t n, const int64_t *is) {
        for (int64_t i = 0; i < n; ++i) {
          bool cond = cp[io[0] + i * is[0]];
          const char *src = cond ? xp + (io[1] + i * is[1]) * elt
                                 : yp + (io[2] + i * is[2]) * elt;
          std::memcpy(op + (oo + i) * elt, src, elt);
        }
      });
  out.push_back(std::move(result));
  return Error::success();
}

Error clipKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                 SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  Tensor x = in[0];
  const Tensor &lo = optionalInput(in, 1), &hi = optionalInput(in, 2);
  // Opset < 11 carries min/max as attributes.
  bool hasLo = bool(lo) || ctx.hasAttr("min");
  bool hasHi = bool(hi) || ctx.hasAttr("max");
  double loV = lo ? lo.getDouble(0) : ctx.attrFloat("min", 0);
  double hiV = hi ? hi.getDouble(0) : ctx.attrFloat("max", 0);
  if (isInteger(x.dtype())) {
    int64_t l = lo ? lo.getInt(0) : int64_t(loV);
    int64_t h = hi ? hi.getInt(0) : int64_t(hiV);
    return setResult(unaryOp<kInts>(ctx, x,
                                    [&](auto v) {
                                      using T = decltype(v);
                                      if (hasLo && v < T(l))
                                        v = T(l);
                                      if (hasHi && v > T(h))
                                        v = T(h);
                                      return v;
                                    }),
                     out);
  }
  return setResult(unaryOp<kFloats>(ctx, x,
                                    [&](auto v) {
                                      using T = decltype(v);
                                      if (hasLo && v < T(loV))
                                        v = T(loV);
                                      if (hasHi && v > T(hiV))
                                        v = T(hiV);
                                      return v;
                                    }),
                   out);
}

Error castKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                 SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 1))
    return e;
  auto to = dtypeFromOnnx(ctx.attrInt("to", 0));
  if (!to)
    return to.takeError();
  out.push_back(in[0].castTo(ctx.floatType(*to)));
  return Error::success();
}

Error castLikeKernel(KernelContext &ctx, MutableArrayRef<Tensor> in,
                     SmallVectorImpl<Tensor> &out) {
  if (Error e = requireInputs(in, 2))
    return e;
  out.push_back(in[0].castTo(ctx.floatType(in[1].dtype())));
  return Error::success();
}

} // namespace

void s10::runtime::registerElementwiseKernels(KernelTable &t) {
  t["Add"] = addKernel;
  t["Sub"] = subKernel;
  t["Mul"] = mulKernel;
  t["Div"] = divKernel;
  t["Pow"] = powKernel;
  t["Mod"] = modKernel;
  t["PRelu"] = preluKernel;
  t["BitwiseAnd"] = bitAndKernel;
  t["BitwiseOr"] = bitOrKernel;
  t["BitwiseXor"] = bitXorKernel;
  t["BitwiseNot"] = bitNotKernel;
  t["And"] = andKernel;
  t["Or"] = orKernel;
  t["Xor"] = xorKernel;
  t["Not"] = notKernel;
  t["Max"] = variadicKernel<0>;
  t["Min"] = variadicKernel<1>;
  t["Sum"] = variadicKernel<2>;
  t["Mean"] = variadicKernel<3>;
  t["Equal"] = equalKernel;
  t["Less"] = lessKernel;
  t["LessOrEqual"] = lessEqualKernel;
  t["Greater"] = greaterKernel;
  t["GreaterOrEqual"] = greaterEqualKernel;
  t["Neg"] = negKernel;
  t["Abs"] = absKernel;
  t["Sign"] = signKernel;
  t["Relu"] = reluKernel;
  t["Sqrt"] = sqrtKernel;
  t["Reciprocal"] = reciprocalKernel;
  t["Exp"] = expKernel;
  t["Log"] = logKernel;
  t["Cos"] = cosKernel;
  t["Sin"] = sinKernel;
  t["Tan"] = tanKernel;
  t["Acos"] = acosKernel;
  t["Asin"] = asinKernel;
  t["Atan"] = atanKernel;
  t["Cosh"] = coshKernel;
  t["Sinh"] = sinhKernel;
  t["Acosh"] = acoshKernel;
  t["Asinh"] = asinhKernel;
  t["Atanh"] = atanhKernel;
  t["Tanh"] = tanhKernel;
  t["Sigmoid"] = sigmoidKernel;
  t["Erf"] = erfKernel;
  t["Floor"] = floorKernel;
  t["Ceil"] = ceilKernel;
  t["Round"] = roundKernel;
  t["Softplus"] = softplusKernel;
  t["Softsign"] = softsignKernel;
  t["Mish"] = mishKernel;
  t["LeakyRelu"] = leakyReluKernel;
  t["Elu"] = eluKernel;
  t["Selu"] = seluKernel;
  t["Celu"] = celuKernel;
  t["ThresholdedRelu"] = thresholdedReluKernel;
  t["HardSigmoid"] = hardSigmoidKernel;
  t["HardSwish"] = hardSwishKernel;
  t["Shrink"] = shrinkKernel;
  t["Gelu"] = geluKernel;
  t["IsNaN"] = isNaNKernel;
  t["IsInf"] = isInfKernel;
  t["Where"] = whereKernel;
  t["Clip"] = clipKernel;
  t["Cast"] = castKernel;
  t["CastLike"] = castLikeKernel;
}
