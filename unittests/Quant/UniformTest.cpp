//===- UniformTest.cpp - k-bit group quantization tests ------------------===//

#include "s10/Quant/Uniform.h"
#include "TestUtil.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

double roundHalfEven(double x) {
  double f = std::floor(x);
  double d = x - f;
  if (d > 0.5)
    return f + 1;
  if (d < 0.5)
    return f;
  return std::fmod(f, 2.0) == 0.0 ? f : f + 1;
}

/// Textbook formulas for a non-degenerate group.
struct RefGroup {
  double s, z;
  std::vector<int> q;
  std::vector<double> deq;
};
RefGroup refQuantize(const std::vector<float> &w, unsigned bits) {
  double mn = *std::min_element(w.begin(), w.end());
  double mx = *std::max_element(w.begin(), w.end());
  double maxq = std::pow(2.0, bits) - 1;
  RefGroup r;
  if (mx == mn) {
    // A constant group is stored exactly (no range to divide).
    r.s = 0;
    r.z = 0;
    r.q.assign(w.size(), 0);
    r.deq.assign(w.begin(), w.end());
    return r;
  }
  r.s = float((mx - mn) / maxq);
  r.z = roundHalfEven(-mn / r.s);
  for (float v : w) {
    double q = std::min(std::max(roundHalfEven(v / r.s) + r.z, 0.0), maxq);
    r.q.push_back(int(q));
    r.deq.push_back(r.s * (q - r.z));
  }
  return r;
}

TEST(UniformTest, BitsValidation) {
  EXPECT_FALSE(errorText(checkBits(0)).empty());
  EXPECT_FALSE(errorText(checkBits(9)).empty());
  for (unsigned b = 1; b <= 8; ++b)
    EXPECT_TRUE(errorText(checkBits(b)).empty());
  EXPECT_EQ(maxCode(1), 1u);
  EXPECT_EQ(maxCode(4), 15u);
  EXPECT_EQ(maxCode(8), 255u);
}

TEST(UniformTest, FitAndQuantizeMatchFormulas) {
  std::mt19937 gen(7);
  std::normal_distribution<float> dist(0.3f, 2.0f);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> w(1 + trial * 3);
      for (float &v : w)
        v = dist(gen);
      if (w.size() == 1)
        w.push_back(w[0] + 1.0f);
      RefGroup ref = refQuantize(w, bits);
      UniformParams p = fitUniformParams(w, bits);
      EXPECT_EQ(double(p.scale), ref.s);
      EXPECT_EQ(double(p.zero), ref.z);
      for (size_t k = 0; k < w.size(); ++k) {
        EXPECT_EQ(int(quantizeCode(w[k], p, bits)), ref.q[k]);
        EXPECT_NEAR(quantizeValue(w[k], p, bits), ref.deq[k],
                    1e-6 * (1 + std::fabs(ref.deq[k])));
        // Inside [min, max] the error is at most half a step.
        EXPECT_LE(std::fabs(quantizeValue(w[k], p, bits) - w[k]),
                  0.5 * ref.s * (1 + 1e-5) + 1e-6);
      }
    }
}

TEST(UniformTest, ExtremesAreRepresentedWithinHalfStep) {
  std::vector<float> w = {1.0f, 2.0f, 3.5f}; // all positive: z < 0
  UniformParams p = fitUniformParams(w, 4);
  EXPECT_LT(p.zero, 0.0f);
  EXPECT_NEAR(quantizeValue(1.0f, p, 4), 1.0f, 0.5 * p.scale);
  EXPECT_NEAR(quantizeValue(3.5f, p, 4), 3.5f, 0.5 * p.scale);
  // Values beyond the range clamp to the end codes.
  EXPECT_EQ(quantizeCode(100.0f, p, 4), 15);
  EXPECT_EQ(quantizeCode(-100.0f, p, 4), 0);
  EXPECT_EQ(quantizeCode(std::nanf(""), p, 4), 0);
}

TEST(UniformTest, RoundsHalfToEven) {
  // s = 1, -min/s = 0.5 -> z = 0; 1.5 -> 2, 2.5 -> 2 (as torch.round).
  std::vector<float> w = {-0.5f, 2.5f, 1.5f};
  UniformParams p = fitUniformParams(w, 2);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero, 0.0f);
  EXPECT_EQ(quantizeCode(-0.5f, p, 2), 0);
  EXPECT_EQ(quantizeCode(1.5f, p, 2), 2);
  EXPECT_EQ(quantizeCode(2.5f, p, 2), 2);
}

