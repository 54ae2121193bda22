//===- Format.h - The .s10 artifact format ----------------------*- C++ -*-===//
//
// The on-disk layout of a compiled s10 model, shared by the writer
// (s10-compile) and the loader (libs10rt). Plain C++17, no dependencies.
// docs/artifact-format.md describes every field; this header is the
// normative definition. All integers are little-endian; every record has a
// fixed size so a loader can bound-check before it reads.
//
//   [Header 64 B][Section table: count x 32 B][sections, each 64-aligned]
//
// The header checksum covers header bytes [0, 48); the payload checksum
// covers every byte after the header, [64, fileSize).
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_FORMAT_H
#define S10RT_FORMAT_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace s10rt::format {

constexpr char kMagic[8] = {'S', '1', '0', 'A', 'R', 'T', '\x1a', '\n'};
/// 2: a cpu Linear step's `reserved` names its Decode kernel (or kNone);
/// GemmBlock kernels. 3: a cuda GEMV step's `reserved` names its prefill
/// GEMM (GpuGemm, or kNone).
constexpr uint32_t kVersion = 3;
constexpr uint64_t kSectionAlign = 64;
/// The weights section starts on a page so it can be mapped and used in
/// place; tensors inside it are 64-byte aligned.
constexpr uint64_t kWeightsAlign = 4096;
constexpr uint32_t kNone = 0xFFFFFFFFu;

enum class Target : uint32_t {
  CpuX86_64 = 1,
  Cuda = 2,
};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t headerSize; // sizeof(Header)
  uint32_t target;     // Target
  uint32_t sectionCount;
  uint64_t fileSize;
  uint64_t sectionTableOffset; // == sizeof(Header)
  uint64_t payloadChecksum;    // checksum of bytes [64, fileSize)
  uint64_t headerChecksum;     // checksum of bytes [0, 48)
  uint64_t reserved;
};
static_assert(sizeof(Header) == 64, "header is 64 bytes");

enum class SectionKind : uint32_t {
  Config = 1,  // one ModelConfig
  Strings = 2, // NUL-terminated names, referenced by byte offset
  Tensors = 3, // TensorRecord[]
  Weights = 4, // tensor bytes, 64-aligned inside, section 4096-aligned
  Plan = 5,    // PlanHeader, BufferRecord[], StepRecord[]
  Kernels = 6, // KernelRecord[] then the code object (CPU: an ELF .so)
};

struct SectionRecord {
  uint32_t kind; // SectionKind
  uint32_t reserved0;
  uint64_t offset; // from the start of the file, kSectionAlign-aligned
  uint64_t size;
  uint64_t reserved1;
};
static_assert(sizeof(SectionRecord) == 32, "section record is 32 bytes");

struct ModelConfig {
  uint32_t vocab;
  uint32_t hidden;
  uint32_t layers;
  uint32_t heads;
  uint32_t kvHeads;
  uint32_t headDim;
  uint32_t intermediate;
  uint32_t maxPositions; // longest context the model supports
  uint32_t bosId;        // kNone if unknown
  uint32_t eosId;        // kNone if unknown
  uint32_t nameOffset;   // Strings offset of the model's name
  uint32_t reserved0;
  uint64_t weightBytes; // payload of the Weights section actually used
  uint64_t reserved[9];
};
static_assert(sizeof(ModelConfig) == 128, "config is 128 bytes");

enum class DType : uint32_t {
  F32 = 1,
  F16 = 2,
  Packed = 3, // a packed quantized matrix, see s10/Quant/Layout.h
};

/// One constant tensor. Packed tensors are [out, in] matrices whose bytes
/// follow layout::describe() for the Spec given by the pk* fields.
struct TensorRecord {
  uint32_t dtype; // DType
  uint32_t rank;  // 1 or 2
  int64_t dims[2];
  uint64_t offset; // from the start of the Weights section, 64-aligned
  uint64_t size;   // bytes
  uint32_t nameOffset;
  uint8_t pkKind;        // layout::Kind
  uint8_t pkBits;        // low-part bits
  uint8_t pkSalientBits; // mixed kinds
  uint8_t pkParams;      // layout::ParamFormat
  int64_t pkGroupSize;
  int64_t pkBlock;
  int64_t pkNmSalient;
  int64_t pkSalientCount;
  uint64_t reserved;
};
static_assert(sizeof(TensorRecord) == 88, "tensor record is 88 bytes");

