//===- Kernels.h - Model-level CPU kernels ----------------------*- C++ -*-===//
//
// The f32 kernels behind the squeeze ops, exposed for tests and for other
// components (calibration, compiled-artifact cross-checks). All tensors are
// dense row-major; `pool` may be null (serial).
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_KERNELS_H
#define S10_RUNTIME_KERNELS_H

#include "s10/Runtime/BlasCoreType.h"
#include "s10/Runtime/Tensor.h"
#include "s10/Runtime/ThreadPool.h"

#include "llvm/Support/Error.h"

#include <vector>

namespace s10::squeeze {
class QuantizedWeightOp;
} // namespace s10::squeeze

namespace s10::runtime {

/// Loads OpenBLAS (once per process) and makes it single-threaded: the
/// runtime's own pool parallelizes around BLAS calls. Fails naming what is
/// missing.
llvm::Error initBlasThreading();
/// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", ...).
const char *getBlasCoreName();

/// C[M,N] = alpha op(A) op(B) + beta C, row-major, split over `pool`.
void gemm(ThreadPool *pool, bool transA, bool transB, int64_t m, int64_t n,
          int64_t k, float alpha, const float *a, int64_t lda, const float *b,
          int64_t ldb, float beta, float *c, int64_t ldc);

/// y[rows, out] = x[rows, in] W^T (+ bias). `w` is [in, out] when `wInOut`
/// (ONNX MatMul layout), else [out, in].
void linear(ThreadPool *pool, const float *x, int64_t rows, int64_t in,
            const float *w, bool wInOut, int64_t out, const float *bias,
            float *y);

/// y = x / sqrt(mean(x^2) + eps) * w over rows of length n.
void rmsNorm(ThreadPool *pool, const float *x, int64_t rows, int64_t n,
             const float *w, double eps, float *y);

/// cos/sin of position p and frequency i, rows of headDim / 2, computed like
/// the exporter's graph: f32 inverse frequencies, f32 angle p * f.
class RotaryTable {
public:
  /// Inverse frequencies theta^(-2i / headDim), rounded to f32.
  RotaryTable(int64_t headDim, double theta);
  /// Explicit inverse frequencies (headDim / 2 of them), e.g. the buffer of
  /// a model whose weights were rounded to f16.
  RotaryTable(llvm::ArrayRef<float> invFreq);
  /// Makes positions [0, n) available.
  void ensure(int64_t n);
  const float *cosRow(int64_t pos) const { return cosT.data() + pos * half; }
  const float *sinRow(int64_t pos) const { return sinT.data() + pos * half; }
  int64_t getHeadDim() const { return 2 * half; }

private:
  int64_t half;
  std::vector<float> invFreq, cosT, sinT;
  int64_t size = 0;
};

/// Rotate-half rotary embedding of x [batch, seq, heads * headDim] at
/// positions posOffset + t. `table` must cover posOffset + seq.
void rotary(ThreadPool *pool, const float *x, int64_t batch, int64_t seq,
            int64_t heads, const RotaryTable &table, int64_t posOffset,
            float *y);

struct AttentionShape {
  int64_t batch = 1, seq = 1, kvSeq = 1;
  int64_t heads = 1, kvHeads = 1, headDim = 1;
  float scale = 1.0f;
  bool causal = true;
  /// Positions before the first query (the cached length): with `causal`,
  /// query t attends to keys j <= past + t.
  int64_t past = 0;
};

/// out[b, t, h*D..] = softmax(scale q k^T (+ causal mask)) v with grouped
/// KV heads. q: [batch, seq, heads * D]; k[b], v[b]: [kvSeq, kvHeads * D];
/// out: [batch, seq, heads * D].
void attention(ThreadPool *pool, const AttentionShape &shape, const float *q,
               const float *const *k, const float *const *v, float *out);

/// out = gate * sigmoid(gate) * up.
void swiglu(ThreadPool *pool, const float *gate, const float *up, int64_t n,
            float *out);

/// The f32 weight [out, in] a squeeze.quantized_weight op stands for:
/// scales[i, g] * codes[i, j] + offsets[i, g] (salient_* where the mask is
/// set), g = j / group_size, codes read as unsigned.
llvm::Expected<Tensor> dequantizeWeight(squeeze::QuantizedWeightOp op);

/// Numerically stable log(sum(exp(x))) of a row, accumulated in double.
double logSumExp(const float *x, int64_t n);

} // namespace s10::runtime

#endif // S10_RUNTIME_KERNELS_H
