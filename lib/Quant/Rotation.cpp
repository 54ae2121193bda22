//===- Rotation.cpp - Random orthogonal rotations for incoherence ---------===//

#include "s10/Quant/Rotation.h"
#include "s10/Quant/SplitMix.h"

#include <cassert>
#include <cmath>

using namespace s10::quant;

namespace {
struct Rng : SplitMix64 {
  using SplitMix64::SplitMix64;
  /// Uniform in (0, 1).
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }
  double gaussian() {
    double u = uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  }
};
} // namespace

Rotation::Rotation(int64_t n, uint64_t seed) : n(n), p(1), m(n) {
  assert(n >= 1 && "rotation of an empty vector");
  while (m % 2 == 0) {
    m /= 2;
    p *= 2;
  }
  Rng rng(seed ^ (uint64_t(n) * 0xD1B54A32D192ED03ull));
  signs.resize(size_t(n));
  for (double &s : signs)
    s = (rng.next() >> 63) ? -1.0 : 1.0;
  // R_m: rows of a Gaussian matrix made orthonormal (modified Gram-Schmidt,
  // twice for accuracy); Gaussian rows make the result Haar distributed.
  r.assign(size_t(m * m), 0.0);
  for (double &v : r)
    v = rng.gaussian();
  for (int64_t i = 0; i < m; ++i) {
    double *ri = r.data() + i * m;
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t k = 0; k < i; ++k) {
        const double *rk = r.data() + k * m;
        double dot = 0;
        for (int64_t j = 0; j < m; ++j)
          dot += ri[j] * rk[j];
        for (int64_t j = 0; j < m; ++j)
          ri[j] -= dot * rk[j];
      }
    double norm = 0;
    for (int64_t j = 0; j < m; ++j)
      norm += ri[j] * ri[j];
    norm = std::sqrt(norm);
    for (int64_t j = 0; j < m; ++j)
      ri[j] /= norm;
  }
}

// x viewed as p x m (index a * m + b): each row times R (or R^T).
void Rotation::mixOdd(double *x, bool transposed) const {
  if (m == 1)
    return;
  std::vector<double> tmp(static_cast<size_t>(m));
  for (int64_t a = 0; a < p; ++a) {
    double *row = x + a * m;
    for (int64_t c = 0; c < m; ++c) {
      double s = 0;
      for (int64_t b = 0; b < m; ++b)
        s +=
            row[b] * (transposed ? r[size_t(c * m + b)] : r[size_t(b * m + c)]);
      tmp[size_t(c)] = s;
    }
    std::copy(tmp.begin(), tmp.end(), row);
  }
}

// x viewed as p x m: H_p times it, over the first index, scaled by 1/sqrt(p).
void Rotation::hadamard(double *x) const {
  for (int64_t h = 1; h < p; h *= 2)
    for (int64_t a = 0; a < p; a += 2 * h)
      for (int64_t k = a; k < a + h; ++k) {
        double *u = x + k * m, *v = x + (k + h) * m;
        for (int64_t b = 0; b < m; ++b) {
          double s = u[b], t = v[b];
          u[b] = s + t;
          v[b] = s - t;
        }
      }
  double inv = 1.0 / std::sqrt(double(p));
  for (int64_t i = 0; i < n; ++i)
    x[i] *= inv;
}

// x Q = ((x D) (H (x) R)) / sqrt(p); H is symmetric, so on the p x m view
// this is H X R.
void Rotation::apply(double *x) const {
  for (int64_t i = 0; i < n; ++i)
    x[i] *= signs[size_t(i)];
  mixOdd(x, /*transposed=*/false);
  hadamard(x);
}

void Rotation::applyTransposed(double *x) const {
  mixOdd(x, /*transposed=*/true);
  hadamard(x);
  for (int64_t i = 0; i < n; ++i)
    x[i] *= signs[size_t(i)];
}

MatrixD Rotation::dense() const {
  MatrixD q(n, n);
  std::vector<double> e(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::fill(e.begin(), e.end(), 0.0);
    e[size_t(i)] = 1.0;
    apply(e.data());
    std::copy(e.begin(), e.end(), q.row(i));
  }
  return q;
}

void s10::quant::rotateRows(MatrixD &a, const Rotation &rot,
                            const std::vector<double> *scale) {
  int64_t seg = rot.size();
  assert(a.cols % seg == 0 && "rows are not whole segments");
  assert((!scale || int64_t(scale->size()) == a.cols) && "scale size");
  for (int64_t i = 0; i < a.rows; ++i) {
    double *row = a.row(i);
    if (scale)
      for (int64_t j = 0; j < a.cols; ++j)
        row[j] *= (*scale)[size_t(j)];
    for (int64_t s = 0; s < a.cols; s += seg)
      rot.apply(row + s);
  }
}
