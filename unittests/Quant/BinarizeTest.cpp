//===- BinarizeTest.cpp - Mean-shifted binarization tests ----------------===//

#include "s10/Quant/Binarize.h"
#include "TestUtil.h"

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

/// Slow reference: mu, alpha over unmasked entries, then alpha*sign+mu.
Matrix slowBinarize(const Matrix &w, int64_t g, const Mask *mask,
                    std::vector<std::pair<double, double>> &params) {
  Matrix out = w;
  params.clear();
  for (int64_t i = 0; i < w.rows; ++i)
    for (int64_t c0 = 0; c0 < w.cols; c0 += g) {
      int64_t c1 = std::min(w.cols, c0 + g);
      std::vector<double> vals;
      for (int64_t j = c0; j < c1; ++j)
        if (!mask || !(*mask)(i, j))
          vals.push_back(w(i, j));
      double mu = 0, alpha = 0;
      if (!vals.empty()) {
        for (double v : vals)
          mu += v;
        mu /= double(vals.size());
        for (double v : vals)
          alpha += std::fabs(v - mu);
        alpha /= double(vals.size());
      }
      params.push_back({alpha, mu});
      for (int64_t j = c0; j < c1; ++j)
        if (!mask || !(*mask)(i, j))
          out(i, j) = float(w(i, j) - mu >= 0 ? mu + alpha : mu - alpha);
    }
  return out;
}

TEST(BinarizeTest, FitMatchesDefinition) {
  std::vector<float> v = {1.0f, 2.0f, 6.0f, -3.0f};
  BinaryParams p = fitBinaryParams(v);
  EXPECT_FLOAT_EQ(p.mu, 1.5f);
  EXPECT_FLOAT_EQ(p.alpha, (0.5f + 0.5f + 4.5f + 4.5f) / 4.0f);
  std::vector<uint8_t> mask = {0, 0, 1, 0}; // 6 excluded
  BinaryParams q = fitBinaryParams(v, mask);
  EXPECT_FLOAT_EQ(q.mu, 0.0f);
  EXPECT_FLOAT_EQ(q.alpha, 2.0f);
  // sign(0) = +1.
  EXPECT_EQ(binarizeValue(q.mu, q), q.mu + q.alpha);
  EXPECT_EQ(binarizeValue(-0.5f, q), -2.0f);
  EXPECT_EQ(binarizeValue(0.5f, q), 2.0f);
}

TEST(BinarizeTest, EmptyFitSetGivesZeroParams) {
  std::vector<float> v = {1.0f, 2.0f};
  std::vector<uint8_t> all = {1, 1};
  BinaryParams p = fitBinaryParams(v, all);
  EXPECT_EQ(p.alpha, 0.0f);
  EXPECT_EQ(p.mu, 0.0f);
  BinaryParams e = fitBinaryParams({});
  EXPECT_EQ(e.alpha, 0.0f);
}

TEST(BinarizeTest, GroupsMatchSlowVersion) {
  Matrix w = randomMatrix(6, 19, 21);
  Mask mask(6, 19, 0);
  std::mt19937 gen(4);
  for (uint8_t &m : mask.data)
    m = gen() % 4 == 0;
  for (int64_t g : {1, 4, 7, 19}) {
    const Mask *noMask = nullptr, *someMask = &mask;
    for (const Mask *mk : {noMask, someMask}) {
      auto r = binarizeGroups(w, g, mk);
      ASSERT_TRUE(bool(r)) << errorText(r);
      std::vector<std::pair<double, double>> ref;
      Matrix expect = slowBinarize(w, g, mk, ref);
      EXPECT_LE(maxAbsDiff(r->values, expect), 1e-5);
      ASSERT_EQ(r->params.size(), ref.size());
      for (size_t k = 0; k < ref.size(); ++k) {
        EXPECT_NEAR(r->params[k].alpha, ref[k].first, 1e-5);
        EXPECT_NEAR(r->params[k].mu, ref[k].second, 1e-5);
      }
      if (mk) {
        for (int64_t k = 0; k < w.size(); ++k) {
          if (mask.data[k]) {
            EXPECT_EQ(r->values.data[k], w.data[k]);
          }
        }
      }
    }
  }
}

