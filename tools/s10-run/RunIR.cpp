//===- RunIR.cpp - s10-run for MLIR and ONNX models ----------------------===//
//
// The interpreter half of s10-run, loaded by the s10-run driver (which links
// neither MLIR nor LLVM) for every model that is not a compiled artifact.
//
// Generation:  s10-run MODEL --tokenizer T --prompt TEXT [--max-new-tokens N]
// Perplexity:  s10-run MODEL --tokenizer T --perplexity FILE [--seqlen N]
// Testing:     s10-run MODEL --ids 1,343,... [--dump-logits FILE]
//
// MODEL is an .onnx file (imported on the fly) or an .mlir/.mlirbc module at
// any level (imported, raised, quantized).
//
//===----------------------------------------------------------------------===//

#include "s10/InitAll.h"
#include "s10/Runtime/Drivers.h"
#include "s10/Runtime/Executor.h"
#include "s10/Runtime/Kernels.h"
#include "s10/Runtime/ThreadPool.h"
#include "s10/Runtime/Tokenizer.h"

#ifdef S10_HAVE_ONNX_IMPORTER
#include "s10/Target/ONNX/ImportONNX.h"
#endif

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "s10/Tools/InputFile.h"
#include "s10/Tools/OutputFile.h"
#include "s10/Tools/VerifyWeights.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <unistd.h>

using namespace llvm;
using namespace s10::runtime;

static cl::OptionCategory runCat("s10-run options");

static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.s10|model.onnx|"
                                               "model.mlir|model.mlirbc>"),
                                      cl::cat(runCat));
static cl::opt<std::string>
    tokenizerPath("tokenizer",
                  cl::desc("SentencePiece model (required for --prompt and "
                           "--perplexity)"),
                  cl::value_desc("file"), cl::cat(runCat));
static cl::opt<std::string> prompt("prompt",
                                   cl::desc("Generate a continuation of TEXT "
                                            "(encoded as BOS + tokens)"),
                                   cl::value_desc("text"), cl::cat(runCat));
static cl::opt<std::string>
    idsOpt("ids",
           cl::desc("Prompt as comma-separated token ids (no BOS added)"),
           cl::value_desc("1,343,..."), cl::cat(runCat));
static cl::opt<int64_t> maxNewTokens("max-new-tokens",
                                     cl::desc("Tokens to generate "
                                              "(default 32)"),
                                     cl::init(32), cl::cat(runCat));
static cl::opt<bool> stopAtEos("stop-at-eos",
                               cl::desc("Stop generating at the EOS token "
                                        "(default true)"),
                               cl::init(true), cl::cat(runCat));
static cl::opt<std::string>
    perplexityFile("perplexity",
                   cl::desc("Evaluate the perplexity of a text file (a .ids "
                            "file holds token ids instead)"),
                   cl::value_desc("file"), cl::cat(runCat));
static cl::opt<int64_t> seqlen("seqlen",
                               cl::desc("Perplexity window length "
                                        "(default 512)"),
                               cl::init(512), cl::cat(runCat));
static cl::opt<int64_t> maxWindows("max-windows",
                                   cl::desc("Evaluate at most K windows "
                                            "(default: all)"),
                                   cl::value_desc("K"), cl::init(0),
                                   cl::cat(runCat));
static cl::opt<std::string> jsonPath("json",
                                     cl::desc("Write the results as JSON"),
                                     cl::value_desc("file"), cl::cat(runCat));
static cl::opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write the prompt's logits ([seq, vocab], raw "
                        "little-endian f32)"),
               cl::value_desc("file"), cl::cat(runCat));
// libLLVM already registers a global "threads" option, so --threads is
// taken out of argv before LLVM parses the command line.
static int threads = 0;
static cl::extrahelp
    threadsHelp("\nMore s10-run options:\n\n"
                "  --threads=<N>  Worker threads (default: all cores)\n");
static cl::opt<std::string>
    floatMode("float-mode",
              cl::desc("f32 (default: compute every float in f32) or exact "
                       "(ONNX types, f16 rounded)"),
              cl::init("f32"), cl::cat(runCat));
static cl::opt<bool> quiet("quiet", cl::desc("No progress output"),
                           cl::init(false), cl::cat(runCat));
