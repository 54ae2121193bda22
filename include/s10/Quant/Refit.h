//===- Refit.h - Group parameters refit for the layer output error -*- C++ -*-//
//
// GPTQ fits a group's parameters once, when its first column is reached, on
// weights that later columns' errors have not yet moved. With the codes
// fixed, the parameters that minimise the calibration output error
//
//   (w - w^)^T H (w - w^)    per row, H = 2/N X^T X (damped)
//
// are the solution of a small linear system per row: w^ is linear in them.
// refitForOutput solves it and keeps, per row, whichever of the old and new
// parameters has the smaller error.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_REFIT_H
#define S10_QUANT_REFIT_H

#include "s10/Quant/Matrix.h"

namespace s10::quant {

/// A row-wise affine code: entry (r, j) decodes as
///   scale[(r * groups + j / G) * slots + s] * code + offset[same]
/// where s is the entry's slot (0 for k-bit codes; 0 binary, 1 salient for
/// the mixed codes).
struct AffineCode {
  int64_t rows = 0, cols = 0, groupSize = 0;
  unsigned slots = 1;
  std::vector<uint8_t> codes;       // [rows x cols]
  std::vector<uint8_t> slot;        // [rows x cols]; empty: every entry 0
  std::vector<float> scale, offset; // [rows x groups x slots]

  int64_t groups() const { return (cols + groupSize - 1) / groupSize; }
  float decode(int64_t r, int64_t j) const;
};

struct RefitStats {
  int64_t rowsChanged = 0;
  double errorBefore = 0, errorAfter = 0; // sum over rows of the objective
};

/// Refits `code`'s parameters row by row for the output error against `w`
/// under `h` (cols x cols, symmetric positive semi-definite). A parameter
/// pair whose slot holds no entry of its group keeps its value; a row whose
/// system is singular, whose solution has a negative scale, or whose error
/// does not drop keeps all of its values.
llvm::Expected<RefitStats> refitForOutput(const Matrix &w, const MatrixD &h,
                                          AffineCode &code);

} // namespace s10::quant

#endif // S10_QUANT_REFIT_H
