//===- Uniform.h - Asymmetric k-bit group quantization ---------*- C++ -*-===//
//
// Stage 1 of Squeeze10 (and RTN/GPTQ baselines): uniform asymmetric k-bit
// quantization per (row, group) of consecutive input channels:
//   s = (max - min) / (2^k - 1),  z = round(-min / s),
//   q = clamp(round(w / s) + z, 0, 2^k - 1),  w^ = s (q - z).
// round() is round-half-to-even (like torch.round). Arithmetic is in double;
// scale and zero are stored as float (zero always holds an integer).
//
// Degenerate groups: a group is "constant" when max - min <= 2^-16 max(|min|,
// |max|) or the scale would be below FLT_MIN. It is represented exactly by
// c = (min + max) / 2: c == 0 -> s = 1, z = 0; c > 0 -> s = c, z = 0 (code 1);
// c < 0 -> s = -c, z = 1 (code 0). Hence s > 0 and finite, and |z| <= 2^24.
// Without includeZero z may lie outside [0, 2^k - 1] (all-positive or
// all-negative groups); includeZero widens [min, max] to contain 0 as GPTQ's
// reference quantizer does, which keeps z in [0, 2^k - 1].
//
// `levels` (0: 2^k) narrows the codes to [0, levels - 1] within k bits:
// levels = 3 with k = 2 is the ternary grid that packs five codes per byte.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_UNIFORM_H
#define S10_QUANT_UNIFORM_H

#include "s10/Quant/Matrix.h"

namespace s10::quant {

/// Parameters of one group: value = scale * (code - zero).
struct UniformParams {
  float scale = 1.0f;
  float zero = 0.0f;
};

struct UniformSpec {
  unsigned bits = 4;        // 1..8
  int64_t groupSize = 128;  // 0: one group per row
  bool includeZero = false; // widen [min, max] to contain 0
  double clipNorm = 0;      // > 0: clipped ranges (fitUniformParams)
  unsigned levels = 0;      // codes per group (0: 2^bits); checkLevels
};

/// The largest code: levels - 1, or 2^bits - 1 where levels is 0.
inline unsigned maxCode(unsigned bits, unsigned levels = 0) {
  return levels ? levels - 1u : (1u << bits) - 1u;
}
/// Error unless 1 <= bits <= 8.
llvm::Error checkBits(unsigned bits);
/// Error unless levels is 0 or in [2, 2^bits].
llvm::Error checkLevels(unsigned bits, unsigned levels);

/// Fits a group. Precondition: values nonempty and finite, 1 <= bits <= 8.
/// With clipNorm > 0 the range [min, max] is shrunk toward zero by factors
/// 1, 0.99, ..., 0.21 and the fit with the least sum of |w - w^|^clipNorm
/// over the group wins (ties: the widest), as GPTQ's reference quantizer
/// does with its `mse` option (norm 2.4): at 2 and 3 bits a few outliers
/// otherwise stretch every step of the group.
UniformParams fitUniformParams(llvm::ArrayRef<float> values, unsigned bits,
                               bool includeZero = false, double clipNorm = 0,
                               unsigned levels = 0);
/// Error unless clipNorm is 0 or a finite positive number.
llvm::Error checkClipNorm(double clipNorm);
/// Code of one value under given params (NaN maps to 0).
uint8_t quantizeCode(float w, UniformParams p, unsigned bits,
                     unsigned levels = 0);
/// The nearest code for any real zero point: clamp(round(w / scale + zero)).
/// quantizeCode adds an integer zero after rounding, as the reference
/// quantizers do; the two agree except at ties.
uint8_t quantizeCodeAffine(float w, UniformParams p, unsigned bits,
                           unsigned levels = 0);
float dequantizeCode(uint8_t code, UniformParams p);
/// dequantizeCode(quantizeCode(w)).
float quantizeValue(float w, UniformParams p, unsigned bits,
                    unsigned levels = 0);

/// Result of group quantization of a [rows x cols] matrix.
struct UniformResult {
  unsigned bits = 4;
  unsigned levels = 0;               // as UniformSpec::levels
  int64_t groupSize = 0;             // resolved (1..cols)
  int64_t numGroups = 0;             // groups per row
  std::vector<uint8_t> codes;        // rows x cols, row-major
  std::vector<UniformParams> params; // rows x numGroups
  Matrix dequantized;

  const UniformParams &paramsAt(int64_t row, int64_t col) const {
    return params[static_cast<size_t>(row * numGroups + col / groupSize)];
  }
};

/// Round-to-nearest group quantization of `w`. Errors: bad spec, empty or
/// non-finite input (the message names row and column).
llvm::Expected<UniformResult> quantizeUniform(const Matrix &w,
                                              const UniformSpec &spec);

/// Fills r.codes and r.dequantized from `w` and r's bits, group size and
/// params (rows x numGroups): the codes quantizeUniform gives for the same
/// parameters.
void applyUniformParams(const Matrix &w, UniformResult &r);

} // namespace s10::quant

#endif // S10_QUANT_UNIFORM_H