static cl::opt<bool> verifyWeights(
    "verify-weights",
    cl::desc("Check every quantized and packed weight before running (code "
             "ranges, finite parameters, salient counts, packed bytes); on "
             "by default"),
    cl::init(true), cl::cat(runCat));

namespace {

int fail(const Twine &msg) {
  errs() << "s10-run: error: " << msg << "\n";
  return 1;
}

/// Writes `value` as JSON, never a partial file.
Error writeJson(StringRef path, json::Value value) {
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", value) << "\n";
  os.flush();
  return s10::writeFileAtomically(path, text);
}

Error writeLogits(StringRef path, const Tensor &logits) {
  std::error_code ec;
  raw_fd_ostream out(path, ec);
  if (ec)
    return createStringError(ec,
                             "cannot write '" + path + "': " + ec.message());
  Tensor f = logits.toF32();
  out.write(static_cast<const char *>(f.raw()), f.byteSize());
  return Error::success();
}

mlir::OwningOpRef<mlir::ModuleOp>
loadModel(StringRef path, mlir::MLIRContext &ctx, std::string &error) {
  if (!sys::fs::exists(path)) {
    error = "model file '" + path.str() + "' does not exist";
    return nullptr;
  }
  if (path.ends_with(".onnx")) {
#ifdef S10_HAVE_ONNX_IMPORTER
    auto module = s10::importONNXFile(path, &ctx);
    if (!module)
      error = "cannot import ONNX model '" + path.str() + "'";
    return module;
#else
    error = "this s10-run was built without the ONNX importer; import '" +
            path.str() + "' with s10-translate --import-onnx first";
    return nullptr;
#endif
  }
  auto buffer = s10::readModelFile(path);
  if (!buffer) {
    error = "cannot read model file '" + path.str() +
            "': " + buffer.getError().message();
    return nullptr;
  }
  SourceMgr sm;
  sm.AddNewSourceBuffer(std::move(*buffer), SMLoc());
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(sm, &ctx);
  if (!module)
    error = "cannot parse model file '" + path.str() + "'";
  return module;
}

std::string formatDuration(double s) {
  if (!std::isfinite(s) || s < 0)
    return "?";
  int64_t t = int64_t(s + 0.5);
  if (t >= 3600)
    return formatv("{0}h{1:2}m", t / 3600, (t / 60) % 60).str();
  if (t >= 60)
    return formatv("{0}m{1:2}s", t / 60, t % 60).str();
  return formatv("{0}s", t).str();
}

} // namespace

