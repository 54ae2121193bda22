//===- VerifyWeights.cpp - Check the contents of quantized weights --------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEVERIFYWEIGHTS
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;
namespace layout = s10::quant::layout;

namespace {

/// The salient count may differ from the nominal fraction by rounding per
/// unit (row, group, block); more than this is a corrupt mask.
constexpr double kFractionSlack = 0.02;

LogicalResult checkFraction(Operation *op, QuantSchemeAttr scheme,
                            int64_t salient, int64_t weights) {
  double actual = double(salient) / double(weights);
  double nominal = scheme.getSalientFractionValue();
  if (std::abs(actual - nominal) > kFractionSlack)
    return op->emitError() << weightName(op) << ": the salient mask marks "
                           << salient << " of " << weights << " weights ("
                           << llvm::formatv("{0:F4}", actual).str()
                           << "), the type declares salient_fraction "
                           << llvm::formatv("{0:F4}", nominal).str();
  return success();
}

struct VerifyWeightsPass
    : squeeze::impl::SqueezeVerifyWeightsBase<VerifyWeightsPass> {
  LogicalResult verifyUnpacked(QuantizedWeightOp op) {
    QWeightType type = op.getResult().getType();
    QuantSchemeAttr scheme = type.getScheme();
    auto w = readLogical(op);
    if (!w)
      return emitError(op, w.takeError());
    // fit() checks codes against their widths and finite parameters.
    layout::Spec s;
    s.groupSize = scheme.getGroupSize();
    s.bits = scheme.getSalientBits() ? 1 : scheme.getBits();
    s.kind =
        scheme.getSalientBits() ? layout::Kind::Bitmap : layout::Kind::KBit;
    s.salientBits = scheme.getSalientBits();
    if (scheme.getSalientBits() && scheme.getBits() != 1) {
      // Only the code range check applies; no layout holds this scheme.
      s.bits = scheme.getBits();
    }
    if (layout::Status st = layout::fit(s, *w); st.failed())
      return op.emitError() << weightName(op) << ": " << st.message();
    if (scheme.getSalientBits())
      return checkFraction(op, scheme, s.salientCount, w->out * w->in);
    return success();
  }

  LogicalResult verifyPacked(PackedWeightOp op) {
    QWeightType type = op.getResult().getType();
    layout::Spec s = op.getPacking().getSpec();
    ArrayRef<char> bytes = op.getBytes();
    layout::Status st = layout::validate(
        s, type.getOutFeatures(), type.getInFeatures(),
        reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
    if (st.failed())
      return op.emitError() << weightName(op) << ": " << st.message();
    if (s.mixed())
      return checkFraction(op, type.getScheme(), s.salientCount,
                           type.getOutFeatures() * type.getInFeatures());
    return success();
  }

  void runOnOperation() override {
    bool ok = true;
    getOperation().walk([&](Operation *op) {
      if (auto q = dyn_cast<QuantizedWeightOp>(op))
        ok &= succeeded(verifyUnpacked(q));
      else if (auto p = dyn_cast<PackedWeightOp>(op))
        ok &= succeeded(verifyPacked(p));
    });
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
