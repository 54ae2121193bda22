//===- KernelBuilder.h - CPU kernels for packed layouts ---------*- C++ -*-===//
//
// Builds `func.func` kernels in upstream dialects only (memref, scf, arith,
// math, vector, func) for the kernel ABIs of the artifact format
// (runtime/include/s10rt/Format.h, `KernelAbi`). Every argument is a static
// memref, so that lowering with the bare-pointer calling convention gives
// exactly the C signatures below; sizes known only at run time come in as
// `int64_t` and reshape a `memref<1xf32>` argument.
//
//   Gemv        void(const uint8_t *w, const float *x, float *y,
//                    int64_t r0, int64_t r1)   y[r] = W[r] . x, r in [r0, r1)
//   Decode      void(const uint8_t *w, float *out, int64_t row)
//   RMSNormRow  void(const float *x, const uint8_t *w, float *y)
//   Binary      void(const float *a, const float *b, float *y, int64_t n)
//   Embedding   void(const uint8_t *table, const int32_t *ids, float *y,
//                    int64_t tokens)             y[t] = table row ids[t]
//   Rotary      void(const float *x, const float *cos, const float *sin,
//                    float *y, int64_t tokens)   cos, sin: [tokens][dim / 2]
//   Attend      void(const float *q, const float *keys, const float *values,
//                    float *out, float *scores, int64_t rows,
//                    int64_t qStride, int64_t n0, int64_t inc)
//               causal attention of `rows` queries over one KV head of the
//               cache; see buildAttendKernel
//   GemmBlock   void(const float *x, int64_t ldx, const float *p,
//                    int64_t ldp, float *y, int64_t ldy, int64_t depth,
//                    int64_t accumulate, int64_t tail)
//               one register block of the prefill GEMM; see
//               buildGemmBlockKernel
//
// Packed weights are decoded from their bytes by PackedDecoder, the single
// emitter of the layouts of s10/Quant/Layout.h: it reads part offsets and row
// strides from layout::describe() and produces the same float operations as
// PackedMatrix::decodeRow, so decoded values are bit-exact.
//
//===----------------------------------------------------------------------===//

#ifndef S10_CODEGEN_KERNELBUILDER_H
#define S10_CODEGEN_KERNELBUILDER_H

#include "s10/Quant/Layout.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"

#include <string>

namespace s10::codegen {

/// Element type of a dense weight.
enum class DenseType : uint8_t { F16, F32 };

enum class BinaryKind : uint8_t {
  Add,    // y = a + b
  SwiGLU, // y = a / (1 + exp(-a)) * b
};

/// The weight matrix a GEMV kernel reads: the bytes of a packed layout or a
/// dense matrix. The logical shape is always [out, in].
struct GemvWeight {
  bool packed = true;
  quant::layout::Spec spec;         // packed only
  DenseType dense = DenseType::F32; // dense only
  bool inOut = false;               // dense only: stored [in][out]
  int64_t out = 0, in = 0;
  /// The CPU has AVX-512 (16 f32 lanes, mask registers, expand loads):
  /// mixed layouts then take the masked-sum GEMV (see usesMaskedSums).
  bool avx512 = false;
  /// The CPU has AVX2: k-bit codes become floats through one lane permute
  /// of a constant table where the index bits allow (usesCodeTable).
  bool avx2 = false;

