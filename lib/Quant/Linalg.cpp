//===- Linalg.cpp - Cholesky, SPD inverse, U = chol(H^-1) ----------------===//

#include "s10/Quant/Linalg.h"
#include "Detail.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace s10::quant;

template <typename T>
static llvm::Error checkSquare(const DenseMatrix<T> &a, llvm::StringRef what) {
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

llvm::Error s10::quant::invertSpdInPlace(MatrixD &a) {
  if (auto err = choleskyLower(a))
    return err;
  return choleskyInverseInPlace(a);
}

llvm::Expected<MatrixD> s10::quant::invertSpd(const MatrixD &a) {
  MatrixD l = a;
  if (auto err = invertSpdInPlace(l))
    return std::move(err);
  return l;
}

template <typename T>
static llvm::Error
inverseCholeskyUpperImpl(DenseMatrix<T> &h, unsigned maxRetries,
                         double retryPercdamp, double *addedDamp) {
  if (addedDamp)
    *addedDamp = 0.0;
  if (auto err = checkSquare(h, "inverseCholeskyUpper"))
    return err;
  // With J the index reversal, J H J = L L^T gives H = V V^T for the upper
  // V = J L J, so H^-1 = U^T U with U = V^-1 = J L^-1 J: one Cholesky and
  // one triangular inverse in H's own buffer, no explicit H^-1.
  const int64_t n = h.rows;
  std::vector<double> diag(static_cast<size_t>(n));
  double mean = 0.0;
  for (int64_t j = 0; j < n; ++j)
    mean += diag[j] = h(j, j);
  mean = n ? mean / double(n) : 0.0;
  std::reverse(h.data.begin(), h.data.end());
  int64_t pivot = detail::choleskyLowerKeepUpper(h.data.data(), n);
  double factor = retryPercdamp, added = 0.0;
  for (unsigned k = 1; pivot >= 0; ++k, factor *= 10.0) {
    if (k > maxRetries || !(mean > 0.0) || !(factor > 0.0)) {
      std::string why =
          "inverseCholeskyUpper: matrix is not positive definite (pivot " +
          std::to_string(n - 1 - pivot) + " of " + std::to_string(n) + ")";
      if (maxRetries)
        why +=
            ", still after " + std::to_string(maxRetries) + " damping retries";
      else
        why += "; add damping (percdamp) or allow retries";
      return detail::makeError(why);
    }
    // The strict upper triangle still holds J H J: restore the lower one.
    added = factor * mean;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < i; ++j)
        h(i, j) = h(j, i);
      h(i, i) = T(diag[n - 1 - i] + added);
    }
    pivot = detail::choleskyLowerKeepUpper(h.data.data(), n);
  }
  if (!detail::invertLowerInPlace(h.data.data(), n))
    return detail::makeError("inverseCholeskyUpper: singular Cholesky factor");
  std::reverse(h.data.begin(), h.data.end());
  if (addedDamp)
    *addedDamp = added;
  return llvm::Error::success();
}

llvm::Error s10::quant::inverseCholeskyUpperInPlace(MatrixD &h,
                                                    unsigned maxRetries,
                                                    double retryPercdamp,
                                                    double *addedDamp) {
  return inverseCholeskyUpperImpl(h, maxRetries, retryPercdamp, addedDamp);
}

llvm::Error s10::quant::inverseCholeskyUpperInPlace(Matrix &h,
                                                    unsigned maxRetries,
                                                    double retryPercdamp,
                                                    double *addedDamp) {
  return inverseCholeskyUpperImpl(h, maxRetries, retryPercdamp, addedDamp);
}

llvm::Expected<MatrixD> s10::quant::inverseCholeskyUpper(const MatrixD &h,
                                                         unsigned maxRetries,
                                                         double retryPercdamp,
                                                         double *addedDamp) {
  MatrixD u = h;
  if (auto err =
          inverseCholeskyUpperInPlace(u, maxRetries, retryPercdamp, addedDamp))
    return std::move(err);
  return u;
}
