//===- QuantizeStage1.cpp - Intermediate k-bit quantization ---------------===//

#include "QuantUtils.h"

#include <chrono>

#include "s10/Dialect/Squeeze/Transforms/Passes.h"
#include "s10/Runtime/WeightStore.h"

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEQUANTIZESTAGE1
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {
struct QuantizeStage1Pass
    : squeeze::impl::SqueezeQuantizeStage1Base<QuantizeStage1Pass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *ctx) override {
    if (bits < 2 || bits > 8)
      return emitError(UnknownLoc::get(ctx), "squeeze-quantize-stage1: bits "
                                             "must be in [2, 8], got ")
             << int64_t(bits);
    if (auto err = quant::checkClipNorm(clipNorm))
      return emitError(UnknownLoc::get(ctx),
                       "squeeze-quantize-stage1: clip-norm: ")
             << llvm::toString(std::move(err));
    return success();
  }

  void runOnOperation() override {
    auto store = makeWeightStore(getOperation()->getParentOfType<ModuleOp>());
    quant::UniformSpec spec{bits, groupSize, /*includeZero=*/false, clipNorm};
    auto stage1 = squeezeDialect(&getContext()).getStage1AttrHelper();
    SmallVector<LinearOp> layers = selectLayers(getOperation());
    for (auto [index, op] : llvm::enumerate(layers)) {
      if (stage1.isAttrPresent(op))
        continue;
      auto start = std::chrono::steady_clock::now();
      auto w = loadLinearWeight(op, *store);
      if (!w) {
        (void)emitError(op, w.takeError());
        return signalPassFailure();
      }
      auto q = quant::quantizeUniform(*w, spec);
      if (!q) {
        (void)emitError(op, q.takeError());
        return signalPassFailure();
      }
      stage1.setAttr(op, encodeStage1(op.getContext(), *q));
      releaseFreedMemory();
      reportSlowLayer("stage1", index, layers.size(), op, start);
    }
  }
};
} // namespace
