//===- HessianTest.cpp - Hessian accumulation and hygiene tests ----------===//

#include "s10/Quant/Hessian.h"
#include "TestUtil.h"

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

Matrix rowsOf(const Matrix &x, int64_t r0, int64_t r1) {
  Matrix m(r1 - r0, x.cols);
  for (int64_t i = r0; i < r1; ++i)
    for (int64_t j = 0; j < x.cols; ++j)
      m(i - r0, j) = x(i, j);
  return m;
}

TEST(HessianTest, StreamingMatchesNaive) {
  const int64_t din = 17;
  Matrix x = randomMatrix(1100, din, 31);
  HessianAccumulator acc(din);
  // Batches of varied sizes, including an empty one and one > 512 rows.
  int64_t bounds[] = {0, 1, 8, 8, 608, 1100};
  for (int k = 0; k + 1 < 6; ++k)
    ASSERT_OK(acc.add(rowsOf(x, bounds[k], bounds[k + 1])));
  EXPECT_EQ(acc.numSamples(), 1100);
  MatrixD h = acc.hessian();
  MatrixD ref = naiveHessian(x);
  double scale = 0;
  for (double v : ref.data)
    scale = std::max(scale, std::fabs(v));
  EXPECT_LE(maxAbsDiff(h, ref), 1e-5 * scale);
  for (int64_t i = 0; i < din; ++i)
    for (int64_t j = 0; j < din; ++j)
      EXPECT_EQ(h(i, j), h(j, i));
}

TEST(HessianTest, RawArrayInterfaceAndEmpty) {
  HessianAccumulator acc(3);
  MatrixD h0 = acc.hessian();
  EXPECT_EQ(h0.rows, 3);
  for (double v : h0.data)
    EXPECT_EQ(v, 0.0);
  std::vector<float> x = {1, 2, 3, -1, 0, 2};
  ASSERT_OK(acc.add(x, 2));
  MatrixD h = acc.hessian();
  // (2/2) * (x0 x0^T + x1 x1^T)
  EXPECT_DOUBLE_EQ(h(0, 0), 2.0);
  EXPECT_DOUBLE_EQ(h(0, 1), 2.0);
  EXPECT_DOUBLE_EQ(h(0, 2), 1.0);
  EXPECT_DOUBLE_EQ(h(2, 2), 13.0);
  EXPECT_DOUBLE_EQ(h(2, 1), 6.0);
}

TEST(HessianTest, RejectsBadBatches) {
  HessianAccumulator acc(4);
  std::vector<float> x(8, 1.0f);
  EXPECT_FALSE(errorText(acc.add(x, 3)).empty());
  x[6] = std::numeric_limits<float>::quiet_NaN();
  std::string msg = errorText(acc.add(x, 2));
  EXPECT_NE(msg.find("row 1, column 2"), std::string::npos) << msg;
  EXPECT_FALSE(errorText(acc.add(Matrix(2, 5))).empty());
  EXPECT_EQ(acc.numSamples(), 0);
}

TEST(HessianTest, DeadChannelsAndDamping) {
  Matrix x = randomMatrix(50, 6, 2);
  for (int64_t t = 0; t < 50; ++t) {
    x(t, 1) = 0.0f;
    x(t, 4) = 0.0f;
  }
  HessianAccumulator acc(6);
  ASSERT_OK(acc.add(x));
  MatrixD h = acc.hessian();
  MatrixD orig = h;
  Matrix w = randomMatrix(3, 6, 3);
  Matrix worig = w;
  auto dead = prepareHessian(h, w, 0.05);
  ASSERT_TRUE(bool(dead));
  EXPECT_EQ(*dead, (std::vector<int64_t>{1, 4}));
  double mean = 0;
  for (int64_t j = 0; j < 6; ++j)
    mean += (j == 1 || j == 4) ? 1.0 : orig(j, j);
  mean /= 6;
  for (int64_t j = 0; j < 6; ++j) {
    double base = (j == 1 || j == 4) ? 1.0 : orig(j, j);
    EXPECT_NEAR(h(j, j), base + 0.05 * mean, 1e-12);
    for (int64_t i = 0; i < 3; ++i)
      EXPECT_EQ(w(i, j), (j == 1 || j == 4) ? 0.0f : worig(i, j));
    for (int64_t k = 0; k < 6; ++k)
      if (k != j) {
        EXPECT_EQ(h(j, k), orig(j, k));
      }
  }
}

TEST(HessianTest, HygieneErrorsAndTinyCases) {
  MatrixD h(2, 2);
  EXPECT_FALSE(errorText(addDamping(h, -1.0)).empty());
  MatrixD rect(2, 3);
  EXPECT_FALSE(errorText(addDamping(rect, 0.01)).empty());
  Matrix w(1, 3);
  auto r = prepareHessian(h, w);
  EXPECT_FALSE(errorText(r).empty());
  // 1x1, all dead: H = 1 + 0.01.
  MatrixD one(1, 1, 0.0);
  Matrix w1(2, 1, 5.0f);
  auto d = prepareHessian(one, w1);
  ASSERT_TRUE(bool(d));
  EXPECT_EQ(d->size(), 1u);
  EXPECT_DOUBLE_EQ(one(0, 0), 1.01);
  EXPECT_EQ(w1(1, 0), 0.0f);
  // fixDeadChannels without W.
  MatrixD z(2, 2, 0.0);
  z(0, 0) = 3.0;
  EXPECT_EQ(fixDeadChannels(z, nullptr), std::vector<int64_t>{1});
  EXPECT_EQ(z(1, 1), 1.0);
}

} // namespace
