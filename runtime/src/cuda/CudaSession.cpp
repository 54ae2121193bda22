//===- CudaSession.cpp - A sequence run on a GPU --------------------------===//

#include "cuda/CudaSession.h"

#include "Error.h"
#include "Kernels.h"

#include <algorithm>
#include <cmath>

using namespace s10rt;
using namespace s10rt::cuda;
using namespace s10rt::format;

namespace {

// The launch shapes of lib/Codegen/GpuKernelBuilder.h: a GEMV block takes
// 4 rows, a prefill GEMM block 32 rows of 32 tokens.
constexpr unsigned kWarp = 32, kRowsPerBlock = 4, kBlock = 256;
constexpr unsigned kGemmRowsPerBlock = 32, kGemmTokens = 32;

unsigned blocks(int64_t n, int64_t per) {
  return unsigned((n + per - 1) / per);
}

/// a * b, or an error past 2^40.
uint64_t product(uint64_t a, uint64_t b) {
  uint64_t n;
  if (__builtin_mul_overflow(a, b, &n) || n > (uint64_t(1) << 40))
    throw Error(S10_RESOURCE_EXHAUSTED, "the session needs too much memory");
  return n;
}

} // namespace

DevicePtr CudaSession::alloc(size_t bytes) {
  owned_.ptrs.reserve(owned_.ptrs.size() + 1);
  DevicePtr p = device_->alloc(bytes);
  owned_.ptrs.push_back(p);
  return p;
}

CudaSession::CudaSession(std::shared_ptr<const Model> model,
                         const s10_session_options_t &options,
                         std::unique_ptr<Device> device)
    : model_(std::move(model)), device_(std::move(device)) {
  owned_.device = device_.get();
  const Model &m = *model_;
  if (!m.cuda)
    throw Error(S10_INVALID_ARGUMENT, "not a cuda artifact");
  if (m.cudaChip && device_->chip() != m.cudaChip)
    throw Error(S10_UNIMPLEMENTED, "the kernels were compiled for sm_" +
                                       std::to_string(m.cudaChip) +
                                       ", the GPU (" + device_->name() +
                                       ") is sm_" +
                                       std::to_string(device_->chip()));
  sessionLengths(m, options, maxContext_, maxChunk_);
  gemvPrefill_ = options.gemv_prefill != 0;
  device_->loadKernels(m.cudaCode, m.cudaCodeSize, m.kernelNames);

  for (uint32_t w : m.bufferWidths)
    buffers_.push_back(alloc(product(product(w, maxChunk_), 4)));
  // Weights as the artifact stores them, each uploaded once.
  tensors_.assign(m.tensors.size(), 0);
  int64_t scoreRows = 0;
  for (const Step &s : m.steps) {
    for (uint32_t k : {s.tensor0, s.tensor1, s.tensor2, s.normTensor})
      if (k != kNone && !tensors_[k]) {
        const Tensor &t = m.tensors[k];
        tensors_[k] = alloc(t.size);
        device_->upload(tensors_[k], t.data, t.size);
      }
    if (s.op == OpCode::Attention || s.op == OpCode::RopeAttention)
      scoreRows = std::max<int64_t>(scoreRows, s.i[0]);
    if (s.op == OpCode::Linear && s.out == s.in[0] && !alias_)
      alias_ = alloc(product(product(m.maxWidth, maxChunk_), 4));
  }
  // (cos, sin) per position and frequency, as the CPU session computes
  // them.
  for (const std::vector<float> &inv : m.rotaryFreqs) {
    size_t half = inv.size();
    std::vector<float> cs(size_t(product(product(maxContext_, half), 2)));
    for (size_t p = 0; p < maxContext_; ++p)
      for (size_t i = 0; i < half; ++i)
        kernels::rotaryAngle(inv[i], int64_t(p), cs[(p * half + i) * 2],
                             cs[(p * half + i) * 2 + 1]);
    rotary_.push_back(alloc(cs.size() * 4));
    device_->upload(rotary_.back(), cs.data(), cs.size() * 4);
  }
  for (uint32_t k = 0; k < m.plan.kvSlots; ++k)
    kv_.push_back(
        alloc(product(product(product(maxContext_, m.plan.kvWidth), 2), 4)));
  if (scoreRows)
    scores_ =
        alloc(product(product(product(maxChunk_, scoreRows), maxContext_), 4));
  ids_ = alloc(size_t(maxChunk_) * 4);
  pos_ = alloc(8);
  logits_.assign(m.config.vocab, 0.0f);
}

