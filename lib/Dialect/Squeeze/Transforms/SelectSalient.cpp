//===- SelectSalient.cpp - PBAR salience and the salient mask -------------===//

#include "QuantUtils.h"

#include <chrono>

#include "s10/Dialect/Squeeze/Transforms/Passes.h"
#include "s10/Quant/Binarize.h"
#include "s10/Quant/Hessian.h"
#include "s10/Quant/Pbar.h"
#include "s10/Quant/SalientMask.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZESELECTSALIENT
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {
struct SelectSalientPass
    : squeeze::impl::SqueezeSelectSalientBase<SelectSalientPass> {
  using Base::Base;

  quant::MaskOptions mask;
  quant::SalienceDiag diagKind = quant::SalienceDiag::InverseHessian;
  SmallVector<RoleValue> roleRatios;

  /// The salient fraction of `op`: its block's entry, else its kind's,
  /// else `ratio`.
  double ratioFor(LinearOp op) const {
    return roleValueFor(op, roleRatios, ratio);
  }

  /// A fraction N:M salience can keep: between 1 and M - 1 of every M.
  LogicalResult checkNmRatio(Location loc, double r, StringRef what) {
    int64_t k = quant::salientCount(nmBlock, r);
    if (k < 1 || k >= nmBlock)
      return emitError(loc, "squeeze-select-salient: ")
             << what << " " << llvm::formatv("{0}", r).str() << " keeps " << k
             << " of every " << int64_t(nmBlock)
             << " inputs; nm needs between 1 and " << int64_t(nmBlock) - 1;
    return success();
  }

  LogicalResult parseRoleRatios(Location loc) {
    auto parsed = parseRoleValues(roleRatio, "role-ratio", "ratio", 0.0, 1.0);
    if (!parsed)
      return emitError(loc, "squeeze-select-salient: ")
             << llvm::toString(parsed.takeError());
    roleRatios = std::move(*parsed);
    return success();
  }

  /// Options are checked before any pass of the pipeline runs (so before
  /// calibration in squeeze10-quantize).
  LogicalResult initialize(MLIRContext *ctx) override {
    Location loc = UnknownLoc::get(ctx);
    if (!(ratio >= 0.0 && ratio <= 1.0))
      return emitError(loc, "squeeze-select-salient: ratio must be in "
                            "[0, 1], got ")
             << ratio;
    if (hessianF32From < 0)
      return emitError(loc, "squeeze-select-salient: hessian-f32-from must "
                            "be >= 0, got ")
             << hessianF32From.getValue();
    mask.ratio = ratio;
    mask.groupSize = groupSize;
    mask.blockRows = channelBlock;
    if (granularity == "layer")
      mask.granularity = quant::MaskGranularity::Layer;
    else if (granularity == "row")
      mask.granularity = quant::MaskGranularity::Row;
    else if (granularity == "group")
      mask.granularity = quant::MaskGranularity::Group;
    else if (granularity == "channel")
      mask.granularity = quant::MaskGranularity::Structured;
    else if (granularity == "nm") {
      // N:M is top-k of every group of M consecutive inputs.
      if (nmBlock < 2 || nmBlock > 256 || (nmBlock & (nmBlock - 1)))
        return emitError(loc, "squeeze-select-salient: nm-block must be a "
                              "power of two in [2, 256], got ")
               << int64_t(nmBlock);
      if (failed(checkNmRatio(loc, ratio, "ratio")))
        return failure();
      mask.granularity = quant::MaskGranularity::Group;
      mask.groupSize = nmBlock;
    } else
      return emitError(loc, "squeeze-select-salient: unknown granularity '")
             << granularity << "' (expected layer, row, group, channel or nm)";
    if (failed(parseRoleRatios(loc)))
      return failure();
    if (granularity == "nm")
      for (const RoleValue &e : roleRatios)
        if (failed(checkNmRatio(loc, e.value, "role-ratio")))
          return failure();
    if (diag == "hinv")
      diagKind = quant::SalienceDiag::InverseHessian;
    else if (diag == "chol")
      diagKind = quant::SalienceDiag::InverseCholesky;
    else
      return emitError(loc, "squeeze-select-salient: unknown diag '")
             << diag << "' (expected hinv or chol)";
    return success();
  }

  llvm::Error selectFor(LinearOp op, runtime::WeightStore &store,
                        const quant::MaskOptions &maskOpts,
                        quant::SalienceDiag diagKind) {
    if (!op->hasAttr(kHessianAttr))
      return llvm::createStringError(
          "not calibrated (no 'squeeze.hessian'; run squeeze-calibrate)");
    auto w = loadLinearWeight(op, store);
    if (!w)
      return w.takeError();
    if (granularity == "nm" && w->cols % nmBlock != 0)
      return llvm::createStringError(
          "nm salience needs the input size " + std::to_string(w->cols) +
          " to be a multiple of nm-block " + std::to_string(nmBlock));
    int64_t rows = w->rows, cols = w->cols;
    // Each d x d or rows x cols buffer is dropped as soon as it is used: on
    // a 70B-shaped down projection each is 0.9 GB (f32) or 6.6 GB (f64 H).
    // Staged: salience of the stage-1 weight (from W as stored, its dead
    // columns kept), and W is gone before H is read; else of W itself.
    std::optional<quant::Matrix> stage1;
    if (staged) {
      auto s1 = decodeStage1(op, &*w);
      if (!s1)
        return s1.takeError();
      stage1 = std::move(s1->dequantized);
      *w = quant::Matrix(0, cols);
    }
    // H damped (W's dead columns zeroed), then the diagonal in H's own
    // buffer; in f32 from hessian-f32-from inputs on.
    quant::Matrix what;
    auto diagOf = [&](auto h) -> llvm::Expected<std::vector<double>> {
      if (!h)
        return h.takeError();
      if (auto dead = quant::prepareHessian(*h, *w, percdamp); !dead)
        return dead.takeError();
      what = stage1 ? std::move(*stage1) : std::move(*w);
      *w = quant::Matrix();
      return quant::salienceDiagonal(std::move(*h), diagKind);
    };
    auto d = hessianF32From > 0 && cols >= hessianF32From
                 ? diagOf(loadHessianF32(op, store))
                 : diagOf(loadHessian(op, store));
    if (!d)
      return d.takeError();
    auto v = quant::hessianSalience(what, *d);
    if (!v)
      return v.takeError();
    std::optional<quant::Matrix> b;
    if (pbar) {
      auto x = loadSamples(op, store);
      if (!x)
        return x.takeError();
      auto r = quant::rangeSalience(what, *x, groupSize);
      if (!r)
        return r.takeError();
      b = std::move(*r);
      if (rangeDelta)
        if (llvm::Error err = quant::subtractOutputRange(*b, what, *x))
          return std::move(err);
    }
    what = quant::Matrix();
    quant::PbarOptions pbarOpts{lambda, normalize};
    auto m = quant::combineSalience(*v, b ? &*b : nullptr, pbarOpts);
    if (!m)
      return m.takeError();
    *v = quant::Matrix();
    b.reset();
    quant::MaskOptions opts = maskOpts;
    opts.ratio = ratioFor(op);
    auto mask = quant::selectSalient(*m, opts);
    if (!mask)
      return mask.takeError();
    *m = quant::Matrix();
    SmallVector<bool> flat(mask->data.begin(), mask->data.end());
    auto type = RankedTensorType::get({rows, cols},
                                      IntegerType::get(op.getContext(), 1));
    SqueezeDialect &dialect = squeezeDialect(op.getContext());
    dialect.getSalientMaskAttrHelper().setAttr(
        op, DenseElementsAttr::get(type, flat));
    Builder builder(op.getContext());
    dialect.getSalientGranularityAttrHelper().setAttr(
        op, builder.getStringAttr(granularity));
    double nominal = opts.ratio;
    if (granularity == "nm")
      nominal =
          double(quant::salientCount(nmBlock, opts.ratio)) / double(nmBlock);
    dialect.getSalientRatioAttrHelper().setAttr(
        op, builder.getF64FloatAttr(nominal));
    if (granularity == "channel")
      dialect.getSalientChannelBlockAttrHelper().setAttr(
          op, builder.getI64IntegerAttr(channelBlock));
    return llvm::Error::success();
  }

  void runOnOperation() override {
    const quant::MaskOptions &maskOpts = mask;
    auto store = makeWeightStore(getOperation()->getParentOfType<ModuleOp>());
    auto maskAttr = squeezeDialect(&getContext()).getSalientMaskAttrHelper();
    SmallVector<LinearOp> layers = selectLayers(getOperation());
    for (auto [index, op] : llvm::enumerate(layers)) {
      if (maskAttr.isAttrPresent(op))
        continue;
      auto start = std::chrono::steady_clock::now();
      if (llvm::Error err = selectFor(op, *store, maskOpts, diagKind)) {
        (void)emitError(op, std::move(err));
        return signalPassFailure();
      }
      releaseFreedMemory();
      reportSlowLayer("select-salient", index, layers.size(), op, start);
    }
  }
};
} // namespace
