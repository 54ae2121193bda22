//===- TinyModel.h - A random tiny LLaMA and its reference ------*- C++ -*-===//
//
// Builds a small LLaMA-pattern artifact with random weights in every storage
// the runtime reads (f32, f16, packed kbit and bitmap with f16 and q8
// parameters), and computes its logits the plain way from dense float
// copies of the same weights.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_TESTS_TINYMODEL_H
#define S10RT_TESTS_TINYMODEL_H

#include "ArtifactWriter.h"

#include <cstdint>
#include <vector>

namespace s10rt::test {

struct TinyOptions {
  uint32_t vocab = 64, hidden = 32, layers = 2, heads = 4, kvHeads = 2,
           headDim = 8, intermediate = 64, maxPositions = 64;
  uint64_t seed = 1;
  /// Steps call the test kernels in `code` (tests/TestKernels.c).
  bool kernels = false;
  std::vector<uint8_t> code;
  /// The lm_head calls the kernel computing 2 W x.
  bool doubledHead = false;
  /// With `kernels`: a GemmBlock table of one row and one vector of 4
  /// (tests/TestKernels.c) for prefill; `zeroGemm`: one that writes zeros.
  bool gemmTable = false, zeroGemm = false;
  /// Every decoder linear as Squeeze10 ships it (1-bit bitmap with 4-bit
  /// salient weights, groups of 128, f16 parameters) instead of the mix.
  bool squeezed = false;
};

struct DenseLinear {
  int64_t out = 0, in = 0;
  std::vector<float> w;    // [out, in]
  std::vector<float> bias; // [out] or empty
};

struct TinyModel {
  TinyOptions options;
  ArtifactData artifact;
  float eps = 1e-5f;
  std::vector<float> embed; // [vocab, hidden]
  struct Layer {
    std::vector<float> attnNorm, ffnNorm;
    DenseLinear q, k, v, o, gate, up, down;
  };
  std::vector<Layer> layers;
  std::vector<float> finalNorm;
  DenseLinear lmHead;
  std::vector<float> invFreq;
  float headScale = 1.0f;

  static TinyModel build(const TinyOptions &options);
  /// The logits of every position of `ids`, [ids.size(), vocab].
  std::vector<float> reference(const std::vector<int32_t> &ids) const;
};

} // namespace s10rt::test

#endif // S10RT_TESTS_TINYMODEL_H
