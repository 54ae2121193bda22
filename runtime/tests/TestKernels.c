/* TestKernels.c - a code object of "generated" kernels for the tests.
 *
 * Built as a shared library whose bytes the tests embed in an artifact's
 * kernels section, to check loading from memory and every kernel ABI of
 * s10rt/Format.h. Shapes are baked in as a compiler would: rows of 32
 * f32 weights, RMSNorm of width 32 with epsilon 1e-5. */

#include <math.h>
#include <stdint.h>
#include <string.h>

#define WIDTH 32

static float dot32(const uint8_t *w, int64_t r, const float *x) {
  float acc = 0;
  for (int j = 0; j < WIDTH; ++j) {
    float wv;
    memcpy(&wv, w + 4 * (r * WIDTH + j), 4);
    acc += wv * x[j];
  }
  return acc;
}

void s10rt_test_gemv32_f32(const uint8_t *w, const float *x, float *y,
                           int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r)
    y[r] = dot32(w, r, x);
}

void s10rt_test_gemv32_f32_x2(const uint8_t *w, const float *x, float *y,
                              int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r)
    y[r] = 2.0f * dot32(w, r, x);
}

void s10rt_test_rmsnorm32_f32(const float *x, const uint8_t *w, float *y) {
  double ss = 0;
  for (int i = 0; i < WIDTH; ++i)
    ss += (double)x[i] * x[i];
  float inv = (float)(1.0 / sqrt(ss / WIDTH + 1e-5));
  for (int i = 0; i < WIDTH; ++i) {
    float wv;
    memcpy(&wv, w + 4 * i, 4);
    y[i] = wv * (x[i] * inv);
  }
}

void s10rt_test_add(const float *a, const float *b, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = a[i] + b[i];
}

void s10rt_test_swiglu(const float *a, const float *b, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
}

/* A GemmBlock table of one row and one vector of 4 floats: y[c] (+)= the
 * fused multiply-add chain over k, for c < tail (4 when unmasked). */
void s10rt_test_gemm_1x1_v4(const float *x, int64_t ldx, const float *p,
                            int64_t ldp, float *y, int64_t ldy, int64_t depth,
                            int64_t accumulate, int64_t tail) {
  (void)ldx;
  (void)ldy;
  for (int64_t c = 0; c < tail; ++c) {
    float acc = accumulate ? y[c] : 0.0f;
    for (int64_t k = 0; k < depth; ++k)
      acc = fmaf(x[k], p[k * ldp + c], acc);
    y[c] = acc;
  }
}

/* The same shape, writing zeros: shows that the table runs. */
void s10rt_test_gemm_1x1_v4_zero(const float *x, int64_t ldx, const float *p,
                                 int64_t ldp, float *y, int64_t ldy,
                                 int64_t depth, int64_t accumulate,
                                 int64_t tail) {
  (void)x, (void)ldx, (void)p, (void)ldp, (void)ldy, (void)depth;
  (void)accumulate;
  for (int64_t c = 0; c < tail; ++c)
    y[c] = 0.0f;
}