TEST(UniformTest, ConstantGroupsAreExact) {
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (float c : {0.0f, 1.5f, -2.25f, 1e-30f, -3e30f}) {
      std::vector<float> w(5, c);
      UniformParams p = fitUniformParams(w, bits);
      EXPECT_GT(p.scale, 0.0f);
      EXPECT_TRUE(std::isfinite(p.scale));
      EXPECT_TRUE(std::isfinite(p.zero));
      EXPECT_EQ(quantizeValue(c, p, bits), c) << "bits " << bits << " c " << c;
    }
}

TEST(UniformTest, NearConstantAndDenormalGroupsStayFinite) {
  std::vector<std::vector<float>> groups = {{1.0f, std::nextafter(1.0f, 2.0f)},
                                            {0.0f, 1e-42f},
                                            {-1e-40f, 1e-40f},
                                            {1000.0f, 1000.001f, 1000.002f}};
  for (const auto &w : groups)
    for (unsigned bits : {1u, 4u, 8u}) {
      UniformParams p = fitUniformParams(w, bits);
      EXPECT_GT(p.scale, 0.0f);
      EXPECT_TRUE(std::isfinite(p.scale) && std::isfinite(p.zero));
      EXPECT_LE(std::fabs(p.zero), 16777216.0f);
      for (float v : w) {
        float q = quantizeValue(v, p, bits);
        EXPECT_TRUE(std::isfinite(q));
        EXPECT_LE(std::fabs(q - v), 1e-5 * std::fabs(v) + 1e-30);
      }
    }
}

TEST(UniformTest, IncludeZeroKeepsZeroExactAndZeroPointInRange) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> dist(0.5f, 4.0f);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (float sign : {1.0f, -1.0f}) {
      std::vector<float> w(16);
      for (float &v : w)
        v = sign * dist(gen);
      UniformParams p = fitUniformParams(w, bits, /*includeZero=*/true);
      EXPECT_GE(p.zero, 0.0f);
      EXPECT_LE(p.zero, float(maxCode(bits)));
      EXPECT_EQ(quantizeValue(0.0f, p, bits), 0.0f);
    }
}

/// Slow per-(row, group) quantization.
Matrix slowQuantize(const Matrix &w, unsigned bits, int64_t g) {
  Matrix r(w.rows, w.cols);
  for (int64_t i = 0; i < w.rows; ++i)
    for (int64_t c0 = 0; c0 < w.cols; c0 += g) {
      std::vector<float> grp;
      for (int64_t j = c0; j < std::min(w.cols, c0 + g); ++j)
        grp.push_back(w(i, j));
      RefGroup ref = refQuantize(grp, bits);
      for (size_t k = 0; k < grp.size(); ++k)
        r(i, c0 + int64_t(k)) = float(ref.deq[k]);
    }
  return r;
}

TEST(UniformTest, GroupQuantizationMatchesSlowVersion) {
  Matrix w = randomMatrix(7, 23, 11);
  // Groups of one value are constant, hence exact.
  auto single = quantizeUniform(w, UniformSpec{2, 1, false});
  ASSERT_TRUE(bool(single));
  EXPECT_EQ(single->dequantized.data, w.data);
  for (int64_t g : {2, 4, 5, 8, 23}) {
    for (unsigned bits : {2u, 4u, 8u}) {
      auto r = quantizeUniform(w, UniformSpec{bits, g, false});
      ASSERT_TRUE(bool(r)) << errorText(r);
      EXPECT_EQ(r->groupSize, g);
      EXPECT_EQ(r->numGroups, (23 + g - 1) / g);
      EXPECT_LE(maxAbsDiff(r->dequantized, slowQuantize(w, bits, g)), 1e-6);
      for (int64_t i = 0; i < w.rows; ++i)
        for (int64_t j = 0; j < w.cols; ++j) {
          const UniformParams &p = r->paramsAt(i, j);
          EXPECT_EQ(r->codes[i * w.cols + j], quantizeCode(w(i, j), p, bits));
          EXPECT_EQ(r->dequantized(i, j),
                    dequantizeCode(r->codes[i * w.cols + j], p));
        }
    }
  }
}

