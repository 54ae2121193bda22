//===- Pbar.h - PBAR salience M = V + lambda B -----------------*- C++ -*-===//
//
// Post-Binarization Activation Robustness (paper Eq. 5, 7, 8), computed on
// the stage-1 weights W^ [dout x din]:
//   V_ij = W^_ij^2 / d_j^2, d = diag(H^-1) (Eq. 5) or the diagonal of
//          chol(H^-1) (PB-LLM variant) -- the caller passes d;
//   B_ij = max_t(Y_ti + X_tj delta_ij) - min_t(Y_ti + X_tj delta_ij),
//          Y = X W^T, delta_ij = b_ij - W^_ij, b = binarizeGroups(W^) with
//          no salient entry (Eq. 7), X a token subsample [T x din];
//   M = V + lambda B, or scale-free: V / mean(V) + lambda B / mean(B).
// B costs T * din * dout; Y is computed in fp32.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_PBAR_H
#define S10_QUANT_PBAR_H

#include "s10/Quant/Matrix.h"

namespace s10::quant {

/// Which diagonal d divides V: [H^-1]_jj (paper Eq. 5) or U_jj of
/// U = chol(H^-1) upper (PB-LLM).
enum class SalienceDiag { InverseHessian, InverseCholesky };

/// d for hessianSalience from a prepared (damped) H, computed in H's own
/// buffer (move H in when done with it: it is 969 MB at d = 11008).
llvm::Expected<std::vector<double>> salienceDiagonal(MatrixD h,
                                                     SalienceDiag kind);
/// The same from H in f32, through U = chol(H^-1) in f32 for both kinds
/// ([H^-1]_jj = sum_i U_ij^2, summed in f64).
llvm::Expected<std::vector<double>> salienceDiagonal(Matrix h,
                                                     SalienceDiag kind);

/// V (Eq. 5). hinvDiag has din positive finite entries.
llvm::Expected<Matrix> hessianSalience(const Matrix &what,
                                       llvm::ArrayRef<double> hinvDiag);

/// B (Eq. 7) with binarization groups of binGroupSize columns.
llvm::Expected<Matrix> rangeSalience(const Matrix &what, const Matrix &x,
                                     int64_t binGroupSize);

/// The range-delta form of B: B_ij <- |B_ij - range_t(Y_ti)| with
/// Y = X W^T, i.e. how much binarizing weight (i, j) alone CHANGES output
/// channel i's range, free of the per-row offset that otherwise dominates
/// a layer-wide ranking. `b` and `what` are [dout, din], `x` is [T, din].
llvm::Error subtractOutputRange(Matrix &b, const Matrix &what, const Matrix &x);

struct PbarOptions {
  double lambda = 3e-4;
  /// Divide V and B by their layer means first (a zero mean leaves the term
  /// at zero); lambda then weights the normalized terms.
  bool scaleFree = false;
};

/// M from V and B (b null: M = V, the "-PBAR" ablation).
llvm::Expected<Matrix> combineSalience(const Matrix &v, const Matrix *b,
                                       const PbarOptions &options = {});

} // namespace s10::quant

#endif // S10_QUANT_PBAR_H
