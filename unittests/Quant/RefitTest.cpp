//===- RefitTest.cpp - Output-error refit of group parameters ------------===//
//
// The refit is checked against ordinary least squares on the activations
// themselves: minimising (w - D theta)^T H (w - D theta) with H = 2/N X^T X
// is minimising |X (w - D theta)|^2, solved here by normal equations on
// X D and a Gauss-Jordan inverse, with no Cholesky and no H.
//
//===----------------------------------------------------------------------===//

#include "s10/Quant/Refit.h"

#include "TestUtil.h"

#include <algorithm>
#include <random>

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

/// Codes that follow the weights (so that least-squares scales are
/// positive): binary entries w > row mean, salient ones a 4-bit rounding,
/// k-bit ones a 2-bit rounding.
AffineCode makeCode(const Matrix &w, int64_t groupSize, unsigned slots,
                    double salientFrac) {
  AffineCode c;
  c.rows = w.rows;
  c.cols = w.cols;
  c.groupSize = groupSize;
  c.slots = slots;
  for (int64_t r = 0; r < w.rows; ++r) {
    float lo = *std::min_element(w.row(r), w.row(r) + w.cols);
    float hi = *std::max_element(w.row(r), w.row(r) + w.cols);
    double mean = 0;
    for (int64_t j = 0; j < w.cols; ++j)
      mean += w(r, j) / double(w.cols);
    for (int64_t j = 0; j < w.cols; ++j) {
      // Salient every third column: every pair has several distinct codes.
      bool sal = slots == 2 && salientFrac > 0 && j % 3 == 0;
      unsigned levels = slots == 2 ? (sal ? 15 : 1) : 3;
      uint8_t q = slots == 2 && !sal
                      ? uint8_t(w(r, j) > mean)
                      : uint8_t(std::lround((w(r, j) - lo) / (hi - lo) *
                                            float(levels)));
      c.codes.push_back(q);
      if (slots == 2)
        c.slot.push_back(sal);
    }
  }
  size_t n = size_t(c.rows * c.groups() * slots);
  for (size_t p = 0; p < n; ++p) {
    c.scale.push_back(0.05f + 0.01f * float(p % 7));
    c.offset.push_back(-0.1f);
  }
  return c;
}

/// (w - w^)^T H (w - w^) of one row, from the decoded values.
double rowError(const Matrix &w, const MatrixD &h, const AffineCode &c,
                int64_t r) {
  std::vector<double> e(size_t(w.cols));
  for (int64_t j = 0; j < w.cols; ++j)
    e[size_t(j)] = double(w(r, j)) - double(c.decode(r, j));
  double s = 0;
  for (int64_t i = 0; i < w.cols; ++i)
    for (int64_t j = 0; j < w.cols; ++j)
      s += e[size_t(i)] * h(i, j) * e[size_t(j)];
  return s;
}

/// Least-squares parameters of row r on the activations: columns of X D.
std::vector<double> leastSquares(const Matrix &x, const Matrix &w,
                                 const AffineCode &c, int64_t r) {
  const int64_t G = c.groupSize, groups = c.groups(), S = c.slots;
  const int64_t P = groups * S * 2;
  MatrixD xd(x.rows, P);
  std::vector<double> xw(size_t(x.rows));
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t j = 0; j < x.cols; ++j) {
      size_t e = size_t(r * c.cols + j);
      int64_t s = c.slot.empty() ? 0 : c.slot[e];
      int64_t p = (j / G * S + s) * 2;
      xd(t, p) += double(x(t, j)) * c.codes[e];
      xd(t, p + 1) += double(x(t, j));
      xw[size_t(t)] += double(x(t, j)) * w(r, j);
    }
  MatrixD n(P, P);
  std::vector<double> rhs(static_cast<size_t>(P)), theta(rhs.size());
  for (int64_t i = 0; i < P; ++i) {
    for (int64_t j = 0; j < P; ++j)
      for (int64_t t = 0; t < x.rows; ++t)
        n(i, j) += xd(t, i) * xd(t, j);
    for (int64_t t = 0; t < x.rows; ++t)
      rhs[size_t(i)] += xd(t, i) * xw[size_t(t)];
  }
  MatrixD inv = gaussJordanInverse(n);
  for (int64_t i = 0; i < P; ++i)
    for (int64_t j = 0; j < P; ++j)
      theta[size_t(i)] += inv(i, j) * rhs[size_t(j)];
  return theta;
}

