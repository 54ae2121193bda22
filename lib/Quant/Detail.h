//===- Detail.h - Internal helpers and dense kernels of S10Quant ---------===//
//
// Not installed. The kernels dispatch to OpenBLAS/LAPACK when the library is
// built with S10_QUANT_HAVE_CBLAS / S10_QUANT_HAVE_LAPACK; the plain-loop
// versions in `ref` are always compiled (and tested against the BLAS ones).
// All matrices are row-major.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_LIB_DETAIL_H
#define S10_QUANT_LIB_DETAIL_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace s10::quant::detail {

llvm::Error makeError(const llvm::Twine &msg);

bool haveBlas();
bool haveLapack();

/// fn(i0, i1) over [0, n) split into contiguous chunks of at least `grain`,
/// one per hardware thread: for loops whose iterations are independent, so
/// the result does not depend on the split.
void parallelRows(int64_t n, int64_t grain,
                  llvm::function_ref<void(int64_t, int64_t)> fn);

/// C = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) is k x n.
void sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc);
void dgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
           double alpha, const double *a, int64_t lda, const double *b,
           int64_t ldb, double beta, double *c, int64_t ldc);
/// Upper triangle of acc (n x n, ld n) += A^T A, A is k x n with ld lda.
void accumulateAtA(int64_t n, int64_t k, const float *a, int64_t lda,
                   double *acc);
/// In place lower Cholesky of a (n x n); reads the lower triangle, zeroes the
/// strict upper one. Returns -1 on success, else the failing pivot.
int64_t choleskyLowerInPlace(double *a, int64_t n);
/// Lower factor L in place -> full symmetric (L L^T)^-1. False if singular.
bool choleskyInverseInPlace(double *a, int64_t n);
/// As choleskyLowerInPlace, but the strict upper triangle is left as it was
/// (so a failed attempt can be restored from it).
int64_t choleskyLowerKeepUpper(double *a, int64_t n);
/// Lower triangular L in place -> L^-1 (lower); the strict upper triangle is
/// zeroed. False if a diagonal entry is zero or not finite.
bool invertLowerInPlace(double *a, int64_t n);
/// The same two in f32, for Hessians too wide to factor in f64.
int64_t choleskyLowerKeepUpper(float *a, int64_t n);
bool invertLowerInPlace(float *a, int64_t n);

namespace ref {
void sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc);
void dgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
           double alpha, const double *a, int64_t lda, const double *b,
           int64_t ldb, double beta, double *c, int64_t ldc);
void accumulateAtA(int64_t n, int64_t k, const float *a, int64_t lda,
                   double *acc);
int64_t choleskyLowerInPlace(double *a, int64_t n);
bool choleskyInverseInPlace(double *a, int64_t n);
int64_t choleskyLowerKeepUpper(double *a, int64_t n);
bool invertLowerInPlace(double *a, int64_t n);
int64_t choleskyLowerKeepUpper(float *a, int64_t n);
bool invertLowerInPlace(float *a, int64_t n);
} // namespace ref

} // namespace s10::quant::detail

#endif // S10_QUANT_LIB_DETAIL_H