/// Activations are f32 rows, one per token: a buffer of `width` holds
/// [tokens, width] floats. The runtime places buffers in one arena sized for
/// the longest chunk of tokens a session runs at once.
struct BufferRecord {
  uint32_t width; // floats per token
  uint32_t nameOffset;
};
static_assert(sizeof(BufferRecord) == 8, "buffer record is 8 bytes");

enum class OpCode : uint32_t {
  Embedding = 1, // out = table[ids]; tensor0 = table [vocab, hidden]
  RMSNorm = 2,   // out = in0 / sqrt(mean(in0^2) + f0) * tensor0
  Linear = 3,    // out = in0 tensor0^T (+ tensor1 bias); tensor0 [out, in]
  Rotary = 4,    // out = rotate-half(in0), i0 heads, i1 headDim,
                 // tensor0 = f32 inverse frequencies [headDim / 2]
  Attention = 5, // out = causal GQA(in0 q, in1 k, in2 v) over the KV cache
                 // slot i3; i0 heads, i1 kvHeads, i2 headDim, f0 scale
  SwiGLU = 6,    // out = silu(in0) * in1
  Add = 7,       // out = in0 + in1
  // Fused steps, cuda artifacts only: one launch for a GEMV and the
  // elementwise op after it.
  LinearAdd = 8,    // out = in0 tensor0^T + in1 (a residual add)
  LinearSwiGLU = 9, // out = silu(in0 tensor0^T) * (in0 tensor1^T)
  // With the RMSNorm of in0 (weight g, epsilon f0) computed in the GEMV:
  // n = in0 / sqrt(mean(in0^2) + f0) * g.
  NormLinear = 10,       // out = n tensor0^T; g = tensor1
  NormLinearSwiGLU = 11, // out = silu(n tensor0^T) * (n tensor1^T); g =
                         // tensor i0
  RopeAttention = 12,    // Attention of rotate-half(in0), rotate-half(in1),
                         // in2 (tensor0: the inverse frequencies); the
                         // KV-append kernel rotates in0 in place
  NormLinearQKV = 13,    // out = n tensor0^T (q), buffer i2 = n tensor1^T
                         // (k), buffer i3 = n (tensor i1)^T (v); g =
                         // tensor i0
};

/// The ops a CUDA artifact runs as a GEMV kernel (whose step may name a
/// prefill GEMM in `reserved`).
inline bool isGemvOp(OpCode op) {
  return op == OpCode::Linear || op == OpCode::LinearAdd ||
         op == OpCode::LinearSwiGLU || op == OpCode::NormLinear ||
         op == OpCode::NormLinearSwiGLU || op == OpCode::NormLinearQKV;
}

struct PlanHeader {
  uint32_t bufferCount;
  uint32_t stepCount;
  uint32_t logitsBuffer; // buffer holding [tokens, vocab] logits
  uint32_t kvSlots;      // attention steps, one KV cache each
  uint32_t kvWidth;      // floats per token per K (and per V) in every slot
  uint32_t reserved[3];
};
static_assert(sizeof(PlanHeader) == 32, "plan header is 32 bytes");

/// One step of the plan; prefill and decode run the same steps over a chunk
/// of tokens (1 for decode). Buffer operands index BufferRecord[]; the
/// Embedding step reads the session's token ids instead of in0.
struct StepRecord {
  uint32_t op;        // OpCode
  uint32_t kernel;    // KernelRecord index, or kNone: the runtime's own
  uint32_t in[3];     // buffers, kNone if unused
  uint32_t out;       // buffer
  uint32_t tensor[2]; // TensorRecord indices, kNone if unused
  int32_t i[4];
  float f[2];
  uint32_t nameOffset; // e.g. "block 3 q_proj" for messages
  /// cuda Attention: the KvAppend kernel. cpu Linear: the Decode kernel
  /// of its packed weight, or kNone. cuda Linear, LinearAdd, LinearSwiGLU,
  /// NormLinear, NormLinearSwiGLU, NormLinearQKV: the prefill GEMM (a
  /// GpuGemm kernel), or kNone. Else 0.
  uint32_t reserved;
};
static_assert(sizeof(StepRecord) == 64, "step record is 64 bytes");

