//===- TestUtil.h - Shared helpers for the S10Quant unit tests -----------===//

#ifndef S10_QUANT_UNITTESTS_TESTUTIL_H
#define S10_QUANT_UNITTESTS_TESTUTIL_H

#include "s10/Quant/Matrix.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <string>

namespace s10::quant::test {

/// Deterministic N(0, scale^2) matrix.
inline Matrix randomMatrix(int64_t rows, int64_t cols, unsigned seed,
                           float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  Matrix m(rows, cols);
  for (float &v : m.data)
    v = dist(gen);
  return m;
}

/// Tokens with correlated channels: X = Z A, A mixing plus per-channel scale.
inline Matrix correlatedActivations(int64_t n, int64_t din, unsigned seed) {
  Matrix z = randomMatrix(n, din, seed);
  Matrix a = randomMatrix(din, din, seed + 1, 0.3f);
  for (int64_t j = 0; j < din; ++j)
    a(j, j) += 1.0f + float(j % 5);
  Matrix x(n, din);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < din; ++j) {
      double s = 0;
      for (int64_t k = 0; k < din; ++k)
        s += double(z(t, k)) * a(k, j);
      x(t, j) = float(s);
    }
  return x;
}

/// Naive (2/N) X^T X in double.
inline MatrixD naiveHessian(const Matrix &x) {
  MatrixD h(x.cols, x.cols);
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t i = 0; i < x.cols; ++i)
      for (int64_t j = 0; j < x.cols; ++j)
        h(i, j) += double(x(t, i)) * x(t, j);
  for (double &v : h.data)
    v *= 2.0 / double(x.rows);
  return h;
}

/// Inverse by Gauss-Jordan with partial pivoting (independent of Cholesky).
inline MatrixD gaussJordanInverse(const MatrixD &a) {
  int64_t n = a.rows;
  MatrixD m = a, inv(n, n);
  for (int64_t i = 0; i < n; ++i)
    inv(i, i) = 1.0;
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::fabs(m(r, c)) > std::fabs(m(p, c)))
        p = r;
    for (int64_t j = 0; j < n; ++j) {
      std::swap(m(c, j), m(p, j));
      std::swap(inv(c, j), inv(p, j));
    }
    double d = m(c, c);
    for (int64_t j = 0; j < n; ++j) {
      m(c, j) /= d;
      inv(c, j) /= d;
    }
    for (int64_t r = 0; r < n; ++r) {
      if (r == c)
        continue;
      double f = m(r, c);
      for (int64_t j = 0; j < n; ++j) {
        m(r, j) -= f * m(c, j);
        inv(r, j) -= f * inv(c, j);
      }
    }
  }
  return inv;
}

inline double maxAbs(const std::vector<float> &v) {
  double m = 0;
  for (float x : v)
    m = std::max(m, std::fabs(double(x)));
  return m;
}

/// Max |a - b| over entries.
template <typename T>
double maxAbsDiff(const DenseMatrix<T> &a, const DenseMatrix<T> &b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  double m = 0;
  for (size_t k = 0; k < a.data.size() && k < b.data.size(); ++k)
    m = std::max(m, std::fabs(double(a.data[k]) - double(b.data[k])));
  return m;
}

/// Error message of an llvm::Error / Expected, consuming it.
inline std::string errorText(llvm::Error err) {
  return llvm::toString(std::move(err));
}
template <typename T> std::string errorText(llvm::Expected<T> &e) {
  if (e)
    return "";
  return llvm::toString(e.takeError());
}

/// Unwraps an Expected in a test, failing loudly.
template <typename T> T unwrap(llvm::Expected<T> e) {
  if (!e) {
    ADD_FAILURE() << llvm::toString(e.takeError());
    return T();
  }
  return std::move(*e);
}

} // namespace s10::quant::test

/// Asserts that an llvm::Error is success, printing its message otherwise.
#define ASSERT_OK(expr) ASSERT_EQ(::s10::quant::test::errorText(expr), "")
#define EXPECT_OK(expr) EXPECT_EQ(::s10::quant::test::errorText(expr), "")

#endif // S10_QUANT_UNITTESTS_TESTUTIL_H
