//===- Session.h - A sequence being run through a model ---------*- C++ -*-===//
//
// A session owns everything one sequence needs: the activation arena (every
// plan buffer sized for the longest chunk), the KV cache, the rotary tables,
// per-thread scratch and a thread pool. All of it is allocated up front (the
// rotary tables grow before a call runs anything), so a call either fails
// before it changes the session or runs to the end.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_SESSION_H
#define S10RT_SRC_SESSION_H

#include "Model.h"
#include "ThreadPool.h"

#include "s10-c/runtime.h"

#include <memory>
#include <vector>

namespace s10rt {

/// The context and chunk lengths of a session on `model`; throws Error for
/// a max_context past the model's max_positions.
void sessionLengths(const Model &model, const s10_session_options_t &options,
                    uint32_t &maxContext, uint32_t &maxChunk);

/// Throws Error (before anything runs) unless `count` tokens `ids` fit
/// after `length` tokens of `maxContext` and lie in the vocab.
void checkPrefill(const Model &model, const int32_t *ids, size_t count,
                  size_t length, uint32_t maxContext);

/// What the C API needs of a session, on the CPU or a GPU.
class SessionBase {
public:
  virtual ~SessionBase() = default;
  /// Appends and runs `count` tokens; `allLogits`, when not null, receives
  /// [count, vocab] floats. Throws Error (and leaves the session as it was)
  /// for ids outside the vocab or a full context.
  virtual void prefill(const int32_t *ids, size_t count, float *allLogits) = 0;
  /// The last token's logits, or null before any token ran.
  virtual const float *logits() const = 0;
  virtual size_t vocab() const = 0;
  virtual size_t length() const = 0;
  virtual void reset() = 0;
};

class Session final : public SessionBase {
public:
  /// Throws Error for bad options or when memory runs out.
  Session(std::shared_ptr<const Model> model,
          const s10_session_options_t &options);

  void prefill(const int32_t *ids, size_t count, float *allLogits) override;
  const float *logits() const override { return logits_; }
  size_t vocab() const override { return model_->config.vocab; }
  size_t length() const override { return length_; }
  void reset() override;

private:
  struct RotaryTable {
    std::vector<float> cos, sin; // [positions, half]
    int64_t positions = 0;
  };
  float *buffer(uint32_t b) const { return buffers_[b]; }
  float *threadScratch(unsigned part) {
    return scratch_.data() + size_t(part) * scratchPerThread_;
  }
  void ensureRotary(int64_t positions);
  void runChunk(const int32_t *ids, int64_t tokens);
  void embedding(const Step &s, const int32_t *ids, int64_t tokens);
  void rmsNorm(const Step &s, int64_t tokens);
  /// `count` consecutive Linear steps that read the same buffer (and write
  /// others when count > 1), as one parallel region.
  void linears(const Step *group, size_t count, int64_t tokens);
  /// Rows [r0, r1) of a Linear for each of `tokens` tokens, one at a time.
  void gemvRows(const Step &s, const Matrix &mat, const float *x, float *y,
                int64_t tokens, int64_t r0, int64_t r1, float *scratch);
  /// The panel of rows from r0 of a Linear for a chunk of tokens: packed
  /// rows decoded by the step's generated decode kernel where it has one.
  void gemmPanel(const Step &s, const Matrix &mat, const float *x, float *y,
                 int64_t tokens, int64_t r0, float *scratch);
  void rotary(const Step &s, int64_t tokens);
  void attention(const Step &s, int64_t tokens);
  /// Attention of `rows` queries of one kv head; see Session.cpp.
  void attendRows(const Step &s, int64_t g, const float *q, int64_t qStride,
                  float *out, int64_t rows, int64_t n0, int64_t inc,
                  float *scores);
  void elementwise(const Step &s, int64_t tokens);

  std::shared_ptr<const Model> model_;
  uint32_t maxContext_ = 0, maxChunk_ = 0;
  ThreadPool pool_;
  std::vector<float> arena_;
  std::vector<float *> buffers_;
  /// Per KV slot: keys in blocks of 64 positions, each [kvWidth][64] (so
  /// queries multiply a block as a panel), then values [maxContext][kvWidth].
  std::vector<float> kv_;
  size_t kvSlotFloats_ = 0, valuesOffset_ = 0;
  int64_t scoreStride_ = 0;     // floats per row of attention scores
  std::vector<float> aliasOut_; // a Linear's output when it is its input
  std::vector<float> scratch_;  // per thread: panels, rows, scores
  size_t scratchPerThread_ = 0;
  int64_t maxIn_ = 0;
  s10::quant::layout::GemvScratch gemv_;
  std::vector<RotaryTable> rotary_;
  /// For the first step of a run of Linear steps that run together, their
  /// count (at most kMaxGroup); 1 elsewhere.
  std::vector<size_t> linearGroup_;
  static constexpr size_t kMaxGroup = 8;
  size_t length_ = 0;
  const float *logits_ = nullptr; // the last token's row of the logits
};

} // namespace s10rt

#endif // S10RT_SRC_SESSION_H
