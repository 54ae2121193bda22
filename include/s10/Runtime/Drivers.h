//===- Drivers.h - Perplexity and greedy generation -------------*- C++ -*-===//
//
// The evaluation loops on top of the executor, shared by s10-run, tests and
// any tool that needs the model's quality or output.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_DRIVERS_H
#define S10_RUNTIME_DRIVERS_H

#include "s10/Runtime/Executor.h"

#include <functional>
#include <optional>

namespace s10::runtime {

/// The largest sequence the model accepts: the module's
/// `squeeze.max_positions` integer attribute, else `fallback`.
int64_t getMaxPositions(mlir::ModuleOp module, int64_t fallback = 2048);

struct PerplexityOptions {
  int64_t seqlen = 512;
  /// Evaluate at most this many windows (<= 0: all).
  int64_t maxWindows = 0;
  /// Called after every window with (windows done, total, seconds so far).
  std::function<void(int64_t, int64_t, double)> progress;
};

struct PerplexityResult {
  double perplexity = 0;
  double meanNll = 0;
  /// Tokens of the whole text, windows evaluated, positions scored.
  int64_t tokens = 0, windows = 0, predicted = 0;
  double seconds = 0;
  /// Tokens run through the model per second (windows * seqlen / seconds).
  double tokensPerSecond = 0;
  /// The seconds of the forward passes alone (no scoring), and the tokens
  /// per second of those: the prefill speed.
  double forwardSeconds = 0, forwardTokensPerSecond = 0;
};

/// Non-overlapping windows of `seqlen` tokens (the tail dropped), each run
/// alone; exp of the mean NLL over the seqlen - 1 predicted positions of
/// every window (log-softmax accumulated in double). The model maps
/// input_ids [1, seqlen] to logits [1, seqlen, vocab] as its first result.
llvm::Expected<PerplexityResult>
evaluatePerplexity(Executor &exec, llvm::ArrayRef<int64_t> ids,
                   const PerplexityOptions &opts);

/// Sum of -log softmax(logits[t])[targets[t]] over rows, in double.
double sumNll(ThreadPool *pool, const float *logits, int64_t rows,
              int64_t vocab, llvm::ArrayRef<int64_t> targets);

struct GenerateOptions {
  int64_t maxNewTokens = 32;
  /// Stop after emitting this token (not stopping when unset).
  std::optional<int64_t> eosId;
  /// Hard limit on the total sequence length.
  int64_t maxPositions = 2048;
  /// Called with every new token.
  std::function<void(int64_t)> onToken;
};

struct GenerateResult {
  /// Prompt followed by the generated tokens.
  std::vector<int64_t> ids;
  int64_t promptTokens = 0, newTokens = 0;
  /// Logits of the prompt positions ([promptTokens, vocab]).
  Tensor promptLogits;
  double seconds = 0;
  /// New tokens per second, prefill included.
  double tokensPerSecond = 0;
};

/// Greedy decoding through Executor::step (KV cache when the model has
/// squeeze.attention, full re-runs otherwise). Resets the cache first.
llvm::Expected<GenerateResult> generateGreedy(Executor &exec,
                                              llvm::ArrayRef<int64_t> prompt,
                                              const GenerateOptions &opts);

} // namespace s10::runtime

#endif // S10_RUNTIME_DRIVERS_H
