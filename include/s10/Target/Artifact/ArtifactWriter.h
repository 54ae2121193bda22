//===- ArtifactWriter.h - Write a raised model as a .s10 artifact -*- C++
//-*-===//
//
// Turns the straight-line squeeze function of a raised (and usually packed)
// model into the .s10 format of runtime/include/s10rt/Format.h: the model
// config, every constant tensor it needs (read from external storage, so
// the artifact runs without the ONNX files), an execution plan with buffer
// reuse, and optionally a code object holding generated kernels.
//
//===----------------------------------------------------------------------===//

#ifndef S10_TARGET_ARTIFACT_ARTIFACTWRITER_H
#define S10_TARGET_ARTIFACT_ARTIFACTWRITER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace s10::target {

struct ArtifactOptions {
  /// The file the module was read from: relative weight paths resolve
  /// against it (see WeightStore::baseDirFor).
  std::string modulePath;
  /// The model's name in the artifact ("" = the module file's stem).
  std::string name;
  /// An x86-64 shared object with the kernels that model ops name through
  /// their `s10.kernel` attribute; empty = every step runs the runtime's
  /// own kernels.
  std::string codeObject;
  /// Token ids of the tokenizer's BOS/EOS, -1 if unknown.
  int64_t bosId = -1, eosId = -1;
  /// A CUDA artifact: `codeObject` is a cubin for sm_<cudaChip> and every
  /// step must name its kernel (the GpuKernelBuilder.h ABIs).
  bool cuda = false;
  uint32_t cudaChip = 0;
  /// A CPU code object: the x86-64 features it may use, as
  /// cpuFeatureBits() gives them.
  uint64_t cpuFeatures = 0;
};

/// The artifact's bits (s10rt::format::kCpuFeatures) for the LLVM x86
/// feature names `features`; names it does not list are left out.
uint64_t cpuFeatureBits(llvm::ArrayRef<std::string> features);
/// The names of the bits set in `bits`, in bit order.
std::vector<std::string> cpuFeatureNames(uint64_t bits);

struct ArtifactSummary {
  uint64_t fileBytes = 0, weightBytes = 0, packedBytes = 0, codeBytes = 0;
  /// Weights of packed matrices (logical elements) and of dense matrices.
  int64_t packedWeights = 0, denseWeights = 0;
  /// `kernels`: the kernels the steps call; besides them the artifact has
  /// `decodeKernels` (prefill panels of packed weights) and `gemmKernels`
  /// (the prefill GEMM's micro-kernels).
  unsigned steps = 0, buffers = 0, tensors = 0, kernels = 0;
  unsigned decodeKernels = 0, gemmKernels = 0;
  unsigned compiledSteps = 0;
  /// Floats of activation arena per token of a chunk.
  uint64_t arenaFloatsPerToken = 0;
};

/// Serializes `module` into `bytes`. Fails with a message naming the op at
/// fault when the function holds anything the plan cannot express.
llvm::Error writeArtifact(mlir::ModuleOp module, const ArtifactOptions &opts,
                          std::string &bytes, ArtifactSummary &summary);

} // namespace s10::target

#endif // S10_TARGET_ARTIFACT_ARTIFACTWRITER_H