enum class KernelAbi : uint32_t {
  /// void(const uint8_t *w, const float *x, float *y, int64_t r0, int64_t r1)
  /// y[r] = dot(row r of w, x) for r in [r0, r1): one token of a Linear.
  Gemv = 1,
  /// void(const float *x, const uint8_t *w, float *y): one row of RMSNorm.
  RMSNormRow = 2,
  /// void(const float *a, const float *b, float *y, int64_t n)
  Binary = 3,
  /// void(const uint8_t *table, const int32_t *ids, float *y, int64_t n):
  /// rows ids[t] of the table for t < n (the ids are checked first).
  Embedding = 4,
  /// void(const float *x, const float *cos, const float *sin, float *y,
  ///      int64_t n): rotate-half RoPE of n tokens, cos and sin [n][dim/2]
  /// from the token's position on.
  Rotary = 5,
  /// void(const float *q, const float *keys, const float *values, float *out,
  ///      float *scores, int64_t rows, int64_t qStride, int64_t n0,
  ///      int64_t inc): query r < rows (at q + r * qStride) of one KV head
  /// attends causally to positions [0, n0 + r * inc) of the cache: keys in
  /// blocks of kAttendKeyBlock positions, each [kvWidth][kAttendKeyBlock]
  /// from the head's first channel on, values [position][kvWidth]; the
  /// result goes to out + r * qStride (out may be q).
  Attend = 6,
  /// void(const uint8_t *w, float *out, int64_t row): the `in` dequantized
  /// values of one row of a packed weight, as PackedMatrix::decodeRow.
  Decode = 7,
  /// void(const float *x, int64_t ldx, const float *p, int64_t ldp,
  ///      float *y, int64_t ldy, int64_t depth, int64_t accumulate,
  ///      int64_t tail)
  /// One register block of the prefill GEMM: Y[i][c] (+)= sum over
  /// k < depth of X[i][k] P[k][c] for i < mr, c < nv * vec, one fused
  /// multiply-add chain per element in increasing k. Row i of X starts at
  /// x + i * ldx, row k of P at p + k * ldp, row i of Y at y + i * ldy.
  /// `accumulate` != 0 starts the chains from Y; a masked kernel reads and
  /// writes only the first `tail` (1 to vec) columns of its last vector.
  /// The shape is in KernelRecord::reserved (gemmBlockWords).
  GemmBlock = 8,
  // CUDA kernels (lib/Codegen/GpuKernelBuilder.h, docs/cuda.md); every
  // argument is a device pointer or an int64_t.
  /// (w, x, y, tokens): y[t] = W x[t].
  GpuGemv = 11,
  /// (x, weight, y, rows)
  GpuRMSNorm = 12,
  /// (a, b, y, n)
  GpuBinary = 13,
  /// (table, int32 ids, y, tokens)
  GpuEmbedding = 14,
  /// (x, cos/sin pairs [position][headDim / 2][2], y, tokens, &pos0)
  GpuRotary = 15,
  /// (q, kv, out, scratch, tokens, &pos0, maxContext)
  GpuAttention = 16,
  /// (k, v, kv, tokens, &pos0, maxContext): the chunk's keys and values
  /// into the cache; a cuda Attention step names it in `reserved`.
  GpuKvAppend = 17,
  /// (w, x, r, y, tokens): y[t] = W x[t] + r[t] (a LinearAdd step).
  GpuGemvAdd = 18,
  /// (wg, wu, x, y, tokens): y[t] = silu(Wg x[t]) * (Wu x[t]) (a
  /// LinearSwiGLU step).
  GpuGemvSwiGLU = 19,
  /// (w, g, x, y, tokens): y[t] = W RMSNorm(x[t]; g) (a NormLinear step).
  GpuNormGemv = 20,
  /// (wg, wu, g, x, y, tokens): SwiGLU of gate and up of RMSNorm(x[t]; g)
  /// (a NormLinearSwiGLU step).
  GpuNormGemvSwiGLU = 21,
  /// (q, k, v, cos/sin pairs, kv, tokens, &pos0, maxContext): q rotated in
  /// place, k rotated and v into the cache; a RopeAttention step names it
  /// in `reserved`.
  GpuRopeAppend = 22,
  /// (wq, wk, wv, g, x, yq, yk, yv, tokens): q, k and v of RMSNorm(x[t];
  /// g), the grid's rows q's, then k's, then v's (a NormLinearQKV step).
  GpuNormGemvQkv = 23,
  /// The prefill GEMM of a GEMV step (tensor cores): the arguments of the
  /// step's GEMV kernel, grid (ceil(rows / 32), ceil(tokens / 32)) of 128
  /// threads, rows those of all its outputs (in `reserved` of the step).
  GpuGemm = 24,
};

