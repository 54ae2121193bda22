//===- ArtifactRunner.cpp - s10-run for compiled artifacts ----------------===//
//
// Generation and perplexity through the libs10rt C API, with the same
// options, output and JSON as the interpreter path, plus prefill and decode
// speeds. No MLIR or LLVM here.
//
//===----------------------------------------------------------------------===//

#include "ArtifactRunner.h"
#include "s10/Runtime/SpTokenizer.h"

#include "s10-c/runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using s10::runtime::SpTokenizer;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int fail(const std::string &msg) {
  std::fprintf(stderr, "s10-run: error: %s\n", msg.c_str());
  return 1;
}

struct Options {
  std::string model, tokenizer, prompt, ids, perplexity, json, dumpLogits,
      dumpIds;
  bool hasPrompt = false, stopAtEos = true, quiet = false;
  long long maxNewTokens = 32, seqlen = 512, maxWindows = 0, threads = 0;
  long long maxContext = 0;
};

const char *kHelp =
    "s10-run: run a compiled s10 artifact (.s10) through libs10rt\n\n"
    "  s10-run model.s10 --tokenizer tokenizer.model --prompt \"The "
    "history of\"\n"
    "  s10-run model.s10 --tokenizer tokenizer.model --perplexity test.txt\n"
    "  s10-run model.s10 --ids 1,343,319 --max-new-tokens 0 --dump-logits "
    "logits.f32\n\n"
    "Options:\n"
    "  --tokenizer=<file>      SentencePiece model (for --prompt, "
    "--perplexity)\n"
    "  --prompt=<text>         Generate a continuation (BOS + tokens)\n"
    "  --ids=<1,343,...>       Prompt as token ids (no BOS added)\n"
    "  --max-new-tokens=<N>    Tokens to generate (default 32)\n"
    "  --stop-at-eos=<bool>    Stop at the EOS token (default true)\n"
    "  --perplexity=<file>     Perplexity of a text file (.ids: token ids)\n"
    "  --seqlen=<N>            Perplexity window (default 512)\n"
    "  --max-windows=<K>       Evaluate at most K windows (default all)\n"
    "  --json=<file>           Write the results as JSON\n"
    "  --dump-logits=<file>    Write the prompt's logits (raw f32)\n"
    "  --dump-ids=<file>       Write the token ids of the prompt or the\n"
    "                          perplexity text as a .ids file\n"
    "  --threads=<N>           Worker threads (default: all cores)\n"
    "  --max-context=<N>       KV cache length (default: the model's)\n"
    "  --quiet                 No progress output\n"
    "  --version               Print the runtime version\n\n"
    "MLIR and ONNX models run through the interpreter: see s10-run "
    "model.mlir --help.\n";

bool parseInt(const std::string &s, long long &v) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long r = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end)
    return false;
  v = r;
  return true;
}

bool parseBool(const std::string &s, bool &v) {
  if (s == "true" || s == "1" || s.empty()) {
    v = true;
    return true;
  }
  if (s == "false" || s == "0") {
    v = false;
    return true;
  }
  return false;
}