void expectLeastSquares(const Matrix &x, const Matrix &w, const MatrixD &h,
                        AffineCode c) {
  AffineCode before = c;
  auto stats = refitForOutput(w, h, c);
  ASSERT_TRUE(bool(stats)) << llvm::toString(stats.takeError());
  EXPECT_EQ(stats->rowsChanged, w.rows);
  double sumBefore = 0, sumAfter = 0;
  for (int64_t r = 0; r < w.rows; ++r) {
    sumBefore += rowError(w, h, before, r);
    sumAfter += rowError(w, h, c, r);
    std::vector<double> want = leastSquares(x, w, c, r);
    double mag = 0;
    for (double v : want)
      mag = std::max(mag, std::fabs(v));
    const int64_t groups = c.groups();
    for (int64_t g = 0; g < groups; ++g)
      for (unsigned s = 0; s < c.slots; ++s) {
        size_t p = size_t((r * groups + g) * c.slots + s);
        size_t q = size_t((g * c.slots + s) * 2);
        EXPECT_NEAR(c.scale[p], want[q], 1e-4 * mag) << "row " << r;
        EXPECT_NEAR(c.offset[p], want[q + 1], 1e-4 * mag) << "row " << r;
      }
  }
  // The reported errors are the decoded ones.
  EXPECT_NEAR(stats->errorBefore, sumBefore, 1e-6 * sumBefore);
  EXPECT_NEAR(stats->errorAfter, sumAfter, 1e-4 * sumBefore);
  EXPECT_LT(sumAfter, 0.5 * sumBefore);
}

TEST(Refit, MixedCodesMatchLeastSquares) {
  Matrix x = correlatedActivations(200, 40, 11);
  MatrixD h = naiveHessian(x);
  Matrix w = randomMatrix(5, 40, 12);
  // Groups of 16: two whole and one of 8.
  expectLeastSquares(x, w, h, makeCode(w, 16, 2, 0.3));
}

TEST(Refit, KBitCodesMatchLeastSquares) {
  Matrix x = correlatedActivations(150, 24, 21);
  MatrixD h = naiveHessian(x);
  Matrix w = randomMatrix(4, 24, 22);
  expectLeastSquares(x, w, h, makeCode(w, 8, 1, 0.0));
}

TEST(Refit, PairWithoutEntriesKeepsItsValues) {
  Matrix x = correlatedActivations(120, 32, 31);
  MatrixD h = naiveHessian(x);
  Matrix w = randomMatrix(3, 32, 32);
  AffineCode c = makeCode(w, 16, 2, 0.3);
  // Row 1, group 1: no salient entry; row 2, group 0: only salient ones.
  for (int64_t j = 16; j < 32; ++j)
    c.slot[size_t(32 + j)] = 0;
  float lo = *std::min_element(w.row(2), w.row(2) + 32);
  float hi = *std::max_element(w.row(2), w.row(2) + 32);
  for (int64_t j = 0; j < 16; ++j) {
    c.slot[size_t(64 + j)] = 1;
    c.codes[size_t(64 + j)] =
        uint8_t(std::lround((w(2, j) - lo) / (hi - lo) * 15.0f));
  }
  AffineCode before = c;
  auto stats = refitForOutput(w, h, c);
  ASSERT_TRUE(bool(stats)) << llvm::toString(stats.takeError());
  // (row, group, slot) -> index (r * 2 + g) * 2 + s.
  EXPECT_EQ(c.scale[(1 * 2 + 1) * 2 + 1], before.scale[(1 * 2 + 1) * 2 + 1]);
  EXPECT_EQ(c.offset[(1 * 2 + 1) * 2 + 1], before.offset[(1 * 2 + 1) * 2 + 1]);
  EXPECT_EQ(c.scale[(2 * 2 + 0) * 2 + 0], before.scale[(2 * 2 + 0) * 2 + 0]);
  EXPECT_EQ(c.offset[(2 * 2 + 0) * 2 + 0], before.offset[(2 * 2 + 0) * 2 + 0]);
  for (int64_t r = 0; r < 3; ++r)
    EXPECT_LE(rowError(w, h, c, r), rowError(w, h, before, r) * (1 + 1e-6))
        << "row " << r;
  EXPECT_EQ(stats->rowsChanged, 3);
}

TEST(Refit, NegativeScaleKeepsTheRow) {
  // Codes that run against the weights: least squares wants a negative
  // scale, which the layouts cannot store; the row keeps its values.
  Matrix x = correlatedActivations(100, 16, 41);
  MatrixD h = naiveHessian(x);
  Matrix w = randomMatrix(1, 16, 42);
  AffineCode c = makeCode(w, 16, 1, 0.0);
  for (uint8_t &q : c.codes)
    q = uint8_t(3 - q);
  AffineCode before = c;
  auto stats = refitForOutput(w, h, c);
  ASSERT_TRUE(bool(stats));
  EXPECT_EQ(stats->rowsChanged, 0);
  EXPECT_EQ(c.scale, before.scale);
  EXPECT_EQ(c.offset, before.offset);
}

TEST(Refit, RejectsMismatchedShapes) {
  Matrix w = randomMatrix(2, 8, 1);
  MatrixD h(7, 7);
  AffineCode c = makeCode(w, 4, 1, 0.0);
  auto r = refitForOutput(w, h, c);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("shapes"), std::string::npos);
  MatrixD h8(8, 8);
  c.slot.assign(16, 3);
  auto r2 = refitForOutput(w, h8, c);
  ASSERT_FALSE(bool(r2));
  llvm::consumeError(r2.takeError());
}

} // namespace
