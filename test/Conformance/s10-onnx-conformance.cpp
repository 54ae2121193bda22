//===- s10-onnx-conformance.cpp - ONNX backend node tests on the executor -===//
//
// For every ONNX backend node test (DIR/test_*/model.onnx with
// test_data_set_*/{input,output}_N.pb): import the model, and when every
// operation is supported, run it and compare with the expected outputs
// (|got - want| <= atol + rtol * |want|, NaN == NaN, exact for integers and
// bools; rtol 1e-3 and atol 1e-7 as ONNX's backend tests, atol 1e-3 for
// f16/bf16 results whose last-place rounding may differ).
//
// --float-mode=exact (the default) keeps every float type as ONNX does;
// --float-mode=f32, the mode models run in, computes f16/bf16/f64 in f32, so
// a float result may come back as f32 and is compared with the tolerance of
// the expected type's precision (rtol 1e-3 for f16, 8e-3 for bf16).
//
// Skipped cases (import failure, unsupported operation, unreadable tensor,
// or listed as "manual: ..." in --skip-list) are reported with the reason;
// --write-skip-list writes them all, so a checked-in list can be diffed.
// Exit status 1 when any case fails.
//
//===----------------------------------------------------------------------===//

#include "s10/InitAll.h"
#include "s10/Runtime/Executor.h"
#include "s10/Target/ONNX/ImportONNX.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace llvm;
using namespace s10::runtime;

static cl::opt<std::string> dataDir(cl::Positional, cl::Required,
                                    cl::desc("<onnx backend node test dir>"));
static cl::opt<std::string>
    skipList("skip-list",
             cl::desc("Skip the cases listed with reason 'manual: ...'"),
             cl::value_desc("file"));
static cl::opt<std::string>
    writeSkipList("write-skip-list",
                  cl::desc("Write every skipped case and why"),
                  cl::value_desc("file"));
static cl::opt<std::string> filter("filter",
                                   cl::desc("Only cases matching this regex"),
                                   cl::value_desc("regex"));
static cl::opt<bool> verbose("v", cl::desc("Print every case"));
static cl::opt<double> relTol("rtol", cl::init(1e-3),
                              cl::desc("Relative tolerance (default 1e-3)"));
static cl::opt<double> absTol("atol", cl::init(1e-7),
                              cl::desc("Absolute tolerance (default 1e-7)"));
static cl::opt<FloatMode>
    floatMode("float-mode", cl::init(FloatMode::Exact),
              cl::desc("Executor float mode"),
              cl::values(clEnumValN(FloatMode::Exact, "exact",
                                    "ONNX's float types (default)"),
                         clEnumValN(FloatMode::F32, "f32",
                                    "f16/bf16/f64 computed and kept in f32")));

