//===- Calibrate.cpp - Layer Hessians and activation samples --------------===//
//
// Runs the model on calibration windows through the CPU executor and
// records, per distinct linear-layer input, H = (2/N) X^T X and a sample of
// rows of X. Everything is written to one side file that the layers point
// to, so the IR stays small however large the model.
//
//===----------------------------------------------------------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/Squeeze/Transforms/Passes.h"
#include "s10/Runtime/Executor.h"
#include "s10/Runtime/Kernels.h"
#include "s10/Runtime/Tokenizer.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <random>
#include <unistd.h>

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZECALIBRATE
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

namespace {

/// Statistics of one distinct layer input.
struct InputStats {
  int64_t dim = 0;
  int64_t tokens = 0;
  std::vector<double> xtx;   // dim x dim
  std::vector<float> tmp;    // dim x dim, one window's X^T X
  std::vector<float> sample; // rows of X kept for PBAR
  SmallVector<Operation *> layers;
};

struct CalibratePass : squeeze::impl::SqueezeCalibrateBase<CalibratePass> {
  using Base::Base;

  /// Options and input files are checked before any work starts.
  LogicalResult initialize(MLIRContext *ctx) override {
    Location loc = UnknownLoc::get(ctx);
    if (calibFile.empty())
      return emitError(loc, "squeeze-calibrate: missing 'calib-file'");
    if (nsamples <= 0 || seqlen < 2 || pbarTokens < 0)
      return emitError(loc, "squeeze-calibrate: nsamples must be positive, "
                            "seqlen at least 2 and pbar-tokens >= 0");
    if (shards < 1 || shard < 0 || shard >= shards)
      return emitError(loc, "squeeze-calibrate: shard must be in [0, "
                            "shards), got shard=")
             << shard.getValue() << " shards=" << shards.getValue();
    if (shards > 1 && sequential)
      return emitError(loc, "squeeze-calibrate: shards need the full-"
                            "precision pass (sequential=false)");
    if (failed(checkThreads(loc, "squeeze-calibrate", threads)))
      return failure();
    for (auto [what, path] :
         {std::pair<StringRef, StringRef>{"calibration file", calibFile},
          {"tokenizer", tokenizer}}) {
      if (path.empty())
        continue;
      if (std::error_code ec =
              llvm::sys::fs::access(path, llvm::sys::fs::AccessMode::Exist))
        return emitError(loc, "squeeze-calibrate: cannot read ")
               << what << " '" << path << "': " << ec.message();
      if (llvm::sys::fs::is_directory(path))
        return emitError(loc, "squeeze-calibrate: ")
               << what << " '" << path << "' is a directory";
    }
    return success();
  }

  /// Layers to calibrate among `all`, the full-precision decoder linears
  /// in module order: every one, a shard's share, or in sequential mode
  /// those of the first block that still has one.
  SmallVector<LinearOp> selectLayers(ArrayRef<LinearOp> all) {
    if (shards > 1) {
      // Every shards-th layer: the full-precision pass is the same for all
      // shards, so each layer's statistics are those of one run.
      SmallVector<LinearOp> mine;
      for (auto [k, op] : llvm::enumerate(all))
        if (int64_t(k) % shards == shard)
          mine.push_back(op);
      return mine;
    }
    if (!sequential || all.empty())
      return SmallVector<LinearOp>(all);
    int64_t first = INT64_MAX;
    for (LinearOp op : all)
      first = std::min(first, op.getRoleAttr().getBlock());
    SmallVector<LinearOp> block;
    for (LinearOp op : all)
      if (op.getRoleAttr().getBlock() == first)
        block.push_back(op);
    return block;
  }

  std::string tokenizerPath(runtime::WeightStore &store) {
    if (!tokenizer.empty())
      return tokenizer;
    return store.resolvePath("tokenizer.model");
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(checkSeqlen(module, "squeeze-calibrate", seqlen)))
      return signalPassFailure();
    SmallVector<LinearOp> all;
    module.walk([&](LinearOp op) {
      if (isDecoderLinear(op))
        all.push_back(op);
    });
    if (shards > int64_t(all.size())) {
      emitError(module.getLoc(), "squeeze-calibrate: shards=")
          << shards.getValue() << " exceeds the model's " << all.size()
          << " full-precision decoder linear layers";
      return signalPassFailure();
    }
    SmallVector<LinearOp> layers = selectLayers(all);
    if (layers.empty()) {
      emitError(module.getLoc(),
                "squeeze-calibrate: no full-precision decoder linear "
                "layer to calibrate (run raise-onnx-to-squeeze first)");
      return signalPassFailure();
    }

    auto store = makeWeightStore(module);
    auto tok = runtime::Tokenizer::load(tokenizerPath(*store));
    if (!tok) {
      emitError(module.getLoc(), "squeeze-calibrate: ")
          << llvm::toString(tok.takeError());
      return signalPassFailure();
    }
    auto text = llvm::MemoryBuffer::getFile(calibFile);
    if (!text) {
      emitError(module.getLoc(),
                "squeeze-calibrate: cannot read calibration file '")
          << calibFile << "': " << text.getError().message();
      return signalPassFailure();
    }
    std::vector<int64_t> ids = (*tok)->encodeDocument((*text)->getBuffer());
    if (int64_t(ids.size()) <= seqlen) {
      emitError(module.getLoc(), "squeeze-calibrate: '")
          << calibFile << "' has " << ids.size()
          << " tokens, fewer than one window of " << seqlen.getValue();
      return signalPassFailure();
    }