void CudaSession::prefill(const int32_t *ids, size_t count, float *allLogits) {
  const Model &m = *model_;
  if (count == 0)
    return;
  checkPrefill(m, ids, count, length_, maxContext_);
  size_t vocab = m.config.vocab;
  DevicePtr logitsBuf = buffers_[m.plan.logitsBuffer];
  device_->activate();
  for (size_t done = 0; done < count;) {
    int64_t tokens = int64_t(std::min<size_t>(maxChunk_, count - done));
    int64_t pos0 = int64_t(length_);
    device_->upload(ids_, ids + done, size_t(tokens) * 4);
    device_->upload(pos_, &pos0, 8);
    if (tokens == 1) {
      if (decodeGraph_ < 0) {
        device_->beginCapture();
        queueChunk(1);
        decodeGraph_ = int64_t(device_->endCapture());
      }
      device_->replay(uint32_t(decodeGraph_));
    } else {
      queueChunk(tokens);
    }
    device_->synchronize();
    // The last token's row: from the rows just fetched, else from the GPU.
    if (allLogits) {
      device_->download(allLogits + done * vocab, logitsBuf,
                        size_t(tokens) * vocab * 4);
      std::copy_n(allLogits + (done + size_t(tokens) - 1) * vocab, vocab,
                  logits_.begin());
    } else {
      device_->download(logits_.data(),
                        logitsBuf + uint64_t(tokens - 1) * vocab * 4,
                        vocab * 4);
    }
    length_ += size_t(tokens);
    done += size_t(tokens);
  }
}

void CudaSession::launchGemv(const Step &s, int64_t rows, int64_t tokens,
                             void **args) {
  // Several tokens take the step's prefill GEMM where it has one: each
  // weight is decoded once per 32 tokens instead of once per token.
  if (tokens > 1 && s.gemmKernel != kNone && !gemvPrefill_)
    device_->launch(s.gemmKernel, blocks(rows, kGemmRowsPerBlock),
                    blocks(tokens, kGemmTokens), kRowsPerBlock * kWarp, args);
  else
    device_->launch(s.kernel, blocks(rows, kRowsPerBlock), unsigned(tokens),
                    kRowsPerBlock * kWarp, args);
}

