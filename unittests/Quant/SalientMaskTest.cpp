//===- SalientMaskTest.cpp - Top-r selection tests -----------------------===//

#include "s10/Quant/SalientMask.h"
#include "TestUtil.h"

#include <algorithm>
#include <numeric>

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

/// Sort-based top-k of flat indices (value desc, index asc).
void slowMark(const std::vector<double> &vals, const std::vector<int64_t> &idx,
              int64_t k, std::vector<int64_t> &chosen) {
  std::vector<size_t> ord(idx.size());
  std::iota(ord.begin(), ord.end(), size_t(0));
  std::sort(ord.begin(), ord.end(), [&](size_t a, size_t b) {
    if (vals[a] != vals[b])
      return vals[a] > vals[b];
    return idx[a] < idx[b];
  });
  for (int64_t q = 0; q < k; ++q)
    chosen.push_back(idx[ord[q]]);
}

int64_t slowCount(int64_t n, double r) {
  return int64_t(std::floor(r * double(n) + 0.5));
}

Mask slowSelect(const Matrix &m, const MaskOptions &o) {
  Mask mask(m.rows, m.cols, 0);
  std::vector<int64_t> chosen;
  auto unit = [&](std::vector<int64_t> idx) {
    std::vector<double> vals;
    for (int64_t i : idx)
      vals.push_back(m.data[i]);
    slowMark(vals, idx, slowCount(int64_t(idx.size()), o.ratio), chosen);
  };
  switch (o.granularity) {
  case MaskGranularity::Layer: {
    std::vector<int64_t> idx(m.size());
    std::iota(idx.begin(), idx.end(), int64_t(0));
    unit(idx);
    break;
  }
  case MaskGranularity::Row:
  case MaskGranularity::Group: {
    int64_t g = o.granularity == MaskGranularity::Row || o.groupSize == 0
                    ? m.cols
                    : o.groupSize;
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t c0 = 0; c0 < m.cols; c0 += g) {
        std::vector<int64_t> idx;
        for (int64_t j = c0; j < std::min(m.cols, c0 + g); ++j)
          idx.push_back(i * m.cols + j);
        unit(idx);
      }
    break;
  }
  case MaskGranularity::Structured: {
    int64_t br = o.blockRows == 0 ? m.rows : o.blockRows;
    for (int64_t r0 = 0; r0 < m.rows; r0 += br) {
      int64_t r1 = std::min(m.rows, r0 + br);
      std::vector<double> score(m.cols, 0.0);
      std::vector<int64_t> cols(m.cols);
      std::iota(cols.begin(), cols.end(), int64_t(0));
      for (int64_t i = r0; i < r1; ++i)
        for (int64_t j = 0; j < m.cols; ++j)
          score[j] += m(i, j);
      std::vector<int64_t> picked;
      slowMark(score, cols, slowCount(m.cols, o.ratio), picked);
      for (int64_t j : picked)
        for (int64_t i = r0; i < r1; ++i)
          chosen.push_back(i * m.cols + j);
    }
    break;
  }
  }
  for (int64_t k : chosen)
    mask.data[k] = 1;
  return mask;
}

TEST(SalientMaskTest, Count) {
  EXPECT_EQ(salientCount(10, 0.2), 2);
  EXPECT_EQ(salientCount(5, 0.5), 3); // 2.5 rounds away from zero
  EXPECT_EQ(salientCount(7, 0.2), 1);
  EXPECT_EQ(salientCount(8, 0.2), 2); // 1.6
  EXPECT_EQ(salientCount(3, 0.0), 0);
  EXPECT_EQ(salientCount(3, 1.0), 3);
  EXPECT_EQ(salientCount(0, 0.5), 0);
}

TEST(SalientMaskTest, MatchesSortBasedVersion) {
  Matrix rnd = randomMatrix(9, 22, 77);
  Matrix ties(9, 22);
  std::mt19937 gen(8);
  for (float &v : ties.data)
    v = float(gen() % 3);
  const MaskGranularity kinds[] = {MaskGranularity::Layer, MaskGranularity::Row,
                                   MaskGranularity::Group,
                                   MaskGranularity::Structured};
  for (const Matrix *m : {&rnd, &ties})
    for (MaskGranularity k : kinds)
      for (double r : {0.0, 0.1, 0.2, 0.5, 0.93, 1.0})
        for (int64_t g : {0, 5, 8})
          for (int64_t br : {0, 1, 4}) {
            MaskOptions o{r, k, g, br};
            auto mask = selectSalient(*m, o);
            ASSERT_TRUE(bool(mask)) << errorText(mask);
            Mask ref = slowSelect(*m, o);
            EXPECT_EQ(mask->data, ref.data)
                << "kind " << int(k) << " r " << r << " g " << g;
          }
}

