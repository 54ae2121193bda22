//===- LinalgTest.cpp - Cholesky / inverse / kernels tests ---------------===//

#include "s10/Quant/Linalg.h"
#include "Detail.h"
#include "TestUtil.h"

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

MatrixD randomSpd(int64_t n, unsigned seed) {
  Matrix x = randomMatrix(2 * n + 3, n, seed);
  MatrixD h = naiveHessian(x);
  for (int64_t i = 0; i < n; ++i)
    h(i, i) += 0.01;
  return h;
}

MatrixD multiply(const MatrixD &a, const MatrixD &b, bool transA = false) {
  int64_t m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols;
  MatrixD c(m, b.cols);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < b.cols; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += (transA ? a(p, i) : a(i, p)) * b(p, j);
      c(i, j) = s;
    }
  return c;
}

double maxAbsD(const MatrixD &m) {
  double r = 0;
  for (double v : m.data)
    r = std::max(r, std::fabs(v));
  return r;
}

TEST(LinalgTest, CholeskyReconstructs) {
  for (int64_t n : {1, 2, 5, 40, 130}) {
    MatrixD a = randomSpd(n, unsigned(n));
    MatrixD l = a;
    ASSERT_OK(choleskyLower(l));
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_GT(l(i, i), 0.0);
      for (int64_t j = i + 1; j < n; ++j)
        EXPECT_EQ(l(i, j), 0.0);
    }
    MatrixD lt(n, n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        lt(i, j) = l(j, i);
    EXPECT_LE(maxAbsDiff(multiply(l, lt), a), 1e-10 * maxAbsD(a)) << n;
  }
}

TEST(LinalgTest, InverseMatchesGaussJordan) {
  for (int64_t n : {1, 3, 33, 100}) {
    MatrixD a = randomSpd(n, 100 + unsigned(n));
    auto inv = invertSpd(a);
    ASSERT_TRUE(bool(inv)) << errorText(inv);
    MatrixD ref = gaussJordanInverse(a);
    EXPECT_LE(maxAbsDiff(*inv, ref), 1e-8 * maxAbsD(ref)) << n;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        EXPECT_EQ((*inv)(i, j), (*inv)(j, i));
  }
}

TEST(LinalgTest, InverseCholeskyUpperFactorsInverse) {
  for (int64_t n : {1, 4, 64, 150}) {
    MatrixD h = randomSpd(n, 200 + unsigned(n));
    auto u = inverseCholeskyUpper(h);
    ASSERT_TRUE(bool(u)) << errorText(u);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_GT((*u)(i, i), 0.0);
      for (int64_t j = 0; j < i; ++j)
        EXPECT_EQ((*u)(i, j), 0.0);
    }
    MatrixD ref = gaussJordanInverse(h);
    EXPECT_LE(maxAbsDiff(multiply(*u, *u, /*transA=*/true), ref),
              1e-8 * maxAbsD(ref))
        << n;
  }
  MatrixD one(1, 1, 4.0);
  auto u1 = inverseCholeskyUpper(one);
  ASSERT_TRUE(bool(u1));
  EXPECT_DOUBLE_EQ((*u1)(0, 0), 0.5);
}