void CudaSession::queueChunk(int64_t tokens) {
  const Model &m = *model_;
  int64_t maxCtx = maxContext_;
  for (const Step &s : m.steps) {
    DevicePtr out = buffers_[s.out];
    DevicePtr in0 = s.in[0] != kNone ? buffers_[s.in[0]] : 0;
    DevicePtr in1 = s.in[1] != kNone ? buffers_[s.in[1]] : 0;
    DevicePtr w = s.tensor0 != kNone ? tensors_[s.tensor0] : 0;
    int64_t width = m.bufferWidths[s.out];
    switch (s.op) {
    case OpCode::Embedding: {
      void *args[] = {&w, &ids_, &out, &tokens};
      device_->launch(s.kernel, unsigned(tokens), 1, kBlock, args);
      break;
    }
    case OpCode::RMSNorm: {
      void *args[] = {&in0, &w, &out, &tokens};
      device_->launch(s.kernel, blocks(tokens, kRowsPerBlock), 1,
                      kRowsPerBlock * kWarp, args);
      break;
    }
    case OpCode::Linear: {
      // A GEMV must not write the rows it reads.
      DevicePtr y = s.out == s.in[0] ? alias_ : out;
      void *args[] = {&w, &in0, &y, &tokens};
      launchGemv(s, width, tokens, args);
      if (y != out)
        device_->copy(out, y, size_t(tokens * width) * 4);
      break;
    }
    case OpCode::Rotary: {
      DevicePtr cs = rotary_[size_t(s.rotary)];
      int64_t pairs = tokens * width / 2;
      void *args[] = {&in0, &cs, &out, &tokens, &pos_};
      device_->launch(s.kernel, blocks(pairs, kBlock), 1, kBlock, args);
      break;
    }
    case OpCode::Attention: {
      // The chunk's keys and values join the cache first: the output may
      // then overwrite the key or value buffer.
      DevicePtr kv = kv_[size_t(s.i[3])], in2 = buffers_[s.in[2]];
      void *append[] = {&in1, &in2, &kv, &tokens, &pos_, &maxCtx};
      device_->launch(s.appendKernel,
                      blocks(tokens * int64_t(m.plan.kvWidth), kBlock), 1,
                      kBlock, append);
      void *args[] = {&in0, &kv, &out, &scores_, &tokens, &pos_, &maxCtx};
      device_->launch(s.kernel, blocks(s.i[0], kRowsPerBlock), unsigned(tokens),
                      kRowsPerBlock * kWarp, args);
      break;
    }
    case OpCode::RopeAttention: {
      // One launch rotates q in place, rotates k into the cache and copies
      // v; then the attention reads the rotated q.
      DevicePtr kv = kv_[size_t(s.i[3])], in2 = buffers_[s.in[2]];
      DevicePtr cs = rotary_[size_t(s.rotary)];
      int64_t half = s.i[2] / 2;
      int64_t units =
          tokens * (s.i[0] * half + s.i[1] * half + int64_t(m.plan.kvWidth));
      void *append[] = {&in0, &in1, &in2, &cs, &kv, &tokens, &pos_, &maxCtx};
      device_->launch(s.appendKernel, blocks(units, kBlock), 1, kBlock, append);
      void *args[] = {&in0, &kv, &out, &scores_, &tokens, &pos_, &maxCtx};
      device_->launch(s.kernel, blocks(s.i[0], kRowsPerBlock), unsigned(tokens),
                      kRowsPerBlock * kWarp, args);
      break;
    }
    case OpCode::LinearAdd: {
      // The plan never writes a buffer the step reads.
      void *args[] = {&w, &in0, &in1, &out, &tokens};
      launchGemv(s, width, tokens, args);
      break;
    }
    case OpCode::LinearSwiGLU: {
      DevicePtr up = tensors_[s.tensor1];
      void *args[] = {&w, &up, &in0, &out, &tokens};
      launchGemv(s, width, tokens, args);
      break;
    }
    case OpCode::NormLinear: {
      DevicePtr g = tensors_[s.normTensor];
      void *args[] = {&w, &g, &in0, &out, &tokens};
      launchGemv(s, width, tokens, args);
      break;
    }
    case OpCode::NormLinearSwiGLU: {
      DevicePtr up = tensors_[s.tensor1], g = tensors_[s.normTensor];
      void *args[] = {&w, &up, &g, &in0, &out, &tokens};
      launchGemv(s, width, tokens, args);
      break;
    }
    case OpCode::NormLinearQKV: {
      // The grid's rows are q's, then k's, then v's.
      DevicePtr wk = tensors_[s.tensor1], wv = tensors_[s.tensor2];
      DevicePtr g = tensors_[s.normTensor];
      DevicePtr yk = buffers_[s.out2], yv = buffers_[s.out3];
      int64_t rows = width + int64_t(m.bufferWidths[s.out2]) +
                     int64_t(m.bufferWidths[s.out3]);
      void *args[] = {&w, &wk, &wv, &g, &in0, &out, &yk, &yv, &tokens};
      launchGemv(s, rows, tokens, args);
      break;
    }
    case OpCode::SwiGLU:
    case OpCode::Add: {
      int64_t n = tokens * width;
      void *args[] = {&in0, &in1, &out, &n};
      device_->launch(s.kernel, blocks(n, kBlock), 1, kBlock, args);
      break;
    }
    }
  }
}
