//===- Pbar.cpp - PBAR salience ------------------------------------------===//

#include "s10/Quant/Pbar.h"
#include "Detail.h"
#include "s10/Quant/Binarize.h"
#include "s10/Quant/Linalg.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace s10::quant;

llvm::Expected<std::vector<double>>
s10::quant::salienceDiagonal(MatrixD h, SalienceDiag kind) {
  // In place in the one buffer passed (moved in by callers that are done
  // with H).
  llvm::Error err = kind == SalienceDiag::InverseHessian
                        ? invertSpdInPlace(h)
                        : inverseCholeskyUpperInPlace(h);
  if (err)
    return std::move(err);
  return diagonal(h);
}

llvm::Expected<std::vector<double>>
s10::quant::salienceDiagonal(Matrix h, SalienceDiag kind) {
  if (llvm::Error err = inverseCholeskyUpperInPlace(h))
    return std::move(err);
  const int64_t n = h.rows;
  std::vector<double> d(static_cast<size_t>(n), 0.0);
  if (kind == SalienceDiag::InverseCholesky) {
    for (int64_t j = 0; j < n; ++j)
      d[j] = h(j, j);
    return d;
  }
  // H^-1 = U^T U: column j's squares, row by row for locality.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j)
      d[j] += double(h(i, j)) * double(h(i, j));
  return d;
}

llvm::Expected<Matrix>
s10::quant::hessianSalience(const Matrix &what,
                            llvm::ArrayRef<double> hinvDiag) {
  if (what.empty())
    return detail::makeError("hessianSalience: empty weight");
  if (static_cast<int64_t>(hinvDiag.size()) != what.cols)
    return detail::makeError("hessianSalience: diagonal has " +
                             llvm::Twine(hinvDiag.size()) +
                             " entries, expected " + llvm::Twine(what.cols));
  for (size_t j = 0; j < hinvDiag.size(); ++j)
    if (!(hinvDiag[j] > 0.0) || !std::isfinite(hinvDiag[j]))
      return detail::makeError("hessianSalience: diagonal entry " +
                               llvm::Twine(j) + " is not positive and finite");
  if (auto err = checkFinite(what, "hessianSalience: weight"))
    return std::move(err);
  Matrix v(what.rows, what.cols);
  for (int64_t i = 0; i < what.rows; ++i)
    for (int64_t j = 0; j < what.cols; ++j) {
      double w = what(i, j), d = hinvDiag[j];
      v(i, j) = static_cast<float>((w * w) / (d * d));
    }
  return v;
}

/// max_t(y_t + x_t d) - min_t(y_t + x_t d), eight independent lanes so the
/// compiler can vectorize without reassociation flags.
static float rangeOf(const float *y, const float *x, float d, int64_t t) {
  constexpr int kLanes = 8;
  float mx[kLanes], mn[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    mx[l] = -std::numeric_limits<float>::infinity();
    mn[l] = std::numeric_limits<float>::infinity();
  }
  int64_t k = 0;
  for (; k + kLanes <= t; k += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      float v = y[k + l] + x[k + l] * d;
      mx[l] = v > mx[l] ? v : mx[l];
      mn[l] = v < mn[l] ? v : mn[l];
    }
  for (; k < t; ++k) {
    float v = y[k] + x[k] * d;
    mx[0] = v > mx[0] ? v : mx[0];
    mn[0] = v < mn[0] ? v : mn[0];
  }
  float hi = mx[0], lo = mn[0];
  for (int l = 1; l < kLanes; ++l) {
    hi = std::max(hi, mx[l]);
    lo = std::min(lo, mn[l]);
  }
  return hi - lo;
}

llvm::Expected<Matrix> s10::quant::rangeSalience(const Matrix &what,
                                                 const Matrix &x,
                                                 int64_t binGroupSize) {
  if (what.empty() || x.rows == 0)
    return detail::makeError("rangeSalience: empty weight or activations");
  if (x.cols != what.cols)
    return detail::makeError("rangeSalience: X has " + llvm::Twine(x.cols) +
                             " columns, W has " + llvm::Twine(what.cols));
  if (auto err = checkFinite(x, "rangeSalience: activation"))
    return std::move(err);
  auto bin = binarizeGroups(what, binGroupSize);
  if (!bin)
    return bin.takeError();

  const int64_t dout = what.rows, din = what.cols, t = x.rows;
  Matrix yt(dout, t); // Y^T = W^ X^T
  detail::sgemm(false, true, dout, t, din, 1.0f, what.data.data(), din,
                x.data.data(), din, 0.0f, yt.data.data(), t);
  Matrix xt(din, t);
  for (int64_t s = 0; s < t; ++s)
    for (int64_t j = 0; j < din; ++j)
      xt(j, s) = x(s, j);

  // Rows are independent: spread over the cores, the same B.
  Matrix b(dout, din);
  detail::parallelRows(dout, 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float *y = yt.row(i);
      float base = rangeOf(y, xt.row(0), 0.0f, t);
      for (int64_t j = 0; j < din; ++j) {
        float delta = bin->values(i, j) - what(i, j);
        b(i, j) = delta == 0.0f ? base : rangeOf(y, xt.row(j), delta, t);
      }
    }
  });
  return b;
}

llvm::Error s10::quant::subtractOutputRange(Matrix &b, const Matrix &what,
                                            const Matrix &x) {
  if (b.rows != what.rows || b.cols != what.cols)
    return detail::makeError("subtractOutputRange: B and W shapes differ");
  if (x.cols != what.cols)
    return detail::makeError("subtractOutputRange: X has " +
                             llvm::Twine(x.cols) + " columns, W has " +
                             llvm::Twine(what.cols));
  // Accumulated in f32 in input order: the salience ranking, and so the
  // masks, are those of the published results.
  detail::parallelRows(what.rows, 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float lo = INFINITY, hi = -INFINITY;
      for (int64_t t = 0; t < x.rows; ++t) {
        float y = 0;
        for (int64_t j = 0; j < what.cols; ++j)
          y += x(t, j) * what(i, j);
        lo = std::min(lo, y);
        hi = std::max(hi, y);
      }
      float range = x.rows > 0 ? hi - lo : 0.0f;
      for (int64_t j = 0; j < what.cols; ++j)
        b(i, j) = std::abs(b(i, j) - range);
    }
  });
  return llvm::Error::success();
}

llvm::Expected<Matrix> s10::quant::combineSalience(const Matrix &v,
                                                   const Matrix *b,
                                                   const PbarOptions &options) {
  if (b && (b->rows != v.rows || b->cols != v.cols))
    return detail::makeError("combineSalience: V and B shapes differ");
  if (!std::isfinite(options.lambda))
    return detail::makeError("combineSalience: lambda must be finite");
  if (auto err = checkFinite(v, "combineSalience: V"))
    return std::move(err);
  if (b)
    if (auto err = checkFinite(*b, "combineSalience: B"))
      return std::move(err);
  auto scaleOf = [&](const Matrix &m) {
    if (!options.scaleFree || m.data.empty())
      return 1.0;
    double sum = 0.0;
    for (float x : m.data)
      sum += x;
    double mean = sum / double(m.data.size());
    return mean != 0.0 ? 1.0 / mean : 0.0;
  };
  double sv = scaleOf(v);
  double sb = b ? options.lambda * scaleOf(*b) : 0.0;
  Matrix m(v.rows, v.cols);
  for (size_t k = 0; k < m.data.size(); ++k) {
    double val = sv * v.data[k];
    if (b)
      val += sb * b->data[k];
    m.data[k] = static_cast<float>(val);
  }
  return m;
}
