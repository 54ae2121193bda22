//===- Model.h - A mapped, verified .s10 artifact ---------------*- C++ -*-===//
//
// Model::open maps the file read-only, checks every field of it (see
// s10rt/Format.h) before anything is used, and prepares the steps: weight
// views into the mapping, small f32 copies of fp16 vectors, the generated
// kernels' entry points. A model is immutable afterwards and shared by its
// sessions.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_MODEL_H
#define S10RT_SRC_MODEL_H

#include "Gemm.h"
#include "s10/Quant/PackedKernels.h"
#include "s10rt/Format.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace s10rt {

/// A read-only file mapping, unmapped on destruction.
class Mapping {
public:
  Mapping() = default;
  ~Mapping();
  Mapping(const Mapping &) = delete;
  Mapping &operator=(const Mapping &) = delete;
  void reset(const uint8_t *base, uint64_t size);
  const uint8_t *data() const { return base_; }
  uint64_t size() const { return size_; }

private:
  const uint8_t *base_ = nullptr;
  uint64_t size_ = 0;
};

/// The code object of the generated kernels, a shared library loaded from
/// memory; unloaded on destruction.
class CodeObject {
public:
  CodeObject() = default;
  ~CodeObject();
  CodeObject(const CodeObject &) = delete;
  CodeObject &operator=(const CodeObject &) = delete;
  /// Loads the ELF bytes; throws Error with messages prefixed by `path`.
  void load(const std::string &path, const uint8_t *data, uint64_t size);
  /// The address of `name`, or null.
  void *symbol(const char *name) const;

private:
  void *handle_ = nullptr;
  int fd_ = -1; // kept open while loaded, so its /proc name stays unique
};

/// A checked constant tensor: its bytes lie inside the weights section.
struct Tensor {
  format::DType dtype = format::DType::F32;
  uint32_t rank = 0;
  int64_t dims[2] = {0, 0};
  int64_t numel = 0;
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  const char *name = "";
  s10::quant::layout::Spec spec; // Packed only
};

/// The [out, in] matrix of a Linear or the table of an Embedding.
struct Matrix {
  format::DType dtype = format::DType::F32;
  int64_t out = 0, in = 0;
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  s10::quant::layout::PackedMatrix packed; // Packed only
};

using GemvFn = void (*)(const uint8_t *, const float *, float *, int64_t,
                        int64_t);
using RMSNormRowFn = void (*)(const float *, const uint8_t *, float *);
using BinaryFn = void (*)(const float *, const float *, float *, int64_t);
using EmbeddingFn = void (*)(const uint8_t *, const int32_t *, float *,
                             int64_t);
using RotaryFn = void (*)(const float *, const float *, const float *, float *,
                          int64_t);
using DecodeFn = void (*)(const uint8_t *, float *, int64_t);
using AttendFn = void (*)(const float *, const float *, const float *, float *,
                          float *, int64_t, int64_t, int64_t, int64_t);

/// A checked step of the plan with its operands resolved.
struct Step {
  format::OpCode op = format::OpCode::Add;
  uint32_t in[3] = {format::kNone, format::kNone, format::kNone};
  uint32_t out = 0;
  int32_t i[4] = {0, 0, 0, 0};
  float f[2] = {0, 0};
  int matrix = -1;                      // Linear, Embedding: Model::matrices
  std::vector<float> vector;            // RMSNorm weight or Linear bias, as f32
  const uint8_t *weightBytes = nullptr; // tensor0's bytes, for kernels
  int rotary = -1;                      // Model::rotaryFreqs
  uint32_t tensor0 = format::kNone;     // the step's first tensor, checked
  uint32_t tensor1 = format::kNone;     // (Norm)LinearSwiGLU: the up weight;
                                        // NormLinearQKV: the k weight
  uint32_t tensor2 = format::kNone;     // NormLinearQKV: the v weight
  uint32_t out2 = format::kNone;        // NormLinearQKV: the k output
  uint32_t out3 = format::kNone;        // NormLinearQKV: the v output
  uint32_t normTensor = format::kNone;  // Norm*: the RMSNorm weight
  uint32_t kernel = format::kNone;
  uint32_t appendKernel = format::kNone; // cuda Attention: KvAppend
  uint32_t gemmKernel = format::kNone;   // cuda GEMV steps: prefill GEMM
  void *fn = nullptr; // the generated kernel, when kernel != kNone
  /// cpu Linear of a packed weight: the generated decode of one row.
  uint32_t decodeKernel = format::kNone;
  DecodeFn decodeFn = nullptr;
};

/// The kCpuFeatures (format::KernelsHeader::cpuFeatures bits) this CPU and
/// its OS support.
uint64_t hostCpuFeatures();

/// The names of the kCpuFeatures bits set in `bits`, comma-separated.
std::string cpuFeatureNames(uint64_t bits);

struct Model {
  /// Maps and verifies `path`; throws Error. Without `loadCode` the
  /// generated kernels are checked but not loaded, and every step runs the
  /// built-in kernel (the fuzzer's mode: it never maps mutated machine code).
  static std::shared_ptr<Model> open(const char *path, bool verifyChecksum,
                                     bool loadCode = true);

  std::string path;
  uint64_t fileBytes = 0;
  format::ModelConfig config{};
  const char *name = "";
  std::vector<Tensor> tensors;
  std::vector<uint32_t> bufferWidths;
  format::PlanHeader plan{};
  std::vector<Step> steps;
  std::vector<Matrix> matrices;
  /// The distinct inverse-frequency vectors of the rotary steps.
  std::vector<std::vector<float>> rotaryFreqs;
  uint32_t compiledSteps = 0;
  uint32_t maxWidth = 0;

  /// A cuda artifact: the cubin (inside the mapping), the chip it was
  /// compiled for (90 for sm_90) and the kernel symbols by index.
  bool cuda = false;
  const uint8_t *cudaCode = nullptr;
  uint64_t cudaCodeSize = 0;
  uint32_t cudaChip = 0;
  std::vector<std::string> kernelNames;

  /// The artifact's generated GEMM micro-kernels (KernelAbi::GemmBlock),
  /// once loaded; null: the runtime's own.
  const gemm::KernelSet *gemmKernels() const {
    return gemmSet.table ? &gemmSet : nullptr;
  }
  gemm::KernelSet gemmSet{"generated", 0, 0, 0, 0, nullptr};
  std::vector<gemm::Kernel> gemmTable;

  Mapping mapping;
  CodeObject code;
};

} // namespace s10rt

#endif // S10RT_SRC_MODEL_H
