//===- Drivers.cpp - Perplexity and greedy generation ---------------------===//

#include "s10/Runtime/Drivers.h"

#include "OnnxKernels.h"

#include "s10/Runtime/ThreadPool.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <chrono>
#include <cmath>

using namespace llvm;
using namespace s10::runtime;

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The logits result: the first output, [1, seq, vocab] or [seq, vocab].
Expected<Tensor> logitsOf(std::vector<Tensor> &outs, int64_t seq) {
  if (outs.empty())
    return makeError("the model returned no results");
  Tensor l = outs[0].toF32();
  if (l.rank() == 3 && l.dim(0) == 1)
    l = l.reshaped({l.dim(1), l.dim(2)});
  if (l.rank() != 2 || l.dim(0) != seq)
    return makeError("expected logits [1, " + Twine(seq) + ", vocab], got " +
                     outs[0].describe());
  return l;
}
} // namespace

int64_t s10::runtime::getMaxPositions(mlir::ModuleOp module, int64_t fallback) {
  if (module)
    if (auto a =
            module->getAttrOfType<mlir::IntegerAttr>("squeeze.max_positions"))
      return a.getInt();
  return fallback;
}

double s10::runtime::sumNll(ThreadPool *pool, const float *logits, int64_t rows,
                            int64_t vocab, ArrayRef<int64_t> targets) {
  std::vector<double> nll(rows, 0.0);
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *row = logits + r * vocab;
      nll[r] = logSumExpRow(row, vocab) - double(row[targets[r]]);
    }
  };
  if (pool)
    pool->parallelFor(rows, 16, body);
  else
    body(0, rows);
  double sum = 0;
  for (double v : nll)
    sum += v;
  return sum;
}

Expected<PerplexityResult>
s10::runtime::evaluatePerplexity(Executor &exec, ArrayRef<int64_t> ids,
                                 const PerplexityOptions &opts) {
  if (opts.seqlen < 2)
    return makeError("seqlen must be at least 2, got " + Twine(opts.seqlen));
  int64_t windows = int64_t(ids.size()) / opts.seqlen;
  if (windows == 0)
    return makeError("the text has " + Twine(ids.size()) +
                     " tokens, fewer than one window of " + Twine(opts.seqlen));
  if (opts.maxWindows > 0)
    windows = std::min(windows, opts.maxWindows);
  PerplexityResult res;
  res.tokens = ids.size();
  auto t0 = Clock::now();
  double total = 0;
  for (int64_t w = 0; w < windows; ++w) {
    ArrayRef<int64_t> win = ids.slice(w * opts.seqlen, opts.seqlen);
    Tensor input = Tensor::i64({1, opts.seqlen}, win);
    auto tf = Clock::now();
    auto outs = exec.run({input});
    res.forwardSeconds += secondsSince(tf);
    if (!outs)
      return makeError("window " + Twine(w) + ": " +
                       toString(outs.takeError()));
    auto logits = logitsOf(*outs, opts.seqlen);
    if (!logits)
      return logits.takeError();
    int64_t vocab = logits->dim(1);
    for (int64_t t = 1; t < opts.seqlen; ++t)
      if (win[t] < 0 || win[t] >= vocab)
        return makeError("token id " + Twine(win[t]) +
                         " is outside the model's vocabulary");
    double nll = sumNll(&exec.getThreadPool(), logits->f32(), opts.seqlen - 1,
                        vocab, win.drop_front());
    // A NaN or infinite perplexity is a broken model, not a result.
    if (!std::isfinite(nll))
      return makeError("window " + Twine(w) +
                       ": the model produced non-finite logits (" +
                       (std::isnan(nll) ? "NaN" : "infinite") + " NLL)");
    total += nll;
    res.predicted += opts.seqlen - 1;
    if (opts.progress)
      opts.progress(w + 1, windows, secondsSince(t0));
  }
  res.windows = windows;
  res.seconds = secondsSince(t0);
  res.meanNll = total / double(res.predicted);
  res.perplexity = std::exp(res.meanNll);
  res.tokensPerSecond =
      res.seconds > 0 ? double(windows * opts.seqlen) / res.seconds : 0;
  res.forwardTokensPerSecond =
      res.forwardSeconds > 0
          ? double(windows * opts.seqlen) / res.forwardSeconds
          : 0;
  return res;
}

Expected<GenerateResult>
s10::runtime::generateGreedy(Executor &exec, ArrayRef<int64_t> prompt,
                             const GenerateOptions &opts) {
  if (prompt.empty())
    return makeError("the prompt is empty");
  if (int64_t(prompt.size()) > opts.maxPositions)
    return makeError("the prompt has " + Twine(prompt.size()) +
                     " tokens, more than the model's " +
                     Twine(opts.maxPositions) + " positions");
  GenerateResult res;
  res.ids.assign(prompt.begin(), prompt.end());
  res.promptTokens = prompt.size();
  exec.resetCache();
  auto t0 = Clock::now();
  auto argmaxLast = [](const Tensor &logits) {
    int64_t vocab = logits.dim(1);
    const float *row = logits.f32() + (logits.dim(0) - 1) * vocab;
    int64_t best = 0;
    for (int64_t i = 1; i < vocab; ++i)
      if (row[i] > row[best])
        best = i;
    return best;
  };
  Tensor input = Tensor::i64({1, int64_t(prompt.size())}, prompt);
  for (int64_t n = 0; n < opts.maxNewTokens; ++n) {
    if (int64_t(res.ids.size()) >= opts.maxPositions)
      break;
    auto outs = exec.step({input});
    if (!outs)
      return outs.takeError();
    auto logits = logitsOf(*outs, input.dim(1));
    if (!logits)
      return logits.takeError();
    if (n == 0)
      res.promptLogits = *logits;
    int64_t next = argmaxLast(*logits);
    res.ids.push_back(next);
    ++res.newTokens;
    if (opts.onToken)
      opts.onToken(next);
    if (opts.eosId && next == *opts.eosId)
      break;
    input = Tensor::i64({1, 1}, {next});
  }
  if (opts.maxNewTokens == 0) {
    // Still produce the prompt logits.
    auto outs = exec.step({input});
    if (!outs)
      return outs.takeError();
    auto logits = logitsOf(*outs, input.dim(1));
    if (!logits)
      return logits.takeError();
    res.promptLogits = *logits;
  }
  res.seconds = secondsSince(t0);
  res.tokensPerSecond =
      res.seconds > 0 ? double(res.newTokens) / res.seconds : 0;
  return res;
}
