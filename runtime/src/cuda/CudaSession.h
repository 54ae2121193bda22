//===- CudaSession.h - A sequence run on a GPU ------------------*- C++ -*-===//
//
// Runs the plan of a cuda artifact: every step is a launch of the kernel it
// names (lib/Codegen/GpuKernelBuilder.h ABIs, docs/cuda.md). Weights,
// activation buffers (sized for the longest chunk), the KV cache, the
// rotary tables and the attention scores live on the device, allocated up
// front; only token ids and the position go up and logits come down. The
// first decode step (one token) is captured as a graph, which every later
// decode step replays: the kernels read the position from device memory.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_CUDA_CUDASESSION_H
#define S10RT_SRC_CUDA_CUDASESSION_H

#include "Session.h"
#include "cuda/Device.h"

namespace s10rt::cuda {

class CudaSession final : public SessionBase {
public:
  /// Throws Error for bad options, a cubin for another chip, or when device
  /// memory runs out.
  CudaSession(std::shared_ptr<const Model> model,
              const s10_session_options_t &options,
              std::unique_ptr<Device> device);

  void prefill(const int32_t *ids, size_t count, float *allLogits) override;
  const float *logits() const override {
    return length_ ? logits_.data() : nullptr;
  }
  size_t vocab() const override { return model_->config.vocab; }
  size_t length() const override { return length_; }
  void reset() override { length_ = 0; }

private:
  DevicePtr alloc(size_t bytes);
  /// Queues the plan's launches for `tokens` tokens.
  void queueChunk(int64_t tokens);
  /// A GEMV step of `rows` rows: its GEMV, or its prefill GEMM for a chunk
  /// of several tokens.
  void launchGemv(const Step &s, int64_t rows, int64_t tokens, void **args);
  bool gemvPrefill_ = false; // prefill through the GEMVs, not the GEMMs

  /// Device memory, freed when the session goes (or its constructor
  /// throws half way).
  struct Owned {
    Device *device = nullptr;
    std::vector<DevicePtr> ptrs;
    ~Owned() {
      for (DevicePtr p : ptrs)
        device->free(p);
    }
  };

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Device> device_;
  Owned owned_; // after device_: freed before it
  uint32_t maxContext_ = 0, maxChunk_ = 0;
  std::vector<DevicePtr> buffers_; // plan buffers, [maxChunk][width] f32
  std::vector<DevicePtr> tensors_; // by tensor index, 0 if unused
  std::vector<DevicePtr> rotary_;  // per Model::rotaryFreqs: (cos, sin)
  std::vector<DevicePtr> kv_;      // per slot: K then V [maxContext][kvW]
  DevicePtr ids_ = 0, pos_ = 0, scores_ = 0, alias_ = 0;
  int64_t decodeGraph_ = -1;
  std::vector<float> logits_;
  size_t length_ = 0;
};

} // namespace s10rt::cuda

#endif // S10RT_SRC_CUDA_CUDASESSION_H
