//===- Kernels.cpp - Dense kernels: OpenBLAS/LAPACK or plain loops -------===//

#include "Detail.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#ifdef S10_QUANT_HAVE_CBLAS
#include <cblas.h>
#endif

#ifdef S10_QUANT_HAVE_LAPACK
// Fortran LAPACK (OpenBLAS exports it); the trailing size_t is the hidden
// length of the character argument (gfortran ABI).
extern "C" {
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
             int *info, size_t uploLen);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda,
             int *info, size_t uploLen);
void dtrtri_(const char *uplo, const char *diag, const int *n, double *a,
             const int *lda, int *info, size_t uploLen, size_t diagLen);
void spotrf_(const char *uplo, const int *n, float *a, const int *lda,
             int *info, size_t uploLen);
void strtri_(const char *uplo, const char *diag, const int *n, float *a,
             const int *lda, int *info, size_t uploLen, size_t diagLen);
}
#endif

using namespace s10::quant;

/// Zeroes the strict upper triangle of the row-major n x n `a`.
template <typename T> static void zeroStrictUpper(T *a, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    std::fill(a + i * n + i + 1, a + (i + 1) * n, T(0));
}

/// True if every diagonal entry is nonzero and finite.
template <typename T> static bool invertibleDiagonal(const T *a, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!(a[i * n + i] != T(0)) || !std::isfinite(a[i * n + i]))
      return false;
  return true;
}

llvm::Error detail::makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

void detail::parallelRows(int64_t n, int64_t grain,
                          llvm::function_ref<void(int64_t, int64_t)> fn) {
  int64_t threads = std::max<int64_t>(1, std::thread::hardware_concurrency());
  threads =
      std::min(threads, std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
  if (threads <= 1) {
    if (n > 0)
      fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  int64_t chunk = (n + threads - 1) / threads;
  for (int64_t t = 1; t < threads; ++t) {
    int64_t i0 = t * chunk, i1 = std::min(n, i0 + chunk);
    if (i0 < i1)
      pool.emplace_back([=] { fn(i0, i1); });
  }
  fn(0, std::min(n, chunk));
  for (std::thread &t : pool)
    t.join();
}

bool detail::haveBlas() {
#ifdef S10_QUANT_HAVE_CBLAS
  return true;
#else
  return false;
#endif
}

bool detail::haveLapack() {
#ifdef S10_QUANT_HAVE_LAPACK
  return true;
#else
  return false;
#endif
}

//===----------------------------------------------------------------------===//
// Plain loops.
//===----------------------------------------------------------------------===//

namespace {
template <typename T>
void gemmLoops(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
               T alpha, const T *a, int64_t lda, const T *b, int64_t ldb,
               T beta, T *c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T *ci = c + i * ldc;
    if (beta == T(0))
      std::fill(ci, ci + n, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j)
        ci[j] *= beta;
  }
  auto aAt = [&](int64_t i, int64_t p) {
    return transA ? a[p * lda + i] : a[i * lda + p];
  };
  if (!transB) {
    for (int64_t i = 0; i < m; ++i) {
      T *ci = c + i * ldc;
      for (int64_t p = 0; p < k; ++p) {
        T s = alpha * aAt(i, p);
        const T *bp = b + p * ldb;
        for (int64_t j = 0; j < n; ++j)
          ci[j] += s * bp[j];
      }
    }
    return;
  }
  std::vector<T> arow(static_cast<size_t>(k));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t p = 0; p < k; ++p)
      arow[p] = aAt(i, p);
    T *ci = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) {
      const T *bj = b + j * ldb;
      T s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += arow[p] * bj[p];
      ci[j] += alpha * s;
    }
  }
}
} // namespace

