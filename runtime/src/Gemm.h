//===- Gemm.h - A register-blocked SIMD matrix product ----------*- C++ -*-===//
//
// The product behind prefill: Linear steps over chunks of tokens (weight rows
// decoded into panels) and attention over the KV cache. One routine with
// strides covers every use. The micro-kernels are an artifact's generated
// ones (KernelAbi::GemmBlock) where it has them; otherwise built-in ones for
// AVX-512 and AVX2 picked at run time by the CPU, with plain loops
// elsewhere, so one build runs on any x86-64 and is fast where the vector
// units are.
//
// Every output element is one chain of multiply-adds over k in increasing
// order, whatever the blocking: results do not depend on how rows or
// columns are split between threads.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_GEMM_H
#define S10RT_SRC_GEMM_H

#include <cstdint>

namespace s10rt::gemm {

/// One register block (format::KernelAbi::GemmBlock): x, ldx, p, ldp, y,
/// ldy, depth, accumulate, and the columns of the last vector (1 to vec).
using Kernel = void (*)(const float *, int64_t, const float *, int64_t, float *,
                        int64_t, int64_t, int64_t, int64_t);

/// A set of micro-kernels: table[((mr - 1) * nv + (v - 1)) * 2 + masked]
/// for blocks of mr <= MR rows and v <= NV vectors of `vec` floats, run
/// over k in blocks of `kc`. The built-in sets or an artifact's generated
/// one.
struct KernelSet {
  const char *name;
  int mr, vec, nv;
  int64_t kc;
  const Kernel *table;
};

/// Y[r, c] = sum_{k < depth} X[r, k] P[k, c] (plus Y[r, c] first when
/// `accumulate`) for r < rows, c < cols. Row r of X starts at x + r * ldx,
/// row k of P at p + k * ldp, row r of Y at y + r * ldy. Reads and writes
/// exactly those elements and no others. `set` (null: the built-in one)
/// supplies the micro-kernels.
void multiply(const float *x, int64_t ldx, const float *p, int64_t ldp,
              float *y, int64_t ldy, int64_t rows, int64_t cols, int64_t depth,
              bool accumulate, const KernelSet *set = nullptr);

/// panel[k * ldp + r] = w[r * ldw + k] for r < rows, k < depth: rows of a
/// weight become the columns of a panel for multiply().
void packColumns(const float *w, int64_t ldw, int64_t rows, int64_t depth,
                 float *panel, int64_t ldp);
/// The same from IEEE binary16 weights, converted exactly.
void packColumnsHalf(const uint16_t *w, int64_t ldw, int64_t rows,
                     int64_t depth, float *panel, int64_t ldp);

/// The micro-kernels in use: "avx512", "avx2" or "generic". The environment
/// variable S10RT_GEMM set to one of these picks a lesser set (for tests).
const char *isa();

} // namespace s10rt::gemm

#endif // S10RT_SRC_GEMM_H