/// Parses `--name=value`, `--name value`, `-name...`; returns an error
/// message or "".
std::string parseArgs(int argc, char **argv, const std::string &model,
                      Options &o, bool &help, bool &version) {
  o.model = model;
  bool seenModel = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a[0] != '-') {
      if (a == model && !seenModel) {
        seenModel = true;
        continue;
      }
      return "unexpected argument '" + a + "'";
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1), value;
    bool hasValue = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    if (name == "help" || name == "h") {
      help = true;
      continue;
    }
    if (name == "version") {
      version = true;
      continue;
    }
    if (name == "quiet") {
      if (!parseBool(value, o.quiet))
        return "--quiet takes no value";
      continue;
    }
    if (name == "stop-at-eos" && !hasValue) {
      o.stopAtEos = true;
      continue;
    }
    static const char *kValued[] = {
        "tokenizer",   "prompt",      "ids",     "max-new-tokens",
        "stop-at-eos", "perplexity",  "seqlen",  "max-windows",
        "json",        "dump-logits", "threads", "max-context",
        "dump-ids"};
    bool known = false;
    for (const char *k : kValued)
      known |= name == k;
    if (!known)
      return "unknown option '" + a + "' (see --help)";
    if (!hasValue) {
      if (i + 1 >= argc)
        return "--" + name + " needs a value";
      value = argv[++i];
    }
    auto intOpt = [&](long long &dst) -> std::string {
      if (!parseInt(value, dst))
        return "--" + name + " must be an integer, got '" + value + "'";
      return "";
    };
    std::string err;
    if (name == "tokenizer")
      o.tokenizer = value;
    else if (name == "prompt") {
      o.prompt = value;
      o.hasPrompt = true;
    } else if (name == "ids")
      o.ids = value;
    else if (name == "perplexity")
      o.perplexity = value;
    else if (name == "json")
      o.json = value;
    else if (name == "dump-logits")
      o.dumpLogits = value;
    else if (name == "dump-ids")
      o.dumpIds = value;
    else if (name == "stop-at-eos") {
      if (!parseBool(value, o.stopAtEos))
        err = "--stop-at-eos must be true or false, got '" + value + "'";
    } else if (name == "max-new-tokens")
      err = intOpt(o.maxNewTokens);
    else if (name == "seqlen")
      err = intOpt(o.seqlen);
    else if (name == "max-windows")
      err = intOpt(o.maxWindows);
    else if (name == "threads")
      err = intOpt(o.threads);
    else if (name == "max-context")
      err = intOpt(o.maxContext);
    if (!err.empty())
      return err;
  }
  return "";
}

std::string jsonEscape(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += char(c);
      }
    }
  }
  return out + "\"";
}

std::string num(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

/// Writes through a temporary file and a rename: never a partial file.
bool writeFile(const std::string &path, const void *data, size_t size,
               std::string &error) {
  std::string tmp = path + ".tmp";
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    error = "cannot write '" + tmp + "': " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(data, 1, size, f) == size;
  ok &= std::fclose(f) == 0;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write '" + path + "'";
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

struct StatusDeleter {
  void operator()(s10_status_s *s) const { s10_status_free(s); }
};
using Status = std::unique_ptr<s10_status_s, StatusDeleter>;

std::string message(s10_status_t s) {
  Status owned(s);
  return s10_status_message(s);
}

double logSumExp(const float *row, size_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i)
    m = row[i] > m ? row[i] : m;
  double sum = 0;
  for (size_t i = 0; i < n; ++i)
    sum += std::exp(double(row[i]) - double(m));
  return std::log(sum) + double(m);
}

std::string formatDuration(double s) {
  if (!std::isfinite(s) || s < 0)
    return "?";
  long long t = (long long)(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof(buf), "%llds", t);
  return buf;
}

} // namespace