void detail::ref::sgemm(bool transA, bool transB, int64_t m, int64_t n,
                        int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c,
                        int64_t ldc) {
  gemmLoops(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void detail::ref::dgemm(bool transA, bool transB, int64_t m, int64_t n,
                        int64_t k, double alpha, const double *a, int64_t lda,
                        const double *b, int64_t ldb, double beta, double *c,
                        int64_t ldc) {
  gemmLoops(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void detail::ref::accumulateAtA(int64_t n, int64_t k, const float *a,
                                int64_t lda, double *acc) {
  for (int64_t t = 0; t < k; ++t) {
    const float *x = a + t * lda;
    for (int64_t j = 0; j < n; ++j) {
      double xj = x[j];
      if (xj == 0.0)
        continue;
      double *row = acc + j * n;
      for (int64_t l = j; l < n; ++l)
        row[l] += xj * static_cast<double>(x[l]);
    }
  }
}

int64_t detail::ref::choleskyLowerInPlace(double *a, int64_t n) {
  int64_t pivot = choleskyLowerKeepUpper(a, n);
  if (pivot < 0)
    zeroStrictUpper(a, n);
  return pivot;
}

template <typename T> static int64_t choleskyKeepUpperLoops(T *a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T *li = a + i * n;
    for (int64_t j = 0; j <= i; ++j) {
      const T *lj = a + j * n;
      T s = li[j];
      for (int64_t p = 0; p < j; ++p)
        s -= li[p] * lj[p];
      if (j == i) {
        if (!(s > T(0)) || !std::isfinite(s))
          return i;
        li[i] = std::sqrt(s);
      } else {
        li[j] = s / lj[j];
      }
    }
  }
  return -1;
}

template <typename T> static bool invertLowerLoops(T *a, int64_t n) {
  // L = [[l, 0], [c, M]] has L^-1 = [[1/l, 0], [-M^-1 c / l, M^-1]]: columns
  // from the last, so M^-1 is in place when column j is computed. Within
  // the column, rows from the bottom: row i of M^-1 c reads c(p) for p <= i,
  // still unreplaced.
  if (!invertibleDiagonal(a, n))
    return false;
  for (int64_t j = n - 1; j >= 0; --j) {
    T inv = T(1) / a[j * n + j];
    a[j * n + j] = inv;
    for (int64_t i = n - 1; i > j; --i) {
      T s = 0;
      for (int64_t p = j + 1; p <= i; ++p)
        s += a[i * n + p] * a[p * n + j];
      a[i * n + j] = -s * inv;
    }
  }
  zeroStrictUpper(a, n);
  return true;
}

int64_t detail::ref::choleskyLowerKeepUpper(double *a, int64_t n) {
  return choleskyKeepUpperLoops(a, n);
}
int64_t detail::ref::choleskyLowerKeepUpper(float *a, int64_t n) {
  return choleskyKeepUpperLoops(a, n);
}
bool detail::ref::invertLowerInPlace(double *a, int64_t n) {
  return invertLowerLoops(a, n);
}
bool detail::ref::invertLowerInPlace(float *a, int64_t n) {
  return invertLowerLoops(a, n);
}

bool detail::ref::choleskyInverseInPlace(double *a, int64_t n) {
  // Rows of L^-1: row i = (e_i - sum_{p<i} L_ip row_p) / L_ii.
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const double *li = a + i * n;
    if (!(li[i] != 0.0) || !std::isfinite(li[i]))
      return false;
    double *ri = inv.data() + i * n;
    ri[i] = 1.0;
    for (int64_t p = 0; p < i; ++p) {
      double f = li[p];
      if (f == 0.0)
        continue;
      const double *rp = inv.data() + p * n;
      for (int64_t q = 0; q <= p; ++q)
        ri[q] -= f * rp[q];
    }
    double d = 1.0 / li[i];
    for (int64_t q = 0; q <= i; ++q)
      ri[q] *= d;
  }
  // (L L^T)^-1 = L^-T L^-1 = sum_k row_k^T row_k; fill the lower triangle.
  std::fill(a, a + n * n, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const double *rk = inv.data() + k * n;
    for (int64_t p = 0; p <= k; ++p) {
      double f = rk[p];
      if (f == 0.0)
        continue;
      double *out = a + p * n;
      for (int64_t q = 0; q <= p; ++q)
        out[q] += f * rk[q];
    }
  }
  for (int64_t p = 0; p < n; ++p)
    for (int64_t q = 0; q < p; ++q)
      a[q * n + p] = a[p * n + q];
  return true;
}

//===----------------------------------------------------------------------===//
// Dispatch.
//===----------------------------------------------------------------------===//

void detail::sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                   float alpha, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m == 0 || n == 0)
    return;
#ifdef S10_QUANT_HAVE_CBLAS
  if (k > 0) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
                alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
    return;
  }
