//===- Rotation.h - Random orthogonal rotations for incoherence -*- C++ -*-===//
//
// A weight matrix quantizes better when no input channel stands out: an
// orthogonal change of basis x -> x Q, with W -> Q^T W on the other side,
// leaves the product unchanged and spreads every outlier over all channels.
// The rotation used is
//
//   Q = D (H_p (x) R_m) / sqrt(p),      n = p m, p a power of two, m odd,
//
// D a diagonal of random signs, H_p the Sylvester Hadamard matrix and R_m a
// random orthogonal matrix (Gram-Schmidt on Gaussian draws; 1 for m = 1).
// For a power-of-two n every entry of Q is +-1/sqrt(n), the most incoherent
// basis there is; applying it costs O(n (log p + m)) per vector.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_ROTATION_H
#define S10_QUANT_ROTATION_H

#include "s10/Quant/Matrix.h"

#include <cstdint>
#include <vector>

namespace s10::quant {

class Rotation {
public:
  /// The rotation of size n (n >= 1) drawn from `seed`; the same seed gives
  /// the same matrix.
  Rotation(int64_t n, uint64_t seed);

  int64_t size() const { return n; }
  /// The power-of-two and odd factors of size().
  int64_t hadamardSize() const { return p; }
  int64_t oddSize() const { return m; }

  /// x <- x Q for a row vector of size() entries.
  void apply(double *x) const;
  /// x <- x Q^T (the inverse).
  void applyTransposed(double *x) const;
  /// Q itself, row-major.
  MatrixD dense() const;

private:
  int64_t n, p, m;
  std::vector<double> signs; // D, n entries of +-1
  std::vector<double> r;     // R_m, m x m row-major
  void mixOdd(double *x, bool transposed) const;
  void hadamard(double *x) const;
};

/// Applies `rot` to every consecutive segment of rot.size() entries of each
/// row of `a` (a block-diagonal rotation; a.cols must be a multiple of
/// rot.size()). With `scale`, the row is first multiplied entrywise by it.
void rotateRows(MatrixD &a, const Rotation &rot,
                const std::vector<double> *scale = nullptr);

} // namespace s10::quant

#endif // S10_QUANT_ROTATION_H
