//===- SplitMix.h - A portable 64-bit random sequence -----------*- C++ -*-===//
//
// Header-only, plain C++17 (the runtime's check tool includes it).
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_SPLITMIX_H
#define S10_QUANT_SPLITMIX_H

#include <cstdint>

namespace s10::quant {

/// splitmix64: small, fast and the same sequence on every machine.
struct SplitMix64 {
  uint64_t state;
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

} // namespace s10::quant

#endif // S10_QUANT_SPLITMIX_H
