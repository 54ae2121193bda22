//===- SalientMask.cpp - Top-r salient selection -------------------------===//

#include "s10/Quant/SalientMask.h"
#include "Detail.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace s10::quant;

int64_t s10::quant::salientCount(int64_t n, double ratio) {
  if (n <= 0 || !(ratio > 0.0))
    return 0;
  if (ratio >= 1.0)
    return n;
  int64_t k = std::llround(ratio * double(n));
  return std::clamp<int64_t>(k, 0, n);
}

namespace {
struct Candidate {
  double value;
  int64_t index;
};

/// Indices of the k best candidates (value desc, then index asc).
void selectTop(std::vector<Candidate> &c, int64_t k) {
  auto better = [](const Candidate &a, const Candidate &b) {
    return a.value > b.value || (a.value == b.value && a.index < b.index);
  };
  if (k <= 0 || k >= static_cast<int64_t>(c.size()))
    return;
  std::nth_element(c.begin(), c.begin() + (k - 1), c.end(), better);
}
} // namespace

llvm::Expected<Mask> s10::quant::selectSalient(const Matrix &m,
                                               const MaskOptions &options) {
  if (!(options.ratio >= 0.0 && options.ratio <= 1.0))
    return detail::makeError(llvm::formatv(
        "selectSalient: ratio must be in [0, 1], got {0}", options.ratio));
  if (auto err = checkGroupSize(options.groupSize))
    return std::move(err);
  if (options.blockRows < 0)
    return detail::makeError("selectSalient: blockRows must be >= 0");
  if (auto err = checkFinite(m, "selectSalient: salience"))
    return std::move(err);

  Mask mask(m.rows, m.cols, 0);
  std::vector<Candidate> cand;
  // Marks the top round(r * n) of the n flat indices indexAt(0..n-1).
  auto markUnit = [&](int64_t n, auto indexAt) {
    int64_t k = salientCount(n, options.ratio);
    if (k == 0)
      return;
    cand.clear();
    for (int64_t q = 0; q < n; ++q) {
      int64_t idx = indexAt(q);
      cand.push_back({double(m.data[idx]), idx});
    }
    selectTop(cand, k);
    for (int64_t q = 0; q < k; ++q)
      mask.data[cand[q].index] = 1;
  };

  switch (options.granularity) {
  case MaskGranularity::Layer:
    markUnit(m.size(), [](int64_t q) { return q; });
    break;
  case MaskGranularity::Row:
    for (int64_t i = 0; i < m.rows; ++i)
      markUnit(m.cols, [&](int64_t q) { return i * m.cols + q; });
    break;
  case MaskGranularity::Group: {
    int64_t g = resolveGroupSize(m.cols, options.groupSize);
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t c0 = 0; c0 < m.cols; c0 += g)
        markUnit(std::min(g, m.cols - c0),
                 [&](int64_t q) { return i * m.cols + c0 + q; });
    break;
  }
  case MaskGranularity::Structured: {
    int64_t block =
        options.blockRows == 0 ? m.rows : std::min(options.blockRows, m.rows);
    int64_t k = salientCount(m.cols, options.ratio);
    for (int64_t r0 = 0; r0 < m.rows && k > 0; r0 += block) {
      int64_t r1 = std::min(r0 + block, m.rows);
      cand.assign(static_cast<size_t>(m.cols), Candidate{0.0, 0});
      for (int64_t j = 0; j < m.cols; ++j)
        cand[j].index = j;
      for (int64_t i = r0; i < r1; ++i)
        for (int64_t j = 0; j < m.cols; ++j)
          cand[j].value += m(i, j);
      selectTop(cand, k);
      for (int64_t q = 0; q < k; ++q)
        for (int64_t i = r0; i < r1; ++i)
          mask(i, cand[q].index) = 1;
    }
    break;
  }
  }
  return mask;
}
