//===- Report.cpp - Gather the per-layer quantization records -------------===//
//
// squeeze-gptq is a function pass: it leaves each layer's numbers on the
// layer, and this module pass turns them into one summary and one file.
//
//===----------------------------------------------------------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEREPORT
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {
struct ReportPass : squeeze::impl::SqueezeReportBase<ReportPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto record = squeezeDialect(&getContext()).getQuantReportAttrHelper();
    llvm::json::Array layers;
    double weights = 0, payload = 0;
    std::string mode;
    bool malformed = false;
    module.walk([&](QuantizedLinearOp op) {
      DictionaryAttr r = record.getAttr(op);
      if (!r)
        return;
      auto type = cast<QWeightType>(op.getWeight().getType());
      auto number = [&](StringRef key) -> std::optional<double> {
        if (auto f = r.getAs<FloatAttr>(key))
          return f.getValueAsDouble();
        return std::nullopt;
      };
      auto modeAttr = r.getAs<StringAttr>("mode");
      std::optional<double> fraction = number("salient_fraction"),
                            bpw = number("payload_bpw"),
                            seconds = number("seconds");
      if (!modeAttr || !fraction || !bpw || !seconds) {
        op->emitError("squeeze-report: malformed ")
            << record.getName() << " record";
        malformed = true;
        return;
      }
      if (mode.empty())
        mode = modeAttr.str();
      else if (mode != modeAttr.getValue())
        mode = "several";
      int64_t out = type.getOutFeatures(), in = type.getInFeatures();
      llvm::json::Object o{{"layer", layerName(op)},
                           {"out", out},
                           {"in", in},
                           {"salient_fraction", *fraction},
                           {"payload_bpw", *bpw},
                           {"seconds", *seconds}};
      if (std::optional<double> e = number("relative_output_error"))
        o["relative_output_error"] = *e;
      if (auto n = r.getAs<IntegerAttr>("refit_rows"))
        o["refit_rows"] = n.getInt();
      layers.push_back(std::move(o));
      weights += double(out) * double(in);
      payload += double(out) * double(in) * *bpw;
      if (!keep)
        record.removeAttr(op);
    });
    if (malformed)
      return signalPassFailure();
    if (layers.empty()) {
      if (!report.empty()) {
        emitError(module.getLoc(), "squeeze-report: no quantized layer "
                                   "carries a record (run squeeze-gptq "
                                   "first); not writing '")
            << report << "'";
        return signalPassFailure();
      }
      return;
    }
    double payloadBpw = weights > 0 ? payload / weights : 0;
    if (!quiet)
      llvm::errs() << llvm::formatv(
          "quantized {0} layers, {1} weights: payload {2:F3} bpw (codes only; "
          "true bits are counted from the packed bytes)\n",
          layers.size(), int64_t(weights), payloadBpw);
    if (report.empty())
      return;
    llvm::json::Object root{{"mode", mode},
                            {"layers", std::move(layers)},
                            {"weights", int64_t(weights)},
                            {"payload_bpw", payloadBpw}};
    if (failed(
            writeJsonReport(module, "squeeze-report", report, std::move(root))))
      return signalPassFailure();
  }
};
} // namespace
