//===- Metrics.cpp - Layer output error ----------------------------------===//

#include "s10/Quant/Metrics.h"
#include "Detail.h"

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
static double hessianForm(const MatrixD &a, const MatrixD &h) {
  MatrixD ah(a.rows, a.cols);
  detail::dgemm(false, false, a.rows, a.cols, a.cols, 1.0, a.data.data(),
                a.cols, h.data.data(), h.cols, 0.0, ah.data.data(), a.cols);
  double s = 0.0;
  for (size_t k = 0; k < ah.data.size(); ++k)
    s += ah.data[k] * a.data[k];
  return s;
}

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
  if (auto err = checkFinite(h, "relativeOutputErrorFromHessian: H"))
    return std::move(err);
  return ratio(hessianForm(difference(w, what), h),
               hessianForm(toDouble(w), h));
}
