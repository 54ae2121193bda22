//===- Gemm.cpp - A register-blocked SIMD matrix product ------------------===//
//
// A micro-kernel computes an MR x (NV vectors) block of Y over a range of k
// in registers: per k it loads NV vectors of a row of P and broadcasts MR
// elements of X, MR * NV multiply-adds. The last vector of a block may be
// partial: masked loads and stores never touch the columns past `cols`.
// The driver walks k in blocks small enough that the block of P stays in
// L1 while every block of rows passes over it; a later k block continues
// the same chains from Y.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#include "Kernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define S10RT_GEMM_X86 1
#endif

using namespace s10rt;

namespace {

using gemm::Kernel;
using gemm::KernelSet;

template <template <int, int, bool> class K, int MR, int NV> struct Table {
  Kernel fn[MR * NV * 2];
  Table() { fill<1>(); }
  template <int R> void fill() {
    fillV<R, 1>();
    if constexpr (R < MR)
      fill<R + 1>();
  }
  template <int R, int V> void fillV() {
    fn[((R - 1) * NV + (V - 1)) * 2] = &K<R, V, false>::run;
    fn[((R - 1) * NV + (V - 1)) * 2 + 1] = &K<R, V, true>::run;
    if constexpr (V < NV)
      fillV<R, V + 1>();
  }
};

/// Plain loops: rows of kCols columns, vectorized by the compiler where it
/// can (never across k, which would change the sums).
constexpr int kCols = 8;

template <int MR, int NV, bool Masked> struct Generic {
  static void run(const float *x, int64_t ldx, const float *p, int64_t ldp,
                  float *y, int64_t ldy, int64_t depth, int64_t accumulate,
                  int64_t tail) {
    static_assert(NV == 1, "one vector of kCols columns");
    const int n = Masked ? int(tail) : kCols;
    float acc[MR][kCols];
    for (int i = 0; i < MR; ++i)
      for (int c = 0; c < kCols; ++c)
        acc[i][c] = accumulate && c < n ? y[i * ldy + c] : 0.0f;
    for (int64_t k = 0; k < depth; ++k) {
      const float *pk = p + k * ldp;
      float b[kCols];
      if (Masked)
        for (int c = 0; c < kCols; ++c)
          b[c] = c < n ? pk[c] : 0.0f;
      else
        std::memcpy(b, pk, sizeof(b));
      for (int i = 0; i < MR; ++i) {
        float a = x[i * ldx + k];
        for (int c = 0; c < kCols; ++c)
          acc[i][c] += a * b[c];
      }
    }
    for (int i = 0; i < MR; ++i)
      for (int c = 0; c < n; ++c)
        y[i * ldy + c] = acc[i][c];
  }
};

#ifdef S10RT_GEMM_X86

/// Without this GCC folds each load of P into every multiply-add that uses
/// it: MR loads per vector instead of one, and the kernel waits on loads.
#define S10RT_KEEP_IN_REGISTERS(b)                                             \
  _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) __asm__("" : "+v"(b[v]))

template <int MR, int NV, bool Masked> struct Avx2 {
  __attribute__((target("avx2,fma"))) static void
  run(const float *x, int64_t ldx, const float *p, int64_t ldp, float *y,
      int64_t ldy, int64_t depth, int64_t accumulate, int64_t tail) {
    const __m256i m =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(int(tail)),
                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float *yv = y + i * ldy + 8 * v;
        if (!accumulate)
          acc[i][v] = _mm256_setzero_ps();
        else if (Masked && v == NV - 1)
          acc[i][v] = _mm256_maskload_ps(yv, m);
        else
          acc[i][v] = _mm256_loadu_ps(yv);
      }
    for (int64_t k = 0; k < depth; ++k) {
      const float *pk = p + k * ldp;
      __m256 b[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        b[v] = Masked && v == NV - 1 ? _mm256_maskload_ps(pk + 8 * v, m)
                                     : _mm256_loadu_ps(pk + 8 * v);
      S10RT_KEEP_IN_REGISTERS(b);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        __m256 a = _mm256_broadcast_ss(x + i * ldx + k);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          acc[i][v] = _mm256_fmadd_ps(a, b[v], acc[i][v]);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float *yv = y + i * ldy + 8 * v;
        if (Masked && v == NV - 1)
          _mm256_maskstore_ps(yv, m, acc[i][v]);
        else
          _mm256_storeu_ps(yv, acc[i][v]);
      }
  }
};