/// Positions per block of the key cache (KernelAbi::Attend).
inline constexpr int64_t kAttendKeyBlock = 64;

/// A kernel in the code object: the symbol to look up and its ABI.
struct KernelRecord {
  uint32_t abi; // KernelAbi
  uint32_t symbolOffset;
  /// GemmBlock: gemmBlockWords(); else 0.
  uint32_t reserved[2];
};
static_assert(sizeof(KernelRecord) == 16, "kernel record is 16 bytes");

/// The shape of a GemmBlock kernel: an mr x (nv vectors of vec floats)
/// block, masked or not, of a table whose kernels run k in blocks of kc.
/// A cpu artifact holds none or one whole table: every mr in [1, MR] and
/// nv in [1, NV], masked and not, all with the same MR, NV, vec and kc.
struct GemmBlockShape {
  uint32_t mr, nv, vec, masked; // this kernel
  uint32_t maxMr, maxNv, kc;    // its table
};
/// reserved[0] = mr | nv << 4 | masked << 8 | maxMr << 12 | maxNv << 16 |
/// vec << 20 (4 bits each, vec 8 bits); reserved[1] = kc.
inline void gemmBlockWords(const GemmBlockShape &s, uint32_t (&w)[2]) {
  w[0] = (s.mr & 15) | (s.nv & 15) << 4 | (s.masked & 1) << 8 |
         (s.maxMr & 15) << 12 | (s.maxNv & 15) << 16 | (s.vec & 255) << 20;
  w[1] = s.kc;
}
inline GemmBlockShape gemmBlockShape(const uint32_t (&w)[2]) {
  GemmBlockShape s;
  s.mr = w[0] & 15;
  s.nv = w[0] >> 4 & 15;
  s.masked = w[0] >> 8 & 15;
  s.maxMr = w[0] >> 12 & 15;
  s.maxNv = w[0] >> 16 & 15;
  s.vec = w[0] >> 20 & 255;
  s.kc = w[1];
  return s;
}

/// The Kernels section: KernelsHeader, KernelRecord[count], then the code
/// object at `codeOffset` (from the start of the section) of `codeSize`.
struct KernelsHeader {
  uint32_t count;
  uint32_t reserved; // cuda: the cubin's chip (90 for sm_90)
  uint64_t codeOffset;
  uint64_t codeSize;
  /// cpu: the x86-64 features the code object may use, bit i for
  /// kCpuFeatures[i]; the loader refuses it on a CPU without them.
  uint64_t cpuFeatures;
};
static_assert(sizeof(KernelsHeader) == 32, "kernels header is 32 bytes");

/// An x86-64 feature, named as LLVM names it, and where cpuid reports it:
/// bit `bit` of register `reg` (0-3: eax, ebx, ecx, edx) of leaf `leaf`,
/// subleaf `subleaf`. The AVX and AVX-512 ones also need the OS to save
/// their registers (XCR0).
struct CpuFeatureInfo {
  const char *name;
  uint32_t leaf, subleaf;
  uint8_t reg, bit;
};

