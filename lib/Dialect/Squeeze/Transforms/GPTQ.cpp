//===- GPTQ.cpp - Quantize linear layers with GPTQ compensation -----------===//
//
// The last step of every quantization recipe: turns each calibrated decoder
// squeeze.linear into a squeeze.quantized_linear, and reports what it cost.
//
//===----------------------------------------------------------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"
#include "s10/Quant/Gptq.h"
#include "s10/Quant/Hessian.h"
#include "s10/Quant/Metrics.h"
#include "s10/Quant/Refit.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEGPTQ
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {

enum class Mode { Mixed, KBit, RTN, Binary };

/// What one layer became, for the report.
struct LayerReport {
  std::string name;
  int64_t out = 0, in = 0;
  double salientFraction = 0;
  double payloadBits = 0;
  double relError = -1;   // < 0: no calibration data
  int64_t refitRows = -1; // output-refit: rows whose parameters changed
  double seconds = 0;
};

/// Codes and affine parameters of a quantized weight, ready for the op.
struct Encoded {
  std::vector<int8_t> codes;          // [out, in]
  std::vector<float> scales, offsets; // [out, groups]
  std::vector<bool> mask;             // [out, in], mixed only
  std::vector<float> salientScales, salientOffsets;
  unsigned salientBits = 0; // bits of the salient codes, mixed only
  quant::Matrix dequantized;

  /// The stored scale and offset of every binary group.
  void setBinaryParams(llvm::ArrayRef<quant::BinaryParams> params) {
    for (const quant::BinaryParams &p : params) {
      quant::BinaryCodeParams c = quant::binaryCodeParams(p);
      scales.push_back(c.scale);
      offsets.push_back(c.offset);
    }
  }
};

struct GPTQPass : squeeze::impl::SqueezeGPTQBase<GPTQPass> {
  using Base::Base;

  Mode mode = Mode::Mixed;
  SmallVector<RoleValue> roleBitsValues, roleGroupValues;
  // The layer being quantized: bits and group size after the role options.
  unsigned curBits = 0;
  int64_t curGroupSize = 0;
  /// Codes per group of the layer being quantized (0: 2^curBits).
  unsigned curLevels() const { return ternary && curBits == 2 ? 3u : 0u; }

  /// Options are checked before any pass of the pipeline runs (so before
  /// calibration in squeeze10-quantize).
  LogicalResult initialize(MLIRContext *ctx) override {
    Location loc = UnknownLoc::get(ctx);
    if (modeName == "mixed")
      mode = Mode::Mixed;
    else if (modeName == "kbit")
      mode = Mode::KBit;
    else if (modeName == "rtn")
      mode = Mode::RTN;
    else if (modeName == "binary")
      mode = Mode::Binary;
    else
      return emitError(loc, "squeeze-gptq: unknown mode '")
             << modeName << "' (expected mixed, kbit, rtn or binary)";
    if (mode != Mode::Mixed && (bits < 1 || bits > 8))
      return emitError(loc, "squeeze-gptq: bits must be in [1, 8], got ")
             << int64_t(bits);
    auto rb = parseRoleValues(roleBits, "role-bits", "bits", 1, 8, true);
    if (!rb)
      return emitError(loc, "squeeze-gptq: ") << llvm::toString(rb.takeError());
    roleBitsValues = std::move(*rb);
    auto rg = parseRoleValues(roleGroupSize, "role-group-size", "group size", 0,
                              double(1 << 20), true);
    if (!rg)
      return emitError(loc, "squeeze-gptq: ") << llvm::toString(rg.takeError());
    roleGroupValues = std::move(*rg);
    if ((!roleBitsValues.empty() || !roleGroupValues.empty()) &&
        mode != Mode::KBit && mode != Mode::RTN)
      return emitError(loc, "squeeze-gptq: role-bits and role-group-size "
                            "apply to modes kbit and rtn, got mode ")
             << modeName;
    if (ternary && mode != Mode::KBit && mode != Mode::RTN)
      return emitError(loc, "squeeze-gptq: ternary applies to modes kbit "
                            "and rtn, got mode ")
             << modeName;
    if (clipNorm != 0 && mode != Mode::KBit && mode != Mode::RTN)
      return emitError(loc, "squeeze-gptq: clip-norm applies to modes kbit "
                            "and rtn, got mode ")
             << modeName;
    if (auto err = quant::checkClipNorm(clipNorm))
      return emitError(loc, "squeeze-gptq: clip-norm: ")
             << llvm::toString(std::move(err));
    if (blockSize <= 0)
      return emitError(loc, "squeeze-gptq: block-size must be positive");
    if (hessianF32From < 0)
      return emitError(loc, "squeeze-gptq: hessian-f32-from must be >= 0, "
                            "got ")
             << hessianF32From.getValue();
    if (refitRounds < 1)
      return emitError(loc, "squeeze-gptq: refit-rounds must be >= 1, got ")
             << refitRounds.getValue();
    if (refitRounds > 1 && !outputRefit)
      return emitError(loc, "squeeze-gptq: refit-rounds needs "
                            "output-refit=true");
    if (outputRefit && mode != Mode::Mixed && mode != Mode::KBit)
      return emitError(loc, "squeeze-gptq: output-refit needs calibration "
                            "(mode mixed or kbit), got mode ")
             << modeName;
    return success();
  }

  /// GPTQ again from the weight as stored, with `prev`'s parameters fixed
  /// (its codes are chosen anew); nullopt where a parameter cannot be fixed
  /// (a zero scale), which ends the rounds for the layer.
  llvm::Expected<std::optional<Encoded>>
  requantizeFixed(Operation *op, runtime::WeightStore &store,
                  const quant::Matrix &original, const Encoded &prev) {
    auto zeroPoints = [](const std::vector<float> &scales,
                         const std::vector<float> &offsets)
        -> std::optional<std::vector<quant::UniformParams>> {
      std::vector<quant::UniformParams> p;
      for (size_t k = 0; k < scales.size(); ++k) {
        if (!(scales[k] > 0.0f))
          return std::nullopt;
        p.push_back({scales[k], -offsets[k] / scales[k]});
      }
      return p;
    };
    quant::Matrix w = original;
    // prev with the codes and values of a GPTQ run through `q`.
    auto rerun = [&](auto q) -> llvm::Expected<std::optional<Encoded>> {
      if (!q)
        return q.takeError();
      auto res = runGptq(op, w, store, *q);
      if (!res)
        return res.takeError();
      Encoded e = prev;
      e.codes.assign(q->codes().begin(), q->codes().end());
      e.dequantized = std::move(res->quantized);
      return std::optional<Encoded>(std::move(e));
    };
    if (mode == Mode::KBit) {
      auto params = zeroPoints(prev.scales, prev.offsets);
      if (!params)
        return std::optional<Encoded>();
      return rerun(quant::UniformColumnQuantizer::createFixedAffine(
          w.rows, w.cols, curBits, curGroupSize, std::move(*params),
          curLevels()));
    }
    quant::MixedColumnQuantizer::Config cfg;
    bool anySalient = llvm::is_contained(prev.mask, true);
    if (anySalient) {
      auto params = zeroPoints(prev.salientScales, prev.salientOffsets);
      if (!params)
        return std::optional<Encoded>();
      cfg.salient = quant::Mask(w.rows, w.cols);
      for (int64_t i = 0; i < w.size(); ++i)
        cfg.salient.data[i] = prev.mask[i];
      cfg.kParams = std::move(*params);
      cfg.kAffine = true;
    }
    cfg.bits = prev.salientBits;
    cfg.kGroupSize = curGroupSize;
    cfg.binGroupSize = curGroupSize;
    cfg.refitBinary = false;
    // Codes {0, 1} decode to offset and offset + scale: mu is their middle.
    for (size_t k = 0; k < prev.scales.size(); ++k)
      cfg.binParams.push_back(
          {prev.scales[k] / 2, prev.offsets[k] + prev.scales[k] / 2});
    return rerun(
        quant::MixedColumnQuantizer::create(w.rows, w.cols, std::move(cfg)));
  }

  /// output-refit: every row's group parameters refit for the output error
  /// against the weight as stored, its codes kept; `e.dequantized` follows.
  llvm::Expected<quant::RefitStats> refitOutput(Operation *op,
                                                runtime::WeightStore &store,
                                                const quant::Matrix &original,
                                                Encoded &e) {
    auto h = loadHessian(op, store);
    if (!h)
      return h.takeError();
    // The same damped H and zeroed dead columns as GPTQ saw.
    quant::Matrix target = original;
    if (auto dead = quant::prepareHessian(*h, target, percdamp); !dead)
      return dead.takeError();
    bool mixed = mode == Mode::Mixed;
    quant::AffineCode c;
    c.rows = original.rows;
    c.cols = original.cols;
    c.groupSize = quant::resolveGroupSize(c.cols, curGroupSize);
    c.slots = mixed ? 2 : 1;
    c.codes.assign(e.codes.begin(), e.codes.end());
    if (mixed)
      c.slot.assign(e.mask.begin(), e.mask.end());
    size_t pairs = e.scales.size();
    for (size_t p = 0; p < pairs; ++p) {
      c.scale.push_back(e.scales[p]);
      c.offset.push_back(e.offsets[p]);
      if (mixed) {
        c.scale.push_back(e.salientScales[p]);
        c.offset.push_back(e.salientOffsets[p]);
      }
    }
    auto stats = quant::refitForOutput(target, *h, c);
    if (!stats)
      return stats.takeError();
    for (size_t p = 0; p < pairs; ++p) {
      e.scales[p] = c.scale[p * c.slots];
      e.offsets[p] = c.offset[p * c.slots];
      if (mixed) {
        e.salientScales[p] = c.scale[p * 2 + 1];
        e.salientOffsets[p] = c.offset[p * 2 + 1];
      }
    }
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t j = 0; j < c.cols; ++j)
        e.dequantized(r, j) = c.decode(r, j);
    return *stats;
  }

  /// GPTQ of `w` with `op`'s H, damped, the dead columns of `w` zeroed. H
  /// is read only now, after the layer's other buffers exist (6.6 GB in f64
  /// on a 70B down projection), and in f32 from hessian-f32-from inputs on.
  llvm::Expected<quant::GptqResult> runGptq(Operation *op, quant::Matrix &w,
                                            runtime::WeightStore &store,
                                            quant::ColumnQuantizer &q) {
    auto run = [&](auto h) -> llvm::Expected<quant::GptqResult> {
      if (!h)
        return h.takeError();
      if (auto dead = quant::prepareHessian(*h, w, percdamp); !dead)
        return dead.takeError();
      return quant::gptqQuantize(w, std::move(*h), q, gptqOptions());
    };
    if (hessianF32From > 0 && w.cols >= hessianF32From)
      return run(loadHessianF32(op, store));
    return run(loadHessian(op, store));
  }

  /// k-bit (GPTQ or RTN) encoding.
  llvm::Expected<Encoded> encodeKBit(Operation *op, quant::Matrix &w,
                                     runtime::WeightStore &store) {
    Encoded e;
    std::vector<quant::UniformParams> params;
    std::vector<uint8_t> codes;
    if (mode == Mode::RTN) {
      auto r = quant::quantizeUniform(
          w, {curBits, curGroupSize, false, clipNorm, curLevels()});
      if (!r)
        return r.takeError();
      params = r->params;
      codes = r->codes;
      e.dequantized = std::move(r->dequantized);
    } else {
      auto q = quant::UniformColumnQuantizer::createRefit(
          w.rows, w.cols,
          {curBits, curGroupSize, false, clipNorm, curLevels()});
      if (!q)
        return q.takeError();
      auto res = runGptq(op, w, store, *q);
      if (!res)
        return res.takeError();
      params.assign(q->params().begin(), q->params().end());
      codes.assign(q->codes().begin(), q->codes().end());
      e.dequantized = std::move(res->quantized);
    }
    e.codes.assign(codes.begin(), codes.end());
    for (const quant::UniformParams &p : params) {
      e.scales.push_back(p.scale);
      e.offsets.push_back(-p.scale * p.zero);
    }
    return e;
  }

  /// alpha sign(w - mu) + mu per (row, group), no calibration.
  llvm::Expected<Encoded> encodeBinary(const quant::Matrix &w) {
    auto bin = quant::binarizeGroups(w, curGroupSize);
    if (!bin)
      return bin.takeError();
    Encoded e;
    e.dequantized = bin->values;
    e.codes = quant::binaryCodes(w, *bin);
    e.setBinaryParams(bin->params);
    return e;
  }

  /// Salient k-bit + binary encoding with GPTQ feedback.
  llvm::Expected<Encoded> encodeMixed(Operation *op, quant::Matrix &w,
                                      runtime::WeightStore &store) {
    // The stage-1 values only when the binary parameters are fit on them,
    // from the weight as stored (`w` has its dead columns zeroed).
    std::optional<quant::Matrix> stored;
    if (!refitBinary) {
      auto loaded = loadLinearWeight(cast<LinearOp>(op), store);
      if (!loaded)
        return loaded.takeError();
      stored = std::move(*loaded);
    }
    auto s1 = decodeStage1(op, stored ? &*stored : nullptr);
    stored.reset();
    if (!s1)
      return s1.takeError();
    auto mask = decodeSalientMask(op, w.rows, w.cols);
    if (!mask)
      return mask.takeError();
    if (s1->groupSize != quant::resolveGroupSize(w.cols, curGroupSize))
      return llvm::createStringError("stage-1 group size " +
                                     std::to_string(s1->groupSize) +
                                     " differs from the binary group size " +
                                     std::to_string(curGroupSize));
    quant::MixedColumnQuantizer::Config cfg;
    cfg.salient = *mask;
    cfg.bits = s1->bits;
    cfg.kGroupSize = s1->groupSize;
    cfg.kParams = s1->params;
    cfg.binGroupSize = curGroupSize;
    cfg.refitBinary = refitBinary;
    if (!refitBinary) {
      // Binary parameters fit once on the stage-1 weight.
      auto bin = quant::binarizeGroups(s1->dequantized, curGroupSize,
                                       mask->data.empty() ? nullptr : &*mask);
      if (!bin)
        return bin.takeError();
      cfg.binParams = bin->params;
    }
    s1->dequantized = quant::Matrix();
    auto q =
        quant::MixedColumnQuantizer::create(w.rows, w.cols, std::move(cfg));
    if (!q)
      return q.takeError();
    auto res = runGptq(op, w, store, *q);
    if (!res)
      return res.takeError();
    Encoded e;
    e.salientBits = s1->bits;
    e.dequantized = std::move(res->quantized);
    e.codes.assign(q->codes().begin(), q->codes().end());
    e.setBinaryParams(q->binaryParams());
    e.mask.assign(w.size(), false);
    for (int64_t i = 0; i < w.size(); ++i)
      e.mask[i] = !mask->data.empty() && mask->data[i];
    for (const quant::UniformParams &p : s1->params) {
      e.salientScales.push_back(p.scale);
      e.salientOffsets.push_back(-p.scale * p.zero);
    }
    return e;
  }

  quant::GptqOptions gptqOptions() const {
    quant::GptqOptions o;
    o.blockSize = blockSize;
    o.actOrder = actOrder;
    o.maxDampRetries = 3;
    o.retryPercdamp = percdamp;
    return o;
  }

  /// Builds the quantized weight and linear ops in place of `op`.
  QuantizedLinearOp rewrite(LinearOp op, const Encoded &e, int64_t out,
                            int64_t in, double salientFraction,
                            StringRef granularity) {
    OpBuilder b(op);
    MLIRContext *ctx = op.getContext();
    int64_t groups = quant::numGroups(in, curGroupSize);
    bool mixed = mode == Mode::Mixed;
    MaskGranularity maskKind = MaskGranularity::none;
    if (mixed && salientFraction > 0)
      maskKind = symbolizeMaskGranularity(
                     granularity == "channel" ? "channel" : granularity)
                     .value_or(MaskGranularity::layer);
    unsigned salientBits =
        maskKind == MaskGranularity::none ? 0 : e.salientBits;
    auto scheme = QuantSchemeAttr::get(
        ctx, mixed || mode == Mode::Binary ? 1u : unsigned(curBits),
        quant::resolveGroupSize(in, curGroupSize), salientBits,
        APFloat(salientBits ? salientFraction : 0.0), maskKind,
        StorageLayout::unpacked, mixed ? 0u : curLevels());
    auto qType = QWeightType::get(ctx, out, in, scheme);
    auto codeType = RankedTensorType::get({out, in}, b.getI8Type());
    auto paramType = RankedTensorType::get({out, groups}, b.getF32Type());
    auto dense = [&](RankedTensorType t, const std::vector<float> &v) {
      return DenseElementsAttr::get(t, llvm::ArrayRef<float>(v));
    };
    ElementsAttr maskAttr, sScales, sOffsets;
    if (salientBits) {
      SmallVector<bool> flat(e.mask.begin(), e.mask.end());
      maskAttr = DenseElementsAttr::get(
          RankedTensorType::get({out, in}, b.getI1Type()), flat);
      sScales = dense(paramType, e.salientScales);
      sOffsets = dense(paramType, e.salientOffsets);
    }
    auto qw = QuantizedWeightOp::create(
        b, op.getLoc(), qType,
        DenseElementsAttr::get(codeType, llvm::ArrayRef<int8_t>(e.codes)),
        dense(paramType, e.scales), dense(paramType, e.offsets), maskAttr,
        sScales, sOffsets);
    auto ql =
        QuantizedLinearOp::create(b, op.getLoc(), op.getType(), op.getInput(),
                                  qw, op.getBias(), op.getRoleAttr());
    op.replaceAllUsesWith(ql.getResult());
    op.erase();
    return ql;
  }

  void runOnOperation() override {
    auto store = makeWeightStore(getOperation()->getParentOfType<ModuleOp>());
    SmallVector<LinearOp> layers = selectLayers(getOperation());
    auto record = squeezeDialect(&getContext()).getQuantReportAttrHelper();
    for (auto [index, op] : llvm::enumerate(layers)) {
      auto start = std::chrono::steady_clock::now();
      LayerReport rep;
      rep.name = layerName(op);
      llvm::Expected<QuantizedLinearOp> ql = quantizeOne(op, *store, rep);
      if (!ql) {
        (void)emitError(op, ql.takeError());
        return signalPassFailure();
      }
      rep.seconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
      // The numbers stay with the layer; squeeze-report gathers them.
      Builder b(&getContext());
      SmallVector<NamedAttribute> fields{
          b.getNamedAttr("mode", b.getStringAttr(modeName)),
          b.getNamedAttr("salient_fraction",
                         b.getF64FloatAttr(rep.salientFraction)),
          b.getNamedAttr("payload_bpw", b.getF64FloatAttr(rep.payloadBits)),
          b.getNamedAttr("seconds", b.getF64FloatAttr(rep.seconds))};
      if (rep.relError >= 0)
        fields.push_back(b.getNamedAttr("relative_output_error",
                                        b.getF64FloatAttr(rep.relError)));
      if (rep.refitRows >= 0)
        fields.push_back(
            b.getNamedAttr("refit_rows", b.getI64IntegerAttr(rep.refitRows)));
      record.setAttr(*ql, b.getDictionaryAttr(fields));
      releaseFreedMemory();
      if (!quiet)
        llvm::errs() << llvm::formatv(
            "quantize [{0,2}/{1}] {2,-8} {3,4}x{4,-4} salient {5,5:P1}  "
            "payload {6,5:F3} bpw  rel.err {7,7:F4}  {8:F2}s\n",
            index + 1, layers.size(), rep.name, rep.out, rep.in,
            rep.salientFraction, rep.payloadBits, rep.relError, rep.seconds);
    }
  }

  llvm::Expected<QuantizedLinearOp>
  quantizeOne(LinearOp op, runtime::WeightStore &store, LayerReport &rep) {
    curBits = unsigned(roleValueFor(op, roleBitsValues, bits));
    curGroupSize = int64_t(roleValueFor(op, roleGroupValues, groupSize));
    auto w = loadLinearWeight(op, store);
    if (!w)
      return w.takeError();
    rep.out = w->rows;
    rep.in = w->cols;
    bool calibrated = op->hasAttr(kHessianAttr);
    if (!calibrated && mode != Mode::RTN && mode != Mode::Binary)
      return llvm::createStringError(
          "not calibrated (no 'squeeze.hessian'; run squeeze-calibrate)");
    // GPTQ damps H in place and drops it once factored; the undamped H for
    // the error figure is read again afterwards, a slice at a time.
    llvm::Expected<Encoded> enc =
        mode == Mode::Mixed    ? encodeMixed(op, *w, store)
        : mode == Mode::Binary ? encodeBinary(*w)
                               : encodeKBit(op, *w, store);
    if (!enc)
      return enc.takeError();
    int64_t salient = llvm::count(enc->mask, true);
    rep.salientFraction = double(salient) / double(w->size());
    StringRef granularity = "layer";
    SqueezeDialect &d = squeezeDialect(op.getContext());
    if (StringAttr g = d.getSalientGranularityAttrHelper().getAttr(op))
      granularity = g.getValue();
    unsigned codeBits =
        mode == Mode::Mixed || mode == Mode::Binary ? 1u : unsigned(curBits);
    rep.payloadBits = quant::layout::payloadBitsPerWeight(
        codeBits, mode == Mode::Mixed ? enc->salientBits : codeBits,
        double(salient), double(w->size()));
    if (mode != Mode::Mixed && curLevels() == 3)
      rep.payloadBits = 1.6; // five codes per byte
    if (calibrated) {
      // The weight as stored (prepareHessian zeroed dead columns of *w),
      // read again rather than kept through GPTQ.
      *w = quant::Matrix();
      auto original = loadLinearWeight(op, store);
      if (!original)
        return original.takeError();
      // Layers whose H is held in f32 keep GPTQ's parameters.
      if (outputRefit &&
          !(hessianF32From > 0 && original->cols >= hessianF32From)) {
        auto stats = refitOutput(op, store, *original, *enc);
        if (!stats)
          return stats.takeError();
        rep.refitRows = stats->rowsChanged;
        for (int64_t round = 1; round < refitRounds; ++round) {
          auto again = requantizeFixed(op, store, *original, *enc);
          if (!again)
            return again.takeError();
          if (!*again)
            break;
          auto s2 = refitOutput(op, store, *original, **again);
          if (!s2)
            return s2.takeError();
          // A round is kept only if it lowers the calibration error.
          if (!(s2->errorAfter < stats->errorAfter))
            break;
          *enc = std::move(**again);
          stats = std::move(s2);
        }
      }
      auto relErr =
          hessianRelativeError(op, store, *original, enc->dequantized);
      if (!relErr)
        return relErr.takeError();
      rep.relError = *relErr;
    }
    // The type records the requested fraction; the report the exact one.
    double nominal = rep.salientFraction;
    if (FloatAttr r = d.getSalientRatioAttrHelper().getAttr(op))
      nominal = r.getValueAsDouble();
    return rewrite(op, *enc, rep.out, rep.in, nominal, granularity);
  }
};
} // namespace
