//===- Binarize.cpp - Mean-shifted binarization --------------------------===//

#include "s10/Quant/Binarize.h"
#include "Detail.h"

#include <algorithm>
#include <cmath>

using namespace s10::quant;

BinaryParams s10::quant::fitBinaryParams(llvm::ArrayRef<float> values,
                                         llvm::ArrayRef<uint8_t> salient) {
  assert(salient.empty() || salient.size() == values.size());
  auto used = [&](size_t k) { return salient.empty() || salient[k] == 0; };
  double sum = 0.0;
  int64_t n = 0;
  for (size_t k = 0; k < values.size(); ++k)
    if (used(k)) {
      sum += values[k];
      ++n;
    }
  BinaryParams p;
  if (n == 0)
    return p;
  double mu = sum / double(n);
  double dev = 0.0;
  for (size_t k = 0; k < values.size(); ++k)
    if (used(k))
      dev += std::fabs(double(values[k]) - mu);
  p.mu = static_cast<float>(mu);
  p.alpha = static_cast<float>(dev / double(n));
  return p;
}

llvm::Expected<BinaryResult> s10::quant::binarizeGroups(const Matrix &w,
                                                        int64_t groupSize,
                                                        const Mask *salient) {
  if (auto err = checkGroupSize(groupSize))
    return std::move(err);
  if (w.empty())
    return detail::makeError("binarizeGroups: empty matrix");
  if (salient && (salient->rows != w.rows || salient->cols != w.cols))
    return detail::makeError("binarizeGroups: mask shape does not match");
  if (auto err = checkFinite(w, "binarizeGroups: weight"))
    return std::move(err);

  BinaryResult r;
  r.groupSize = resolveGroupSize(w.cols, groupSize);
  r.numGroups = numGroups(w.cols, groupSize);
  r.params.resize(static_cast<size_t>(w.rows * r.numGroups));
  r.values = w;
  for (int64_t i = 0; i < w.rows; ++i) {
    for (int64_t g = 0; g < r.numGroups; ++g) {
      int64_t c0 = g * r.groupSize;
      size_t len = static_cast<size_t>(std::min(r.groupSize, w.cols - c0));
      llvm::ArrayRef<float> vals(w.row(i) + c0, len);
      llvm::ArrayRef<uint8_t> mask;
      if (salient)
        mask = llvm::ArrayRef<uint8_t>(salient->row(i) + c0, len);
      BinaryParams p = fitBinaryParams(vals, mask);
      r.params[i * r.numGroups + g] = p;
      for (size_t k = 0; k < len; ++k)
        if (mask.empty() || mask[k] == 0)
          r.values(i, c0 + int64_t(k)) = binarizeValue(vals[k], p);
    }
  }
  return r;
}

std::vector<int8_t> s10::quant::binaryCodes(const Matrix &w,
                                            const BinaryResult &r) {
  std::vector<int8_t> codes(static_cast<size_t>(w.size()));
  for (int64_t i = 0; i < w.rows; ++i)
    for (int64_t j = 0; j < w.cols; ++j)
      codes[static_cast<size_t>(i * w.cols + j)] =
          w(i, j) >= r.paramsAt(i, j).mu;
  return codes;
}
