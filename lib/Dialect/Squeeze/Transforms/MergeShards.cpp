//===- MergeShards.cpp - Assemble a model quantized in shards -------------===//
//
// With FIAS every layer's statistics come from one full-precision pass, so
// shards quantize disjoint layers independently; this pass puts their
// packed layers back into one model, op for op as a single run makes it.
//
//===----------------------------------------------------------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"
#include "s10/Tools/InputFile.h"

#include "mlir/IR/Builders.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

#include <map>

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEMERGESHARDS
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {
using Key = std::pair<int64_t, int>; // (block, kind)

Key keyOf(Operation *op) {
  RoleAttr role = op->getAttrOfType<RoleAttr>("role");
  return {role.getBlock(), int(role.getKind())};
}

struct MergeShardsPass
    : squeeze::impl::SqueezeMergeShardsBase<MergeShardsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](Location loc, const Twine &msg) {
      emitError(loc, "squeeze-merge-shards: " + msg);
      signalPassFailure();
    };
    if (parts.empty())
      return fail(module.getLoc(), "no parts to merge (parts=FILE,...)");
    // Full-precision layers to fill, and where each quantized one came from.
    std::map<Key, LinearOp> pending;
    std::map<Key, std::string> source;
    module.walk([&](Operation *op) {
      if (!isDecoderLinear(op))
        return;
      if (auto linear = dyn_cast<LinearOp>(op))
        pending[keyOf(op)] = linear;
      else if (isa<QuantizedLinearOp>(op))
        source[keyOf(op)] = "the module itself";
    });

    ParserConfig config(&getContext());
    for (const std::string &path : parts) {
      // Packed bytecode needs an aligned buffer (s10/Tools/InputFile.h).
      auto buffer = readModelFile(path);
      if (!buffer)
        return fail(module.getLoc(), "cannot read part '" + path +
                                         "': " + buffer.getError().message());
      llvm::SourceMgr sources;
      sources.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
      OwningOpRef<ModuleOp> part = parseSourceFile<ModuleOp>(sources, config);
      if (!part)
        return fail(module.getLoc(), "cannot parse part '" + path + "'");
      WalkResult walk = part->walk([&](QuantizedLinearOp ql) {
        if (!isDecoderLinear(ql))
          return WalkResult::advance();
        Key key = keyOf(ql);
        std::string name = layerName(ql);
        auto it = pending.find(key);
        if (it == pending.end()) {
          auto done = source.find(key);
          fail(ql.getLoc(), done != source.end()
                                ? "layer " + name + " is quantized in both " +
                                      done->second + " and '" + path + "'"
                                : "layer " + name + " of '" + path +
                                      "' is not a layer of this model");
          return WalkResult::interrupt();
        }
        LinearOp fp = it->second;
        auto packed = ql.getWeight().getDefiningOp<PackedWeightOp>();
        if (!packed) {
          fail(ql.getLoc(), "layer " + name + " of '" + path +
                                "' is not packed (quantize with pack=true)");
          return WalkResult::interrupt();
        }
        auto wType = cast<ShapedType>(fp.getWeight().getType());
        bool outIn = fp.getWeightLayout() == WeightLayout::out_in;
        QWeightType qType = packed.getResult().getType();
        if (fp.getType() != ql.getType() ||
            fp.getInput().getType() != ql.getInput().getType() ||
            wType.getDimSize(outIn ? 0 : 1) != qType.getOutFeatures() ||
            wType.getDimSize(outIn ? 1 : 0) != qType.getInFeatures()) {
          fail(ql.getLoc(), "layer " + name + " of '" + path +
                                "' does not match this model's shapes");
          return WalkResult::interrupt();
        }
        // Where and how squeeze-gptq and squeeze-pack would have put it.
        OpBuilder b(fp);
        Operation *weight = b.clone(*packed);
        auto merged = QuantizedLinearOp::create(
            b, fp.getLoc(), fp.getType(), fp.getInput(), weight->getResult(0),
            fp.getBias(), fp.getRoleAttr());
        fp.replaceAllUsesWith(merged.getResult());
        fp.erase();
        pending.erase(it);
        source[key] = "'" + path + "'";
        return WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return;
    }
    if (!pending.empty())
      return fail(pending.begin()->second.getLoc(),
                  "layer " + layerName(pending.begin()->second) +
                      " is in no part (" + Twine(pending.size()) +
                      " layers missing; is a shard's result left out?)");
  }
};
} // namespace