extern "C" __attribute__((visibility("default"))) int
s10_run_ir_main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    StringRef a(argv[i]);
    std::optional<StringRef> value;
    if (i > 0 && (a == "--threads" || a == "-threads")) {
      if (i + 1 >= argc)
        return fail("--threads needs a value");
      value = StringRef(argv[++i]);
    } else if (i > 0 &&
               (a.starts_with("--threads=") || a.starts_with("-threads="))) {
      value = a.split('=').second;
    }
    if (!value) {
      args.push_back(argv[i]);
      continue;
    }
    if (value->getAsInteger(10, threads) || threads < 0)
      return fail("--threads must be a non-negative integer, got '" + *value +
                  "'");
    if (threads > kMaxThreads)
      return fail("--threads must be at most " + Twine(kMaxThreads) +
                  " (0: all cores), got " + *value);
  }
  argc = int(args.size());
  argv = args.data();
  cl::HideUnrelatedOptions(runCat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "s10 CPU runner: greedy generation or perplexity of an s10 model\n\n"
      "  s10-run model.s10 --tokenizer tokenizer.model --prompt \"The "
      "history of\"\n"
      "  s10-run model.onnx --tokenizer tokenizer.model --prompt \"The "
      "history of\"\n"
      "  s10-run model.mlir --tokenizer tokenizer.model --perplexity test.txt "
      "--seqlen 512\n"
      "  s10-run model.mlir --ids 1,343,319 --max-new-tokens 0 --dump-logits "
      "logits.f32\n\n"
      "A compiled artifact (.s10, from s10-compile) runs through libs10rt "
      "(s10-run model.s10 --help lists its options); every other model runs "
      "in the interpreter.\n");

  // Validate the options before the (slow) model load.
  bool ppl = !perplexityFile.empty();
  bool gen = !prompt.getValue().empty() || prompt.getNumOccurrences() ||
             !idsOpt.empty();
  if (ppl && gen)
    return fail("--perplexity cannot be combined with --prompt/--ids");
  if (!ppl && !gen)
    return fail("nothing to do: give --prompt, --ids or --perplexity");
  if (prompt.getNumOccurrences() && !idsOpt.empty())
    return fail("--prompt and --ids are exclusive");
  if (prompt.getNumOccurrences() && prompt.getValue().empty())
    return fail("--prompt is empty");
  if (maxNewTokens < 0)
    return fail("--max-new-tokens must be >= 0");
  if (ppl && seqlen < 2)
    return fail("--seqlen must be at least 2, got " + Twine(seqlen));
  if (ppl && maxWindows < 0)
    return fail("--max-windows must be >= 0");
  auto mode = parseFloatMode(floatMode);
  if (!mode)
    return fail("--float-mode must be 'f32' or 'exact', got '" + floatMode +
                "'");
  // A .ids file holds token ids (any tokenizer's), not text.
  bool pplIds = ppl && StringRef(perplexityFile).ends_with(".ids");
  bool needTokenizer = (ppl && !pplIds) || prompt.getNumOccurrences();
  if (needTokenizer && tokenizerPath.empty())
    return fail("--tokenizer is required with --prompt and --perplexity");

  std::unique_ptr<Tokenizer> tokenizer;
  if (!tokenizerPath.empty()) {
    auto tok = Tokenizer::load(tokenizerPath);
    if (!tok)
      return fail(toString(tok.takeError()));
    tokenizer = std::move(*tok);
  }

  // Inputs: the text to score or the prompt ids.
  std::vector<int64_t> ids;
  if (ppl) {
    auto buf = MemoryBuffer::getFile(perplexityFile, /*IsText=*/false,
                                     /*RequiresNullTerminator=*/false);
    if (!buf)
      return fail("cannot read --perplexity file '" + perplexityFile +
                  "': " + buf.getError().message());
    if ((*buf)->getBufferSize() == 0)
      return fail("--perplexity file '" + perplexityFile + "' is empty");
    if (pplIds) {
      auto parsed = parseTokenIds((*buf)->getBuffer());
      if (!parsed)
        return fail("--perplexity file '" + perplexityFile +
                    "': " + toString(parsed.takeError()));
      ids = std::move(*parsed);
    } else {
      ids = tokenizer->encodeDocument((*buf)->getBuffer());
    }
  } else if (!idsOpt.empty()) {
    SmallVector<StringRef> parts;
    StringRef(idsOpt).split(parts, ',', -1, false);
    for (StringRef p : parts) {
      int64_t v;
      if (p.trim().getAsInteger(10, v) || v < 0)
        return fail("--ids: '" + p + "' is not a token id");
      ids.push_back(v);
    }
    if (ids.empty())
      return fail("--ids is empty");
  } else {
    ids = tokenizer->encodePrompt(prompt);
  }

  mlir::DialectRegistry registry;
  s10::registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  std::string loadError;
  auto module = loadModel(modelPath, ctx, loadError);
  if (!module)
    return fail(loadError);
  if (verifyWeights)
    if (Error e = s10::verifyModelWeights(*module, modelPath))
      return fail(toString(std::move(e)));

  int64_t maxPos = getMaxPositions(*module, 2048);
  if (ppl && seqlen > maxPos)
    return fail("--seqlen " + Twine(seqlen) + " exceeds the model's " +
                Twine(maxPos) + " positions");
  if (gen && int64_t(ids.size()) > maxPos)
    return fail("the prompt has " + Twine(ids.size()) +
                " tokens, more than the model's " + Twine(maxPos) +
                " positions");

  ExecOptions opts;
  opts.floatMode = *mode;
  opts.numThreads = threads;
  auto exec = Executor::create(*module, opts, modelPath);
  if (!exec)
    return fail(toString(exec.takeError()));
  if (auto bad = Executor::findUnsupportedOps(*module); !bad.empty())
    return fail("the model uses operations the executor does not support: " +
                join(bad, ", "));

  bool tty = sys::Process::StandardErrIsDisplayed();
  if (ppl) {
    if (int64_t(ids.size()) < seqlen)
      return fail("--perplexity file '" + perplexityFile + "' has " +
                  Twine(ids.size()) + " tokens, fewer than one window of " +
                  Twine(seqlen));
    PerplexityOptions popts;
    popts.seqlen = seqlen;
    popts.maxWindows = maxWindows;
    double lastReport = -1;
    if (!quiet)
      popts.progress = [&](int64_t done, int64_t total, double secs) {
        double tps = secs > 0 ? double(done * seqlen) / secs : 0;
        double eta = done ? secs / double(done) * double(total - done) : 0;
        std::string line =
            formatv("perplexity: {0}/{1} windows, {2:F0} tok/s, ETA {3}", done,
                    total, tps, formatDuration(eta))
                .str();
        if (tty) {
          errs() << "\r" << line << "\x1b[K";
          if (done == total)
            errs() << "\n";
        } else if (done == total || secs - lastReport >= 30 ||
                   (total >= 10 && done % (total / 10) == 0)) {
          errs() << line << "\n";
          lastReport = secs;
        }
      };
    auto res = evaluatePerplexity(**exec, ids, popts);
    if (!res)
      return fail(toString(res.takeError()));
    outs() << formatv("perplexity: {0:F4} ({1} windows of {2}, {3} tokens, "
                      "{4:F1} s, {5:F0} tok/s)\n",
                      res->perplexity, res->windows, seqlen, res->tokens,
                      res->seconds, res->tokensPerSecond);
    if (!jsonPath.empty()) {
      json::Object o{{"perplexity", res->perplexity},
                     {"tokens", res->tokens},
                     {"windows", res->windows},
                     {"seqlen", int64_t(seqlen)},
                     {"predicted_tokens", res->predicted},
                     {"seconds", res->seconds},
                     {"tokens_per_second", res->tokensPerSecond},
                     {"prefill_seconds", res->forwardSeconds},
                     {"prefill_tokens_per_second", res->forwardTokensPerSecond},
                     {"threads", int64_t((*exec)->getThreadPool().size())},
                     {"blas", getBlasCoreName()}};
      if (Error e = writeJson(jsonPath, std::move(o)))
        return fail(toString(std::move(e)));
    }
    return 0;
  }

  GenerateOptions gopts;
  gopts.maxNewTokens = maxNewTokens;
  gopts.maxPositions = maxPos;
  if (int64_t(ids.size()) + maxNewTokens > maxPos)
    errs() << "s10-run: note: at most " << maxPos - int64_t(ids.size())
           << " new tokens: the prompt's " << ids.size()
           << " plus --max-new-tokens " << maxNewTokens
           << " exceed the model's " << maxPos << " positions\n";
  if (stopAtEos && tokenizer)
    gopts.eosId = tokenizer->eosId();
  auto res = generateGreedy(**exec, ids, gopts);
  if (!res)
    return fail(toString(res.takeError()));
  if (!dumpLogits.empty())
    if (Error e = writeLogits(dumpLogits, res->promptLogits))
      return fail(toString(std::move(e)));
  std::string text = tokenizer ? tokenizer->decode(res->ids) : "";
  if (tokenizer)
    outs() << text << "\n";
  else
    outs() << join(map_range(res->ids, [](int64_t v) { return itostr(v); }),
                   ",")
           << "\n";
  if (!quiet)
    errs() << formatv("s10-run: {0} prompt + {1} new tokens in {2:F2} s "
                      "({3:F1} tok/s{4})\n",
                      res->promptTokens, res->newTokens, res->seconds,
                      res->tokensPerSecond,
                      (*exec)->hasKVCache() ? ", KV cache" : ", no KV cache");
  if (!jsonPath.empty()) {
    json::Array idArr;
    for (int64_t v : res->ids)
      idArr.push_back(v);
    json::Object o{{"ids", std::move(idArr)},
                   {"prompt_tokens", res->promptTokens},
                   {"new_tokens", res->newTokens},
                   {"seconds", res->seconds},
                   {"tokens_per_second", res->tokensPerSecond}};
    if (tokenizer)
      o["text"] = json::isUTF8(text) ? text : json::fixUTF8(text);
    if (Error e = writeJson(jsonPath, std::move(o)))
      return fail(toString(std::move(e)));
  }
  return 0;
}