/// KernelsHeader::cpuFeatures bit i is kCpuFeatures[i]. Append only.
inline constexpr CpuFeatureInfo kCpuFeatures[] = {
    {"sse3", 1, 0, 2, 0},          {"ssse3", 1, 0, 2, 9},
    {"fma", 1, 0, 2, 12},          {"sse4.1", 1, 0, 2, 19},
    {"sse4.2", 1, 0, 2, 20},       {"movbe", 1, 0, 2, 22},
    {"popcnt", 1, 0, 2, 23},       {"avx", 1, 0, 2, 28},
    {"f16c", 1, 0, 2, 29},         {"bmi", 7, 0, 1, 3},
    {"avx2", 7, 0, 1, 5},          {"bmi2", 7, 0, 1, 8},
    {"avx512f", 7, 0, 1, 16},      {"avx512dq", 7, 0, 1, 17},
    {"avx512ifma", 7, 0, 1, 21},   {"avx512cd", 7, 0, 1, 28},
    {"avx512bw", 7, 0, 1, 30},     {"avx512vl", 7, 0, 1, 31},
    {"avx512vbmi", 7, 0, 2, 1},    {"avx512vbmi2", 7, 0, 2, 6},
    {"gfni", 7, 0, 2, 8},          {"vaes", 7, 0, 2, 9},
    {"vpclmulqdq", 7, 0, 2, 10},   {"avx512vnni", 7, 0, 2, 11},
    {"avx512bitalg", 7, 0, 2, 12}, {"avx512vpopcntdq", 7, 0, 2, 14},
    {"avx512fp16", 7, 0, 3, 23},   {"avxvnni", 7, 1, 0, 4},
    {"avx512bf16", 7, 1, 0, 5},    {"lzcnt", 0x80000001u, 0, 2, 5},
};
inline constexpr unsigned kCpuFeatureCount =
    sizeof(kCpuFeatures) / sizeof(kCpuFeatures[0]);
static_assert(kCpuFeatureCount <= 64, "cpu features fit 64 bits");

/// FNV-1a over little-endian 64-bit words (the last one zero-padded): fast
/// enough to verify gigabytes at open, and any flipped bit changes it.
inline uint64_t checksum(const void *data, size_t size, uint64_t h = 0) {
  constexpr uint64_t kOffset = 0xcbf29ce484222325ull;
  constexpr uint64_t kPrime = 0x100000001b3ull;
  if (h == 0)
    h = kOffset;
  const unsigned char *p = static_cast<const unsigned char *>(data);
  size_t words = size / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + 8 * i, 8);
    h = (h ^ w) * kPrime;
  }
  if (size % 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + 8 * words, size % 8);
    h = (h ^ w) * kPrime;
  }
  return h;
}

/// Where a section of `kind` may start: weights on a page, the rest on 64.
inline uint64_t sectionAlign(SectionKind kind) {
  return kind == SectionKind::Weights ? kWeightsAlign : kSectionAlign;
}

/// The header of a `fileSize`-byte file of `sectionCount` sections whose
/// bytes after the header have checksum `payloadChecksum`, with its own
/// checksum.
inline Header makeHeader(Target target, uint32_t sectionCount,
                         uint64_t fileSize, uint64_t payloadChecksum) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(h.magic));
  h.version = kVersion;
  h.headerSize = sizeof(Header);
  h.target = uint32_t(target);
  h.sectionCount = sectionCount;
  h.fileSize = fileSize;
  h.sectionTableOffset = sizeof(Header);
  h.payloadChecksum = payloadChecksum;
  h.headerChecksum = checksum(&h, 48);
  return h;
}

inline const char *opName(uint32_t op) {
  switch (static_cast<OpCode>(op)) {
  case OpCode::Embedding:
    return "embedding";
  case OpCode::RMSNorm:
    return "rms_norm";
  case OpCode::Linear:
    return "linear";
  case OpCode::Rotary:
    return "rotary";
  case OpCode::Attention:
    return "attention";
  case OpCode::SwiGLU:
    return "swiglu";
  case OpCode::Add:
    return "add";
  case OpCode::LinearAdd:
    return "linear_add";
  case OpCode::LinearSwiGLU:
    return "linear_swiglu";
  case OpCode::NormLinear:
    return "norm_linear";
  case OpCode::NormLinearSwiGLU:
    return "norm_linear_swiglu";
  case OpCode::RopeAttention:
    return "rope_attention";
  case OpCode::NormLinearQKV:
    return "norm_linear_qkv";
  }
  return nullptr;
}

} // namespace s10rt::format

#endif // S10RT_FORMAT_H