  static GemvWeight makePacked(const quant::layout::Spec &spec, int64_t out,
                               int64_t in);
  static GemvWeight makeDense(DenseType type, int64_t out, int64_t in,
                              bool inOut = false);
  /// Bytes of the weight blob the kernel reads.
  uint64_t bytes() const;
};

/// Checks that kernels can be built for `w`; on failure `reason` says why.
mlir::LogicalResult checkGemvWeight(const GemvWeight &w, std::string &reason);

/// Symbol names: C identifiers that encode everything the code depends on,
/// so equal names mean interchangeable kernels.
std::string gemvKernelName(const GemvWeight &w);
std::string decodeKernelName(const GemvWeight &w);
std::string rmsNormKernelName(int64_t width, double eps, DenseType weight);
std::string binaryKernelName(BinaryKind kind);
/// Also the names of the CUDA kernels of these ops (GpuKernelBuilder.h).
std::string embeddingKernelName(int64_t vocab, int64_t hidden, DenseType table);
std::string rotaryKernelName(int64_t heads, int64_t headDim);
std::string attendKernelName(int64_t headDim, int64_t kvWidth, float scale);

/// The builders create a public func.func at the insertion point of `b`
/// (named by the functions above unless `name` is given). The weight-based
/// ones emit an error at `loc` and fail for weights checkGemvWeight refuses.
mlir::FailureOr<mlir::func::FuncOp> buildGemvKernel(mlir::OpBuilder &b,
                                                    mlir::Location loc,
                                                    const GemvWeight &w,
                                                    llvm::StringRef name = {});
/// Packed weights only: writes the `in` dequantized values of one row.
mlir::FailureOr<mlir::func::FuncOp>
buildDecodeKernel(mlir::OpBuilder &b, mlir::Location loc, const GemvWeight &w,
                  llvm::StringRef name = {});
mlir::func::FuncOp buildRMSNormRowKernel(mlir::OpBuilder &b, mlir::Location loc,
                                         int64_t width, double eps,
                                         DenseType weight,
                                         llvm::StringRef name = {});
mlir::func::FuncOp buildBinaryKernel(mlir::OpBuilder &b, mlir::Location loc,
                                     BinaryKind kind,
                                     llvm::StringRef name = {});
/// Rows of a [vocab, hidden] table; the caller checks the ids.
mlir::func::FuncOp buildEmbeddingKernel(mlir::OpBuilder &b, mlir::Location loc,
                                        int64_t vocab, int64_t hidden,
                                        DenseType table,
                                        llvm::StringRef name = {});
/// Rotate-half RoPE of `heads` heads of `headDim` per token, in f32 as the
/// interpreter rounds it (x1 c - x2 s, x2 c + x1 s, no fused multiply-add);
/// x may equal y.
mlir::func::FuncOp buildRotaryKernel(mlir::OpBuilder &b, mlir::Location loc,
                                     int64_t heads, int64_t headDim,
                                     llvm::StringRef name = {});
/// Positions per block of the key cache the Attend kernel reads.
constexpr int64_t kAttendKeyBlock = 64;
/// Query r < rows (at q + r * qStride, `headDim` floats) of one KV head
/// attends to positions [0, n0 + r * inc): scores q . k * scale, softmax
/// (the interpreter's exp), then the weighted sum of the values, written
/// to out + r * qStride (out may be q: a row is read before it is
/// written). Keys are blocks of kAttendKeyBlock positions, each
/// [kvWidth][kAttendKeyBlock] with the head's channels from `keys` on;
/// values are rows of kvWidth floats from `values` on. `scores` holds
/// n0 + (rows - 1) * inc floats, rounded up to a block.
mlir::func::FuncOp buildAttendKernel(mlir::OpBuilder &b, mlir::Location loc,
                                     int64_t headDim, int64_t kvWidth,
                                     float scale, llvm::StringRef name = {});

/// The GEMM micro-kernels of one CPU: blocks of up to `mr` rows and `nv`
/// vectors of `vec` floats, run over k in blocks of `kc` (the runtime's
/// driver keeps a kc x nv * vec block of P in L1).
struct GemmKernelTable {
  int mr, nv, vec;
  int64_t kc;
};
/// AVX-512: 6 x 4 vectors of 16, k blocks of 128; else (AVX2) 6 x 2 vectors
/// of 8, k blocks of 256.
GemmKernelTable gemmKernelTable(bool avx512);
std::string gemmBlockKernelName(int mr, int nv, int vec, bool masked);
/// One block of Y = X P: Y[i][c] (+ Y[i][c] when `accumulate` != 0) + sum
/// over k < depth of X[i][k] P[k][c], for i < mr and c < nv * vec; row i of
/// X at x + i * ldx, row k of P at p + k * ldp, row i of Y at y + i * ldy.
/// Per k it loads each vector of P's row once and broadcasts each X[i][k];
/// every element is one chain of fused multiply-adds (vector.fma) in
/// increasing k, as the runtime's AVX-512 / AVX2 micro-kernels compute it.
/// `masked`: the last vector reads and writes only its first `tail` lanes
/// (1 to vec); unmasked kernels ignore `tail`.
mlir::func::FuncOp buildGemmBlockKernel(mlir::OpBuilder &b, mlir::Location loc,
                                        int mr, int nv, int vec, bool masked,
                                        llvm::StringRef name = {});

/// Mixed kinds with chunk-aligned groups and at most 8192 inputs compute
/// their GEMV from tables of partial sums of x (per chunk of eight inputs,
/// the sum over every subset), in two kernels:
///
///   GemvLutPrepare  void(const float *x, float *lut)
///   GemvLut         void(const uint8_t *w, const float *lut, float *y,
///                        int64_t r0, int64_t r1)
///
/// The prepare kernel depends on `in` and the group size only, so weights
/// reading the same x share one `lut` of gemvLutFloats() floats. The Gemv
/// kernel of such a weight runs both on a stack buffer.
bool usesLut(const GemvWeight &w);
/// Floats of the `lut` buffer; 0 unless usesLut(w).
int64_t gemvLutFloats(const GemvWeight &w);
std::string gemvLutPrepareKernelName(const GemvWeight &w);
std::string gemvLutKernelName(const GemvWeight &w);
/// Fail (with an error at `loc`) unless usesLut(w).
mlir::FailureOr<mlir::func::FuncOp>
buildGemvLutPrepareKernel(mlir::OpBuilder &b, mlir::Location loc,
                          const GemvWeight &w, llvm::StringRef name = {});
mlir::FailureOr<mlir::func::FuncOp>
buildGemvLutKernel(mlir::OpBuilder &b, mlir::Location loc, const GemvWeight &w,
                   llvm::StringRef name = {});

/// Mixed kinds with groups of whole 16-column blocks, built for AVX-512:
/// per 16 columns the sign and mask bits become vector<16xi1> masks that
/// select x into three sums (signs, mask, both), and the row's salient low
/// bits, unpacked once per row into consecutive floats, are expanded into
/// the salient lanes and multiplied into x. A group then adds
///   a S + (2^r c - a) SM + (d - b) M + c L + b (sum of x over the group)
/// for its pairs (a, b) and (c, d). No tables, one pass over the bits.
bool usesMaskedSums(const GemvWeight &w);

/// True if the GEMV of `w` (a k-bit layout of at most 3 bits whose groups
/// start on a chunk, the CPU with AVX2) turns codes into floats with a
/// table permute (PackedDecoder::setCodeTable); its kernel name ends in
/// "_tbl". One permute replaces a mask and a conversion: about 20 % faster
/// on the 3-bit default. (With AVX-512, 4-bit codes through the two-table
/// vpermi2ps measured 5 % slower.)
bool usesCodeTable(const GemvWeight &w);

/// Adds the dialects the kernels are built in.
void registerKernelDialects(mlir::DialectRegistry &registry);

/// Emits the decoding of a packed layout, driven by its Geometry. Values of a
/// row are produced either eight columns at a time (a "chunk": columns
/// [8c, 8c + 8), one byte of a bit plane, as vector<8xf32>) or one column at
/// a time, walking the row in increasing column order and threading the
/// running salient rank (the number of salient weights of the row before the
/// current column) through the loop. The bytes are a static 1-D i8 memref
/// holding the whole blob; offsets are index values.
///
/// The bits of a mixed layout's chunks come from a Word: up to four bytes of
/// the sign and mask planes loaded once as i32 scalars, each chunk then
/// selecting its byte with lane constants (no per-chunk shifts). The lanes
/// of a chunk's salient low bits are found in a constant table (a
/// `memref.global` in the enclosing module): for each mask byte, the bit
/// offset of every lane's low bits after the chunk's first salient weight.
class PackedDecoder {
public:
  /// `spec` and the shape must pass layout::describe().
  PackedDecoder(const quant::layout::Spec &spec, int64_t out, int64_t in);

