//===- PackedInput.h - The packed-decode fuzzer's input header -*- C++ -*-===//
//
// Eight bytes that choose a layout spec and a weight shape; shared by the
// fuzz target and the seed writer.
//
//===----------------------------------------------------------------------===//

#ifndef S10_FUZZ_PACKEDINPUT_H
#define S10_FUZZ_PACKEDINPUT_H

#include "s10/Quant/Layout.h"

#include <algorithm>
#include <cstdint>

namespace s10::fuzz {

constexpr size_t kPackedHeaderBytes = 8;

struct PackedInput {
  quant::layout::Spec spec;
  int64_t out = 0, in = 0;
};

inline PackedInput decodePackedHeader(const uint8_t *h) {
  using namespace quant::layout;
  PackedInput p;
  p.spec.kind = Kind(h[0] % 4);
  p.spec.params = ParamFormat(h[1] & 1);
  p.spec.bits = 1 + (h[1] >> 1) % 8;
  if (p.spec.kind != Kind::KBit) {
    p.spec.bits = 1;
    p.spec.salientBits = 2 + h[2] % 7;
  }
  p.spec.groupSize = 1 + h[3] % 64;
  p.spec.block = h[4] % 17;
  p.spec.nmSalient = h[5] % 5;
  p.out = 1 + h[6] % 24;
  p.in = 1 + h[7] % 80;
  return p;
}

/// The salient count a reader takes from the weight's record, derived here
/// from the bytes (mask bits) so that flipping a mask bit stays valid input.
inline void deriveSalientCount(PackedInput &p, const uint8_t *bytes,
                               size_t size) {
  using namespace quant::layout;
  quant::layout::Spec &s = p.spec;
  s.salientCount = 0;
  if (s.kind == Kind::NM) {
    if (s.block > 0)
      s.salientCount = p.in / s.block * s.nmSalient * p.out;
    return;
  }
  if (s.kind == Kind::KBit)
    return;
  Geometry g; // mask geometry does not depend on the count
  if (describe(s, p.out, p.in, g).failed())
    return;
  const Part *mask =
      g.find(s.kind == Kind::Bitmap ? PartId::Mask : PartId::ChannelMask);
  if (!mask || mask->offset + mask->size > size)
    return;
  int64_t rows =
      s.kind == Kind::Bitmap ? p.out : (p.out + s.block - 1) / s.block;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t weight =
        s.kind == Kind::Bitmap ? 1 : std::min(s.block, p.out - r * s.block);
    for (int64_t j = 0; j < p.in; ++j)
      if ((bytes[mask->offset + r * mask->rowBytes + j / 8] >> (j % 8)) & 1)
        s.salientCount += weight;
  }
}

} // namespace s10::fuzz

#endif // S10_FUZZ_PACKEDINPUT_H