    // Windows and the token rows kept for PBAR, from one seeded generator.
    std::mt19937_64 rng(seed);
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < nsamples; ++i)
      starts.push_back(int64_t(rng() % uint64_t(ids.size() - seqlen)));
    int64_t total = nsamples * seqlen;
    int64_t keep = std::min<int64_t>(pbarTokens, total);
    std::vector<int64_t> picks(total);
    std::iota(picks.begin(), picks.end(), 0);
    for (int64_t i = 0; i < keep; ++i)
      std::swap(picks[i], picks[i + int64_t(rng() % uint64_t(total - i))]);
    picks.resize(keep);
    llvm::sort(picks);

    // One accumulator per distinct input value.
    llvm::DenseMap<Value, unsigned> inputIndex;
    llvm::DenseMap<Operation *, unsigned> layerInput;
    std::vector<InputStats> stats;
    for (LinearOp op : layers) {
      auto [it, inserted] = inputIndex.try_emplace(op.getInput(), stats.size());
      if (inserted) {
        InputStats s;
        s.dim = op.getInFeatures();
        s.xtx.assign(s.dim * s.dim, 0.0);
        s.tmp.assign(s.dim * s.dim, 0.0f);
        stats.push_back(std::move(s));
      }
      stats[it->second].layers.push_back(op);
      layerInput[op] = it->second;
    }

    runtime::ExecOptions execOpts;
    execOpts.numThreads = threads;
    auto exec = runtime::Executor::create(module, execOpts);
    if (!exec) {
      emitError(module.getLoc(), "squeeze-calibrate: ")
          << llvm::toString(exec.takeError());
      return signalPassFailure();
    }
    int64_t window = 0;
    std::string observerError;
    llvm::DenseSet<unsigned> seenThisWindow;
    (*exec)->setLinearObserver([&](Operation *op, const runtime::Tensor &x) {
      auto it = layerInput.find(op);
      if (it == layerInput.end() || !seenThisWindow.insert(it->second).second)
        return;
      InputStats &s = stats[it->second];
      if (x.dtype() != runtime::DType::F32 || x.numel() % s.dim != 0) {
        observerError = "unexpected activation for " + layerName(op);
        return;
      }
      const float *data = static_cast<const float *>(x.raw());
      int64_t rows = x.numel() / s.dim;
      runtime::gemm(&(*exec)->getThreadPool(), /*transA=*/true,
                    /*transB=*/false, s.dim, s.dim, rows, 1.0f, data, s.dim,
                    data, s.dim, 0.0f, s.tmp.data(), s.dim);
      for (size_t i = 0, e = s.xtx.size(); i < e; ++i)
        s.xtx[i] += s.tmp[i];
      s.tokens += rows;
      // Sampled rows that fall into this window.
      auto lo = llvm::lower_bound(picks, window * seqlen);
      for (auto p = lo; p != picks.end() && *p < (window + 1) * seqlen; ++p) {
        int64_t row = *p - window * seqlen;
        s.sample.insert(s.sample.end(), data + row * s.dim,
                        data + (row + 1) * s.dim);
      }
    });

    auto start = std::chrono::steady_clock::now();
    for (window = 0; window < nsamples; ++window) {
      seenThisWindow.clear();
      std::vector<int64_t> slice(ids.begin() + starts[window],
                                 ids.begin() + starts[window] + seqlen);
      auto out = (*exec)->run({runtime::Tensor::i64({1, seqlen}, slice)});
      if (!out) {
        emitError(module.getLoc(),
                  "squeeze-calibrate: running the model failed: ")
            << llvm::toString(out.takeError());
        return signalPassFailure();
      }
      if (!observerError.empty()) {
        emitError(module.getLoc(), "squeeze-calibrate: ") << observerError;
        return signalPassFailure();
      }
      double secs = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
      if (window + 1 == nsamples || (window + 1) % 16 == 0)
        llvm::errs() << llvm::formatv(
            "calibrate: {0}/{1} windows, {2:F0} tokens/s\n", window + 1,
            nsamples.getValue(), (window + 1) * seqlen / std::max(secs, 1e-9));
    }
    if (failed(writeStore(module, stats)))
      return signalPassFailure();
  }

  LogicalResult writeStore(ModuleOp module, std::vector<InputStats> &stats) {
    SmallString<128> path(store.getValue());
    if (path.empty()) {
      if (auto ec =
              llvm::sys::fs::createTemporaryFile("s10-calib", "bin", path))
        return emitError(module.getLoc(), "squeeze-calibrate: cannot create a "
                                          "temporary file: ")
               << ec.message();
    }
    llvm::sys::fs::make_absolute(path);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      return emitError(module.getLoc(), "squeeze-calibrate: cannot write '")
             << path << "': " << ec.message();
    Builder b(module.getContext());
    uint64_t offset = 0;
    auto put = [&](const void *data, uint64_t bytes) {
      auto attr = ExternalStorageAttr::get(module.getContext(), path.str(),
                                           offset, bytes);
      os.write(static_cast<const char *>(data), bytes);
      offset += bytes;
      return attr;
    };
    for (InputStats &s : stats) {
      double scale = s.tokens > 0 ? 2.0 / double(s.tokens) : 0.0;
      for (double &v : s.xtx)
        v *= scale;
      auto h = put(s.xtx.data(), s.xtx.size() * sizeof(double));
      auto x = put(s.sample.data(), s.sample.size() * sizeof(float));
      SqueezeDialect &d = squeezeDialect(module.getContext());
      for (Operation *op : s.layers) {
        d.getHessianAttrHelper().setAttr(op, h);
        d.getSamplesAttrHelper().setAttr(op, x);
        d.getCalibTokensAttrHelper().setAttr(op, b.getI64IntegerAttr(s.tokens));
      }
    }
    os.close();
    if (os.has_error())
      return emitError(module.getLoc(), "squeeze-calibrate: writing '")
             << path << "' failed";
    return success();
  }
};
} // namespace
