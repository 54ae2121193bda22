//===- Hessian.h - GPTQ layer Hessian H = (2/N) X^T X ----------*- C++ -*-===//
//
// Streaming accumulation of the layer-wise quantization Hessian over batches
// of calibration tokens (rows of X [N x din]); sums are kept in double.
// Hygiene as in GPTQ: dead input channels (H_jj == 0) get H_jj = 1 and
// W[:, j] = 0, then H += percdamp * mean(diag H) * I.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_HESSIAN_H
#define S10_QUANT_HESSIAN_H

#include "s10/Quant/Matrix.h"

namespace s10::quant {

class HessianAccumulator {
public:
  explicit HessianAccumulator(int64_t dim);

  /// Adds `rows` tokens given row-major in `x` (rows * dim values). Rejects
  /// size mismatches and NaN/Inf (nothing is added then).
  llvm::Error add(llvm::ArrayRef<float> x, int64_t rows);
  llvm::Error add(const Matrix &x);

  int64_t dim() const { return dim_; }
  int64_t numSamples() const { return count_; }
  /// (2/N) X^T X, symmetric; all zeros when N == 0.
  MatrixD hessian() const;

private:
  int64_t dim_;
  int64_t count_ = 0;
  std::vector<double> sum_; // upper triangle of X^T X, row-major dim x dim
};

/// Sets H_jj = 1 where H_jj == 0 and zeroes W[:, j] (w may be null).
/// Returns the dead channel indices in increasing order.
std::vector<int64_t> fixDeadChannels(MatrixD &h, Matrix *w);
std::vector<int64_t> fixDeadChannels(Matrix &h, Matrix *w);

/// H += percdamp * mean(diag H) * I. Error if H is not square or percdamp < 0.
llvm::Error addDamping(MatrixD &h, double percdamp);
llvm::Error addDamping(Matrix &h, double percdamp);

/// fixDeadChannels + addDamping with shape checks (w is [dout x dim]).
/// Returns the dead channels.
llvm::Expected<std::vector<int64_t>> prepareHessian(MatrixD &h, Matrix &w,
                                                    double percdamp = 0.01);
/// The same for H held in f32 (see inverseCholeskyUpperInPlace).
llvm::Expected<std::vector<int64_t>> prepareHessian(Matrix &h, Matrix &w,
                                                    double percdamp = 0.01);

} // namespace s10::quant

#endif // S10_QUANT_HESSIAN_H