TEST(LinalgTest, NotPositiveDefinite) {
  MatrixD a(3, 3, 0.0);
  a(0, 0) = 1;
  a(1, 1) = -2;
  a(2, 2) = 1;
  MatrixD l = a;
  std::string msg = errorText(choleskyLower(l));
  EXPECT_NE(msg.find("not positive definite"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pivot 1"), std::string::npos) << msg;
  MatrixD nanm(2, 2, 1.0);
  nanm(1, 0) = std::nan("");
  EXPECT_FALSE(errorText(choleskyLower(nanm)).empty());
  MatrixD rect(2, 3);
  EXPECT_FALSE(errorText(choleskyLower(rect)).empty());
  auto inv = invertSpd(a);
  EXPECT_FALSE(errorText(inv).empty());
}

TEST(LinalgTest, DampingRetries) {
  // Rank-deficient PSD matrix: singular without damping.
  Matrix x = randomMatrix(3, 8, 5);
  MatrixD h = naiveHessian(x);
  auto u0 = inverseCholeskyUpper(h);
  EXPECT_FALSE(errorText(u0).empty());
  double added = -1;
  auto u = inverseCholeskyUpper(h, /*maxRetries=*/3, 0.01, &added);
  ASSERT_TRUE(bool(u)) << errorText(u);
  double mean = 0;
  for (int64_t i = 0; i < 8; ++i)
    mean += h(i, i);
  mean /= 8;
  EXPECT_GT(added, 0.0);
  EXPECT_LE(added, 1.0 * mean * (1 + 1e-12));
  MatrixD damped = h;
  for (int64_t i = 0; i < 8; ++i)
    damped(i, i) += added;
  MatrixD ref = gaussJordanInverse(damped);
  EXPECT_LE(maxAbsDiff(multiply(*u, *u, true), ref), 1e-6 * maxAbsD(ref));
  // Hopeless input still errors after retries.
  MatrixD neg(2, 2, 0.0);
  neg(0, 0) = -1;
  neg(1, 1) = -1;
  auto un = inverseCholeskyUpper(neg, 3);
  EXPECT_FALSE(errorText(un).empty());
}

//===--- Kernels: BLAS dispatch and plain loops against naive loops -------===//

TEST(KernelTest, GemmVariantsAgree) {
  const int64_t m = 7, n = 9, k = 13;
  Matrix a = randomMatrix(m * k, 1, 1), b = randomMatrix(k * n, 1, 2);
  Matrix c0 = randomMatrix(m, n, 3);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      int64_t lda = ta ? m : k, ldb = tb ? k : n;
      auto aAt = [&](int64_t i, int64_t p) {
        return ta ? a.data[p * lda + i] : a.data[i * lda + p];
      };
      auto bAt = [&](int64_t p, int64_t j) {
        return tb ? b.data[j * ldb + p] : b.data[p * ldb + j];
      };
      Matrix expect(m, n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t p = 0; p < k; ++p)
            s += double(aAt(i, p)) * bAt(p, j);
          expect(i, j) = float(-0.5 * s + 2.0 * c0(i, j));
        }
      Matrix c1 = c0, c2 = c0;
      detail::sgemm(ta, tb, m, n, k, -0.5f, a.data.data(), lda, b.data.data(),
                    ldb, 2.0f, c1.data.data(), n);
      detail::ref::sgemm(ta, tb, m, n, k, -0.5f, a.data.data(), lda,
                         b.data.data(), ldb, 2.0f, c2.data.data(), n);
      EXPECT_LE(maxAbsDiff(c1, expect), 1e-4);
      EXPECT_LE(maxAbsDiff(c2, expect), 1e-4);
      MatrixD ad = toDouble(a), bd = toDouble(b), cd1 = toDouble(c0),
              cd2 = toDouble(c0);
      detail::dgemm(ta, tb, m, n, k, -0.5, ad.data.data(), lda, bd.data.data(),
                    ldb, 2.0, cd1.data.data(), n);
      detail::ref::dgemm(ta, tb, m, n, k, -0.5, ad.data.data(), lda,
                         bd.data.data(), ldb, 2.0, cd2.data.data(), n);
      EXPECT_LE(maxAbsDiff(toFloat(cd1), expect), 1e-5);
      EXPECT_LE(maxAbsDiff(toFloat(cd2), expect), 1e-5);
    }
  // beta = 0 must ignore NaN garbage in C.
  Matrix garbage(m, n, std::numeric_limits<float>::quiet_NaN());
  detail::ref::sgemm(false, false, m, n, k, 1.0f, a.data.data(), k,
                     b.data.data(), n, 0.0f, garbage.data.data(), n);
  EXPECT_OK(checkFinite(garbage, "c"));
}

TEST(KernelTest, AtAAndCholeskyPathsAgree) {
  const int64_t n = 21, rows = 700;
  Matrix x = randomMatrix(rows, n, 9);
  std::vector<double> acc1(n * n, 0.0), acc2(n * n, 0.0);
  detail::accumulateAtA(n, rows, x.data.data(), n, acc1.data());
  detail::ref::accumulateAtA(n, rows, x.data.data(), n, acc2.data());
  MatrixD ref = naiveHessian(x);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) {
      double e = ref(i, j) * rows / 2.0;
      EXPECT_NEAR(acc1[i * n + j], e, 1e-6);
      EXPECT_NEAR(acc2[i * n + j], e, 1e-6);
    }
  MatrixD a = randomSpd(n, 17);
  MatrixD l1 = a, l2 = a;
  EXPECT_EQ(detail::choleskyLowerInPlace(l1.data.data(), n), -1);
  EXPECT_EQ(detail::ref::choleskyLowerInPlace(l2.data.data(), n), -1);
  EXPECT_LE(maxAbsDiff(l1, l2), 1e-10 * maxAbsD(l1));
  ASSERT_TRUE(detail::choleskyInverseInPlace(l1.data.data(), n));
  ASSERT_TRUE(detail::ref::choleskyInverseInPlace(l2.data.data(), n));
  MatrixD inv = gaussJordanInverse(a);
  EXPECT_LE(maxAbsDiff(l1, inv), 1e-8 * maxAbsD(inv));
  EXPECT_LE(maxAbsDiff(l2, inv), 1e-8 * maxAbsD(inv));
  MatrixD bad(2, 2, 0.0);
  bad(0, 0) = 1;
  bad(1, 1) = -1;
  MatrixD bad2 = bad;
  EXPECT_EQ(detail::choleskyLowerInPlace(bad.data.data(), 2), 1);
  EXPECT_EQ(detail::ref::choleskyLowerInPlace(bad2.data.data(), 2), 1);
}