  const quant::layout::Spec &spec() const { return spec_; }
  const quant::layout::Geometry &geometry() const { return geometry_; }
  /// GPU loads: a chunk's salient low bits come from two aligned 64-bit
  /// loads and a funnel shift rather than one unaligned load (which NVPTX
  /// splits into bytes; N:M streams start on any byte and keep the
  /// unaligned load), and its mask byte from the Word rather than memory.
  void setGpuLoads(bool on) { gpuLoads_ = on; }
  /// x86 with AVX2: k-bit chunks of codes of up to 3 bits become floats
  /// through one vpermps of the table {0, ..., 2^k - 1}, which reads only
  /// an index's low three bits: no mask and no integer conversion per chunk.
  void setCodeTable(bool on) { codeTable_ = on; }
  /// Number of weights in a chunk.
  static constexpr int64_t kChunk = 8;
  /// True if every group starts on a chunk, so chunks never straddle groups.
  bool chunkAligned() const;
  /// Number of chunks in a Word.
  static constexpr int64_t kWordChunks = 4;
  /// True if every group starts on a Word (32 columns).
  bool wordAligned() const;
  /// NM only: bytes of the per-row salient mask scratch beginRow() fills
  /// (whole 16-byte rows, as the planes of the blob, so Words stay inside).
  int64_t maskScratchBytes() const;

  /// Per-row state.
  struct Row {
    mlir::Value row;      // index
    mlir::Value codes;    // index: byte offset of the code / sign row
                          // (ternary: the row's first chunk in the stream)
    mlir::Value mask;     // index: salient mask row (in `maskMem`)
    mlir::Value maskMem;  // memref holding the mask (the blob or scratch)
    mlir::Value stream;   // index: byte offset of the salient low bits
    mlir::Value rank;     // i64: salient rank of the row's first weight
    mlir::Value shifts;   // mixed: salientShiftTable(); ternary: its table
    mlir::Value super[4]; // q8: the row's super-scales (f32)
    mlir::Value indices;  // NM without scratch: byte offset of the indices
  };
  /// `scratch` (NM only) is an i8 memref of maskScratchBytes() that gets
  /// the row's whole salient mask; without it (NM on the GPU) each Word
  /// builds its mask bits from the indices instead.
  /// `shiftTable` (mixed kinds only) is salientShiftTable().
  Row beginRow(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bytes,
               mlir::Value row, mlir::Value scratch = {},
               mlir::Value shiftTable = {}) const;