TEST(UniformTest, LastGroupShorterWhenGroupDoesNotDivide) {
  Matrix w = randomMatrix(2, 10, 5);
  w(0, 8) = 50.0f; // outlier confined to the short last group [8, 10)
  auto r = quantizeUniform(w, UniformSpec{4, 4, false});
  ASSERT_TRUE(bool(r));
  EXPECT_EQ(r->numGroups, 3);
  // Groups 0 and 1 of row 0 are unaffected by the outlier.
  EXPECT_LT(r->params[0].scale, 1.0f);
  EXPECT_LT(r->params[1].scale, 1.0f);
  EXPECT_GT(r->params[2].scale, 2.0f);
  EXPECT_LE(std::fabs(r->dequantized(0, 8) - 50.0f), 0.5f * r->params[2].scale);
}

TEST(UniformTest, PerChannelVariants) {
  Matrix w = randomMatrix(3, 9, 8);
  auto a = quantizeUniform(w, UniformSpec{3, 0, false});
  auto b = quantizeUniform(w, UniformSpec{3, 9, false});
  auto c = quantizeUniform(w, UniformSpec{3, 100, false});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->numGroups, 1);
  EXPECT_EQ(c->numGroups, 1);
  EXPECT_EQ(a->dequantized.data, b->dequantized.data);
  EXPECT_EQ(a->dequantized.data, c->dequantized.data);
  EXPECT_LE(maxAbsDiff(a->dequantized, slowQuantize(w, 3, 9)), 1e-6);
}

TEST(UniformTest, ZeroRowsTinyMatricesAndExactGrids) {
  Matrix w(3, 4, 0.0f);
  w(1, 0) = 1.0f;
  w(1, 1) = -1.0f;
  auto r = quantizeUniform(w, UniformSpec{4, 2, false});
  ASSERT_TRUE(bool(r));
  for (int64_t j = 0; j < 4; ++j) {
    EXPECT_EQ(r->dequantized(0, j), 0.0f);
    EXPECT_EQ(r->dequantized(2, j), 0.0f);
  }
  Matrix one(1, 1, -0.75f);
  auto r1 = quantizeUniform(one, UniformSpec{1, 128, false});
  ASSERT_TRUE(bool(r1));
  EXPECT_EQ(r1->dequantized(0, 0), -0.75f);
  // A 2-bit group holding exactly its 4 grid points is reproduced.
  Matrix grid(1, 4, llvm::ArrayRef<float>({-1.0f, 0.0f, 1.0f, 2.0f}));
  auto r2 = quantizeUniform(grid, UniformSpec{2, 4, false});
  ASSERT_TRUE(bool(r2));
  EXPECT_EQ(r2->dequantized.data, grid.data);
  EXPECT_EQ(r2->codes, (std::vector<uint8_t>{0, 1, 2, 3}));
}

TEST(UniformTest, RejectsBadInput) {
  Matrix w = randomMatrix(4, 6, 1);
  w(2, 3) = std::numeric_limits<float>::quiet_NaN();
  auto r = quantizeUniform(w, UniformSpec{});
  std::string msg = errorText(r);
  EXPECT_NE(msg.find("row 2, column 3"), std::string::npos) << msg;
  w(2, 3) = 0.0f;
  w(0, 5) = -std::numeric_limits<float>::infinity();
  auto r2 = quantizeUniform(w, UniformSpec{});
  msg = errorText(r2);
  EXPECT_NE(msg.find("row 0, column 5"), std::string::npos) << msg;
  w(0, 5) = 0.0f;
  auto r3 = quantizeUniform(w, UniformSpec{0, 4, false});
  EXPECT_FALSE(errorText(r3).empty());
  auto r4 = quantizeUniform(w, UniformSpec{9, 4, false});
  EXPECT_FALSE(errorText(r4).empty());
  auto r5 = quantizeUniform(w, UniformSpec{4, -1, false});
  EXPECT_FALSE(errorText(r5).empty());
  auto r6 = quantizeUniform(Matrix(0, 3), UniformSpec{});
  EXPECT_FALSE(errorText(r6).empty());
}

} // namespace

