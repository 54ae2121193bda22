//===- Pack.cpp - Pack quantized weights into their kernel layout ---------===//
//
// The bytes come from the layout library (s10/Quant/Layout.h); this pass
// only picks the layout, moves the bytes into a resource blob and reports
// what they cost.
//
//===----------------------------------------------------------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEPACK
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;
namespace layout = s10::quant::layout;

namespace {

struct PackedReport {
  std::string name;
  int64_t out = 0, in = 0;
  uint64_t bytes = 0;
  double payloadBpw = 0;
  int64_t salient = 0;
  std::string layout;
  double trueBpw() const {
    return layout::trueBitsPerWeight(double(bytes), double(out * in));
  }
};

bool isSal(const layout::Logical &w, int64_t i, int64_t j) {
  return !w.salient.empty() && w.salient[i * w.in + j];
}

/// Rows per block of a channel mask: the first row that differs from row 0
/// (all rows if none does).
int64_t detectChannelBlock(const layout::Logical &w) {
  for (int64_t i = 1; i < w.out; ++i)
    for (int64_t j = 0; j < w.in; ++j)
      if (isSal(w, i, j) != isSal(w, 0, j))
        return i;
  return w.out;
}

/// The smallest power-of-two M for which every M inputs of every row hold
/// the same number k (0 < k < M) of salient weights; 0 if none.
std::pair<int64_t, int64_t> detectNM(const layout::Logical &w) {
  for (int64_t m = 2; m <= 256 && m <= w.in; m *= 2) {
    if (w.in % m)
      continue;
    int64_t k = -1;
    bool ok = true;
    for (int64_t i = 0; i < w.out && ok; ++i)
      for (int64_t b = 0; b < w.in / m && ok; ++b) {
        int64_t n = 0;
        for (int64_t j = b * m; j < (b + 1) * m; ++j)
          n += isSal(w, i, j);
        if (k < 0)
          k = n;
        ok = n == k;
      }
    if (ok && k > 0 && k < m)
      return {m, k};
  }
  return {0, 0};
}

struct PackPass : squeeze::impl::SqueezePackBase<PackPass> {
  using Base::Base;

  layout::ParamFormat format = layout::ParamFormat::F16;
  bool autoKind = true;
  layout::Kind kind = layout::Kind::Bitmap;

  LogicalResult initialize(MLIRContext *ctx) override {
    if (layout != "auto") {
      if (!layout::parseKind(layout, kind))
        return emitError(UnknownLoc::get(ctx), "squeeze-pack: unknown layout '")
               << layout
               << "' (expected auto, kbit, ternary, bitmap, chanblock or nm)";
      autoKind = false;
    }
    if (!layout::parseParamFormat(params, format))
      return emitError(UnknownLoc::get(ctx), "squeeze-pack: unknown params '")
             << params << "' (expected f16, q8 or q8t)";
    if (block < 0)
      return emitError(UnknownLoc::get(ctx),
                       "squeeze-pack: block must be >= 0, got ")
             << block;
    return success();
  }

  /// The layout spec for `w` under the pass options.
  llvm::Expected<layout::Spec> chooseSpec(QuantSchemeAttr scheme,
                                          const layout::Logical &w) {
    layout::Spec s;
    s.groupSize = scheme.getGroupSize();
    s.params = format;
    s.bits = scheme.getBits();
    if (scheme.getSalientBits() == 0) {
      // Ternary codes fit both layouts; auto picks the five-per-byte one.
      bool ternary = scheme.getLevels() == 3;
      s.kind = ternary ? layout::Kind::Ternary : layout::Kind::KBit;
      if (!autoKind && kind != layout::Kind::KBit &&
          kind != layout::Kind::Ternary)
        return llvm::createStringError(
            std::string("the weight has no salient weights; the ") +
            layout::kindName(kind) + " layout needs them (use kbit" +
            (ternary ? " or ternary)" : ")"));
      if (!autoKind)
        s.kind = kind;
    } else {
      s.salientBits = scheme.getSalientBits();
      if (autoKind) {
        switch (scheme.getMask()) {
        case MaskGranularity::channel:
          s.kind = layout::Kind::ChannelBlock;
          break;
        case MaskGranularity::nm:
          s.kind = layout::Kind::NM;
          break;
        default:
          s.kind = layout::Kind::Bitmap;
        }
      } else {
        s.kind = kind;
      }
      if (s.kind == layout::Kind::KBit || s.kind == layout::Kind::Ternary)
        return llvm::createStringError(
            std::string("the weight has salient weights; ") +
            layout::kindName(s.kind) + " cannot hold them");
      MaskGranularity need = s.kind == layout::Kind::ChannelBlock
                                 ? MaskGranularity::channel
                                 : MaskGranularity::nm;
      if (s.kind != layout::Kind::Bitmap && scheme.getMask() != need)
        return llvm::createStringError(
            std::string("the ") + layout::kindName(s.kind) +
            " layout needs mask = " + stringifyMaskGranularity(need).str() +
            ", the weight's is " +
            stringifyMaskGranularity(scheme.getMask()).str());
      if (s.kind == layout::Kind::ChannelBlock)
        s.block = block > 0 ? block : detectChannelBlock(w);
      if (s.kind == layout::Kind::NM) {
        if (block > 0) {
          s.block = block;
          s.nmSalient = 0;
          for (int64_t j = 0; j < std::min(block.getValue(), w.in); ++j)
            s.nmSalient += isSal(w, 0, j);
        } else {
          auto [m, k] = detectNM(w);
          if (m == 0)
            return llvm::createStringError(
                "the salient mask has no N:M structure");
          s.block = m;
          s.nmSalient = k;
        }
      }
    }
    layout::Status st = layout::fit(s, w);
    if (st.failed())
      return llvm::createStringError(std::string(layout::kindName(s.kind)) +
                                     " layout: " + st.message());
    return s;
  }

