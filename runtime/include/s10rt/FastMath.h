//===- FastMath.h - Vectorizable elementary functions -----------*- C++ -*-===//
//
// Shared by the in-compiler interpreter (lib/Runtime) and libs10rt so both
// compute softmax and SiLU with the same f32 exp: a compiled artifact
// reproduces the interpreter's logits to rounding. Branch-free, so GCC and
// Clang auto-vectorize the loops that call it. Plain C++17.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_FASTMATH_H
#define S10RT_FASTMATH_H

#include <cmath>
#include <cstdint>
#include <cstring>

/// Function multiversioning for the hot row loops: one binary gets AVX2 and
/// AVX-512 code where the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define S10_MULTIVERSION                                                       \
  __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define S10_MULTIVERSION
#endif

namespace s10rt {

/// exp(x) for f32: Cephes polynomial, max relative error about 2e-7.
/// Returns exactly 0 below -87 (e^-87 ~ 1.6e-38) and +inf above 88.72.
inline float fastExp(float x) {
  const float lo = -87.0f, hi = 88.72f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  // n = round(x / ln 2) with the 1.5 * 2^23 trick: vectorizes.
  float t = xc * 1.44269504088896341f + 12582912.0f;
  float n = t - 12582912.0f;
  int32_t ni;
  std::memcpy(&ni, &t, 4);
  ni -= 0x4B400000;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // Scale by 2^n by adding n to p's exponent; p is in [0.7, 1.42] and the
  // clamps keep the exponent normal. Unsigned: on NaN input `ni` is garbage
  // and a signed add could overflow (the NaN is restored below).
  uint32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += uint32_t(ni) << 23;
  float res;
  std::memcpy(&res, &bits, 4);
  res = x < lo ? 0.0f : res;
  res = x > hi ? HUGE_VALF : res;
  res = x != x ? x : res; // NaN in, NaN out
  return res;
}

} // namespace s10rt

#endif // S10RT_FASTMATH_H