template <int MR, int NV, bool Masked> struct Avx512 {
  __attribute__((target("avx512f,fma"))) static void
  run(const float *x, int64_t ldx, const float *p, int64_t ldp, float *y,
      int64_t ldy, int64_t depth, int64_t accumulate, int64_t tail) {
    const __mmask16 m = __mmask16((1u << tail) - 1);
    __m512 acc[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float *yv = y + i * ldy + 16 * v;
        if (!accumulate)
          acc[i][v] = _mm512_setzero_ps();
        else if (Masked && v == NV - 1)
          acc[i][v] = _mm512_maskz_loadu_ps(m, yv);
        else
          acc[i][v] = _mm512_loadu_ps(yv);
      }
    for (int64_t k = 0; k < depth; ++k) {
      const float *pk = p + k * ldp;
      __m512 b[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        b[v] = Masked && v == NV - 1 ? _mm512_maskz_loadu_ps(m, pk + 16 * v)
                                     : _mm512_loadu_ps(pk + 16 * v);
      S10RT_KEEP_IN_REGISTERS(b);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        __m512 a = _mm512_set1_ps(x[i * ldx + k]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float *yv = y + i * ldy + 16 * v;
        if (Masked && v == NV - 1)
          _mm512_mask_storeu_ps(yv, m, acc[i][v]);
        else
          _mm512_storeu_ps(yv, acc[i][v]);
      }
  }
};

// GCC 12 warns inside its own intrinsics (their _mm512_undefined_ps
// operands) once these are inlined.
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/// 16 rows of 16 floats, transposed in registers.
__attribute__((target("avx512f"))) inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4g + j] holds element j of each 128-bit lane of rows 4g..4g+3.
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // Then the lanes: column j + 4l is lane l of u[j], u[4 + j], u[8 + j],
  // u[12 + j].
  for (int j = 0; j < 4; ++j) {
    __m512 vLo = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
    __m512 vHi = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
    __m512 wLo = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
    __m512 wHi = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
    r[j] = _mm512_shuffle_f32x4(vLo, wLo, 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(vLo, wLo, 0xDD);
    r[j + 4] = _mm512_shuffle_f32x4(vHi, wHi, 0x88);
    r[j + 12] = _mm512_shuffle_f32x4(vHi, wHi, 0xDD);
  }
}

/// Whole blocks of 16 rows x 16 columns; returns the columns done.
template <bool Half>
__attribute__((target("avx512f"))) int64_t
packBlocks512(const void *w, int64_t ldw, int64_t rows, int64_t depth,
              float *panel, int64_t ldp) {
  const int64_t full = depth / 16 * 16;
  for (int64_t r0 = 0; r0 + 16 <= rows; r0 += 16)
    for (int64_t k0 = 0; k0 < full; k0 += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) {
        if (Half)
          r[i] = _mm512_cvtph_ps(
              _mm256_loadu_si256(reinterpret_cast<const __m256i *>(
                  static_cast<const uint16_t *>(w) + (r0 + i) * ldw + k0)));
        else
          r[i] = _mm512_loadu_ps(static_cast<const float *>(w) +
                                 (r0 + i) * ldw + k0);
      }
      transpose16(r);
      for (int i = 0; i < 16; ++i)
        _mm512_storeu_ps(panel + (k0 + i) * ldp + r0, r[i]);
    }
  return full;
}

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif // S10RT_GEMM_X86

