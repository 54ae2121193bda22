//===- PbarTest.cpp - PBAR salience tests --------------------------------===//

#include "s10/Quant/Pbar.h"
#include "TestUtil.h"
#include "s10/Quant/Binarize.h"

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

/// Brute force Eq. 7: binarize ONLY weight (i, j) (to the value the
/// mask-free group binarization gives it), recompute output channel i over
/// all tokens in double, take max - min.
Matrix bruteForceRange(const Matrix &what, const Matrix &x, int64_t g) {
  Matrix b(what.rows, what.cols);
  for (int64_t i = 0; i < what.rows; ++i)
    for (int64_t j = 0; j < what.cols; ++j) {
      // mu/alpha of the group of (i, j), all entries non-salient.
      int64_t c0 = (j / g) * g, c1 = std::min(what.cols, c0 + g);
      double mu = 0, alpha = 0;
      for (int64_t c = c0; c < c1; ++c)
        mu += what(i, c);
      mu /= double(c1 - c0);
      for (int64_t c = c0; c < c1; ++c)
        alpha += std::fabs(what(i, c) - mu);
      alpha /= double(c1 - c0);
      double bij = what(i, j) >= float(mu) ? mu + alpha : mu - alpha;
      std::vector<double> row(what.row(i), what.row(i) + what.cols);
      row[j] = bij;
      double hi = -1e300, lo = 1e300;
      for (int64_t t = 0; t < x.rows; ++t) {
        double y = 0;
        for (int64_t k = 0; k < what.cols; ++k)
          y += double(x(t, k)) * row[k];
        hi = std::max(hi, y);
        lo = std::min(lo, y);
      }
      b(i, j) = float(hi - lo);
    }
  return b;
}

TEST(PbarTest, HessianSalienceFormula) {
  Matrix w = randomMatrix(3, 5, 1);
  std::vector<double> d = {0.5, 1.0, 2.0, 0.25, 3.0};
  auto v = hessianSalience(w, d);
  ASSERT_TRUE(bool(v)) << errorText(v);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 5; ++j)
      EXPECT_FLOAT_EQ((*v)(i, j), w(i, j) * w(i, j) / float(d[j] * d[j]));
  std::vector<double> shortD = {1.0};
  auto e1 = hessianSalience(w, shortD);
  EXPECT_FALSE(errorText(e1).empty());
  d[2] = 0.0;
  auto e2 = hessianSalience(w, d);
  EXPECT_NE(errorText(e2).find("entry 2"), std::string::npos);
}

TEST(PbarTest, SalienceDiagonalVariants) {
  Matrix x = correlatedActivations(40, 6, 1);
  MatrixD h = naiveHessian(x);
  MatrixD hinv = gaussJordanInverse(h);
  auto d1 = salienceDiagonal(h, SalienceDiag::InverseHessian);
  auto d2 = salienceDiagonal(h, SalienceDiag::InverseCholesky);
  ASSERT_TRUE(d1 && d2);
  ASSERT_EQ(d1->size(), 6u);
  ASSERT_EQ(d2->size(), 6u);
  for (int64_t j = 0; j < 6; ++j) {
    EXPECT_NEAR((*d1)[j], hinv(j, j), 1e-9 * hinv(j, j));
    // U_jj^2 is the Schur complement, never above [H^-1]_jj.
    EXPECT_LE((*d2)[j] * (*d2)[j], hinv(j, j) * (1 + 1e-9));
    EXPECT_GT((*d2)[j], 0.0);
  }
  // First column: (U^T U)_00 = U_00^2 = [H^-1]_00; last: U_nn^2 = 1 / H_nn.
  EXPECT_NEAR((*d2)[0] * (*d2)[0], hinv(0, 0), 1e-9 * hinv(0, 0));
  EXPECT_NEAR((*d2)[5] * (*d2)[5], 1.0 / h(5, 5), 1e-9 / h(5, 5));
  MatrixD bad(2, 2, 0.0);
  auto e = salienceDiagonal(bad, SalienceDiag::InverseHessian);
  EXPECT_FALSE(errorText(e).empty());

  // From H in f32: the same diagonals to f32 accuracy.
  auto f1 = salienceDiagonal(toFloat(h), SalienceDiag::InverseHessian);
  auto f2 = salienceDiagonal(toFloat(h), SalienceDiag::InverseCholesky);
  ASSERT_TRUE(f1 && f2);
  for (int64_t j = 0; j < 6; ++j) {
    EXPECT_NEAR((*f1)[j], hinv(j, j), 1e-4 * hinv(j, j));
    EXPECT_NEAR((*f2)[j], (*d2)[j], 1e-4 * (*d2)[j]);
  }
  auto ef = salienceDiagonal(Matrix(2, 2, 0.0f), SalienceDiag::InverseHessian);
  EXPECT_FALSE(errorText(ef).empty());
}