TEST(KernelTest, KeepUpperCholeskyAndTriangularInversePathsAgree) {
  const int64_t n = 23;
  MatrixD a = randomSpd(n, 29);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j)
      a(i, j) = 100.0 + double(i * n + j); // must survive the factorization
  MatrixD l1 = a, l2 = a;
  EXPECT_EQ(detail::choleskyLowerKeepUpper(l1.data.data(), n), -1);
  EXPECT_EQ(detail::ref::choleskyLowerKeepUpper(l2.data.data(), n), -1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      EXPECT_EQ(l1(i, j), a(i, j));
      EXPECT_EQ(l2(i, j), a(i, j));
    }
  EXPECT_LE(maxAbsDiff(l1, l2), 1e-10 * maxAbsD(l1));
  // L L^T reproduces the lower triangle of A.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t p = 0; p <= j; ++p)
        s += l2(i, p) * l2(j, p);
      EXPECT_NEAR(s, a(i, j), 1e-9 * std::abs(a(i, i)));
    }
  MatrixD lower = l2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j)
      lower(i, j) = 0.0;
  ASSERT_TRUE(detail::invertLowerInPlace(l1.data.data(), n));
  ASSERT_TRUE(detail::ref::invertLowerInPlace(l2.data.data(), n));
  MatrixD ref = gaussJordanInverse(lower);
  EXPECT_LE(maxAbsDiff(l1, ref), 1e-9 * maxAbsD(ref));
  EXPECT_LE(maxAbsDiff(l2, ref), 1e-9 * maxAbsD(ref));
  MatrixD singular(2, 2, 0.0);
  singular(0, 0) = 1;
  EXPECT_FALSE(detail::invertLowerInPlace(singular.data.data(), 2));
  EXPECT_FALSE(detail::ref::invertLowerInPlace(singular.data.data(), 2));
}

TEST(KernelTest, SinglePrecisionFactorPathsAgree) {
  // The f32 Cholesky and triangular inverse (LAPACK's and the loops)
  // against the f64 ones, to f32 accuracy.
  const int64_t n = 37;
  MatrixD a = randomSpd(n, 31);
  Matrix af = toFloat(a);
  MatrixD l = a;
  Matrix l1 = af, l2 = af;
  EXPECT_EQ(detail::choleskyLowerKeepUpper(l.data.data(), n), -1);
  EXPECT_EQ(detail::choleskyLowerKeepUpper(l1.data.data(), n), -1);
  EXPECT_EQ(detail::ref::choleskyLowerKeepUpper(l2.data.data(), n), -1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      EXPECT_NEAR(l1(i, j), l(i, j), 1e-4 * std::sqrt(a(i, i))) << i << j;
      EXPECT_NEAR(l2(i, j), l(i, j), 1e-4 * std::sqrt(a(i, i))) << i << j;
    }
  ASSERT_TRUE(detail::invertLowerInPlace(l.data.data(), n));
  ASSERT_TRUE(detail::invertLowerInPlace(l1.data.data(), n));
  ASSERT_TRUE(detail::ref::invertLowerInPlace(l2.data.data(), n));
  EXPECT_LE(maxAbsDiff(toDouble(l1), l), 1e-4 * maxAbsD(l));
  EXPECT_LE(maxAbsDiff(toDouble(l2), l), 1e-4 * maxAbsD(l));
  Matrix notSpd(2, 2, 0.0f);
  notSpd(0, 0) = 1.0f;
  notSpd(1, 1) = -1.0f;
  EXPECT_EQ(detail::choleskyLowerKeepUpper(notSpd.data.data(), 2), 1);
}

TEST(LinalgTest, SinglePrecisionInverseCholeskyUpper) {
  // U from an f32 H against the textbook two steps in f64.
  const int64_t n = 45;
  MatrixD h = randomSpd(n, 43);
  MatrixD l = gaussJordanInverse(h);
  ASSERT_FALSE(bool(choleskyLower(l)));
  Matrix u = toFloat(h);
  ASSERT_FALSE(bool(inverseCholeskyUpperInPlace(u)));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      EXPECT_NEAR(u(i, j), l(j, i), 1e-4 * maxAbsD(l)) << i << "," << j;
  // Damping retries work the same in f32.
  Matrix singular(3, 3, 1.0f);
  double added = 0.0;
  ASSERT_FALSE(bool(inverseCholeskyUpperInPlace(singular, 3, 0.01, &added)));
  EXPECT_NEAR(added, 0.01, 1e-12);
  Matrix hopeless(2, 2, 0.0f);
  EXPECT_FALSE(errorText(inverseCholeskyUpperInPlace(hopeless)).empty());
}

TEST(LinalgTest, InPlaceInverseCholeskyUpperMatchesTwoStepForm) {
  // U from the reversed factorization against the textbook two steps:
  // H^-1 by Gauss-Jordan, then its upper Cholesky factor.
  const int64_t n = 31;
  MatrixD h = randomSpd(n, 41);
  MatrixD hinv = gaussJordanInverse(h);
  MatrixD l = hinv;
  ASSERT_FALSE(bool(choleskyLower(l)));
  MatrixD u = h;
  ASSERT_FALSE(bool(inverseCholeskyUpperInPlace(u)));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      EXPECT_NEAR(u(i, j), l(j, i), 1e-9 * maxAbsD(l)) << i << "," << j;
}

} // namespace
