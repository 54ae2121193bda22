//===- GpuKernelBuilder.h - CUDA kernels for packed layouts -----*- C++ -*-===//
//
// Builds `gpu.func` kernels (upstream `gpu`, memref, scf, arith, vector) for
// the CUDA target. Arguments are static memrefs, lowered with the
// bare-pointer convention to plain device pointers; run-time sizes are i64.
// Every kernel states its block size (`known_block_size`), which the NVVM
// lowering turns into `.maxntid`; the grid is given per ABI:
//
//   Gemv     (const uint8_t *w, const float *x, float *y, int64_t tokens)
//            y[t][r] = W[r] . x[t]: one warp per row, kGemvWarps rows per
//            block; grid (ceil(out / kGemvWarps), tokens).
//   GemvAdd  (const uint8_t *w, const float *x, const float *r, float *y,
//             int64_t tokens)  y[t][i] = W[i] . x[t] + r[t][i], the residual
//            add of a decoder block in the GEMV's epilogue; grid as Gemv.
//   GemvSwiGLU (const uint8_t *wg, const uint8_t *wu, const float *x,
//               float *y, int64_t tokens)  y[t][i] = silu(Wg[i] . x[t]) *
//            (Wu[i] . x[t]): gate, up and their product in one launch, one
//            warp per row of both weights; grid as Gemv.
//   NormGemv (const uint8_t *w, const T *g, const float *x, float *y,
//             int64_t tokens)  y[t] = W RMSNorm(x[t]; g): the norm of the
//            row computed in the GEMV's own pass over x; grid as Gemv.
//   NormGemvSwiGLU (wg, wu, g, x, y, tokens): both fusions at once.
//   RMSNorm  (const float *x, const uint8_t *w, float *y, int64_t rows)
//            one warp per row; grid ceil(rows / kGemvWarps).
//   Binary   (const float *a, const float *b, float *y, int64_t n)
//            one element per thread; grid ceil(n / kBinaryBlock).
//   Embedding (const T *table, const int32_t *ids, float *y, int64_t tokens)
//            y[t] = table[ids[t]] (ids clamped into the table); grid tokens.
//   Rotary   (const float *x, const float *cs, float *y, int64_t tokens,
//             const int64_t *pos0)  rotate-half of every head of token t at
//            position *pos0 + t with cs[(p * half + i) * 2 + {0, 1}] = cos,
//            sin; one pair per thread, grid ceil(tokens * heads * half /
//            kBinaryBlock).
//   KvAppend (const float *k, const float *v, float *kv, int64_t tokens,
//             const int64_t *pos0, int64_t maxCtx)  the chunk's key and
//            value rows into the cache at *pos0; one float per thread, grid
//            ceil(tokens * width / kBinaryBlock).
//   Attention (const float *q, const float *kv, float *out, float *scratch,
//              int64_t tokens, const int64_t *pos0, int64_t maxCtx)
//            causal grouped-query attention of token t (at pos0 + t) over
//            the cache kv = K [maxCtx][kvHeads * dim] then V [same]; one
//            warp per (token, head), scores in scratch [tokens][heads]
//            [maxCtx]; grid (ceil(heads / kGemvWarps), tokens). `out` may
//            be `q`.
//
// Positions are read from device memory so that a captured decode step
// (a CUDA graph) replays at every position.
//
// Packed weights are decoded by the same PackedDecoder as the CPU kernels.
// A warp walks a row 32 columns per lane at a time (4 bytes of each bit
// plane: a warp reads 128 consecutive bytes), finds each lane's salient
// rank with a warp scan of the mask popcounts, accumulates in f32 vector
// lanes and reduces with butterfly shuffles.
//
//===----------------------------------------------------------------------===//

#ifndef S10_CODEGEN_GPUKERNELBUILDER_H
#define S10_CODEGEN_GPUKERNELBUILDER_H

#include "s10/Codegen/KernelBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace s10::quant::gpucases {
struct Case;
} // namespace s10::quant::gpucases

