//===- PackedSpec.h - A packed tensor's layout in its record ----*- C++ -*-===//
//
// The pk* fields of a TensorRecord (s10rt/Format.h) hold the layout::Spec
// of a packed weight (s10/Quant/Layout.h): written by the artifact writers,
// read (then checked) by the loader.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_PACKEDSPEC_H
#define S10RT_PACKEDSPEC_H

#include "s10/Quant/Layout.h"
#include "s10rt/Format.h"

namespace s10rt::format {

inline void setPackedSpec(TensorRecord &r, const s10::quant::layout::Spec &s) {
  r.pkKind = uint8_t(s.kind);
  r.pkBits = uint8_t(s.bits);
  r.pkSalientBits = uint8_t(s.salientBits);
  r.pkParams = uint8_t(s.params);
  r.pkGroupSize = s.groupSize;
  r.pkBlock = s.block;
  r.pkNmSalient = s.nmSalient;
  r.pkSalientCount = s.salientCount;
}

/// The spec as recorded; unchecked (layout::describe checks it).
inline s10::quant::layout::Spec packedSpec(const TensorRecord &r) {
  namespace layout = s10::quant::layout;
  layout::Spec s;
  s.kind = static_cast<layout::Kind>(r.pkKind);
  s.bits = r.pkBits;
  s.salientBits = r.pkSalientBits;
  s.params = static_cast<layout::ParamFormat>(r.pkParams);
  s.groupSize = r.pkGroupSize;
  s.block = r.pkBlock;
  s.nmSalient = r.pkNmSalient;
  s.salientCount = r.pkSalientCount;
  return s;
}

} // namespace s10rt::format

#endif // S10RT_PACKEDSPEC_H