int s10::tools::runArtifact(int argc, char **argv, const std::string &model) {
  Options o;
  bool help = false, version = false;
  std::string err = parseArgs(argc, argv, model, o, help, version);
  if (help) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (version) {
    std::printf("s10-run (libs10rt %s)\n", s10_runtime_version());
    return 0;
  }
  if (!err.empty())
    return fail(err);
  bool ppl = !o.perplexity.empty();
  bool gen = o.hasPrompt || !o.ids.empty();
  if (ppl && gen)
    return fail("--perplexity cannot be combined with --prompt/--ids");
  if (!ppl && !gen)
    return fail("nothing to do: give --prompt, --ids or --perplexity");
  if (o.hasPrompt && !o.ids.empty())
    return fail("--prompt and --ids are exclusive");
  if (o.hasPrompt && o.prompt.empty())
    return fail("--prompt is empty");
  if (o.maxNewTokens < 0)
    return fail("--max-new-tokens must be >= 0");
  if (ppl && o.seqlen < 2)
    return fail("--seqlen must be at least 2, got " + std::to_string(o.seqlen));
  if (o.maxWindows < 0)
    return fail("--max-windows must be >= 0");
  if (o.threads < 0 || o.threads > 256)
    return fail("--threads must be in [0, 256] (0: all cores), got " +
                std::to_string(o.threads));
  if (o.maxContext < 0 || o.maxContext > (1 << 24))
    return fail("--max-context must be in [0, 16777216], got " +
                std::to_string(o.maxContext));
  // A .ids file holds token ids (any tokenizer's), not text.
  bool pplIds = ppl && o.perplexity.size() >= 4 &&
                o.perplexity.compare(o.perplexity.size() - 4, 4, ".ids") == 0;
  if (((ppl && !pplIds) || o.hasPrompt) && o.tokenizer.empty())
    return fail("--tokenizer is required with --prompt and --perplexity");

  std::unique_ptr<SpTokenizer> tok;
  if (!o.tokenizer.empty()) {
    std::string terr;
    tok = SpTokenizer::load(o.tokenizer, terr);
    if (!tok)
      return fail(terr);
  }

  std::vector<int32_t> ids;
  if (ppl) {
    std::ifstream in(o.perplexity, std::ios::binary);
    if (!in)
      return fail("cannot read --perplexity file '" + o.perplexity + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.empty())
      return fail("--perplexity file '" + o.perplexity + "' is empty");
    if (pplIds) {
      std::stringstream words(text);
      std::string w;
      while (std::getline(words, w, ',')) {
        std::stringstream inner(w);
        std::string p;
        while (inner >> p) {
          char *end = nullptr;
          long long v = std::strtoll(p.c_str(), &end, 10);
          if (*end || v < 0 || v > INT32_MAX)
            return fail("--perplexity file '" + o.perplexity + "': '" + p +
                        "' is not a token id");
          ids.push_back(int32_t(v));
        }
      }
    } else {
      ids = tok->encodeDocument(text);
    }
  } else if (!o.ids.empty()) {
    size_t start = 0;
    while (start <= o.ids.size()) {
      size_t comma = o.ids.find(',', start);
      std::string p =
          o.ids.substr(start, comma == std::string::npos ? std::string::npos
                                                         : comma - start);
      if (!p.empty()) {
        long long v;
        if (!parseInt(p, v) || v < 0 || v > INT32_MAX)
          return fail("--ids: '" + p + "' is not a token id");
        ids.push_back(int32_t(v));
      }
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    if (ids.empty())
      return fail("--ids is empty");
  } else {
    ids = tok->encodePrompt(o.prompt);
  }

  if (!o.dumpIds.empty()) {
    std::string text;
    for (size_t k = 0; k < ids.size(); ++k)
      text += std::to_string(ids[k]) + (k % 16 == 15 ? "\n" : " ");
    text += "\n";
    std::string werr;
    if (!writeFile(o.dumpIds, text.data(), text.size(), werr))
      return fail(werr);
  }

  s10_model_t *modelHandle = nullptr;
  if (s10_status_t s = s10_model_open(o.model.c_str(), nullptr, &modelHandle))
    return fail(message(s));
  std::unique_ptr<s10_model_t, void (*)(s10_model_t *)> mdl(modelHandle,
                                                            s10_model_free);
  s10_model_info_t info;
  if (s10_status_t s = s10_model_info(mdl.get(), &info))
    return fail(message(s));
  long long maxPos = o.maxContext
                         ? std::min<long long>(o.maxContext, info.max_positions)
                         : info.max_positions;
  if (ppl && o.seqlen > maxPos)
    return fail("--seqlen " + std::to_string(o.seqlen) + " exceeds the " +
                std::to_string(maxPos) + " positions of the context");
  if (gen && (long long)ids.size() > maxPos)
    return fail("the prompt has " + std::to_string(ids.size()) +
                " tokens, more than the context's " + std::to_string(maxPos) +
                " positions");

  s10_session_options_t sopts;
  s10_session_options_init(&sopts);
  sopts.max_context = uint32_t(maxPos);
  sopts.threads = uint32_t(o.threads);
  if (ppl)
    sopts.max_chunk = uint32_t(o.seqlen);
  s10_session_t *sessionHandle = nullptr;
  if (s10_status_t s = s10_session_create(mdl.get(), &sopts, &sessionHandle))
    return fail(message(s));
  std::unique_ptr<s10_session_t, void (*)(s10_session_t *)> session(
      sessionHandle, s10_session_free);
  size_t vocab = info.vocab;
  unsigned threads =
      o.threads ? unsigned(o.threads) : unsigned(sysconf(_SC_NPROCESSORS_ONLN));

  if (ppl) {
    long long windows = (long long)ids.size() / o.seqlen;
    if (windows == 0)
      return fail("--perplexity file '" + o.perplexity + "' has " +
                  std::to_string(ids.size()) +
                  " tokens, fewer than one window of " +
                  std::to_string(o.seqlen));
    if (o.maxWindows > 0)
      windows = std::min(windows, o.maxWindows);
    std::vector<float> logits(size_t(o.seqlen) * vocab);
    double total = 0, lastReport = -1, prefillSecs = 0;
    long long predicted = 0;
    bool tty = isatty(2);
    auto t0 = Clock::now();
    for (long long w = 0; w < windows; ++w) {
      const int32_t *win = ids.data() + w * o.seqlen;
      for (long long t = 1; t < o.seqlen; ++t)
        if (win[t] < 0 || size_t(win[t]) >= vocab)
          return fail("token id " + std::to_string(win[t]) +
                      " is outside the model's vocabulary");
      s10_session_reset(session.get());
      auto tf = Clock::now();
      if (s10_status_t s = s10_session_prefill(session.get(), win,
                                               size_t(o.seqlen), logits.data()))
        return fail("window " + std::to_string(w) + ": " + message(s));
      prefillSecs += since(tf);
      // Per-row NLLs on the session's thread count, summed in row order so
      // the result does not depend on it.
      std::vector<double> rowNll(size_t(o.seqlen - 1));
      auto score = [&](size_t r0, size_t r1) {
        for (size_t t = r0; t < r1; ++t) {
          const float *row = logits.data() + t * vocab;
          rowNll[t] = logSumExp(row, vocab) - double(row[win[t + 1]]);
        }
      };
      {
        std::vector<std::thread> workers;
        size_t rows = rowNll.size(), per = (rows + threads - 1) / threads;
        for (unsigned w = 1; w < threads && w * per < rows; ++w)
          workers.emplace_back(score, w * per, std::min(rows, (w + 1) * per));
        score(0, std::min(rows, per));
        for (std::thread &w : workers)
          w.join();
      }
      double nll = 0;
      for (double v : rowNll)
        nll += v;
      if (!std::isfinite(nll))
        return fail("window " + std::to_string(w) +
                    ": the model produced non-finite logits");
      total += nll;
      predicted += o.seqlen - 1;
      double secs = since(t0);
      if (!o.quiet) {
        long long done = w + 1;
        double tps = secs > 0 ? double(done * o.seqlen) / secs : 0;
        double eta = secs / double(done) * double(windows - done);
        char line[160];
        std::snprintf(line, sizeof(line),
                      "perplexity: %lld/%lld windows, %.0f tok/s, ETA %s", done,
                      windows, tps, formatDuration(eta).c_str());
        if (tty) {
          std::fprintf(stderr, "\r%s\x1b[K%s", line,
                       done == windows ? "\n" : "");
        } else if (done == windows || secs - lastReport >= 30 ||
                   (windows >= 10 && done % (windows / 10) == 0)) {
          std::fprintf(stderr, "%s\n", line);
          lastReport = secs;
        }
      }
    }
    double secs = since(t0);
    double perplexity = std::exp(total / double(predicted));
    double tps = secs > 0 ? double(windows * o.seqlen) / secs : 0;
    std::printf("perplexity: %.4f (%lld windows of %lld, %zu tokens, %.1f s, "
                "%.0f tok/s)\n",
                perplexity, windows, o.seqlen, ids.size(), secs, tps);
    if (!o.json.empty()) {
      std::string j =
          "{\n  \"perplexity\": " + num(perplexity) +
          ",\n  \"tokens\": " + std::to_string(ids.size()) +
          ",\n  \"windows\": " + std::to_string(windows) +
          ",\n  \"seqlen\": " + std::to_string(o.seqlen) +
          ",\n  \"predicted_tokens\": " + std::to_string(predicted) +
          ",\n  \"seconds\": " + num(secs) +
          ",\n  \"tokens_per_second\": " + num(tps) +
          ",\n  \"prefill_seconds\": " + num(prefillSecs) +
          ",\n  \"prefill_tokens_per_second\": " +
          num(prefillSecs > 0 ? double(windows * o.seqlen) / prefillSecs : 0) +
          ",\n  \"threads\": " + std::to_string(threads) +
          ",\n  \"artifact\": " + jsonEscape(o.model) +
          ",\n  \"runtime\": " + jsonEscape(s10_runtime_version()) + "\n}\n";
      std::string werr;
      if (!writeFile(o.json, j.data(), j.size(), werr))
        return fail(werr);
    }
    return 0;
  }

  // Greedy generation, as the interpreter's generateGreedy.
  if ((long long)ids.size() + o.maxNewTokens > maxPos)
    std::fprintf(stderr,
                 "s10-run: note: at most %lld new tokens: the prompt's %zu "
                 "plus --max-new-tokens %lld exceed the context's %lld "
                 "positions\n",
                 maxPos - (long long)ids.size(), ids.size(), o.maxNewTokens,
                 maxPos);
  int32_t eos = o.stopAtEos && tok ? tok->eosId() : -1;
  std::vector<int32_t> out = ids;
  std::vector<float> promptLogits;
  if (!o.dumpLogits.empty())
    promptLogits.resize(ids.size() * vocab);
  long long newTokens = 0;
  double prefillSecs = 0, decodeSecs = 0;
  auto argmax = [&](const float *row) {
    size_t best = 0;
    for (size_t i = 1; i < vocab; ++i)
      if (row[i] > row[best])
        best = i;
    return int32_t(best);
  };
  auto t0 = Clock::now();
  {
    auto tp = Clock::now();
    if (s10_status_t s = s10_session_prefill(
            session.get(), ids.data(), ids.size(),
            promptLogits.empty() ? nullptr : promptLogits.data()))
      return fail(message(s));
    prefillSecs = since(tp);
  }
  for (long long n = 0; n < o.maxNewTokens; ++n) {
    if ((long long)out.size() >= maxPos)
      break;
    if (n > 0) {
      auto td = Clock::now();
      if (s10_status_t s = s10_session_decode(session.get(), out.back()))
        return fail(message(s));
      decodeSecs += since(td);
    }
    const float *row = nullptr;
    size_t count = 0;
    if (s10_status_t s = s10_session_logits(session.get(), &row, &count))
      return fail(message(s));
    int32_t next = argmax(row);
    out.push_back(next);
    ++newTokens;
    if (eos >= 0 && next == eos)
      break;
  }
  double secs = since(t0);
  if (!o.dumpLogits.empty()) {
    std::string werr;
    if (!writeFile(o.dumpLogits, promptLogits.data(),
                   promptLogits.size() * sizeof(float), werr))
      return fail(werr);
  }
  std::string text;
  if (tok) {
    text = tok->decode(out);
    std::printf("%s\n", text.c_str());
  } else {
    for (size_t i = 0; i < out.size(); ++i)
      std::printf("%s%d", i ? "," : "", out[i]);
    std::printf("\n");
  }
  double tps = secs > 0 ? double(newTokens) / secs : 0;
  double prefillTps = prefillSecs > 0 ? double(ids.size()) / prefillSecs : 0;
  // The first new token comes from the prefill; the others each cost a
  // decode step.
  long long decoded = newTokens > 0 ? newTokens - 1 : 0;
  double decodeTps = decodeSecs > 0 ? double(decoded) / decodeSecs : 0;
  if (!o.quiet)
    std::fprintf(stderr,
                 "s10-run: %zu prompt + %lld new tokens in %.2f s (%.1f "
                 "tok/s; prefill %.0f tok/s, decode %.0f tok/s, %u threads)\n",
                 ids.size(), newTokens, secs, tps, prefillTps, decodeTps,
                 threads);
  if (!o.json.empty()) {
    std::string idList;
    for (size_t i = 0; i < out.size(); ++i)
      idList += (i ? ", " : "") + std::to_string(out[i]);
    std::string j = "{\n  \"ids\": [" + idList +
                    "],\n  \"prompt_tokens\": " + std::to_string(ids.size()) +
                    ",\n  \"new_tokens\": " + std::to_string(newTokens) +
                    ",\n  \"seconds\": " + num(secs) +
                    ",\n  \"tokens_per_second\": " + num(tps) +
                    ",\n  \"prefill_seconds\": " + num(prefillSecs) +
                    ",\n  \"prefill_tokens_per_second\": " + num(prefillTps) +
                    ",\n  \"decode_seconds\": " + num(decodeSecs) +
                    ",\n  \"decode_tokens_per_second\": " + num(decodeTps) +
                    ",\n  \"threads\": " + std::to_string(threads) +
                    ",\n  \"artifact\": " + jsonEscape(o.model);
    if (tok)
      j += ",\n  \"text\": " + jsonEscape(text);
    j += "\n}\n";
    std::string werr;
    if (!writeFile(o.json, j.data(), j.size(), werr))
      return fail(werr);
  }
  return 0;
}
