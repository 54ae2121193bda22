//===- Matrix.h - Dense matrices for the S10 quantization numerics -------===//
//
// A tiny owning row-major matrix used by every s10::quant API, plus the
// group-layout helpers shared by the group quantizers. Element (i, j) lives at
// data[i * cols + j]. For a weight matrix W [dout x din], row i is output
// channel i and column j is input channel j.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_MATRIX_H
#define S10_QUANT_MATRIX_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cassert>
#include <cstdint>
#include <vector>

namespace s10::quant {

/// Owning dense row-major matrix.
template <typename T> struct DenseMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<T> data;

  DenseMatrix() = default;
  DenseMatrix(int64_t rows, int64_t cols, T fill = T())
      : rows(rows), cols(cols), data(static_cast<size_t>(rows * cols), fill) {
    assert(rows >= 0 && cols >= 0 && "negative matrix dimension");
  }
  /// Copies `values` (row-major, rows * cols entries).
  DenseMatrix(int64_t rows, int64_t cols, llvm::ArrayRef<T> values)
      : rows(rows), cols(cols), data(values.begin(), values.end()) {
    assert(static_cast<int64_t>(values.size()) == rows * cols &&
           "value count does not match dimensions");
  }

  T &operator()(int64_t i, int64_t j) {
    return data[static_cast<size_t>(i * cols + j)];
  }
  const T &operator()(int64_t i, int64_t j) const {
    return data[static_cast<size_t>(i * cols + j)];
  }
  T *row(int64_t i) { return data.data() + i * cols; }
  const T *row(int64_t i) const { return data.data() + i * cols; }
  int64_t size() const { return rows * cols; }
  bool empty() const { return rows == 0 || cols == 0; }
};

using Matrix = DenseMatrix<float>;   // weights, activations
using MatrixD = DenseMatrix<double>; // Hessians and their factors
using Mask = DenseMatrix<uint8_t>;   // nonzero = salient (kept at k bits)

/// Error naming the first NaN/Inf entry (`what`: row r, column c), if any.
llvm::Error checkFinite(const Matrix &m, llvm::StringRef what);
llvm::Error checkFinite(const MatrixD &m, llvm::StringRef what);

/// Returns the whole pages inside [p, p + size) to the system
/// (madvise(MADV_DONTNEED)): anonymous memory reads as zero afterwards, a
/// read-only file mapping is read from the file again. The allocation or
/// mapping itself stays valid.
void releasePages(const void *p, size_t size);

MatrixD toDouble(const Matrix &m);
Matrix toFloat(const MatrixD &m);
std::vector<double> diagonal(const MatrixD &m);

/// Groups are runs of `groupSize` consecutive columns of one row. groupSize 0
/// (or >= cols) means one group per row (per-channel). When cols is not a
/// multiple of groupSize, the last group of each row is shorter.
inline int64_t resolveGroupSize(int64_t cols, int64_t groupSize) {
  return (groupSize <= 0 || groupSize > cols) ? cols : groupSize;
}
inline int64_t numGroups(int64_t cols, int64_t groupSize) {
  int64_t g = resolveGroupSize(cols, groupSize);
  return g == 0 ? 0 : (cols + g - 1) / g;
}
/// Error if groupSize < 0.
llvm::Error checkGroupSize(int64_t groupSize);

} // namespace s10::quant

#endif // S10_QUANT_MATRIX_H