namespace {

enum class Outcome { Pass, Fail, Skip };

/// Results of another float type that came back as f32 (f32 mode).
int widenedResults = 0;

struct Result {
  Outcome outcome;
  std::string reason;
};

/// Reads a TensorProto file as a Tensor.
Expected<Tensor> readTensor(StringRef path, mlir::MLIRContext &ctx,
                            std::string &diag) {
  auto attr = s10::readTensorProtoFile(path, &ctx);
  if (failed(attr))
    return makeError("cannot read " + sys::path::filename(path) +
                     (diag.empty() ? "" : ": " + diag));
  return tensorFromElementsAttr(*attr);
}

/// Element-wise comparison; returns an empty string when equal enough.
std::string compare(const Tensor &got, const Tensor &want) {
  if (got.shape() != want.shape())
    return "shape " + shapeStr(got.shape()) + ", expected " +
           shapeStr(want.shape());
  bool fp = isFloat(want.dtype());
  // In f32 mode a float result is f32 whatever type ONNX gives it.
  bool widened = floatMode == FloatMode::F32 && fp && got.dtype() == DType::F32;
  if (got.dtype() != want.dtype() && !widened)
    return ("type " + dtypeName(got.dtype()) + ", expected " +
            dtypeName(want.dtype()))
        .str();
  if (widened && want.dtype() != DType::F32)
    ++widenedResults;
  double at = absTol, rt = relTol;
  if (want.dtype() == DType::F16 || want.dtype() == DType::BF16)
    at = std::max(at, 1e-3);
  // Unrounded f32 against a reference rounded (maybe at every step) to
  // bf16's 8 significant bits.
  if (widened && want.dtype() == DType::BF16)
    rt = std::max(rt, 8e-3);
  for (int64_t i = 0; i < want.numel(); ++i) {
    if (!fp) {
      if (got.getInt(i) != want.getInt(i))
        return formatv("element {0}: {1}, expected {2}", i, got.getInt(i),
                       want.getInt(i))
            .str();
      continue;
    }
    double g = got.getDouble(i), w = want.getDouble(i);
    if (std::isnan(w) && std::isnan(g))
      continue;
    if (std::isinf(w) && g == w)
      continue;
    if (!(std::fabs(g - w) <= at + rt * std::fabs(w)))
      return formatv("element {0}: {1}, expected {2}", i, g, w).str();
  }
  return "";
}

Result runCase(StringRef dir, mlir::MLIRContext &ctx) {
  std::string diag;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    if (diag.empty())
      diag = d.str();
    return mlir::success();
  });
  SmallString<256> modelPath(dir);
  sys::path::append(modelPath, "model.onnx");
  auto module = s10::importONNXFile(modelPath, &ctx);
  if (!module) {
    // The first line, without the (machine-specific) model path.
    std::string first = StringRef(diag).split('\n').first.str();
    for (size_t pos; (pos = first.find(modelPath.str())) != std::string::npos;)
      first.replace(pos, modelPath.size(), "model.onnx");
    return {Outcome::Skip, "import failed: " + first};
  }
  auto unsupported = Executor::findUnsupportedOps(*module);
  if (!unsupported.empty())
    return {Outcome::Skip, "unsupported: " + join(unsupported, ", ")};
  ExecOptions opts;
  opts.floatMode = floatMode;
  opts.numThreads = 1;
  auto exec = Executor::create(*module, opts, modelPath);
  if (!exec)
    return {Outcome::Fail, "executor: " + toString(exec.takeError())};

  // All data sets, in order.
  std::vector<std::string> sets;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (sys::path::filename(it->path()).starts_with("test_data_set_"))
      sets.push_back(it->path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty())
    return {Outcome::Skip, "no test data"};
  for (const std::string &set : sets) {
    std::vector<Tensor> inputs, outputs;
    for (const char *kind : {"input_", "output_"})
      for (int i = 0;; ++i) {
        SmallString<256> p(set);
        sys::path::append(p, kind + std::to_string(i) + ".pb");
        if (!sys::fs::exists(p))
          break;
        diag.clear();
        auto t = readTensor(p, ctx, diag);
        if (!t)
          return {Outcome::Skip, toString(t.takeError())};
        (kind[0] == 'i' ? inputs : outputs).push_back(std::move(*t));
      }
    if (inputs.size() != (*exec)->getNumInputs())
      return {Outcome::Skip,
              formatv("{0} input files for {1} graph inputs (initializer "
                      "inputs or optional inputs)",
                      inputs.size(), (*exec)->getNumInputs())
                  .str()};
    auto got = (*exec)->run(inputs);
    if (!got)
      return {Outcome::Fail, toString(got.takeError())};
    if (got->size() < outputs.size())
      return {Outcome::Fail,
              formatv("{0} results, expected {1}", got->size(), outputs.size())
                  .str()};
    for (size_t i = 0; i < outputs.size(); ++i) {
      if ((*got)[i].isNull())
        return {Outcome::Fail, formatv("output {0} is missing", i).str()};
      std::string msg = compare((*got)[i], outputs[i]);
      if (!msg.empty())
        return {Outcome::Fail, formatv("{0}: output {1}: {2}",
                                       sys::path::filename(set), i, msg)
                                   .str()};
    }
  }
  return {Outcome::Pass, ""};
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "Runs ONNX backend node tests on the s10 CPU "
                              "executor\n");
  // Manual skips: "name: manual: reason".
  StringMap<std::string> manual;
  if (!skipList.empty()) {
    auto buf = MemoryBuffer::getFile(skipList);
    if (!buf) {
      errs() << "error: cannot read --skip-list '" << skipList << "'\n";
      return 1;
    }
    SmallVector<StringRef> lines;
    (*buf)->getBuffer().split(lines, '\n', -1, false);
    for (StringRef line : lines) {
      if (line.starts_with("#"))
        continue;
      auto [name, reason] = line.split(": ");
      if (reason.starts_with("manual: "))
        manual[name.trim()] = reason.str();
    }
  }
  std::optional<Regex> re;
  if (!filter.empty())
    re.emplace(filter);

  std::vector<std::string> cases;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dataDir, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef name = sys::path::filename(it->path());
    if (name.starts_with("test_") && (!re || re->match(name)))
      cases.push_back(it->path());
  }
  if (ec || cases.empty()) {
    errs() << "error: no test cases under '" << dataDir << "'\n";
    return 1;
  }
  std::sort(cases.begin(), cases.end());

  mlir::DialectRegistry registry;
  s10::registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::pair<std::string, std::string>> skips, failures;
  std::map<std::string, int> skipReasons;
  for (const std::string &dir : cases) {
    std::string name = sys::path::filename(dir).str();
    Result r;
    auto it = manual.find(name);
    if (it != manual.end())
      r = {Outcome::Skip, it->second};
    else
      r = runCase(dir, ctx);
    // Keep reasons free of machine-specific paths.
    for (size_t pos; (pos = r.reason.find(dir + "/")) != std::string::npos;)
      r.reason.erase(pos, dir.size() + 1);
    switch (r.outcome) {
    case Outcome::Pass:
      ++passed;
      if (verbose)
        outs() << "PASS " << name << "\n";
      break;
    case Outcome::Fail:
      ++failed;
      failures.push_back({name, r.reason});
      outs() << "FAIL " << name << ": " << r.reason << "\n";
      break;
    case Outcome::Skip:
      ++skipped;
      skips.push_back({name, r.reason});
      // Group reasons by their kind for the summary.
      ++skipReasons[StringRef(r.reason).starts_with("unsupported")
                        ? "unsupported operations"
                        : StringRef(r.reason).split(':').first.str()];
      if (verbose)
        outs() << "SKIP " << name << ": " << r.reason << "\n";
      break;
    }
  }
  outs() << formatv("ONNX backend node tests: {0} passed, {1} failed, {2} "
                    "skipped ({3} total; {4} float mode, rtol {5:e1}, atol "
                    "{6:e1})\n",
                    passed, failed, skipped, cases.size(),
                    floatMode == FloatMode::F32 ? "f32" : "exact",
                    double(relTol), double(absTol));
  if (floatMode == FloatMode::F32)
    outs() << "  f16/bf16/f64 results compared as f32: " << widenedResults
           << "\n";
  for (auto &[reason, n] : skipReasons)
    outs() << "  skipped, " << reason << ": " << n << "\n";
  if (!writeSkipList.empty()) {
    std::error_code wec;
    raw_fd_ostream os(writeSkipList, wec);
    if (wec) {
      errs() << "error: cannot write '" << writeSkipList << "'\n";
      return 1;
    }
    os << "# ONNX backend node tests the executor conformance run skips, and "
          "why.\n"
          "# Generated by s10-onnx-conformance --write-skip-list; entries "
          "whose reason\n"
          "# starts with 'manual:' are skipped on purpose (edit those by "
          "hand).\n";
    for (auto &[name, reason] : skips)
      os << name << ": " << reason << "\n";
  }
  return failed ? 1 : 0;
}