TEST(BinarizeTest, CodesHandWorked) {
  // One group {1, 3, 2, 2}: mu = 2, alpha = 0.5; w == mu codes 1.
  Matrix w(1, 4, llvm::ArrayRef<float>({1.0f, 3.0f, 2.0f, 2.0f}));
  auto r = binarizeGroups(w, 4);
  ASSERT_TRUE(bool(r)) << errorText(r);
  EXPECT_EQ(binaryCodes(w, *r), (std::vector<int8_t>{0, 1, 1, 1}));
  BinaryCodeParams c = binaryCodeParams(r->params[0]);
  EXPECT_EQ(c.scale, 1.0f);
  EXPECT_EQ(c.offset, 1.5f);
}

TEST(BinarizeTest, CodesDecodeToBinarizedValues) {
  Matrix w = randomMatrix(5, 23, 31);
  for (int64_t g : {1, 4, 8, 23}) {
    auto r = binarizeGroups(w, g);
    ASSERT_TRUE(bool(r)) << errorText(r);
    std::vector<int8_t> codes = binaryCodes(w, *r);
    ASSERT_EQ(codes.size(), size_t(w.size()));
    // Slow reference: mu of each group recomputed in double.
    std::vector<std::pair<double, double>> ref;
    slowBinarize(w, g, nullptr, ref);
    int64_t groups = (w.cols + g - 1) / g;
    for (int64_t i = 0; i < w.rows; ++i)
      for (int64_t j = 0; j < w.cols; ++j) {
        size_t k = size_t(i * w.cols + j);
        float mu = float(ref[size_t(i * groups + j / g)].second);
        EXPECT_EQ(codes[k], w(i, j) >= mu ? 1 : 0) << i << "," << j;
        BinaryCodeParams c = binaryCodeParams(r->paramsAt(i, j));
        float decoded = c.offset + float(codes[k]) * c.scale;
        float want = r->values(i, j);
        EXPECT_NEAR(decoded, want, 1e-6f * std::max(1.0f, std::fabs(want)));
      }
  }
}

TEST(BinarizeTest, EachGroupTakesTwoValues) {
  Matrix w = randomMatrix(3, 32, 2);
  auto r = binarizeGroups(w, 8);
  ASSERT_TRUE(bool(r));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 32; ++j) {
      const BinaryParams &p = r->paramsAt(i, j);
      float v = r->values(i, j);
      EXPECT_TRUE(v == p.mu + p.alpha || v == p.mu - p.alpha);
      EXPECT_EQ(v >= p.mu, w(i, j) >= p.mu);
    }
}

TEST(BinarizeTest, EdgeCases) {
  // Constant group: alpha = 0 and the value is kept.
  Matrix c(2, 4, 0.75f);
  auto rc = binarizeGroups(c, 0);
  ASSERT_TRUE(bool(rc));
  EXPECT_EQ(rc->values.data, c.data);
  EXPECT_EQ(rc->params[0].alpha, 0.0f);
  // All-zero rows stay zero; 1x1.
  Matrix z(2, 3, 0.0f);
  auto rz = binarizeGroups(z, 2);
  ASSERT_TRUE(bool(rz));
  EXPECT_EQ(rz->values.data, z.data);
  Matrix one(1, 1, -4.0f);
  auto r1 = binarizeGroups(one, 128);
  ASSERT_TRUE(bool(r1));
  EXPECT_EQ(r1->values(0, 0), -4.0f);
  // A fully salient group: params zero, values unchanged.
  Matrix w = randomMatrix(1, 4, 9);
  Mask all(1, 4, 1);
  auto ra = binarizeGroups(w, 2, &all);
  ASSERT_TRUE(bool(ra));
  EXPECT_EQ(ra->values.data, w.data);
  EXPECT_EQ(ra->params[1].alpha, 0.0f);
  EXPECT_EQ(ra->params[1].mu, 0.0f);
}

TEST(BinarizeTest, RejectsBadInput) {
  Matrix w = randomMatrix(3, 3, 1);
  w(1, 2) = std::numeric_limits<float>::infinity();
  auto r = binarizeGroups(w, 2);
  std::string msg = errorText(r);
  EXPECT_NE(msg.find("row 1, column 2"), std::string::npos) << msg;
  w(1, 2) = 0;
  Mask wrong(3, 2, 0);
  auto r2 = binarizeGroups(w, 2, &wrong);
  EXPECT_FALSE(errorText(r2).empty());
  auto r3 = binarizeGroups(w, -2);
  EXPECT_FALSE(errorText(r3).empty());
}

} // namespace
