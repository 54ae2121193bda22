//===- LayoutBits.h - Byte and bit access shared by the layout code -------===//
//
// Not installed: the little-endian loads and bit reads that Layout.cpp (the
// packer and validator) and PackedKernels.cpp (the kernels) both use.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_LIB_LAYOUTBITS_H
#define S10_QUANT_LIB_LAYOUTBITS_H

#include <cstdint>
#include <cstring>

namespace s10::quant::layout::bits {

inline uint32_t loadU32(const uint8_t *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline uint16_t loadU16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

/// Bit `pos` of a stream, LSB first within bytes.
inline bool bitAt(const uint8_t *base, uint64_t pos) {
  return (base[pos / 8] >> (pos % 8)) & 1u;
}

/// The smallest n with 2^n >= v.
inline unsigned log2Ceil(int64_t v) {
  unsigned n = 0;
  while ((int64_t(1) << n) < v)
    ++n;
  return n;
}

} // namespace s10::quant::layout::bits

#endif // S10_QUANT_LIB_LAYOUTBITS_H