  llvm::Expected<PackedReport> packOne(QuantizedWeightOp op) {
    QWeightType type = op.getResult().getType();
    auto w = readLogical(op);
    if (!w)
      return w.takeError();
    auto spec = chooseSpec(type.getScheme(), *w);
    if (!spec)
      return spec.takeError();
    std::vector<uint8_t> bytes;
    if (layout::Status st = layout::pack(*spec, *w, bytes); st.failed())
      return llvm::createStringError(st.message());

    MLIRContext *ctx = op.getContext();
    QuantSchemeAttr s = type.getScheme();
    auto scheme = QuantSchemeAttr::get(
        ctx, s.getBits(), s.getGroupSize(), s.getSalientBits(),
        s.getSalientFraction(), s.getMask(), StorageLayout::packed,
        spec->kind == layout::Kind::Ternary ? 3u : s.getLevels());
    auto packedType = QWeightType::get(ctx, w->out, w->in, scheme);
    auto dataType = RankedTensorType::get({int64_t(bytes.size())},
                                          IntegerType::get(ctx, 8));
    std::string name = weightName(op);
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                       bytes.size()),
        layout::kPartAlign);
    auto data = DenseResourceElementsAttr::get(dataType, name, std::move(blob));
    OpBuilder b(op);
    auto packed = PackedWeightOp::create(b, op.getLoc(), packedType,
                                         PackingAttr::get(ctx, *spec), data);
    op.getResult().replaceAllUsesWith(packed.getResult());
    op.erase();

    PackedReport r;
    r.name = name;
    r.out = w->out;
    r.in = w->in;
    r.bytes = bytes.size();
    r.salient = spec->salientCount;
    r.layout = std::string(layout::kindName(spec->kind)) + "/" +
               layout::paramFormatName(spec->params);
    r.payloadBpw = layout::payloadBitsPerWeight(
        spec->bits, spec->mixed() ? spec->salientBits : spec->bits,
        double(spec->salientCount), double(w->out * w->in));
    if (spec->kind == layout::Kind::Ternary)
      r.payloadBpw = 1.6; // five codes per byte
    return r;
  }

  void runOnOperation() override {
    SmallVector<QuantizedWeightOp> ops;
    getOperation().walk([&](QuantizedWeightOp op) { ops.push_back(op); });
    std::vector<PackedReport> reports;
    for (QuantizedWeightOp op : ops) {
      std::string name = weightName(op);
      auto r = packOne(op);
      if (!r) {
        op.emitError() << "squeeze-pack: " << name << ": "
                       << llvm::toString(r.takeError());
        return signalPassFailure();
      }
      if (!quiet)
        llvm::errs() << llvm::formatv(
            "pack {0,-8} {1,5}x{2,-5} {3,-13} {4,9} bytes  true {5,6:F3} bpw  "
            "(payload {6:F3})\n",
            r->name, r->out, r->in, r->layout, r->bytes, r->trueBpw(),
            r->payloadBpw);
      reports.push_back(*r);
    }
    if (reports.empty())
      return;
    uint64_t bytes = 0;
    double weights = 0, payload = 0;
    for (const PackedReport &r : reports) {
      bytes += r.bytes;
      weights += double(r.out * r.in);
      payload += r.payloadBpw * double(r.out * r.in);
    }
    llvm::errs() << llvm::formatv(
        "packed {0} weights: {1} bytes for {2} weights, true {3:F3} bpw "
        "(payload {4:F3})\n",
        reports.size(), bytes, int64_t(weights), double(bytes) * 8 / weights,
        payload / weights);
    if (!report.empty() && failed(writeReport(reports)))
      return signalPassFailure();
  }

  /// Adds packed bytes and true bits to the layers of an existing report
  /// (or writes a new one).
  LogicalResult writeReport(const std::vector<PackedReport> &reports) {
    llvm::json::Object root;
    if (auto buf = llvm::MemoryBuffer::getFile(report)) {
      if (auto old = llvm::json::parse((*buf)->getBuffer())) {
        if (auto *o = old->getAsObject())
          root = std::move(*o);
      } else {
        llvm::consumeError(old.takeError());
      }
    }
    llvm::json::Array *layers = root.getArray("layers");
    if (!layers) {
      root["layers"] = llvm::json::Array();
      layers = root.getArray("layers");
    }
    uint64_t bytes = 0;
    double weights = 0, payload = 0;
    for (const PackedReport &r : reports) {
      llvm::json::Object *entry = nullptr;
      for (llvm::json::Value &v : *layers)
        if (auto *o = v.getAsObject())
          if (o->getString("layer") == StringRef(r.name))
            entry = o;
      if (!entry) {
        layers->push_back(llvm::json::Object{
            {"layer", r.name}, {"out", r.out}, {"in", r.in}});
        entry = layers->back().getAsObject();
      }
      (*entry)["layout"] = r.layout;
      (*entry)["packed_bytes"] = int64_t(r.bytes);
      (*entry)["salient_count"] = r.salient;
      (*entry)["true_bpw"] = r.trueBpw();
      (*entry)["payload_bpw"] = r.payloadBpw;
      bytes += r.bytes;
      weights += double(r.out * r.in);
      payload += r.payloadBpw * double(r.out * r.in);
    }
    root["weights"] = int64_t(weights);
    root["packed_bytes"] = int64_t(bytes);
    root["true_bpw"] = layout::trueBitsPerWeight(double(bytes), weights);
    root["payload_bpw"] = payload / weights;
    return writeJsonReport(getOperation(), "squeeze-pack", report,
                           std::move(root));
  }
};
} // namespace
