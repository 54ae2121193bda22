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

namespace s10::quant {

/// ||X (W - W^)^T||_F^2, the GPTQ layer loss.
llvm::Expected<double> outputErrorSquared(const Matrix &w, const Matrix &what,
                                          const Matrix &x);

llvm::Expected<double> relativeOutputError(const Matrix &w, const Matrix &what,
                                           const Matrix &x);

llvm::Expected<double> relativeOutputErrorFromHessian(const Matrix &w,
                                                      const Matrix &what,
                                                      const MatrixD &h);

} // namespace s10::quant

#endif // S10_QUANT_METRICS_H
