//===- Unpack.cpp - Turn packed weights back into codes -------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEUNPACK
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;
namespace layout = s10::quant::layout;

namespace {
struct UnpackPass : squeeze::impl::SqueezeUnpackBase<UnpackPass> {
  void runOnOperation() override {
    SmallVector<PackedWeightOp> ops;
    getOperation().walk([&](PackedWeightOp op) { ops.push_back(op); });
    for (PackedWeightOp op : ops) {
      QWeightType type = op.getResult().getType();
      ArrayRef<char> bytes = op.getBytes();
      layout::Logical w;
      layout::Status st = layout::unpack(
          op.getPacking().getSpec(), type.getOutFeatures(),
          type.getInFeatures(), reinterpret_cast<const uint8_t *>(bytes.data()),
          bytes.size(), w);
      if (st.failed()) {
        op.emitError() << "squeeze-unpack: " << weightName(op) << ": "
                       << st.message();
        return signalPassFailure();
      }
      OpBuilder b(op);
      QuantizedWeightOp q = buildUnpacked(b, op.getLoc(), type, w);
      op.getResult().replaceAllUsesWith(q.getResult());
      op.erase();
    }
  }
};
} // namespace