TEST(SalientMaskTest, ExactCountsAndExtremes) {
  Matrix m = randomMatrix(6, 10, 5);
  auto count = [](const Mask &mk) {
    return std::count(mk.data.begin(), mk.data.end(), 1);
  };
  auto layer = selectSalient(m, MaskOptions{0.2, MaskGranularity::Layer, 0, 0});
  ASSERT_TRUE(bool(layer));
  EXPECT_EQ(count(*layer), 12);
  auto row = selectSalient(m, MaskOptions{0.25, MaskGranularity::Row, 0, 0});
  ASSERT_TRUE(bool(row));
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_EQ(std::count(row->row(i), row->row(i) + 10, 1), 3); // 2.5 -> 3
  auto grp = selectSalient(m, MaskOptions{0.5, MaskGranularity::Group, 4, 0});
  ASSERT_TRUE(bool(grp));
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(std::count(grp->row(i), grp->row(i) + 4, 1), 2);
    EXPECT_EQ(std::count(grp->row(i) + 4, grp->row(i) + 8, 1), 2);
    EXPECT_EQ(std::count(grp->row(i) + 8, grp->row(i) + 10, 1), 1);
  }
  auto st =
      selectSalient(m, MaskOptions{0.3, MaskGranularity::Structured, 0, 4});
  ASSERT_TRUE(bool(st));
  for (int64_t j = 0; j < 10; ++j) {
    for (int64_t i = 1; i < 4; ++i)
      EXPECT_EQ((*st)(i, j), (*st)(0, j));
    EXPECT_EQ((*st)(5, j), (*st)(4, j));
  }
  EXPECT_EQ(std::count(st->row(0), st->row(0) + 10, 1), 3);
  const MaskGranularity kinds[] = {MaskGranularity::Layer, MaskGranularity::Row,
                                   MaskGranularity::Group,
                                   MaskGranularity::Structured};
  for (MaskGranularity k : kinds) {
    auto none = selectSalient(m, MaskOptions{0.0, k, 4, 2});
    auto all = selectSalient(m, MaskOptions{1.0, k, 4, 2});
    ASSERT_TRUE(none && all);
    EXPECT_EQ(count(*none), 0);
    EXPECT_EQ(count(*all), 60);
  }
  Matrix one(1, 1, 3.0f);
  auto o1 = selectSalient(one, MaskOptions{0.5, MaskGranularity::Layer, 0, 0});
  ASSERT_TRUE(bool(o1));
  EXPECT_EQ(o1->data[0], 1); // round(0.5) = 1
  auto o2 =
      selectSalient(one, MaskOptions{0.2, MaskGranularity::Structured, 0, 0});
  ASSERT_TRUE(bool(o2));
  EXPECT_EQ(o2->data[0], 0);
}

TEST(SalientMaskTest, TopValuesAreChosen) {
  Matrix m(2, 5, llvm::ArrayRef<float>({1, 9, 3, 9, 2, 0, -1, 7, 7, 7}));
  auto row = selectSalient(m, MaskOptions{0.4, MaskGranularity::Row, 0, 0});
  ASSERT_TRUE(bool(row));
  EXPECT_EQ(row->data, (std::vector<uint8_t>{0, 1, 0, 1, 0, 0, 0, 1, 1, 0}));
  auto layer = selectSalient(m, MaskOptions{0.3, MaskGranularity::Layer, 0, 0});
  ASSERT_TRUE(bool(layer));
  EXPECT_EQ(layer->data, (std::vector<uint8_t>{0, 1, 0, 1, 0, 0, 0, 1, 0, 0}));
}

TEST(SalientMaskTest, RejectsBadInput) {
  Matrix m = randomMatrix(2, 2, 1);
  for (double r : {-0.1, 1.5, std::nan("")}) {
    auto e = selectSalient(m, MaskOptions{r, MaskGranularity::Layer, 0, 0});
    EXPECT_FALSE(errorText(e).empty());
  }
  auto e2 =
      selectSalient(m, MaskOptions{0.2, MaskGranularity::Structured, 0, -1});
  EXPECT_FALSE(errorText(e2).empty());
  m(1, 0) = std::nanf("");
  auto e3 = selectSalient(m);
  EXPECT_NE(errorText(e3).find("row 1, column 0"), std::string::npos);
}

} // namespace
