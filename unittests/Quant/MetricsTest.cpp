//===- MetricsTest.cpp - Output error tests ------------------------------===//

#include "s10/Quant/Metrics.h"
#include "TestUtil.h"
#include "s10/Quant/Hessian.h"

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

double naiveNormSq(const Matrix &x, const Matrix &a, const Matrix *b) {
  double s = 0;
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t i = 0; i < a.rows; ++i) {
      double y = 0;
      for (int64_t j = 0; j < x.cols; ++j)
        y += double(x(t, j)) *
             (double(a(i, j)) - (b ? double((*b)(i, j)) : 0.0));
      s += y * y;
    }
  return s;
}

TEST(MetricsTest, MatchesNaiveAndHessianForm) {
  Matrix x = correlatedActivations(70, 12, 3);
  Matrix w = randomMatrix(9, 12, 4);
  Matrix what = w;
  std::mt19937 gen(2);
  for (float &v : what.data)
    v += 0.1f * float(int(gen() % 7) - 3);
  double sq = unwrap(outputErrorSquared(w, what, x));
  double ref = naiveNormSq(x, w, &what);
  EXPECT_NEAR(sq, ref, 1e-9 * ref);
  double rel = unwrap(relativeOutputError(w, what, x));
  EXPECT_NEAR(rel, std::sqrt(ref / naiveNormSq(x, w, nullptr)), 1e-9);
  HessianAccumulator acc(12);
  ASSERT_OK(acc.add(x));
  double relH = unwrap(relativeOutputErrorFromHessian(w, what, acc.hessian()));
  EXPECT_NEAR(relH, rel, 1e-6 * rel);
  EXPECT_GT(rel, 0.0);
}

TEST(MetricsTest, HessianFormOverManyRowPanels) {
  // 600 rows: the error is accumulated over several row panels.
  Matrix x = correlatedActivations(90, 20, 5);
  Matrix w = randomMatrix(600, 20, 6);
  Matrix what = w;
  std::mt19937 gen(3);
  for (float &v : what.data)
    v += 0.05f * float(int(gen() % 5) - 2);
  double ref = std::sqrt(naiveNormSq(x, w, &what) / naiveNormSq(x, w, nullptr));
  HessianAccumulator acc(20);
  ASSERT_OK(acc.add(x));
  double relH = unwrap(relativeOutputErrorFromHessian(w, what, acc.hessian()));
  EXPECT_NEAR(relH, ref, 1e-6 * ref);
}

TEST(MetricsTest, DegenerateCases) {
  Matrix x = randomMatrix(5, 3, 1);
  Matrix w = randomMatrix(2, 3, 2);
  EXPECT_EQ(unwrap(relativeOutputError(w, w, x)), 0.0);
  Matrix z(2, 3, 0.0f);
  EXPECT_EQ(unwrap(relativeOutputError(z, z, x)), 0.0);
  EXPECT_TRUE(std::isinf(unwrap(relativeOutputError(z, w, x))));
  MatrixD h(3, 3, 0.0);
  h(0, 0) = h(1, 1) = h(2, 2) = 1.0;
  EXPECT_EQ(unwrap(relativeOutputErrorFromHessian(w, w, h)), 0.0);
  Matrix one(1, 1, 2.0f), oneQ(1, 1, 1.5f), x1(1, 1, 3.0f);
  EXPECT_DOUBLE_EQ(unwrap(relativeOutputError(one, oneQ, x1)), 0.25);
  EXPECT_DOUBLE_EQ(unwrap(outputErrorSquared(one, oneQ, x1)), 2.25);
}

TEST(MetricsTest, HessianFormReadInSlices) {
  // H handed out 3 rows at a time (the last slice short), each slice in its
  // own buffer that is overwritten by the next, as a side-file reader does.
  Matrix x = correlatedActivations(80, 11, 7);
  Matrix w = randomMatrix(300, 11, 8);
  Matrix what = w;
  std::mt19937 gen(4);
  for (float &v : what.data)
    v += 0.05f * float(int(gen() % 5) - 2);
  double ref = std::sqrt(naiveNormSq(x, w, &what) / naiveNormSq(x, w, nullptr));
  HessianAccumulator acc(11);
  ASSERT_OK(acc.add(x));
  MatrixD h = acc.hessian();
  std::vector<double> slice;
  std::vector<std::pair<int64_t, int64_t>> asked;
  auto rows = [&](int64_t r0, int64_t count) -> llvm::Expected<const double *> {
    asked.emplace_back(r0, count);
    slice.assign(h.row(r0), h.row(r0) + count * h.cols);
    return slice.data();
  };
  double relH = unwrap(relativeOutputErrorFromHessianRows(w, what, rows, 3));
  EXPECT_NEAR(relH, ref, 1e-6 * ref);
  std::vector<std::pair<int64_t, int64_t>> expected{
      {0, 3}, {3, 3}, {6, 3}, {9, 2}};
  EXPECT_EQ(asked, expected);

  // A non-finite entry is named by its row and column in H.
  h(7, 4) = std::nan("");
  auto bad = relativeOutputErrorFromHessianRows(w, what, rows, 3);
  EXPECT_NE(errorText(bad).find("(7, 4)"), std::string::npos);
  // A failing reader stops the computation with its error.
  auto failing = [](int64_t, int64_t) -> llvm::Expected<const double *> {
    return llvm::createStringError("side file truncated");
  };
  auto e = relativeOutputErrorFromHessianRows(w, what, failing, 3);
  EXPECT_NE(errorText(e).find("side file truncated"), std::string::npos);
}

TEST(MetricsTest, RejectsBadInput) {
  Matrix x = randomMatrix(5, 3, 1);
  Matrix w = randomMatrix(2, 3, 2);
  auto e1 = relativeOutputError(w, Matrix(2, 2), x);
  EXPECT_FALSE(errorText(e1).empty());
  auto e2 = relativeOutputError(w, w, Matrix(5, 4));
  EXPECT_FALSE(errorText(e2).empty());
  auto e3 = relativeOutputErrorFromHessian(w, w, MatrixD(2, 2));
  EXPECT_FALSE(errorText(e3).empty());
  Matrix wn = w;
  wn(1, 1) = std::nanf("");
  auto e4 = outputErrorSquared(w, wn, x);
  EXPECT_NE(errorText(e4).find("row 1, column 1"), std::string::npos);
}

} // namespace