// Refit parameters have real zero points: the affine code is the nearest
// level of scale * (code - zero), where quantizeCode adds the zero after
// rounding (the reference quantizers' integer zero).
TEST(UniformTest, AffineCodeTakesTheNearestLevel) {
  UniformParams p{0.1f, 0.6f};
  // 0.2 / 0.1 + 0.6 = 2.6: level 3 (0.24) is nearer than level 2 (0.14).
  EXPECT_EQ(quantizeCodeAffine(0.2f, p, 2), 3);
  EXPECT_EQ(quantizeCode(0.2f, p, 2), 2);
  for (float w : {-1.0f, -0.07f, 0.0f, 0.013f, 0.11f, 0.3f, 5.0f}) {
    uint8_t c = quantizeCodeAffine(w, p, 3);
    float got = std::fabs(dequantizeCode(c, p) - w);
    for (unsigned k = 0; k < 8; ++k)
      EXPECT_LE(got, std::fabs(dequantizeCode(uint8_t(k), p) - w) + 1e-6f)
          << "w " << w << " code " << int(c) << " vs " << k;
  }
}

// Clipped ranges (clipNorm > 0): the fit of a shrunk range [f min, f max]
// with the least sum of |w - w^|^norm over f = 1, 0.99, ..., 0.21.
TEST(UniformTest, ClippedRangeOfAHandExample) {
  // {-1, 0, 1, 6} at 2 bits: min-max takes scale 7/3 and loses 1 on each
  // of the first three; f = 0.8 (scale 5.6/3) loses 1, 0.867 and 0.4.
  std::vector<float> v = {-1.0f, 0.0f, 1.0f, 6.0f};
  UniformParams mm = fitUniformParams(v, 2);
  EXPECT_FLOAT_EQ(mm.scale, 7.0f / 3.0f);
  UniformParams c = fitUniformParams(v, 2, false, 2.4);
  EXPECT_FLOAT_EQ(c.scale, 5.6f / 3.0f);
  EXPECT_EQ(c.zero, 0.0f);
  std::vector<uint8_t> codes;
  for (float w : v)
    codes.push_back(quantizeCode(w, c, 2));
  EXPECT_EQ(codes, (std::vector<uint8_t>{0, 0, 1, 3}));
}

TEST(UniformTest, ClippedRangeIsTheBestOfItsGrid) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (unsigned bits : {2u, 3u, 4u}) {
    for (int trial = 0; trial < 40; ++trial) {
      std::vector<float> v(64);
      for (float &x : v)
        x = normal(rng);
      v[size_t(trial) % v.size()] *= 8.0f; // an outlier
      auto error = [&](UniformParams p) {
        double e = 0;
        for (float w : v)
          e += std::pow(std::fabs(double(w) - quantizeValue(w, p, bits)), 2.4);
        return e;
      };
      double mn = *std::min_element(v.begin(), v.end()),
             mx = *std::max_element(v.begin(), v.end());
      UniformParams c = fitUniformParams(v, bits, false, 2.4);
      double got = error(c);
      // No range of the grid does better (its ends rounded to f32 here, so
      // to 1e-6); min-max (f = 1) is among them.
      for (int i = 0; i < 80; ++i) {
        double f = 1.0 - i / 100.0;
        std::vector<float> ends = {float(f * mn), float(f * mx)};
        EXPECT_LE(got, error(fitUniformParams(ends, bits)) * (1 + 1e-6))
            << "bits " << bits << " trial " << trial << " f " << f;
      }
      EXPECT_LE(got, error(fitUniformParams(v, bits)));
    }
  }
}

TEST(UniformTest, ClipNormValidation) {
  EXPECT_TRUE(errorText(checkClipNorm(0)).empty());
  EXPECT_TRUE(errorText(checkClipNorm(2.4)).empty());
  for (double bad : {-1.0, double(NAN), double(INFINITY)}) {
    std::string msg = errorText(checkClipNorm(bad));
    EXPECT_NE(msg.find("clip norm"), std::string::npos) << bad << ": " << msg;
  }
  Matrix w(1, 4);
  auto r = quantizeUniform(w, UniformSpec{2, 4, false, -2.0});
  EXPECT_NE(errorText(r).find("clip norm"), std::string::npos);
}