namespace s10::codegen {

/// Warps (rows) per block of the Gemv and RMSNorm kernels.
constexpr int64_t kGemvWarps = 4;
/// Threads per block of the Binary kernels.
constexpr int64_t kBinaryBlock = 256;

/// Checks that a CUDA Gemv can be built for `w`; on failure `reason` says
/// why (N:M weights, inputs not a multiple of 32, groups not a multiple of
/// 32 columns).
mlir::LogicalResult checkGpuGemvWeight(const GemvWeight &w,
                                       std::string &reason);

/// The builders create a `gpu.func` kernel at the insertion point of `b`,
/// which must be inside a `gpu.module`, named as the CPU kernels are
/// (gemvKernelName and the others) unless `name` is given.
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuGemvKernel(mlir::OpBuilder &b, mlir::Location loc, const GemvWeight &w,
                   llvm::StringRef name = {});
/// An RMSNorm fused into a GEMV's input: y = W (g * x / rms(x)), the
/// weight g of `weight` type after the weights in the arguments.
struct GemvNorm {
  DenseType weight = DenseType::F16;
  double eps = 1e-5;
};

std::string gemvAddKernelName(const GemvWeight &w);
std::string gemvSwiGLUKernelName(const GemvWeight &gate, const GemvWeight &up,
                                 const std::optional<GemvNorm> &norm = {});
std::string gemvNormKernelName(const GemvWeight &w, const GemvNorm &norm);
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuGemvAddKernel(mlir::OpBuilder &b, mlir::Location loc,
                      const GemvWeight &w, llvm::StringRef name = {});
/// `gate` and `up` must have the same shape; their layouts may differ.
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuGemvSwiGLUKernel(mlir::OpBuilder &b, mlir::Location loc,
                         const GemvWeight &gate, const GemvWeight &up,
                         const std::optional<GemvNorm> &norm = {},
                         llvm::StringRef name = {});
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuNormGemvKernel(mlir::OpBuilder &b, mlir::Location loc,
                       const GemvWeight &w, const GemvNorm &norm,
                       llvm::StringRef name = {});
std::string gemvQkvKernelName(const GemvWeight &q, const GemvWeight &k,
                              const GemvWeight &v, const GemvNorm &norm);
/// q, k and v of RMSNorm(x) in one launch, (wq, wk, wv, g, x, yq, yk, yv,
/// tokens): the grid's rows are q's, then k's, then v's, each warp's row
/// stored in the output of its weight. One input size; the layouts and
/// row counts may differ.
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuNormGemvQkvKernel(mlir::OpBuilder &b, mlir::Location loc,
                          const GemvWeight &q, const GemvWeight &k,
                          const GemvWeight &v, const GemvNorm &norm,
                          llvm::StringRef name = {});
/// What a GEMV-family kernel computes: one weight (with a norm of x, or a
/// residual add), gate and up with SwiGLU (and a norm), or q, k and v of
/// the norm of x.
struct GemvFamily {
  enum class Kind { Plain, Add, SwiGLU, Qkv } kind = Kind::Plain;
  llvm::SmallVector<GemvWeight, 3> weights;
  std::optional<GemvNorm> norm;
  /// The name of its GEMV kernel (gemvKernelName and the others).
  std::string gemvName() const;
};

/// Tokens and rows of a warp's tile in the prefill GEMM.
constexpr int64_t kGemmTokens = 32, kGemmRows = 8;
/// "s10_gemm_" and the GEMV kernel's name after "s10_gemv_".
std::string gemmKernelName(const GemvFamily &f);
/// Checks that the prefill GEMM of `f` can be built: every weight a CUDA
/// GEMV serves, one input size, and q's and k's rows multiples of
/// kGemmRows.
mlir::LogicalResult checkGpuGemm(const GemvFamily &f, std::string &reason);
/// The prefill GEMM twin of the GEMV kernel of `f` on tensor cores (sm_80
/// and newer): the same arguments and results, each weight decoded once
/// per kGemmTokens tokens. The weights' values and x (times the norm
/// weight) are rounded to f16 and multiplied by mma.sync m16n8k16 with f32
/// accumulation; a norm's 1 / rms(x) and the epilogue are applied in f32.
/// Grid (ceil(rows / (kGemmRows * kGemvWarps)), ceil(tokens /
/// kGemmTokens)) of 128 threads, rows those of all of q, k and v; launch
/// bounds of 168 registers a thread (255 with gate and up, or q, k and v).
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuGemmKernel(mlir::OpBuilder &b, mlir::Location loc, const GemvFamily &f,
                   llvm::StringRef name = {});

mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuRMSNormKernel(mlir::OpBuilder &b, mlir::Location loc, int64_t width,
                      double eps, DenseType weight, llvm::StringRef name = {});
mlir::gpu::GPUFuncOp buildGpuBinaryKernel(mlir::OpBuilder &b,
                                          mlir::Location loc, BinaryKind kind,
                                          llvm::StringRef name = {});

std::string kvAppendKernelName(int64_t kvWidth);
std::string attentionKernelName(int64_t heads, int64_t kvHeads, int64_t headDim,
                                float scale);
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuEmbeddingKernel(mlir::OpBuilder &b, mlir::Location loc, int64_t vocab,
                        int64_t hidden, DenseType table,
                        llvm::StringRef name = {});
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuRotaryKernel(mlir::OpBuilder &b, mlir::Location loc, int64_t heads,
                     int64_t headDim, llvm::StringRef name = {});
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuKvAppendKernel(mlir::OpBuilder &b, mlir::Location loc, int64_t kvWidth,
                       llvm::StringRef name = {});
/// Rotary and KV append in one launch: (q, k, v, cs, kv, tokens, &pos0,
/// maxCtx) rotates q in place and k into the key cache, and copies v into
/// the value cache; one q pair, k pair or v element per thread, grid
/// ceil(tokens * (heads * dim / 2 + kvHeads * dim * 3 / 2) / kBinaryBlock).
std::string ropeAppendKernelName(int64_t heads, int64_t kvHeads,
                                 int64_t headDim);
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuRopeAppendKernel(mlir::OpBuilder &b, mlir::Location loc, int64_t heads,
                         int64_t kvHeads, int64_t headDim,
                         llvm::StringRef name = {});
mlir::FailureOr<mlir::gpu::GPUFuncOp>
buildGpuAttentionKernel(mlir::OpBuilder &b, mlir::Location loc, int64_t heads,
                        int64_t kvHeads, int64_t headDim, float scale,
                        llvm::StringRef name = {});

/// Fills the count-dependent parts of a case's spec (from its seeded
/// weight) and its kernel name; false with `error` set if the weight does
/// not fit its layout.
bool resolveGpuCase(s10::quant::gpucases::Case &c, std::string &error);
/// Builds the kernel of a resolved case at the insertion point of `b`.
mlir::LogicalResult buildGpuCaseKernel(mlir::OpBuilder &b, mlir::Location loc,
                                       const s10::quant::gpucases::Case &c);

/// Adds the dialects the CUDA kernels are built and lowered in.
void registerGpuKernelDialects(mlir::DialectRegistry &registry);

} // namespace s10::codegen

#endif // S10_CODEGEN_GPUKERNELBUILDER_H
