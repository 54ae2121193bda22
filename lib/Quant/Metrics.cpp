//===- Metrics.cpp - Layer output error ----------------------------------===//

#include "s10/Quant/Metrics.h"
#include "Detail.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace s10::quant;

static llvm::Error checkPair(const Matrix &w, const Matrix &what,
                             llvm::StringRef fn) {
  if (w.empty() || w.rows != what.rows || w.cols != what.cols)
    return detail::makeError(llvm::Twine(fn) +
                             ": W and W^ must be nonempty and of equal shape");
  if (auto err = checkFinite(w, (llvm::Twine(fn) + ": W").str()))
    return err;
  return checkFinite(what, (llvm::Twine(fn) + ": W^").str());
}

/// ||X A^T||_F^2 in double.
static double squaredProductNorm(const MatrixD &x, const MatrixD &a) {
  MatrixD y(x.rows, a.rows);
  detail::dgemm(false, true, x.rows, a.rows, x.cols, 1.0, x.data.data(), x.cols,
                a.data.data(), a.cols, 0.0, y.data.data(), a.rows);
  double s = 0.0;
  for (double v : y.data)
    s += v * v;
  return s;
}

/// trace(A H A^T) in double.
static MatrixD difference(const Matrix &w, const Matrix &what) {
  MatrixD d(w.rows, w.cols);
  for (size_t k = 0; k < d.data.size(); ++k)
    d.data[k] = double(w.data[k]) - double(what.data[k]);
  return d;
}

static double ratio(double num, double den) {
  if (den > 0.0)
    return std::sqrt(std::max(num, 0.0) / den);
  return num > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
}

static llvm::Error checkActivations(const Matrix &w, const Matrix &x,
                                    llvm::StringRef fn) {
  if (x.cols != w.cols)
    return detail::makeError(llvm::Twine(fn) + ": X has " +
                             llvm::Twine(x.cols) + " columns, W has " +
                             llvm::Twine(w.cols));
  return checkFinite(x, (llvm::Twine(fn) + ": X").str());
}

llvm::Expected<double> s10::quant::outputErrorSquared(const Matrix &w,
                                                      const Matrix &what,
                                                      const Matrix &x) {
  if (auto err = checkPair(w, what, "outputErrorSquared"))
    return std::move(err);
  if (auto err = checkActivations(w, x, "outputErrorSquared"))
    return std::move(err);
  return squaredProductNorm(toDouble(x), difference(w, what));
}

llvm::Expected<double> s10::quant::relativeOutputError(const Matrix &w,
                                                       const Matrix &what,
                                                       const Matrix &x) {
  if (auto err = checkPair(w, what, "relativeOutputError"))
    return std::move(err);
  if (auto err = checkActivations(w, x, "relativeOutputError"))
    return std::move(err);
  MatrixD xd = toDouble(x);
  return ratio(squaredProductNorm(xd, difference(w, what)),
               squaredProductNorm(xd, toDouble(w)));
}

llvm::Expected<double>
s10::quant::relativeOutputErrorFromHessian(const Matrix &w, const Matrix &what,
                                           const MatrixD &h) {
  if (auto err = checkPair(w, what, "relativeOutputErrorFromHessian"))
    return std::move(err);
  if (h.rows != w.cols || h.cols != w.cols)
    return detail::makeError("relativeOutputErrorFromHessian: H must be " +
                             llvm::Twine(w.cols) + " x " + llvm::Twine(w.cols));
  return relativeOutputErrorFromHessianRows(
      w, what, [&](int64_t r0, int64_t) -> llvm::Expected<const double *> {
        return h.row(r0);
      });
}

llvm::Expected<double> s10::quant::relativeOutputErrorFromHessianRows(
    const Matrix &w, const Matrix &what, HessianRows rows, int64_t sliceRows) {
  if (auto err = checkPair(w, what, "relativeOutputErrorFromHessian"))
    return std::move(err);
  if (sliceRows < 1)
    return detail::makeError(
        "relativeOutputErrorFromHessian: slices need at least one row");
  // trace(A H A^T) for A = W - Ŵ and A = W. H symmetric: the columns
  // [c0, c0 + q) of A H are A times the slice's rows transposed. A is
  // formed 256 rows at a time in f64: whole f64 copies of a 70B down
  // projection would take 1.9 GB each.
  constexpr int64_t kPanel = 256;
  const int64_t n = w.cols;
  double num = 0.0, den = 0.0;
  MatrixD a(std::min(kPanel, w.rows), n), ah(a.rows, std::min(sliceRows, n));
  for (int64_t c0 = 0; c0 < n; c0 += sliceRows) {
    int64_t q = std::min(sliceRows, n - c0);
    auto slice = rows(c0, q);
    if (!slice)
      return slice.takeError();
    for (int64_t k = 0; k < q * n; ++k)
      if (!std::isfinite((*slice)[k]))
        return detail::makeError(
            "relativeOutputErrorFromHessian: H has a non-finite entry at (" +
            llvm::Twine(c0 + k / n) + ", " + llvm::Twine(k % n) + ")");
    for (int64_t r0 = 0; r0 < w.rows; r0 += kPanel) {
      int64_t m = std::min(kPanel, w.rows - r0);
      for (int pass = 0; pass < 2; ++pass) {
        const float *src = w.row(r0);
        const float *sub = what.row(r0);
        for (int64_t k = 0; k < m * n; ++k)
          a.data[k] =
              pass == 0 ? double(src[k]) - double(sub[k]) : double(src[k]);
        detail::dgemm(false, true, m, q, n, 1.0, a.data.data(), n, *slice, n,
                      0.0, ah.data.data(), q);
        double s = 0.0;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < q; ++j)
            s += ah.data[i * q + j] * a.data[i * n + c0 + j];
        (pass == 0 ? num : den) += s;
      }
    }
  }
  return ratio(num, den);
}
