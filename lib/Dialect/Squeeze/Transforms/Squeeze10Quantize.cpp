//===- Squeeze10Quantize.cpp - The quantization recipes -------------------===//
//
// Only composes the small passes; every numeric decision lives in them.
//
//===----------------------------------------------------------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"
#include "s10/Quant/Layout.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZE10QUANTIZE
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {
/// A named recipe of `budget=`: the configuration that measured best on the
/// bundled model at or under its size (docs/quantization.md, "Recipes by
/// budget"); `bpw` is its true bits per weight there.
struct Recipe {
  const char *name;
  double bpw;
  const char *method;
  unsigned bits;
  int64_t groupSize;
  bool actOrder;
  const char *granularity;
  int64_t nmBlock;
  double ratio;
  const char *roleRatio; // "" for none
  const char *params;
  int64_t rounds;            // refit-rounds
  const char *roleBits = ""; // k-bit methods: role-bits, role-group-size
  const char *roleGroupSize = "";
  double clipNorm = 0;  // k-bit methods: clip-norm
  bool ternary = false; // k-bit methods: ternary
};
// Smallest first; every recipe stores 8-bit group parameters (q8t: one
// super-scale pair per tensor, q8: per row) and runs three or five rounds
// of GPTQ and output refit; the k-bit ones clip their group ranges, and the
// gptq-t ones give their 2-bit layers three levels (ternary layout).
constexpr Recipe kRecipes[] = {
    // name, true bpw, method, bits, group size, act-order, granularity,
    // nm-block, ratio, role-ratio, params, refit rounds[, role-bits,
    // role-group-size, clip-norm, ternary]
    //                                         (WikiText-2 ppl, 863 windows)
    {"s10-nm16-v2-d0", 1.628, "squeeze10", 4, 256, false, "nm", 16, 0.0625,
     "v:0.125,down.0:0.125", "q8t", 5}, // 43.45
    {"gptq-t-g384", 1.646, "gptq", 2, 384, true, "layer", 8, 0.2, "", "q8t", 5,
     "", "", 2, true}, // 40.58
    {"gptq-t-g256", 1.681, "gptq", 2, 256, true, "layer", 8, 0.2, "", "q8t", 5,
     "", "", 2, true}, // 40.36
    {"gptq-t-g192", 1.689, "gptq", 2, 192, true, "layer", 8, 0.2, "", "q8t", 5,
     "", "", 2, true}, // 40.27
    {"gptq-t-g192-v3", 1.734, "gptq", 2, 192, true, "layer", 8, 0.2, "", "q8t",
     5, "v:3", "v:128", 2, true}, // 39.87
    {"gptq-t-g192-d0", 1.746, "gptq", 2, 192, true, "layer", 8, 0.2, "", "q8t",
     5, "down.0:3", "down.0:256", 2, true}, // 39.10
    {"gptq2-g192-down256", 2.080, "gptq", 2, 192, true, "layer", 8, 0.2, "",
     "q8t", 5, "", "down:256", 2}, // 37.69
    {"gptq2-gu192-down256", 2.091, "gptq", 2, 128, true, "layer", 8, 0.2, "",
     "q8t", 5, "", "gate:192,up:192,down:256", 2}, // 37.62
    {"gptq2-g128", 2.127, "gptq", 2, 128, true, "layer", 8, 0.2, "", "q8t", 5,
     "", "", 2}, // 37.55
    {"gptq2-g64", 2.252, "gptq", 2, 64, true, "layer", 8, 0.2, "", "q8t", 3, "",
     "", 2}, // 37.26
    {"gptq2-g128-v3-down3", 2.409, "gptq", 2, 128, true, "layer", 8, 0.2, "",
     "q8t", 3, "v:3,down:3", "", 2}, // 36.67
    {"gptq2-g64-v4-down3", 2.530, "gptq", 2, 64, true, "layer", 8, 0.2, "",
     "q8t", 5, "v:4,down:3", "v:128,down:128", 2}, // 36.25
    {"gptq3-g256-q8t", 3.080, "gptq", 3, 256, true, "layer", 8, 0.2, "", "q8t",
     3, "", "", 2}, // 35.23
    {"gptq3-g256", 3.148, "gptq", 3, 256, true, "layer", 8, 0.2, "", "q8", 3,
     "", "", 2}, // 35.22
};

/// The options a recipe sets, as a squeeze10-quantize string (calibration
/// and packing options aside).
std::string recipeOptions(const Recipe &r) {
  // Shortest form that reads back as the same double (0.0625, 2.4).
  auto number = [](double v) {
    char buf[32];
    for (int p = 1; p <= 17; ++p) {
      std::snprintf(buf, sizeof buf, "%.*g", p, v);
      if (std::strtod(buf, nullptr) == v)
        break;
    }
    return std::string(buf);
  };
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "method=" << r.method << " bits=" << r.bits
     << " group-size=" << r.groupSize;
  if (r.actOrder)
    os << " act-order=true";
  if (StringRef(r.method) == "gptq") {
    if (*r.roleBits)
      os << " role-bits=" << r.roleBits;
    if (*r.roleGroupSize)
      os << " role-group-size=" << r.roleGroupSize;
    if (r.clipNorm > 0)
      os << " clip-norm=" << number(r.clipNorm);
    if (r.ternary)
      os << " ternary=true";
  } else {
    os << " ratio=" << number(r.ratio);
    if (*r.roleRatio)
      os << " role-ratio=" << r.roleRatio;
    if (StringRef(r.granularity) != "layer")
      os << " granularity=" << r.granularity;
    if (StringRef(r.granularity) == "nm")
      os << " nm-block=" << r.nmBlock;
  }
  os << " output-refit=true";
  if (r.rounds > 1)
    os << " refit-rounds=" << r.rounds;
  os << " params=" << r.params;
  return s;
}

/// The recipe of a squeeze10-quantize given no option that shapes the
/// result: the best measured at the default layout's size (3.17 true bits).
const Recipe &defaultRecipe() {
  for (const Recipe &r : kRecipes)
    if (StringRef(r.name) == "gptq3-g256")
      return r;
  llvm_unreachable("the default recipe is in the table");
}

struct Squeeze10QuantizePass
    : squeeze::impl::Squeeze10QuantizeBase<Squeeze10QuantizePass> {
  using Base::Base;

  quant::layout::Kind kind = quant::layout::Kind::KBit;
  quant::layout::ParamFormat format = quant::layout::ParamFormat::F16;

  /// Adds one round's calibration to `pm`; `store` is its side file.
  void addCalibration(OpPassManager &pm, StringRef store, bool sequential) {
    if (isCalibrated()) {
      SqueezeCalibrateOptions c;
      c.calibFile = calibFile;
      c.tokenizer = tokenizer;
      c.nsamples = nsamples;
      c.seqlen = seqlen;
      c.seed = seed;
      c.pbarTokens = method == "squeeze10" && pbar ? pbarTokens.getValue() : 0;
      c.store = store.str();
      c.sequential = sequential;
      c.threads = threads;
      // A shard calibrates, and so quantizes, only its layers.
      c.shards = shards;
      c.shard = shard;
      pm.addPass(createSqueezeCalibrate(c));
    }
  }

  /// Adds one round's quantization (stage 1 .. gptq) of the calibrated
  /// layers to `pm`.
  void addQuantization(OpPassManager &pm) {
    OpPassManager &fpm = pm.nest<func::FuncOp>();
    SqueezeGPTQOptions g;
    g.groupSize = groupSize;
    g.blockSize = blockSize;
    g.percdamp = percdamp;
    g.hessianF32From = hessianF32From;
    g.actOrder = actOrder;
    g.refitBinary = refitBinary;
    g.outputRefit = outputRefit;
    g.refitRounds = refitRounds;
    g.bits = bits;
    g.roleBits.assign(roleBits.begin(), roleBits.end());
    g.roleGroupSize.assign(roleGroupSize.begin(), roleGroupSize.end());
    g.ternary = ternary;
    // Mixed methods clip stage 1's ranges, which their salient codes use.
    g.clipNorm = isMixed() ? 0.0 : clipNorm.getValue();
    if (isMixed()) {
      SqueezeQuantizeStage1Options s1;
      s1.bits = bits;
      s1.groupSize = groupSize;
      s1.clipNorm = clipNorm;
      fpm.addPass(createSqueezeQuantizeStage1(s1));
      SqueezeSelectSalientOptions s;
      s.ratio = ratio;
      s.roleRatio.assign(roleRatio.begin(), roleRatio.end());
      s.granularity = granularity;
      s.channelBlock = channelBlock;
      s.nmBlock = nmBlock;
      s.groupSize = groupSize;
      s.percdamp = percdamp;
      s.hessianF32From = hessianF32From;
      if (method == "squeeze10") {
        s.lambda = lambda;
        s.normalize = normalize;
        s.pbar = pbar;
        s.rangeDelta = rangeDelta;
        s.diag = diag;
        s.staged = staged;
      } else {
        // PB-LLM: Hessian criterion on the full-precision weight.
        s.pbar = false;
        s.diag = "chol";
        s.staged = false;
      }
      fpm.addPass(createSqueezeSelectSalient(s));
      g.modeName = "mixed";
    } else {
      g.modeName = method == "gptq" ? "kbit" : method.getValue();
    }
    fpm.addPass(createSqueezeGPTQ(g));
  }

  void addPack(OpPassManager &pm) {
    SqueezePackOptions p;
    p.layout = layout;
    p.params = params;
    p.report = report;
    if (granularity == "channel")
      p.block = channelBlock;
    else if (granularity == "nm")
      p.block = nmBlock;
    pm.addPass(createSqueezePack(p));
  }

  int64_t numBlocks() {
    int64_t blocks = 0;
    getOperation().walk([&](LinearOp op) {
      if (isDecoderLinear(op))
        blocks = std::max(blocks, op.getRoleAttr().getBlock() + 1);
    });
    return blocks;
  }

  bool isCalibrated() const { return method != "rtn" && method != "binary"; }
  bool isMixed() const { return method == "squeeze10" || method == "pbllm"; }

  /// Every option either takes effect or, when set, is refused naming the
  /// method: a user never gets the same model from options it ignored.
  LogicalResult checkOptions(Location loc) {
    auto error = [&]() { return emitError(loc) << "squeeze10-quantize: "; };
    if (method != "squeeze10" && method != "pbllm" && method != "gptq" &&
        method != "rtn" && method != "binary")
      return error() << "unknown method '" << method
                     << "' (expected squeeze10, pbllm, gptq, rtn or binary)";
    if (layout != "auto" && !quant::layout::parseKind(layout, kind))
      return error() << "unknown layout '" << layout
                     << "' (expected auto, kbit, ternary, bitmap, chanblock "
                        "or nm)";
    if (!quant::layout::parseParamFormat(params, format))
      return error() << "unknown params '" << params
                     << "' (expected f16, q8 or q8t)";
    if (!llvm::is_contained({"layer", "row", "group", "channel", "nm"},
                            granularity.getValue()))
      return error() << "unknown granularity '" << granularity
                     << "' (expected layer, row, group, channel or nm)";
    if (diag != "chol" && diag != "hinv")
      return error() << "unknown diag '" << diag << "' (expected chol or hinv)";

    bool calibrated = isCalibrated(), mixed = isMixed();
    bool s10 = method == "squeeze10";
    struct Rule {
      bool set;
      StringRef name;
      bool applies;
      StringRef when; // where the option takes effect
    };
    const char *calibWhen = "methods squeeze10, pbllm and gptq";
    const char *mixedWhen = "methods squeeze10 and pbllm";
    const char *kbitWhen = "methods gptq and rtn";
    bool kbitMethod = method == "gptq" || method == "rtn";
    Rule rules[] = {
        {calibFile.hasValue(), "calib", calibrated, calibWhen},
        {tokenizer.hasValue(), "tokenizer", calibrated, calibWhen},
        {nsamples.hasValue(), "nsamples", calibrated, calibWhen},
        {seqlen.hasValue(), "seqlen", calibrated, calibWhen},
        {seed.hasValue(), "seed", calibrated || rotate,
         "methods squeeze10, pbllm and gptq, or rotate=true"},
        {threads.hasValue(), "threads", calibrated, calibWhen},
        {fias.hasValue(), "fias", calibrated, calibWhen},
        {percdamp.hasValue(), "percdamp", calibrated, calibWhen},
        {hessianF32From.hasValue(), "hessian-f32-from", calibrated, calibWhen},
        {blockSize.hasValue(), "block-size", calibrated, calibWhen},
        {actOrder.hasValue(), "act-order", calibrated, calibWhen},
        {outputRefit.hasValue(), "output-refit", calibrated, calibWhen},
        {refitRounds.hasValue(), "refit-rounds", calibrated && outputRefit,
         "output-refit=true"},
        {bits.hasValue(), "bits", method != "binary",
         "every method but binary"},
        {roleBits.hasValue(), "role-bits", kbitMethod, kbitWhen},
        {roleGroupSize.hasValue(), "role-group-size", kbitMethod, kbitWhen},
        {ternary.hasValue(), "ternary", kbitMethod, kbitWhen},
        {clipNorm.hasValue(), "clip-norm", method != "binary",
         "every method but binary"},
        {ratio.hasValue(), "ratio", mixed, mixedWhen},
        {roleRatio.hasValue(), "role-ratio", mixed, mixedWhen},
        {granularity.hasValue(), "granularity", mixed, mixedWhen},
        {refitBinary.hasValue(), "refit-binary", mixed, mixedWhen},
        {channelBlock.hasValue(), "channel-block",
         mixed && granularity == "channel",
         "granularity=channel, methods squeeze10 and pbllm"},
        {nmBlock.hasValue(), "nm-block", mixed && granularity == "nm",
         "granularity=nm, methods squeeze10 and pbllm"},
        {pbar.hasValue(), "pbar", s10, "method squeeze10"},
        {staged.hasValue(), "staged", s10, "method squeeze10"},
        {diag.hasValue(), "diag", s10, "method squeeze10"},
        {lambda.hasValue(), "lambda", s10 && pbar,
         "method squeeze10 with pbar=true"},
        {normalize.hasValue(), "normalize", s10 && pbar,
         "method squeeze10 with pbar=true"},
        {rangeDelta.hasValue(), "range-delta", s10 && pbar,
         "method squeeze10 with pbar=true"},
        {pbarTokens.hasValue(), "pbar-tokens", s10 && pbar,
         "method squeeze10 with pbar=true"},
        {shard.hasValue(), "shard", shards > 1, "shards > 1"},
        {layout.hasValue(), "layout", pack, "pack=true"},
        {params.hasValue(), "params", pack, "pack=true"},
    };
    for (const Rule &r : rules) {
      if (!r.set || r.applies)
        continue;
      // Name the setting that turns the option off.
      std::string by = "method=" + method.getValue();
      if (r.when.contains("pbar=true") && s10)
        by = "pbar=false";
      else if (r.when.starts_with("granularity=") && mixed)
        by = "granularity=" + granularity.getValue();
      else if (r.when == "pack=true")
        by = "pack=false";
      else if (r.when == "output-refit=true" && calibrated)
        by = "output-refit=false";
      else if (r.when == "shards > 1")
        by = "shards=1";
      return error() << "option '" << r.name << "' has no effect with " << by
                     << " (it applies to " << r.when << ")";
    }

    // A layout that cannot hold what the method produces fails now, not
    // after calibration.
    if (layout != "auto") {
      StringRef need;
      bool lowBit = kind == quant::layout::Kind::KBit ||
                    kind == quant::layout::Kind::Ternary;
      if (lowBit && mixed)
        need = "a method without salient weights (rtn, binary, gptq)";
      else if (kind == quant::layout::Kind::Ternary && !ternary)
        need = "ternary=true";
      else if (!lowBit && !mixed)
        need = "salient weights (method=squeeze10 or pbllm)";
      else if (kind == quant::layout::Kind::ChannelBlock &&
               granularity != "channel")
        need = "granularity=channel";
      else if (kind == quant::layout::Kind::NM && granularity != "nm")
        need = "granularity=nm";
      if (!need.empty())
        return error() << "layout=" << layout << " needs " << need;
    }
    if (shards < 1 || shard < 0 || shard >= shards)
      return error() << "shard must be in [0, shards), got shard="
                     << shard.getValue() << " shards=" << shards.getValue();
    if (shards > 1 && !calibrated)
      return error() << "shards apply to calibrated methods (squeeze10, "
                        "pbllm, gptq); method="
                     << method << " quantizes without calibration";
    if (shards > 1 && !fias)
      return error() << "shards need fias=true: with fias=false each block "
                        "is calibrated through the blocks quantized before it";
    if (failed(checkThreads(loc, "squeeze10-quantize", threads)))
      return failure();
    if (calibrated && calibFile.empty())
      return error() << "method '" << method
                     << "' needs a calibration text: calib=<file>";
    return success();
  }

  const Recipe *recipe = nullptr;
  std::string appliedBudget;

  /// budget=B: the recipe's options, where the user set none of them.
  /// budget=auto (the default): the default recipe when no option shapes
  /// the result, else the options as given.
  LogicalResult applyBudget(Location loc) {
    if (budget.empty() || budget == "none" ||
        (recipe && appliedBudget == budget))
      return success();
    auto error = [&]() { return emitError(loc) << "squeeze10-quantize: "; };
    struct Set {
      bool set;
      StringRef name;
    } sets[] = {{method.hasValue(), "method"},
                {bits.hasValue(), "bits"},
                {roleBits.hasValue(), "role-bits"},
                {groupSize.hasValue(), "group-size"},
                {roleGroupSize.hasValue(), "role-group-size"},
                {ternary.hasValue(), "ternary"},
                {clipNorm.hasValue(), "clip-norm"},
                {actOrder.hasValue(), "act-order"},
                {granularity.hasValue(), "granularity"},
                {nmBlock.hasValue(), "nm-block"},
                {channelBlock.hasValue(), "channel-block"},
                {ratio.hasValue(), "ratio"},
                {roleRatio.hasValue(), "role-ratio"},
                {outputRefit.hasValue(), "output-refit"},
                {refitRounds.hasValue(), "refit-rounds"},
                {layout.hasValue(), "layout"},
                {params.hasValue(), "params"}};
    bool autoBudget = budget == "auto";
    if (autoBudget) {
      // Squeeze10's own options configure by hand as well.
      bool shaped = pbar.hasValue() || lambda.hasValue() ||
                    normalize.hasValue() || rangeDelta.hasValue() ||
                    pbarTokens.hasValue() || staged.hasValue() ||
                    diag.hasValue() || refitBinary.hasValue();
      for (const Set &s : sets)
        shaped |= s.set;
      if (shaped)
        return success();
      recipe = &defaultRecipe();
    } else {
      double b;
      if (StringRef(budget).trim().getAsDouble(b) || !std::isfinite(b))
        return error() << "budget '" << budget
                       << "' is not a number of bits per weight (or auto, "
                          "none)";
      recipe = nullptr;
      for (const Recipe &r : kRecipes)
        if (r.bpw <= b)
          recipe = &r;
      if (!recipe)
        return error() << "no recipe fits budget=" << budget
                       << " bits per weight: the smallest, '"
                       << kRecipes[0].name << "', takes "
                       << llvm::formatv("{0:F3}", kRecipes[0].bpw).str();
      if (!pack)
        return error() << "budget needs pack=true: true bits are counted "
                          "from the packed bytes";
      for (const Set &s : sets)
        if (s.set)
          return error() << "option '" << s.name
                         << "' conflicts with budget=" << budget << " (recipe '"
                         << recipe->name << "'): give one or the other";
    }
    // Only the options that apply to the recipe's method: an assignment
    // counts as given, and checkOptions refuses options without effect.
    const Recipe &r = *recipe;
    method = r.method;
    bits = r.bits;
    groupSize = r.groupSize;
    actOrder = r.actOrder;
    outputRefit = true;
    if (r.rounds > 1)
      refitRounds = r.rounds;
    // Unpacked output (auto only) leaves the format to squeeze-pack.
    if (pack)
      params = r.params;
    // A recipe's per-role entries, comma-separated.
    auto assign = [](StringRef list, auto &option) {
      SmallVector<StringRef> entries;
      list.split(entries, ',', -1, /*KeepEmpty=*/false);
      for (StringRef e : entries)
        option.push_back(e.str());
    };
    if (isMixed()) {
      ratio = r.ratio;
      if (StringRef(r.granularity) != "layer")
        granularity = r.granularity;
      if (StringRef(r.granularity) == "nm")
        nmBlock = r.nmBlock;
      assign(r.roleRatio, roleRatio);
    } else {
      assign(r.roleBits, roleBits);
      assign(r.roleGroupSize, roleGroupSize);
      if (r.clipNorm > 0)
        clipNorm = r.clipNorm;
      if (r.ternary)
        ternary = true;
    }
    appliedBudget = budget;
    return success();
  }

  LogicalResult initialize(MLIRContext *ctx) override {
    Location loc = UnknownLoc::get(ctx);
    if (failed(applyBudget(loc)))
      return failure();
    return checkOptions(loc);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool calibrated = isCalibrated();
    // seqlen only matters to calibration.
    if (calibrated && failed(checkSeqlen(module, "squeeze10-quantize", seqlen)))
      return signalPassFailure();
    int64_t blocks = numBlocks();
    if (blocks == 0) {
      emitError(module.getLoc(),
                "squeeze10-quantize: the model has no decoder linear "
                "layers with roles (run raise-onnx-to-squeeze first)");
      return signalPassFailure();
    }
    if (rotate) {
      OpPassManager pm(ModuleOp::getOperationName());
      SqueezeRotateOptions o;
      o.seed = seed;
      pm.addPass(createSqueezeRotate(o));
      if (failed(runPipeline(pm, module)))
        return signalPassFailure();
    }
    bool sequential = !fias && calibrated;
    int64_t rounds = sequential ? blocks : 1;
    SmallVector<std::string> stores;
    auto start = std::chrono::steady_clock::now();
    LogicalResult result = success();
    for (int64_t r = 0; r < rounds && succeeded(result); ++r) {
      SmallString<128> store;
      if (calibrated) {
        int fd;
        if (auto ec = llvm::sys::fs::createTemporaryFile("s10-calib", "bin", fd,
                                                         store)) {
          emitError(module.getLoc(),
                    "squeeze10-quantize: cannot create a temporary "
                    "file: ")
              << ec.message();
          return signalPassFailure();
        }
        ::close(fd);
        stores.push_back(store.str().str());
      }
      // One pipeline: every pass checks its options before any runs.
      OpPassManager pm(ModuleOp::getOperationName());
      addCalibration(pm, store, sequential);
      addQuantization(pm);
      result = runPipeline(pm, module);
    }
    for (const std::string &s : stores)
      llvm::sys::fs::remove(s);
    if (failed(result))
      return signalPassFailure();
    // Every round's layers at once, before squeeze-pack adds its bytes.
    OpPassManager pm(ModuleOp::getOperationName());
    SqueezeReportOptions ro;
    ro.report = report;
    pm.addPass(createSqueezeReport(ro));
    if (pack)
      addPack(pm);
    if (failed(runPipeline(pm, module)))
      return signalPassFailure();
    // Calibration references point into the removed files.
    module.walk([](Operation *op) {
      for (StringRef name : quantizationAttrNames())
        op->removeAttr(name);
    });
    if (recipe && budget == "auto")
      llvm::errs() << "squeeze10-quantize: default recipe '" << recipe->name
                   << "' (" << llvm::format("%.3f", recipe->bpw)
                   << " true bpw on llama-12m; method=... configures by "
                      "hand)\n";
    else if (recipe)
      llvm::errs() << "squeeze10-quantize: budget=" << budget << ": recipe '"
                   << recipe->name << "' (" << llvm::format("%.3f", recipe->bpw)
                   << " true bpw on llama-12m)\n";
    if (recipe)
      llvm::errs() << "squeeze10-quantize: recipe '" << recipe->name
                   << "': " << recipeOptions(*recipe) << "\n";
    llvm::errs() << "squeeze10-quantize: " << method << " done in "
                 << llvm::format("%.1f",
                                 std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - start)
                                     .count())
                 << " s\n";
  }
};
} // namespace
