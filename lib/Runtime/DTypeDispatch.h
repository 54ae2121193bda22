//===- DTypeDispatch.h - Compile-time dtype traits and dispatch -*- C++ -*-===//
//
// Internal to the runtime: maps each DType to its storage type and to the
// type arithmetic is done in, and turns a run-time DType into a template
// argument so kernels are written once per operation.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_RUNTIME_DTYPEDISPATCH_H
#define S10_LIB_RUNTIME_DTYPEDISPATCH_H

#include "s10/Runtime/Tensor.h"

#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace s10::runtime {

template <DType D> struct DT;
// S: storage type; C: compute type (what loads return, what stores take).
#define S10_DT(NAME, STORAGE, COMPUTE)                                         \
  template <> struct DT<DType::NAME> {                                         \
    using S = STORAGE;                                                         \
    using C = COMPUTE;                                                         \
  };
S10_DT(F32, float, float)
S10_DT(F64, double, double)
S10_DT(F16, uint16_t, float)
S10_DT(BF16, uint16_t, float)
S10_DT(I64, int64_t, int64_t)
S10_DT(I32, int32_t, int32_t)
S10_DT(I16, int16_t, int16_t)
S10_DT(I8, int8_t, int8_t)
S10_DT(U64, uint64_t, uint64_t)
S10_DT(U32, uint32_t, uint32_t)
S10_DT(U16, uint16_t, uint16_t)
S10_DT(U8, uint8_t, uint8_t)
S10_DT(Bool, bool, bool)
#undef S10_DT

template <DType D> using DTag = std::integral_constant<DType, D>;

/// Loads a storage value as its compute type.
template <DType D> inline typename DT<D>::C load(typename DT<D>::S v) {
  if constexpr (D == DType::F16)
    return halfToFloat(v);
  else if constexpr (D == DType::BF16)
    return bf16ToFloat(v);
  else
    return v;
}

/// Stores a compute value (rounding for f16/bf16).
template <DType D> inline typename DT<D>::S store(typename DT<D>::C v) {
  if constexpr (D == DType::F16)
    return floatToHalf(v);
  else if constexpr (D == DType::BF16)
    return floatToBF16(v);
  else
    return v;
}

/// Calls `f(DTag<D>{})` for the run-time dtype `t`.
template <typename F> decltype(auto) dispatchAll(DType t, F &&f) {
  switch (t) {
  case DType::F32:
    return f(DTag<DType::F32>{});
  case DType::F64:
    return f(DTag<DType::F64>{});
  case DType::F16:
    return f(DTag<DType::F16>{});
  case DType::BF16:
    return f(DTag<DType::BF16>{});
  case DType::I64:
    return f(DTag<DType::I64>{});
  case DType::I32:
    return f(DTag<DType::I32>{});
  case DType::I16:
    return f(DTag<DType::I16>{});
  case DType::I8:
    return f(DTag<DType::I8>{});
  case DType::U64:
    return f(DTag<DType::U64>{});
  case DType::U32:
    return f(DTag<DType::U32>{});
  case DType::U16:
    return f(DTag<DType::U16>{});
  case DType::U8:
    return f(DTag<DType::U8>{});
  case DType::Bool:
    return f(DTag<DType::Bool>{});
  }
  llvm_unreachable("unknown dtype");
}

/// Same, over the arithmetic (non-bool) dtypes; bool reports false.
template <DType D> constexpr bool isNumeric() { return D != DType::Bool; }
template <DType D> constexpr bool isFloatD() {
  return D == DType::F32 || D == DType::F64 || D == DType::F16 ||
         D == DType::BF16;
}

/// Converts a compute value of one dtype to the compute value of another
/// with ONNX Cast semantics.
template <DType From, DType To>
inline typename DT<To>::C convertValue(typename DT<From>::C v) {
  using TC = typename DT<To>::C;
  if constexpr (To == DType::Bool) {
    return v != 0;
  } else if constexpr (isFloatD<From>() && !isFloatD<To>()) {
    // Float -> integer truncates toward zero; NaN and out-of-range values
    // are undefined in ONNX, we saturate them.
    double d = static_cast<double>(v);
    if (std::isnan(d))
      return TC(0);
    d = std::trunc(d);
    if (d <= double(std::numeric_limits<TC>::lowest()))
      return std::numeric_limits<TC>::lowest();
    if (d >= double(std::numeric_limits<TC>::max()))
      return std::numeric_limits<TC>::max();
    return static_cast<TC>(d);
  } else if constexpr (To == DType::F16 || To == DType::BF16) {
    // The compute type is float; keep f64 precision for the single rounding
    // done by store().
    return static_cast<TC>(v);
  } else {
    return static_cast<TC>(v);
  }
}

} // namespace s10::runtime

#endif // S10_LIB_RUNTIME_DTYPEDISPATCH_H
