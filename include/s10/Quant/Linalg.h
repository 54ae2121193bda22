//===- Linalg.h - Cholesky-based SPD inverse and GPTQ's U ------*- C++ -*-===//
//
// Dense SPD routines in double (LAPACK when built with OpenBLAS, plain loops
// otherwise). GPTQ uses U = chol(H^-1) upper, i.e. H^-1 = U^T U; it is
// computed from the Cholesky factor of H with its indices reversed and a
// triangular inverse, in H's own buffer.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_LINALG_H
#define S10_QUANT_LINALG_H

#include "s10/Quant/Matrix.h"

namespace s10::quant {

/// In place A = L L^T (lower L; the strict upper triangle is zeroed). Reads
/// only the lower triangle of A. Error naming the failing pivot if A is not
/// (numerically) positive definite; A is unspecified then.
llvm::Error choleskyLower(MatrixD &a);

/// (L L^T)^-1 from a lower Cholesky factor L; full symmetric result.
llvm::Expected<MatrixD> choleskyInverse(const MatrixD &l);

/// A^-1 of a symmetric positive definite matrix.
llvm::Expected<MatrixD> invertSpd(const MatrixD &a);

/// U upper triangular with H^-1 = U^T U. If H is not positive definite and
/// maxRetries > 0, retry k (1..maxRetries) adds
/// retryPercdamp * 10^(k-1) * mean(diag H) to the diagonal of a copy of H;
/// the damping finally added goes to *addedDamp (if given).
llvm::Expected<MatrixD> inverseCholeskyUpper(const MatrixD &h,
                                             unsigned maxRetries = 0,
                                             double retryPercdamp = 0.01,
                                             double *addedDamp = nullptr);

/// The same in place: H becomes U, with no second d x d buffer (at d = 11008
/// each is 969 MB). H is unspecified after an error.
llvm::Error inverseCholeskyUpperInPlace(MatrixD &h, unsigned maxRetries = 0,
                                        double retryPercdamp = 0.01,
                                        double *addedDamp = nullptr);
/// The same in f32 (LAPACK's spotrf and strtri), as GPTQ's reference
/// factors: for Hessians too wide to hold in f64 (6.6 GB at d = 28672).
llvm::Error inverseCholeskyUpperInPlace(Matrix &h, unsigned maxRetries = 0,
                                        double retryPercdamp = 0.01,
                                        double *addedDamp = nullptr);

/// A^-1 of a symmetric positive definite matrix, in place.
llvm::Error invertSpdInPlace(MatrixD &a);

} // namespace s10::quant

#endif // S10_QUANT_LINALG_H
