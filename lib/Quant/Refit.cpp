//===- Refit.cpp - Group parameters refit for the layer output error -----===//

#include "s10/Quant/Refit.h"

#include "Detail.h"

#include <algorithm>
#include <cmath>

using namespace s10::quant;

float AffineCode::decode(int64_t r, int64_t j) const {
  size_t e = size_t(r * cols + j);
  unsigned s = slot.empty() ? 0 : slot[e];
  size_t p = size_t((r * groups() + j / groupSize) * slots + s);
  return scale[p] * float(codes[e]) + offset[p];
}

namespace {
/// Rows per pass: H times the basis of this many rows is one product.
constexpr int64_t kChunk = 32;
} // namespace

llvm::Expected<RefitStats> s10::quant::refitForOutput(const Matrix &w,
                                                      const MatrixD &h,
                                                      AffineCode &code) {
  const int64_t rows = code.rows, cols = code.cols, G = code.groupSize;
  const unsigned S = code.slots;
  if (w.rows != rows || w.cols != cols || h.rows != cols || h.cols != cols ||
      G <= 0 || S < 1 || S > 2 || code.codes.size() != size_t(rows * cols) ||
      (!code.slot.empty() && code.slot.size() != code.codes.size()))
    return detail::makeError("refitForOutput: shapes do not match");
  const int64_t groups = code.groups();
  // Parameters of a row: (group, slot, scale | offset).
  const int64_t P = groups * S * 2;
  size_t nParams = size_t(rows * groups * S);
  if (code.scale.size() != nParams || code.offset.size() != nParams)
    return detail::makeError("refitForOutput: parameter count does not match");
  for (uint8_t s : code.slot)
    if (s >= S)
      return detail::makeError("refitForOutput: slot out of range");

  RefitStats stats;
  // basis(j, c) for chunk row c and parameter column q = (s, k): the
  // derivative of w^_j by that parameter of j's group.
  const int64_t Q = 2 * S;
  std::vector<double> basis, hw;
  const size_t np = static_cast<size_t>(P);
  std::vector<double> a(np * np), b(np), theta(np), old(np);
  for (int64_t r0 = 0; r0 < rows; r0 += kChunk) {
    const int64_t n = std::min(kChunk, rows - r0);
    // basis [cols x (n * Q)], column c * Q + q.
    basis.assign(size_t(cols * n * Q), 0.0);
    for (int64_t c = 0; c < n; ++c)
      for (int64_t j = 0; j < cols; ++j) {
        size_t e = size_t((r0 + c) * cols + j);
        unsigned s = code.slot.empty() ? 0 : code.slot[e];
        double *row = &basis[size_t(j * n * Q + c * Q + 2 * s)];
        row[0] = double(code.codes[e]);
        row[1] = 1.0;
      }
    // Per group g2, H[:, g2] (cols x G) times the basis rows of g2 (G x nQ)
    // gives the columns of H D for g2's parameters (D is zero elsewhere).
    std::vector<double> hbg(size_t(cols * n * Q));
    // a_c[(g, q), (g', q')] = sum_{i in g} basis(i, c, q) hbg'(i, c, q').
    std::vector<double> A(size_t(n * P * P), 0.0), B(size_t(n * P), 0.0);
    // H w for the chunk's rows: [cols x n].
    hw.assign(size_t(cols * n), 0.0);
    {
      std::vector<double> wt(size_t(cols * n));
      for (int64_t c = 0; c < n; ++c)
        for (int64_t j = 0; j < cols; ++j)
          wt[size_t(j * n + c)] = double(w(r0 + c, j));
      detail::dgemm(false, false, cols, n, cols, 1.0, h.data.data(), cols,
                    wt.data(), n, 0.0, hw.data(), n);
    }
    for (int64_t g2 = 0; g2 < groups; ++g2) {
      int64_t k0 = g2 * G, k1 = std::min(cols, k0 + G);
      detail::dgemm(false, false, cols, n * Q, k1 - k0, 1.0, &h(0, k0), cols,
                    &basis[size_t(k0 * n * Q)], n * Q, 0.0, hbg.data(), n * Q);
      for (int64_t c = 0; c < n; ++c)
        for (int64_t g = 0; g < groups; ++g) {
          int64_t i0 = g * G, i1 = std::min(cols, i0 + G);
          for (int64_t q = 0; q < Q; ++q)
            for (int64_t q2 = 0; q2 < Q; ++q2) {
              double sum = 0;
              for (int64_t i = i0; i < i1; ++i)
                sum += basis[size_t(i * n * Q + c * Q + q)] *
                       hbg[size_t(i * n * Q + c * Q + q2)];
              A[size_t((c * P + g * Q + q) * P + g2 * Q + q2)] = sum;
            }
        }
    }
    for (int64_t c = 0; c < n; ++c)
      for (int64_t g = 0; g < groups; ++g) {
        int64_t i0 = g * G, i1 = std::min(cols, i0 + G);
        for (int64_t q = 0; q < Q; ++q) {
          double sum = 0;
          for (int64_t i = i0; i < i1; ++i)
            sum += basis[size_t(i * n * Q + c * Q + q)] * hw[size_t(i * n + c)];
          B[size_t(c * P + g * Q + q)] = sum;
        }
      }

    for (int64_t c = 0; c < n; ++c) {
      const int64_t r = r0 + c;
      std::copy(&A[size_t(c * P * P)], &A[size_t((c + 1) * P * P)], a.begin());
      std::copy(&B[size_t(c * P)], &B[size_t((c + 1) * P)], b.begin());
      for (int64_t g = 0; g < groups; ++g)
        for (unsigned s = 0; s < S; ++s) {
          size_t p = size_t((r * groups + g) * S + s);
          old[size_t(g * Q + 2 * s)] = code.scale[p];
          old[size_t(g * Q + 2 * s + 1)] = code.offset[p];
        }
      // f(theta) - w^T H w = theta^T A theta - 2 theta^T b.
      auto objective = [&](const std::vector<double> &t) {
        double f = 0;
        for (int64_t i = 0; i < P; ++i) {
          double at = 0;
          for (int64_t j = 0; j < P; ++j)
            at += a[size_t(i * P + j)] * t[size_t(j)];
          f += t[size_t(i)] * (at - 2 * b[size_t(i)]);
        }
        return f;
      };
      double fOld = objective(old);
      // Empty pairs (no entry in the slot) are pinned: unit row, old value.
      std::vector<double> m = a;
      std::vector<double> rhs = b;
      double maxDiag = 0;
      for (int64_t i = 0; i < P; ++i)
        maxDiag = std::max(maxDiag, m[size_t(i * P + i)]);
      for (int64_t i = 0; i < P; ++i)
        if (!(m[size_t(i * P + i)] > 1e-12 * maxDiag)) {
          for (int64_t j = 0; j < P; ++j)
            m[size_t(i * P + j)] = m[size_t(j * P + i)] = 0.0;
          m[size_t(i * P + i)] = 1.0;
          rhs[size_t(i)] = old[size_t(i)];
          for (int64_t j = 0; j < P; ++j)
            if (j != i)
              rhs[size_t(j)] -= a[size_t(j * P + i)] * old[size_t(i)];
        }
      // A pair whose entries all share one code makes scale and offset
      // collinear: a ridge of 1e-9 of the diagonal pulls such directions to
      // the old values and changes the others by no more than that.
      for (int64_t i = 0; i < P; ++i) {
        double d = 1e-9 * std::max(m[size_t(i * P + i)], 1e-6 * maxDiag);
        if (m[size_t(i * P + i)] == 1.0 && rhs[size_t(i)] == old[size_t(i)])
          continue;
        m[size_t(i * P + i)] += d;
        rhs[size_t(i)] += d * old[size_t(i)];
      }
      bool ok = maxDiag > 0 && detail::choleskyLowerInPlace(m.data(), P) < 0;
      if (ok) {
        // L y = rhs, L^T theta = y.
        for (int64_t i = 0; i < P; ++i) {
          double s = rhs[size_t(i)];
          for (int64_t k = 0; k < i; ++k)
            s -= m[size_t(i * P + k)] * theta[size_t(k)];
          theta[size_t(i)] = s / m[size_t(i * P + i)];
        }
        for (int64_t i = P - 1; i >= 0; --i) {
          double s = theta[size_t(i)];
          for (int64_t k = i + 1; k < P; ++k)
            s -= m[size_t(k * P + i)] * theta[size_t(k)];
          theta[size_t(i)] = s / m[size_t(i * P + i)];
        }
        for (int64_t i = 0; i < P && ok; ++i)
          ok = std::isfinite(theta[size_t(i)]) &&
               std::isfinite(float(theta[size_t(i)])) &&
               (i % 2 == 1 || theta[size_t(i)] >= 0.0);
      }
      double fNew = ok ? objective(theta) : fOld;
      double base = 0;
      for (int64_t j = 0; j < cols; ++j)
        base += double(w(r, j)) * hw[size_t(j * n + c)];
      stats.errorBefore += base + fOld;
      if (ok && fNew < fOld) {
        stats.errorAfter += base + fNew;
        ++stats.rowsChanged;
        for (int64_t g = 0; g < groups; ++g)
          for (unsigned s = 0; s < S; ++s) {
            size_t p = size_t((r * groups + g) * S + s);
            code.scale[p] = float(theta[size_t(g * Q + 2 * s)]);
            code.offset[p] = float(theta[size_t(g * Q + 2 * s + 1)]);
          }
      } else {
        stats.errorAfter += base + fOld;
      }
    }
  }
  return stats;
}
