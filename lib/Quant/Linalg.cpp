//===- Linalg.cpp - Cholesky, SPD inverse, U = chol(H^-1) ----------------===//

#include "s10/Quant/Linalg.h"
#include "Detail.h"

#include <cmath>

using namespace s10::quant;

static llvm::Error checkSquare(const MatrixD &a, llvm::StringRef what) {
  if (a.rows != a.cols)
    return detail::makeError(llvm::Twine(what) + ": matrix is " +
                             llvm::Twine(a.rows) + " x " + llvm::Twine(a.cols) +
                             ", expected square");
  return checkFinite(a, what);
}

llvm::Error s10::quant::choleskyLower(MatrixD &a) {
  if (auto err = checkSquare(a, "choleskyLower"))
    return err;
  int64_t pivot = detail::choleskyLowerInPlace(a.data.data(), a.rows);
  if (pivot >= 0)
    return detail::makeError(
        "choleskyLower: matrix is not positive definite (pivot " +
        llvm::Twine(pivot) + " of " + llvm::Twine(a.rows) +
        "); add damping (percdamp) or allow retries");
  return llvm::Error::success();
}

/// (L L^T)^-1 in place of the lower factor L (its upper triangle ignored).
static llvm::Error choleskyInverseInPlace(MatrixD &l) {
  for (int64_t i = 0; i < l.rows; ++i)
    for (int64_t j = i + 1; j < l.cols; ++j)
      l(i, j) = 0.0;
  if (!detail::choleskyInverseInPlace(l.data.data(), l.rows))
    return detail::makeError("choleskyInverse: singular Cholesky factor");
  return llvm::Error::success();
}

llvm::Expected<MatrixD> s10::quant::choleskyInverse(const MatrixD &l) {
  if (auto err = checkSquare(l, "choleskyInverse"))
    return std::move(err);
  MatrixD r = l;
  if (auto err = choleskyInverseInPlace(r))
    return std::move(err);
  return r;
}

llvm::Expected<MatrixD> s10::quant::invertSpd(const MatrixD &a) {
  // One d x d copy, factored and inverted in place: at d = 11008 every
  // further copy is another 969 MB.
  MatrixD l = a;
  if (auto err = choleskyLower(l))
    return std::move(err);
  if (auto err = choleskyInverseInPlace(l))
    return std::move(err);
  return l;
}

static llvm::Expected<MatrixD> inverseCholeskyUpperOnce(const MatrixD &h) {
  auto hinv = invertSpd(h);
  if (!hinv)
    return hinv.takeError();
  // H^-1 = L L^T with L lower; U = L^T, transposed in place.
  MatrixD &l = *hinv;
  if (auto err = choleskyLower(l))
    return std::move(err);
  for (int64_t i = 0; i < l.rows; ++i)
    for (int64_t j = 0; j < i; ++j) {
      l(j, i) = l(i, j);
      l(i, j) = 0.0;
    }
  return hinv;
}

llvm::Expected<MatrixD> s10::quant::inverseCholeskyUpper(const MatrixD &h,
                                                         unsigned maxRetries,
                                                         double retryPercdamp,
                                                         double *addedDamp) {
  if (addedDamp)
    *addedDamp = 0.0;
  auto u = inverseCholeskyUpperOnce(h);
  if (u || maxRetries == 0)
    return u;
  llvm::Error firstErr = u.takeError();
  double mean = 0.0;
  for (int64_t j = 0; j < h.rows; ++j)
    mean += h(j, j);
  mean = h.rows ? mean / double(h.rows) : 0.0;
  double factor = retryPercdamp;
  for (unsigned k = 1; k <= maxRetries; ++k, factor *= 10.0) {
    if (!(mean > 0.0) || !(factor > 0.0))
      break;
    MatrixD damped = h;
    for (int64_t j = 0; j < h.rows; ++j)
      damped(j, j) += factor * mean;
    auto retry = inverseCholeskyUpperOnce(damped);
    if (retry) {
      llvm::consumeError(std::move(firstErr));
      if (addedDamp)
        *addedDamp = factor * mean;
      return retry;
    }
    llvm::consumeError(retry.takeError());
  }
  return llvm::joinErrors(
      std::move(firstErr),
      detail::makeError("inverseCholeskyUpper: still not positive definite "
                        "after " +
                        llvm::Twine(maxRetries) + " damping retries"));
}
