//===- Bench.cpp - Decode and prefill speed of a synthetic model ----------===//
//
//   s10rt-bench [threads] [tokens] [model.s10] [prompt tokens]
//
// Times prefill (256 tokens, one chunk) and greedy decode through the C
// API, best of five runs each, of
// model.s10 or else of a synthetic model of the bundled llama-12m's shape
// (hidden 384, 6 layers, 6 heads over 2 kv heads of 64, intermediate 1024,
// vocab 4096) with Squeeze10-style packed linears and an f16 lm_head.
//
//===----------------------------------------------------------------------===//

#include "TinyModel.h"

#include "s10-c/runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace s10rt::test;

static bool check(s10_status_t s) {
  if (!s)
    return true;
  std::fprintf(stderr, "error: %s\n", s10_status_message(s));
  s10_status_free(s);
  return false;
}

static double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

int main(int argc, char **argv) {
  unsigned threads = argc > 1 ? unsigned(std::atoi(argv[1])) : 2;
  int tokens = argc > 2 ? std::atoi(argv[2]) : 256;
  int promptTokens = argc > 4 ? std::atoi(argv[4]) : 256;
  s10_model_t *model = nullptr;
  s10_session_t *session = nullptr;
  s10_session_options_t so;
  s10_session_options_init(&so);
  so.threads = threads;
  if (tokens < 1 || promptTokens < 3) {
    std::fprintf(stderr, "usage: s10rt-bench [threads] [tokens >= 1] "
                         "[model.s10] [prompt tokens >= 3]\n");
    return 1;
  }
  so.max_chunk = uint32_t(promptTokens);
  if (argc > 3 && *argv[3]) {
    if (!check(s10_model_open(argv[3], nullptr, &model)))
      return 1;
  } else {
    TinyOptions o;
    o.vocab = 4096;
    o.hidden = 384;
    o.layers = 6;
    o.heads = 6;
    o.kvHeads = 2;
    o.headDim = 64;
    o.intermediate = 1024;
    o.maxPositions = 2048;
    o.squeezed = true;
    TinyModel m = TinyModel::build(o);
    std::string path = "/tmp/s10rt-bench-" + std::to_string(getpid()) + ".s10";
    writeFile(path, m.artifact.serialize());
    s10_status_t st = s10_model_open(path.c_str(), nullptr, &model);
    unlink(path.c_str());
    if (!check(st))
      return 1;
  }
  if (!check(s10_session_create(model, &so, &session)))
    return 1;
  s10_model_info_t info;
  if (!check(s10_model_info(model, &info)))
    return 1;
  // Best of a few runs: the machines this runs on are often shared.
  constexpr int kRuns = 5;
  std::vector<int32_t> prompt(static_cast<size_t>(promptTokens));
  for (size_t i = 0; i < prompt.size(); ++i)
    prompt[i] = int32_t((i * 131 + 7) % info.vocab);
  double prefill = 1e30, decode = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    s10_session_reset(session);
    auto t0 = std::chrono::steady_clock::now();
    if (!check(s10_session_prefill(session, prompt.data(), prompt.size(),
                                   nullptr)))
      return 1;
    prefill = std::min(prefill, seconds(t0));
  }
  for (int run = 0; run < kRuns; ++run) {
    // Decode after a three-token prompt, as `s10-run --ids 1,343,319`.
    s10_session_reset(session);
    if (!check(s10_session_prefill(session, prompt.data(), 3, nullptr)))
      return 1;
    auto t0 = std::chrono::steady_clock::now();
    int32_t next = 1;
    for (int n = 0; n < tokens; ++n) {
      if (!check(s10_session_decode(session, next)))
        return 1;
      const float *logits;
      size_t count;
      if (!check(s10_session_logits(session, &logits, &count)))
        return 1;
      size_t best = 0;
      for (size_t i = 1; i < count; ++i)
        if (logits[i] > logits[best])
          best = i;
      next = int32_t(best);
    }
    decode = std::min(decode, seconds(t0));
  }
  std::printf("threads %u: prefill %zu tokens %.1f tokens/s, decode %d "
              "tokens %.1f tokens/s (%s, best of %d)\n",
              threads, prompt.size(), double(prompt.size()) / prefill, tokens,
              tokens / decode, s10_runtime_version(), kRuns);
  s10_session_free(session);
  s10_model_free(model);
  return 0;
}