#endif
  ref::sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void detail::dgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                   double alpha, const double *a, int64_t lda, const double *b,
                   int64_t ldb, double beta, double *c, int64_t ldc) {
  if (m == 0 || n == 0)
    return;
#ifdef S10_QUANT_HAVE_CBLAS
  if (k > 0) {
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
                alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
    return;
  }
#endif
  ref::dgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void detail::accumulateAtA(int64_t n, int64_t k, const float *a, int64_t lda,
                           double *acc) {
#ifdef S10_QUANT_HAVE_CBLAS
  // Widen chunks of at most 256 tokens to double and dsyrk into acc.
  if (n == 0 || k == 0)
    return;
  constexpr int64_t kChunk = 256;
  std::vector<double> buf(static_cast<size_t>(std::min(kChunk, k) * n));
  for (int64_t t0 = 0; t0 < k; t0 += kChunk) {
    int64_t rows = std::min(kChunk, k - t0);
    for (int64_t t = 0; t < rows; ++t)
      std::copy(a + (t0 + t) * lda, a + (t0 + t) * lda + n, buf.data() + t * n);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(n), int(rows), 1.0,
                buf.data(), int(n), 1.0, acc, int(n));
  }
#else
  ref::accumulateAtA(n, k, a, lda, acc);
#endif
}

int64_t detail::choleskyLowerInPlace(double *a, int64_t n) {
  int64_t pivot = choleskyLowerKeepUpper(a, n);
  if (pivot < 0)
    zeroStrictUpper(a, n);
  return pivot;
}

bool detail::choleskyInverseInPlace(double *a, int64_t n) {
#ifdef S10_QUANT_HAVE_LAPACK
  if (n == 0)
    return true;
  if (!invertibleDiagonal(a, n))
    return false;
  int nn = int(n), info = 0;
  dpotri_("U", &nn, a, &nn, &info, 1);
  if (info != 0)
    return false;
  // Result in the row-major lower triangle; mirror it.
  for (int64_t p = 0; p < n; ++p)
    for (int64_t q = 0; q < p; ++q)
      a[q * n + p] = a[p * n + q];
  return true;
#else
  return ref::choleskyInverseInPlace(a, n);
#endif
}

#ifdef S10_QUANT_HAVE_LAPACK
template <typename T, typename Potrf>
static int64_t lapackCholeskyKeepUpper(T *a, int64_t n, Potrf potrf) {
  if (n == 0)
    return -1;
  // Row-major lower == column-major upper; ?potrf leaves the rest alone.
  int nn = int(n), info = 0;
  potrf("U", &nn, a, &nn, &info, 1);
  if (info > 0)
    return info - 1;
  if (info < 0)
    return 0;
  for (int64_t i = 0; i < n; ++i) {
    T d = a[i * n + i];
    if (!(d > T(0)) || !std::isfinite(d))
      return i;
  }
  return -1;
}

template <typename T, typename Trtri>
static bool lapackInvertLower(T *a, int64_t n, Trtri trtri) {
  if (n == 0)
    return true;
  if (!invertibleDiagonal(a, n))
    return false;
  int nn = int(n), info = 0;
  trtri("U", "N", &nn, a, &nn, &info, 1, 1);
  if (info != 0)
    return false;
  zeroStrictUpper(a, n);
  return true;
}
#endif

int64_t detail::choleskyLowerKeepUpper(double *a, int64_t n) {
#ifdef S10_QUANT_HAVE_LAPACK
  return lapackCholeskyKeepUpper(a, n, dpotrf_);
#else
  return ref::choleskyLowerKeepUpper(a, n);
#endif
}

int64_t detail::choleskyLowerKeepUpper(float *a, int64_t n) {
#ifdef S10_QUANT_HAVE_LAPACK
  return lapackCholeskyKeepUpper(a, n, spotrf_);
#else
  return ref::choleskyLowerKeepUpper(a, n);
#endif
}

bool detail::invertLowerInPlace(double *a, int64_t n) {
#ifdef S10_QUANT_HAVE_LAPACK
  return lapackInvertLower(a, n, dtrtri_);
#else
  return ref::invertLowerInPlace(a, n);
#endif
}

bool detail::invertLowerInPlace(float *a, int64_t n) {
#ifdef S10_QUANT_HAVE_LAPACK
  return lapackInvertLower(a, n, strtri_);
#else
  return ref::invertLowerInPlace(a, n);
#endif
}
