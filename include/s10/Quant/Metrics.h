//===- Metrics.h - Layer output error of a quantized weight ----*- C++ -*-===//
//
// Relative output error ||X W^T - X W^^T||_F / ||X W^T||_F, either from the
// activations X [N x din] or from an undamped H = (2/N) X^T X through
// trace(D H D^T) with D = W - W^ (the factor N/2 cancels). A zero
// denominator gives 0 if the numerator is 0 too, else +infinity.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_METRICS_H
#define S10_QUANT_METRICS_H

#include "s10/Quant/Matrix.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace s10::quant {

/// ||X (W - W^)^T||_F^2, the GPTQ layer loss.
llvm::Expected<double> outputErrorSquared(const Matrix &w, const Matrix &what,
                                          const Matrix &x);

llvm::Expected<double> relativeOutputError(const Matrix &w, const Matrix &what,
                                           const Matrix &x);

llvm::Expected<double> relativeOutputErrorFromHessian(const Matrix &w,
                                                      const Matrix &what,
                                                      const MatrixD &h);

/// Rows [r0, r0 + count) of H, row-major with din columns (or an error).
using HessianRows = llvm::function_ref<llvm::Expected<const double *>(
    int64_t r0, int64_t count)>;

/// As above, with H read `sliceRows` rows at a time through `rows`, so that
/// it is never held whole (6.6 GB in f64 at din = 28672). Each slice is
/// used before the next is asked for.
llvm::Expected<double>
relativeOutputErrorFromHessianRows(const Matrix &w, const Matrix &what,
                                   HessianRows rows, int64_t sliceRows = 1024);

} // namespace s10::quant

#endif // S10_QUANT_METRICS_H
