//===- RotationTest.cpp - Random orthogonal rotations ---------------------===//
//
// Checked against properties nobody computes for us: Q Q^T = I, the fast
// transform equals the dense product, Q^T undoes Q, and for a power-of-two
// size every entry of Q has magnitude 1/sqrt(n) (the Hadamard property).
//
//===----------------------------------------------------------------------===//

#include "s10/Quant/Rotation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace s10::quant;

namespace {

class RotationSizes : public ::testing::TestWithParam<int64_t> {};

TEST_P(RotationSizes, IsOrthogonal) {
  int64_t n = GetParam();
  MatrixD q = Rotation(n, 7).dense();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < n; ++k)
        dot += q(i, k) * q(j, k);
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12) << i << "," << j;
    }
}

TEST_P(RotationSizes, FastEqualsDenseAndTransposeInverts) {
  int64_t n = GetParam();
  Rotation rot(n, 11);
  MatrixD q = rot.dense();
  std::mt19937 gen(3);
  std::normal_distribution<double> g;
  std::vector<double> x(static_cast<size_t>(n)), y, z;
  for (double &v : x)
    v = g(gen);
  y = x;
  rot.apply(y.data());
  for (int64_t j = 0; j < n; ++j) {
    double want = 0, wantT = 0;
    for (int64_t k = 0; k < n; ++k) {
      want += x[size_t(k)] * q(k, j);
      wantT += x[size_t(k)] * q(j, k);
    }
    EXPECT_NEAR(y[size_t(j)], want, 1e-12);
    z = x;
    rot.applyTransposed(z.data());
    EXPECT_NEAR(z[size_t(j)], wantT, 1e-12);
  }
  rot.applyTransposed(y.data());
  for (int64_t j = 0; j < n; ++j)
    EXPECT_NEAR(y[size_t(j)], x[size_t(j)], 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Sizes, RotationSizes,
                         ::testing::Values(1, 2, 3, 6, 43, 64, 96, 384));

TEST(Rotation, PowerOfTwoIsFlat) {
  for (int64_t n : {2, 16, 128}) {
    Rotation rot(n, 5);
    EXPECT_EQ(rot.hadamardSize(), n);
    EXPECT_EQ(rot.oddSize(), 1);
    MatrixD q = rot.dense();
    for (double v : q.data)
      EXPECT_NEAR(std::fabs(v), 1.0 / std::sqrt(double(n)), 1e-15);
  }
}

TEST(Rotation, Factors) {
  Rotation rot(11008, 0); // 2^8 * 43, LLaMA-2-7B's MLP width
  EXPECT_EQ(rot.hadamardSize(), 256);
  EXPECT_EQ(rot.oddSize(), 43);
}

TEST(Rotation, SeedsDiffer) {
  MatrixD a = Rotation(96, 1).dense(), b = Rotation(96, 1).dense(),
          c = Rotation(96, 2).dense();
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
}

// An outlier channel is spread over all channels.
TEST(Rotation, SpreadsOutliers) {
  int64_t n = 384;
  Rotation rot(n, 9);
  std::vector<double> x(size_t(n), 0.0);
  x[17] = 100.0;
  rot.apply(x.data());
  double mx = 0;
  for (double v : x)
    mx = std::max(mx, std::fabs(v));
  // 100 spread over 128 Hadamard rows times a 3-point mix: at most
  // 100/sqrt(128).
  EXPECT_LE(mx, 100.0 / std::sqrt(128.0) + 1e-9);
}

TEST(Rotation, RotateRowsBlocksAndScale) {
  Rotation rot(4, 3);
  MatrixD a(2, 8);
  for (int64_t i = 0; i < 16; ++i)
    a.data[size_t(i)] = double(i + 1);
  std::vector<double> scale = {1, 2, 3, 4, 5, 6, 7, 8};
  MatrixD want = a;
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 8; ++j)
      want(i, j) *= scale[size_t(j)];
    rot.apply(want.row(i));
    rot.apply(want.row(i) + 4);
  }
  rotateRows(a, rot, &scale);
  for (size_t k = 0; k < a.data.size(); ++k)
    EXPECT_DOUBLE_EQ(a.data[k], want.data[k]);
}

} // namespace
