//===- Binarize.h - Mean-shifted binarization (paper Eq. 3) ----*- C++ -*-===//
//
// Per (row, group), over the entries that are NOT salient:
//   mu = mean(w), alpha = mean|w - mu|, b = alpha * sign(w - mu) + mu,
// with sign(0) = +1 (b = mu + alpha when w >= mu). Salient entries are
// excluded from mu and alpha. A group with no binarized entry gets
// alpha = mu = 0. Means are accumulated in double, stored as float.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_BINARIZE_H
#define S10_QUANT_BINARIZE_H

#include "s10/Quant/Matrix.h"

namespace s10::quant {

struct BinaryParams {
  float alpha = 0.0f;
  float mu = 0.0f;
};

/// Fits over values[k] with salient[k] == 0 (salient empty: all values).
/// Precondition: finite values; salient empty or same size.
BinaryParams fitBinaryParams(llvm::ArrayRef<float> values,
                             llvm::ArrayRef<uint8_t> salient = {});

inline float binarizeValue(float w, BinaryParams p) {
  return p.alpha * (w >= p.mu ? 1.0f : -1.0f) + p.mu;
}

struct BinaryResult {
  int64_t groupSize = 0;            // resolved
  int64_t numGroups = 0;            // groups per row
  std::vector<BinaryParams> params; // rows x numGroups
  Matrix values; // binarized; salient entries copied through unchanged

  const BinaryParams &paramsAt(int64_t row, int64_t col) const {
    return params[static_cast<size_t>(row * numGroups + col / groupSize)];
  }
};

/// The stored form of a binary group: code 1 for w >= mu and 0 below,
/// value = offset + code * scale, so scale = 2 alpha and offset = mu - alpha.
struct BinaryCodeParams {
  float scale = 0.0f;
  float offset = 0.0f;
};

inline BinaryCodeParams binaryCodeParams(BinaryParams p) {
  return {2 * p.alpha, p.mu - p.alpha};
}

/// Binarizes every (row, group) of `w`; `salient` (optional, same shape)
/// marks entries excluded from the fit and left unchanged.
llvm::Expected<BinaryResult> binarizeGroups(const Matrix &w, int64_t groupSize,
                                            const Mask *salient = nullptr);

/// The 0/1 code of every entry of `w` under `r`'s parameters (row-major;
/// salient entries get one too, which callers holding a mask overwrite).
/// Precondition: `r` comes from binarizeGroups on a matrix of w's shape.
std::vector<int8_t> binaryCodes(const Matrix &w, const BinaryResult &r);

} // namespace s10::quant

#endif // S10_QUANT_BINARIZE_H