KernelSet pickKernels() {
  static const Table<Generic, 4, 1> generic;
  KernelSet set{"generic", 4, kCols, 1, 256, generic.fn};
#ifdef S10RT_GEMM_X86
  // 24 accumulators and 4 + 1 operands fill the 32 (AVX-512) and 16 (AVX2)
  // vector registers; a 128 x 64 block of P (32 KiB) stays in L1.
  static const Table<Avx512, 6, 4> avx512;
  static const Table<Avx2, 6, 2> avx2;
  const char *want = std::getenv("S10RT_GEMM");
  bool any = !want || !*want;
  __builtin_cpu_init();
  if ((any || !std::strcmp(want, "avx512")) &&
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
    return {"avx512", 6, 16, 4, 128, avx512.fn};
  if ((any || !std::strcmp(want, "avx512") || !std::strcmp(want, "avx2")) &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"avx2", 6, 8, 2, 256, avx2.fn};
#endif
  return set;
}

const KernelSet &kernelSet() {
  static const KernelSet set = pickKernels();
  return set;
}

} // namespace

const char *gemm::isa() { return kernelSet().name; }

void gemm::packColumns(const float *w, int64_t ldw, int64_t rows, int64_t depth,
                       float *panel, int64_t ldp) {
  int64_t done = 0, fullRows = 0;
#ifdef S10RT_GEMM_X86
  if (kernelSet().vec == 16) {
    done = packBlocks512<false>(w, ldw, rows, depth, panel, ldp);
    fullRows = rows / 16 * 16;
  }
#endif
  // What the blocks left: the columns past them, the rows past them.
  kernels::transpose(w + done, ldw, rows, depth - done, panel + done * ldp,
                     ldp);
  kernels::transpose(w + fullRows * ldw, ldw, rows - fullRows, done,
                     panel + fullRows, ldp);
}

void gemm::packColumnsHalf(const uint16_t *w, int64_t ldw, int64_t rows,
                           int64_t depth, float *panel, int64_t ldp) {
  int64_t done = 0, fullRows = 0;
#ifdef S10RT_GEMM_X86
  if (kernelSet().vec == 16) {
    done = packBlocks512<true>(w, ldw, rows, depth, panel, ldp);
    fullRows = rows / 16 * 16;
  }
#endif
  float buf[64];
  auto pack = [&](int64_t r0, int64_t r1, int64_t k0, int64_t k1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t k = k0; k < k1; k += 64) {
        int64_t n = std::min<int64_t>(64, k1 - k);
        kernels::halfToFloat(w + r * ldw + k, buf, n);
        for (int64_t i = 0; i < n; ++i)
          panel[(k + i) * ldp + r] = buf[i];
      }
  };
  pack(0, rows, done, depth);
  pack(fullRows, rows, 0, done);
}

void gemm::multiply(const float *x, int64_t ldx, const float *p, int64_t ldp,
                    float *y, int64_t ldy, int64_t rows, int64_t cols,
                    int64_t depth, bool accumulate, const KernelSet *set) {
  if (rows <= 0 || cols <= 0)
    return;
  const KernelSet &ks = set ? *set : kernelSet();
  const int64_t nr = int64_t(ks.vec) * ks.nv;
  int64_t k0 = 0;
  do {
    int64_t kd = std::min(ks.kc, depth - k0);
    bool acc = accumulate || k0 > 0;
    for (int64_t c0 = 0; c0 < cols; c0 += nr) {
      int64_t cw = std::min(nr, cols - c0);
      int nv = int((cw + ks.vec - 1) / ks.vec);
      int tail = int(cw - int64_t(nv - 1) * ks.vec);
      int masked = tail != ks.vec;
      for (int64_t r0 = 0; r0 < rows; r0 += ks.mr) {
        int mr = int(std::min<int64_t>(ks.mr, rows - r0));
        ks.table[((mr - 1) * ks.nv + (nv - 1)) * 2 + masked](
            x + r0 * ldx + k0, ldx, p + k0 * ldp + c0, ldp, y + r0 * ldy + c0,
            ldy, kd, acc, tail);
      }
    }
    k0 += kd;
  } while (k0 < depth);
}