TEST(PbarTest, RangeSalienceMatchesBruteForce) {
  for (int64_t g : {4, 0, 5})
    for (int64_t t : {1, 7, 37}) {
      Matrix w = randomMatrix(5, 13, 10 + unsigned(t));
      Matrix x = correlatedActivations(t, 13, 20 + unsigned(g));
      auto b = rangeSalience(w, x, g);
      ASSERT_TRUE(bool(b)) << errorText(b);
      Matrix ref = bruteForceRange(w, x, g == 0 ? 13 : g);
      double scale = std::max(1.0, maxAbs(ref.data));
      EXPECT_LE(maxAbsDiff(*b, ref), 2e-5 * scale) << "g " << g << " T " << t;
      if (t == 1) {
        for (float v : b->data)
          EXPECT_EQ(v, 0.0f);
      }
    }
}

TEST(PbarTest, UnchangedWeightGivesBaseRange) {
  // A group {-1, 1}: mu = 0, alpha = 1, binarization leaves it unchanged, so
  // B is the plain range of the output channel.
  Matrix w(1, 2, llvm::ArrayRef<float>({-1.0f, 1.0f}));
  Matrix x(3, 2, llvm::ArrayRef<float>({1, 2, 0, 5, -3, 1}));
  auto b = rangeSalience(w, x, 2);
  ASSERT_TRUE(bool(b));
  // y = -x0 + x1 = {1, 5, 4}: range 4.
  EXPECT_FLOAT_EQ((*b)(0, 0), 4.0f);
  EXPECT_FLOAT_EQ((*b)(0, 1), 4.0f);
}

/// The range-delta B by a different route: Y = X W^T in double, then each
/// row's max - min, then |B - range|.
Matrix slowRangeDelta(const Matrix &b, const Matrix &w, const Matrix &x) {
  Matrix out(b.rows, b.cols);
  for (int64_t i = 0; i < w.rows; ++i) {
    std::vector<double> y(static_cast<size_t>(x.rows), 0.0);
    for (int64_t j = 0; j < w.cols; ++j)
      for (int64_t t = 0; t < x.rows; ++t)
        y[t] += double(x(t, j)) * double(w(i, j));
    double range = y.empty() ? 0.0
                             : *std::max_element(y.begin(), y.end()) -
                                   *std::min_element(y.begin(), y.end());
    for (int64_t j = 0; j < w.cols; ++j)
      out(i, j) = float(std::fabs(double(b(i, j)) - range));
  }
  return out;
}

TEST(PbarTest, SubtractOutputRangeHandWorked) {
  // y = -x0 + x1 over tokens {1, 5, 4}: range 4.
  Matrix w(1, 2, llvm::ArrayRef<float>({-1.0f, 1.0f}));
  Matrix x(3, 2, llvm::ArrayRef<float>({1, 2, 0, 5, -3, 1}));
  Matrix b(1, 2, llvm::ArrayRef<float>({4.0f, 6.5f}));
  ASSERT_FALSE(bool(subtractOutputRange(b, w, x)));
  EXPECT_EQ(b(0, 0), 0.0f); // an unchanged range is no change
  EXPECT_EQ(b(0, 1), 2.5f);
  // Below the base range counts as much as above it.
  Matrix c(1, 2, llvm::ArrayRef<float>({1.0f, 4.0f}));
  ASSERT_FALSE(bool(subtractOutputRange(c, w, x)));
  EXPECT_EQ(c(0, 0), 3.0f);
  EXPECT_EQ(c(0, 1), 0.0f);
}

