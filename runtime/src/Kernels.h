//===- Kernels.h - The runtime's own CPU kernels ----------------*- C++ -*-===//
//
// Row kernels of the plan's ops, written to give the same f32 results as
// the in-compiler interpreter (lib/Runtime/Kernels.cpp): the same RMSNorm
// rounding, the same rotary angles, the same softmax and exp. Dot products
// use 16 independent lanes so the compiler vectorizes them without
// reassociation flags. Products over chunks of tokens are in Gemm.h.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_KERNELS_H
#define S10RT_SRC_KERNELS_H

#include "s10rt/FastMath.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#define S10RT_MULTIVERSION S10_MULTIVERSION

namespace s10rt::kernels {

/// The interpreter's exp (lib/Runtime/FastMath.h shares it).
using s10rt::fastExp;

/// Lanes of the vectorized dot products.
constexpr int64_t kLanes = 16;

/// sum a[k] b[k], k < n: kLanes partial sums, folded pairwise, then the
/// tail in order.
float dot(const float *a, const float *b, int64_t n);

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
void transpose(const float *src, int64_t lds, int64_t rows, int64_t cols,
               float *dst, int64_t ldd);

/// IEEE binary16 to f32 for n values, exact (Inf and NaN included).
void halfToFloat(const uint16_t *h, float *out, int64_t n);

/// y[r] = dot(W[r], x) for rows [r0, r1) of a dense [?, in] matrix; `tmp`
/// holds `in` floats (F16 rows are converted into it).
void gemvF32(const float *w, int64_t in, const float *x, float *y, int64_t r0,
             int64_t r1);
void gemvF16(const uint16_t *w, int64_t in, const float *x, float *y,
             int64_t r0, int64_t r1, float *tmp);

/// One row of RMSNorm as the interpreter rounds it.
void rmsNormRow(const float *x, const float *w, int64_t n, float eps, float *y);

/// cos and sin of position p at inverse frequency inv, as the interpreter
/// computes them: the angle in f32, cos and sin in double.
inline void rotaryAngle(float inv, int64_t p, float &c, float &s) {
  float angle = float(p) * inv;
  c = float(std::cos(double(angle)));
  s = float(std::sin(double(angle)));
}

/// Rotate-half RoPE of one token's `heads` heads of `headDim`, with the
/// position's cos and sin [headDim / 2]. x may equal y.
void rotaryRow(const float *x, int64_t heads, int64_t headDim, const float *c,
               const float *s, float *y);

/// x[j] = softmax(scale x)[j] for j < n, as the interpreter computes it
/// (exp of the shifted scores, their sum in double). False, leaving x
/// undefined, when every scaled score is -inf (the interpreter then gives
/// NaN).
bool softmax(float *x, int64_t n, float scale);

void swiglu(const float *g, const float *u, float *out, int64_t n);
void add(const float *a, const float *b, float *out, int64_t n);

} // namespace s10rt::kernels

#endif // S10RT_SRC_KERNELS_H
