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

#include <chrono>
#include <unistd.h>

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZE10QUANTIZE
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {
struct Squeeze10QuantizePass
    : squeeze::impl::Squeeze10QuantizeBase<Squeeze10QuantizePass> {
  using Base::Base;

  /// Adds one round (calibrate .. gptq) to `pm`; `store` is the side file
  /// of this round's calibration.
  void addRound(OpPassManager &pm, StringRef store, bool sequential,
                bool appendReport) {
    bool calibrated = method != "rtn" && method != "binary";
    if (calibrated) {
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
      pm.addPass(createSqueezeCalibrate(c));
    }
    OpPassManager &fpm = pm.nest<func::FuncOp>();
    SqueezeGPTQOptions g;
    g.groupSize = groupSize;
    g.blockSize = blockSize;
    g.percdamp = percdamp;
    g.actOrder = actOrder;
    g.refitBinary = refitBinary;
    g.report = report;
    g.appendReport = appendReport;
    g.bits = bits;
    if (method == "squeeze10" || method == "pbllm") {
      SqueezeQuantizeStage1Options s1;
      s1.bits = bits;
      s1.groupSize = groupSize;
      fpm.addPass(createSqueezeQuantizeStage1(s1));
      SqueezeSelectSalientOptions s;
      s.ratio = ratio;
      s.granularity = granularity;
      s.channelBlock = channelBlock;
      s.nmBlock = nmBlock;
      s.groupSize = groupSize;
      s.percdamp = percdamp;
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

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (method != "squeeze10" && method != "pbllm" && method != "gptq" &&
        method != "rtn" && method != "binary") {
      module.emitError("squeeze10-quantize: unknown method '")
          << method << "' (expected squeeze10, pbllm, gptq, rtn or binary)";
      return signalPassFailure();
    }
    quant::layout::Kind kind;
    if (layout != "auto" && !quant::layout::parseKind(layout, kind)) {
      module.emitError("squeeze10-quantize: unknown layout '")
          << layout << "' (expected auto, kbit, bitmap, chanblock or nm)";
      return signalPassFailure();
    }
    quant::layout::ParamFormat format;
    if (!quant::layout::parseParamFormat(params, format)) {
      module.emitError("squeeze10-quantize: unknown params '")
          << params << "' (expected f16 or q8)";
      return signalPassFailure();
    }
    // A layout that cannot hold what the method produces fails now, not
    // after calibration.
    bool mixed = method == "squeeze10" || method == "pbllm";
    if (layout != "auto") {
      StringRef need;
      if (kind == quant::layout::Kind::KBit && mixed)
        need = "a method without salient weights (rtn, binary, gptq)";
      else if (kind != quant::layout::Kind::KBit && !mixed)
        need = "salient weights (method=squeeze10 or pbllm)";
      else if (kind == quant::layout::Kind::ChannelBlock &&
               granularity != "channel")
        need = "granularity=channel";
      else if (kind == quant::layout::Kind::NM && granularity != "nm")
        need = "granularity=nm";
      if (!need.empty()) {
        module.emitError("squeeze10-quantize: layout=")
            << layout << " needs " << need;
        return signalPassFailure();
      }
    }
    bool calibrated = method != "rtn" && method != "binary";
    // seqlen only matters to calibration.
    if (failed(checkRunOptions(module, "squeeze10-quantize", threads,
                               calibrated ? seqlen.getValue() : 0)))
      return signalPassFailure();
    if (calibrated && calibFile.empty()) {
      module.emitError("squeeze10-quantize: method '")
          << method << "' needs a calibration text: calib=<file>";
      return signalPassFailure();
    }
    int64_t blocks = numBlocks();
    if (blocks == 0) {
      module.emitError("squeeze10-quantize: the model has no decoder linear "
                       "layers with roles (run raise-onnx-to-squeeze first)");
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
          module.emitError("squeeze10-quantize: cannot create a temporary "
                           "file: ")
              << ec.message();
          return signalPassFailure();
        }
        ::close(fd);
        stores.push_back(store.str().str());
      }
      OpPassManager pm(ModuleOp::getOperationName());
      addRound(pm, store, sequential, /*appendReport=*/r > 0);
      result = runPipeline(pm, module);
    }
    for (const std::string &s : stores)
      llvm::sys::fs::remove(s);
    if (failed(result))
      return signalPassFailure();
    if (pack) {
      OpPassManager pm(ModuleOp::getOperationName());
      addPack(pm);
      if (failed(runPipeline(pm, module)))
        return signalPassFailure();
    }
    // Calibration references point into the removed files.
    module.walk([](Operation *op) {
      for (StringRef name : {kHessianAttr, kSamplesAttr, kCalibTokensAttr,
                             kStage1Attr, kSalientMaskAttr})
        op->removeAttr(name);
      op->removeAttr("squeeze.salient_granularity");
      op->removeAttr("squeeze.salient_channel_block");
      op->removeAttr("squeeze.salient_ratio");
    });
    llvm::errs() << "squeeze10-quantize: " << method << " done in "
                 << llvm::format("%.1f",
                                 std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - start)
                                     .count())
                 << " s\n";
  }
};
} // namespace
