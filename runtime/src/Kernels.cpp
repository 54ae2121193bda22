//===- Kernels.cpp - The runtime's own CPU kernels ------------------------===//

#include "Kernels.h"

#include "s10/Quant/Layout.h"

#include <algorithm>
#include <limits>

using namespace s10rt;
using namespace s10rt::kernels;

namespace {

/// Folds the lanes pairwise, then adds the tail [k, n) in order.
inline float finishDot(float *acc, const float *a, const float *b, int64_t k,
                       int64_t n) {
  for (int64_t w = kLanes / 2; w >= 1; w /= 2)
    for (int64_t l = 0; l < w; ++l)
      acc[l] += acc[l + w];
  float s = acc[0];
  for (; k < n; ++k)
    s += a[k] * b[k];
  return s;
}

} // namespace

S10RT_MULTIVERSION float kernels::dot(const float *a, const float *b,
                                      int64_t n) {
  float acc[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int64_t l = 0; l < kLanes; ++l)
      acc[l] += a[k + l] * b[k + l];
  return finishDot(acc, a, b, k, n);
}

S10RT_MULTIVERSION void kernels::transpose(const float *src, int64_t lds,
                                           int64_t rows, int64_t cols,
                                           float *dst, int64_t ldd) {
  // Blocks of 16 x 16: the lines read and written stay in L1.
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      int64_t r1 = std::min(rows, r0 + kBlock),
              c1 = std::min(cols, c0 + kBlock);
      if (r1 - r0 == kBlock && c1 - c0 == kBlock) {
        for (int64_t c = 0; c < kBlock; ++c)
          for (int64_t r = 0; r < kBlock; ++r)
            dst[(c0 + c) * ldd + r0 + r] = src[(r0 + r) * lds + c0 + c];
        continue;
      }
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r)
          dst[c * ldd + r] = src[r * lds + c];
    }
}

S10RT_MULTIVERSION void kernels::halfToFloat(const uint16_t *h, float *out,
                                             int64_t n) {
  // Branch-free so it vectorizes: normal values move their bits, zero and
  // subnormals are em 2^-24 (exact); Inf and NaN redo the row exactly.
  uint32_t special = 0;
  for (int64_t k = 0; k < n; ++k) {
    uint32_t v = h[k], em = v & 0x7fffu;
    special |= uint32_t(em >= 0x7c00u);
    float sub = float(int(em)) * 0x1p-24f;
    uint32_t subBits;
    std::memcpy(&subBits, &sub, 4);
    uint32_t isSub = 0u - uint32_t(em < 0x0400u);
    uint32_t bits = ((v & 0x8000u) << 16) | (subBits & isSub) |
                    (((em << 13) + 0x38000000u) & ~isSub);
    std::memcpy(out + k, &bits, 4);
  }
  if (special)
    for (int64_t k = 0; k < n; ++k)
      out[k] = s10::quant::layout::halfToFloat(h[k]);
}

void kernels::gemvF32(const float *w, int64_t in, const float *x, float *y,
                      int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r)
    y[r] = dot(w + r * in, x, in);
}

void kernels::gemvF16(const uint16_t *w, int64_t in, const float *x, float *y,
                      int64_t r0, int64_t r1, float *tmp) {
  for (int64_t r = r0; r < r1; ++r) {
    halfToFloat(w + r * in, tmp, in);
    y[r] = dot(tmp, x, in);
  }
}

void kernels::rmsNormRow(const float *x, const float *w, int64_t n, float eps,
                         float *y) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i)
    ss += double(x[i]) * double(x[i]);
  // As the interpreter rounds it: f32 mean, f32 rsqrt, x * r * w.
  float mean = float(ss / double(n));
  float inv = float(1.0 / std::sqrt(double(mean + eps)));
  for (int64_t i = 0; i < n; ++i)
    y[i] = w[i] * (x[i] * inv);
}

void kernels::rotaryRow(const float *x, int64_t heads, int64_t headDim,
                        const float *c, const float *s, float *y) {
  int64_t half = headDim / 2;
  for (int64_t h = 0; h < heads; ++h) {
    const float *xh = x + h * headDim;
    float *yh = y + h * headDim;
    for (int64_t i = 0; i < half; ++i) {
      float x1 = xh[i], x2 = xh[i + half];
      yh[i] = x1 * c[i] - x2 * s[i];
      yh[i + half] = x2 * c[i] + x1 * s[i];
    }
  }
}

namespace {

S10RT_MULTIVERSION float rowMax(const float *x, int64_t n) {
  float lanes[kLanes];
  for (int64_t j = 0; j < kLanes; ++j)
    lanes[j] = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j)
      lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < kLanes; ++j)
    m = lanes[j] > m ? lanes[j] : m;
  for (; i < n; ++i)
    m = x[i] > m ? x[i] : m;
  return m;
}

/// x[i] = exp(x[i] - m); the sum in f32 lanes combined in double, as the
/// interpreter's softmax.
S10RT_MULTIVERSION double expShiftSum(float *x, int64_t n, float m) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      float e = fastExp(x[i + j] - m);
      x[i + j] = e;
      lanes[j] += e;
    }
  double sum = 0;
  for (int64_t j = 0; j < kLanes; ++j)
    sum += lanes[j];
  for (; i < n; ++i) {
    x[i] = fastExp(x[i] - m);
    sum += x[i];
  }
  return sum;
}

S10RT_MULTIVERSION void scaleInPlace(float *x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i)
    x[i] *= s;
}

} // namespace

bool kernels::softmax(float *x, int64_t n, float scale) {
  scaleInPlace(x, n, scale);
  float m = rowMax(x, n);
  if (std::isinf(m) && m < 0)
    return false;
  double sum = expShiftSum(x, n, m);
  scaleInPlace(x, n, float(1.0 / sum));
  return true;
}

S10RT_MULTIVERSION void kernels::swiglu(const float *g, const float *u,
                                        float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i];
    out[i] = gi / (1.0f + fastExp(-gi)) * u[i];
  }
}

S10RT_MULTIVERSION void kernels::add(const float *a, const float *b, float *out,
                                     int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = a[i] + b[i];
}