TEST(PbarTest, SubtractOutputRangeMatchesSlowVersion) {
  for (int64_t t : {1, 7, 37}) {
    Matrix w = randomMatrix(6, 11, 40 + unsigned(t));
    Matrix x = correlatedActivations(t, 11, 50 + unsigned(t));
    auto b = rangeSalience(w, x, 4);
    ASSERT_TRUE(bool(b)) << errorText(b);
    Matrix ref = slowRangeDelta(*b, w, x);
    Matrix got = *b;
    ASSERT_FALSE(bool(subtractOutputRange(got, w, x)));
    double scale = std::max(1.0, maxAbs(b->data));
    EXPECT_LE(maxAbsDiff(got, ref), 2e-5 * scale) << "T " << t;
    // One token: every range, perturbed or not, is zero.
    if (t == 1) {
      for (float v : got.data)
        EXPECT_EQ(v, 0.0f);
    }
  }
}

TEST(PbarTest, RangeSalienceOverManyRows) {
  // 70 rows: split across the cores in chunks; every row as brute force.
  Matrix w = randomMatrix(70, 9, 91);
  Matrix x = correlatedActivations(23, 9, 92);
  auto b = rangeSalience(w, x, 3);
  ASSERT_TRUE(bool(b)) << errorText(b);
  Matrix ref = bruteForceRange(w, x, 3);
  EXPECT_LE(maxAbsDiff(*b, ref), 2e-5 * std::max(1.0, maxAbs(ref.data)));
  Matrix got = *b, slow = slowRangeDelta(*b, w, x);
  ASSERT_FALSE(bool(subtractOutputRange(got, w, x)));
  EXPECT_LE(maxAbsDiff(got, slow), 1e-4 * std::max(1.0, maxAbs(b->data)));
}

TEST(PbarTest, SubtractOutputRangeRejectsShapes) {
  Matrix w = randomMatrix(2, 3, 1), x = randomMatrix(4, 3, 2);
  Matrix bad(2, 2);
  EXPECT_TRUE(bool(llvm::errorToBool(subtractOutputRange(bad, w, x))));
  Matrix b(2, 3), x2 = randomMatrix(4, 2, 3);
  EXPECT_TRUE(bool(llvm::errorToBool(subtractOutputRange(b, w, x2))));
}

TEST(PbarTest, CombineVariants) {
  Matrix v = randomMatrix(4, 6, 3), b = randomMatrix(4, 6, 4);
  for (float &e : v.data)
    e = e * e;
  for (float &e : b.data)
    e = std::fabs(e) * 100;
  auto m = combineSalience(v, &b, PbarOptions{});
  ASSERT_TRUE(bool(m));
  for (int64_t k = 0; k < v.size(); ++k)
    EXPECT_FLOAT_EQ(m->data[k], float(v.data[k] + 3e-4 * b.data[k]));
  double mv = 0, mb = 0;
  for (int64_t k = 0; k < v.size(); ++k) {
    mv += v.data[k];
    mb += b.data[k];
  }
  mv /= double(v.size());
  mb /= double(v.size());
  auto sf = combineSalience(v, &b, PbarOptions{0.7, true});
  ASSERT_TRUE(bool(sf));
  for (int64_t k = 0; k < v.size(); ++k)
    EXPECT_NEAR(sf->data[k], v.data[k] / mv + 0.7 * b.data[k] / mb, 1e-5);
  auto vo = combineSalience(v, nullptr, PbarOptions{0.7, true});
  ASSERT_TRUE(bool(vo));
  for (int64_t k = 0; k < v.size(); ++k)
    EXPECT_NEAR(vo->data[k], v.data[k] / mv, 1e-6);
  // Zero-mean term is left at zero in scale-free mode.
  Matrix zero(4, 6, 0.0f);
  auto z = combineSalience(v, &zero, PbarOptions{1.0, true});
  ASSERT_TRUE(bool(z));
  for (int64_t k = 0; k < v.size(); ++k)
    EXPECT_NEAR(z->data[k], v.data[k] / mv, 1e-6);
}

TEST(PbarTest, RejectsBadInput) {
  Matrix w = randomMatrix(2, 3, 1);
  Matrix x = randomMatrix(4, 3, 2);
  x(3, 1) = std::numeric_limits<float>::infinity();
  auto b = rangeSalience(w, x, 2);
  EXPECT_NE(errorText(b).find("row 3, column 1"), std::string::npos);
  auto b2 = rangeSalience(w, Matrix(4, 2), 2);
  EXPECT_FALSE(errorText(b2).empty());
  Matrix v(2, 3), bb(3, 2);
  auto m = combineSalience(v, &bb);
  EXPECT_FALSE(errorText(m).empty());
  v(0, 0) = std::nanf("");
  auto m2 = combineSalience(v, nullptr);
  EXPECT_FALSE(errorText(m2).empty());
}

} // namespace
