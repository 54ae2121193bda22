//===- Synth.h - LLaMA-shaped artifacts with seeded weights -----*- C++ -*-===//
//
// Writes a .s10 artifact of a LLaMA-family decoder of any shape whose
// weights come from seeds (s10/Quant/GpuCases.h randomWeight), so that a
// 7B- or 70B-shaped model can be timed on a machine the weights were never
// copied to. The plan is the one s10-compile writes for a LLaMA decoder:
// embedding; per block RMSNorm, q/k/v, rotary, attention over the KV cache,
// o, residual add, RMSNorm, gate/up, SwiGLU, down, residual add; final
// RMSNorm and the lm_head. Every block holds its own copy of its weights
// (what a decode step reads is the model's true size), built from the seed
// of the case of its role, so that packed weights match the salient counts
// the kernels were compiled for.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_TOOLS_SYNTH_H
#define S10RT_TOOLS_SYNTH_H

#include "s10/Quant/GpuCases.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace s10rt::synth {

namespace gc = s10::quant::gpucases;

struct Options {
  gc::LlamaShape shape;
  gc::LinearFormat linear;
  /// A cuda artifact: every step launches the manifest's kernel for its
  /// role, from `cubin`, compiled for sm_<chip>. Otherwise a CPU artifact
  /// whose steps run the runtime's own kernels.
  bool cuda = false;
  uint32_t chip = 0;
  std::string cubin;
  /// cuda: the compiled kernels (cases.txt); the weights of a role come
  /// from the seed of the manifest case whose kernel it runs.
  std::vector<gc::Case> manifest;
  /// o and down run with the residual add, gate and up with SwiGLU, as
  /// fused GEMVs (a cuda artifact; a CPU one runs them unfused on the same
  /// weights): the weights come from the fused roles' cases.
  bool fuse = true;
  /// The seed of the embedding, norms and lm_head; for a CPU artifact
  /// also of the linear layers (llamaCases' first seed).
  uint64_t seed = 1;
  /// Called with a line of progress; may be empty.
  std::function<void(const std::string &)> progress;
};

struct Summary {
  uint64_t fileBytes = 0, weightBytes = 0;
  /// Bytes and weights of the decoder's linear layers (the lm_head and
  /// the embedding excluded): their true bits per weight.
  uint64_t linearBytes = 0, linearWeights = 0;
  unsigned steps = 0, kernels = 0, tensors = 0;
};

/// Writes the artifact to `path` (through a temporary file renamed at the
/// end: no partial output). Throws std::runtime_error naming what is wrong:
/// a role without a kernel in the manifest, weights whose salient count
/// differs from the kernel's, a file that cannot be written.
Summary write(const Options &options, const std::string &path);

} // namespace s10rt::synth

#endif // S10RT_TOOLS_SYNTH_H