  /// Mixed kinds: the salient-lane bit offsets of every mask byte,
  /// memref<2048xi32> (entry 8m + l: `r` times the salient lanes below l in
  /// mask byte m), a constant global of the enclosing module. Call it where
  /// the insertion point is inside a module (at the kernel's entry).
  mlir::Value salientShiftTable(mlir::OpBuilder &b, mlir::Location loc) const;
  /// Ternary: memref<80xi32>, entry 8r + l (r < 5, l < 8) the bit shift
  /// 8 (p / 5) of the byte holding code p = 8r + l of an 8-byte word, entry
  /// 40 + 8r + l the weight 3^(p mod 5) of its digit. Built at a kernel's
  /// entry and given to beginRow as `shiftTable`; without it chunks compute
  /// both.
  mlir::Value ternaryLaneTable(mlir::OpBuilder &b, mlir::Location loc) const;

  /// The group's parameters as PackedMatrix uses them (f32): scale, offset
  /// and, for mixed kinds, salient scale and salient offset.
  llvm::SmallVector<mlir::Value, 4> params(mlir::OpBuilder &b,
                                           mlir::Location loc,
                                           mlir::Value bytes, const Row &r,
                                           mlir::Value group) const;

  /// The codes of a chunk or a column (vector<8x...> or scalar).
  struct Codes {
    mlir::Value low;         // f32: k-bit code, or the sign bit (mixed)
    mlir::Value salient;     // i1: mixed kinds only
    mlir::Value salientCode; // f32: the full salient code (mixed)
    mlir::Value rank;        // i64: the running rank after these columns
  };
  Codes chunk(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bytes,
              const Row &r, mlir::Value chunkIndex, mlir::Value rank) const;

  /// Mixed kinds: the sign and mask bits of `chunks` (1 to kWordChunks)
  /// chunks from `firstChunk` on, as i32 (chunk t in bits [8t, 8t + 8)).
  /// From tile(), k-bit codes: the Word's 32k bits of codes as k i32.
  /// Ternary: `trits`, an 8-byte word of the stream (40 codes, chunks 0 to
  /// 4 of it; ternaryWord()).
  struct Word {
    mlir::Value signs, mask;
    llvm::SmallVector<mlir::Value, 4> codes;
    mlir::Value trits;
  };
  /// Ternary: 8-byte word `index` of the code stream (i64).
  mlir::Value ternaryWord(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value bytes, mlir::Value index) const;
  Word word(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bytes,
            const Row &r, mlir::Value firstChunk, unsigned chunks) const;
  /// True if tile() serves the layout: k-bit codes of any width but 7 and
  /// the mixed kinds (the GPU's N:M masks come from the indices).
  bool tileLoads() const;
  /// GPU: the `count` (1 or 4) Words from chunk `firstChunk` (a multiple
  /// of 4 * count) on. Each plane's `count` 32-bit words of them are one
  /// load, 16 bytes wide for a tile of four Words: the planes in the
  /// order they are stored, no byte loads.
  llvm::SmallVector<Word, 4> tile(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::Value bytes, const Row &r,
                                  mlir::Value firstChunk, unsigned count) const;
  /// The codes of chunk `chunkIndex`, chunk `t` of `w` (k-bit reads memory
  /// unless `w` holds its codes; ternary unless `w` holds its stream word,
  /// then the chunk is that word's chunk t and `chunkIndex` is unused).
  Codes chunk(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bytes,
              const Row &r, const Word &w, unsigned t, mlir::Value chunkIndex,
              mlir::Value rank) const;
  Codes column(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bytes,
               const Row &r, mlir::Value col, mlir::Value rank) const;
  /// The dequantized values: scale * code + offset with the pair of each
  /// weight, as decodeRow computes them. With `contract` the multiply-adds
  /// may fuse (faster, no longer bit-exact against decodeRow).
  mlir::Value dequantize(mlir::OpBuilder &b, mlir::Location loc, const Codes &c,
                         llvm::ArrayRef<mlir::Value> params,
                         bool contract = false) const;

private:
  mlir::Value nmMaskBits(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value bytes, const Row &r,
                         mlir::Value firstChunk, unsigned chunks) const;

  quant::layout::Spec spec_;
  quant::layout::Geometry geometry_;
  bool gpuLoads_ = false;
  bool codeTable_ = false;
};

} // namespace s10::codegen

#endif // S10_CODEGEN_KERNELBUILDER_H
