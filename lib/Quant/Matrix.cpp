//===- Matrix.cpp - Matrix helpers ---------------------------------------===//

#include "s10/Quant/Matrix.h"
#include "Detail.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

#include <sys/mman.h>
#include <unistd.h>

using namespace s10::quant;

namespace {
template <typename T>
llvm::Error checkFiniteImpl(const DenseMatrix<T> &m, llvm::StringRef what) {
  for (int64_t i = 0; i < m.rows; ++i) {
    const T *r = m.row(i);
    for (int64_t j = 0; j < m.cols; ++j)
      if (!std::isfinite(r[j]))
        return detail::makeError(
            llvm::formatv("{0}: non-finite value {1} at row {2}, column {3}",
                          what, double(r[j]), i, j));
  }
  return llvm::Error::success();
}
} // namespace

llvm::Error s10::quant::checkFinite(const Matrix &m, llvm::StringRef what) {
  return checkFiniteImpl(m, what);
}

llvm::Error s10::quant::checkFinite(const MatrixD &m, llvm::StringRef what) {
  return checkFiniteImpl(m, what);
}

void s10::quant::releasePages(const void *p, size_t size) {
  uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = (uintptr_t(p) + page - 1) & ~(page - 1);
  uintptr_t end = (uintptr_t(p) + size) & ~(page - 1);
  if (end > begin)
    ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

MatrixD s10::quant::toDouble(const Matrix &m) {
  MatrixD r(m.rows, m.cols);
  for (size_t k = 0; k < m.data.size(); ++k)
    r.data[k] = m.data[k];
  return r;
}

Matrix s10::quant::toFloat(const MatrixD &m) {
  Matrix r(m.rows, m.cols);
  for (size_t k = 0; k < m.data.size(); ++k)
    r.data[k] = static_cast<float>(m.data[k]);
  return r;
}

std::vector<double> s10::quant::diagonal(const MatrixD &m) {
  int64_t n = std::min(m.rows, m.cols);
  std::vector<double> d(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    d[i] = m(i, i);
  return d;
}

llvm::Error s10::quant::checkGroupSize(int64_t groupSize) {
  if (groupSize < 0)
    return detail::makeError("group size must be >= 0 (0: whole row), got " +
                             llvm::Twine(groupSize));
  return llvm::Error::success();
}
