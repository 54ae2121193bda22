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
#include "s10/Runtime/Segments.h"
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

/// X^T X is formed kPanel rows at a time: a d x d f32 scratch would be
/// 3.3 GB at d = 28672.
constexpr int64_t kPanel = 256;

/// Statistics of one distinct layer input.
struct InputStats {
  int64_t dim = 0;
  int64_t tokens = 0;
  /// The lower triangle of X^T X in row panels: panel b holds rows
  /// [b kPanel, b kPanel + p) and columns [0, b kPanel + p), row-major. Half
  /// the memory of the square (6.6 GB f64 at d = 28672); the side file gets
  /// the full symmetric matrix.
  std::vector<std::vector<double>> panels;
  std::vector<float> sample; // rows of X kept for PBAR
  SmallVector<Operation *> layers;

  void allocate(int64_t d) {
    dim = d;
    for (int64_t r0 = 0; r0 < d; r0 += kPanel) {
      int64_t p = std::min(kPanel, d - r0);
      panels.emplace_back(size_t(p * (r0 + p)), 0.0);
    }
  }
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
    auto text = llvm::MemoryBuffer::getFile(calibFile);
    if (!text) {
      emitError(module.getLoc(),
                "squeeze-calibrate: cannot read calibration file '")
          << calibFile << "': " << text.getError().message();
      return signalPassFailure();
    }
    std::vector<int64_t> ids;
    if (StringRef(calibFile).ends_with(".ids")) {
      auto parsed = runtime::parseTokenIds((*text)->getBuffer());
      if (!parsed) {
        emitError(module.getLoc(), "squeeze-calibrate: '")
            << calibFile << "': " << llvm::toString(parsed.takeError());
        return signalPassFailure();
      }
      ids = std::move(*parsed);
    } else {
      auto tok = runtime::Tokenizer::load(tokenizerPath(*store));
      if (!tok) {
        emitError(module.getLoc(), "squeeze-calibrate: ")
            << llvm::toString(tok.takeError());
        return signalPassFailure();
      }
      ids = (*tok)->encodeDocument((*text)->getBuffer());
    }
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

    // The function is run piece by piece (see Segments.h): every window
    // through one segment, then the next, so only one segment's weights
    // and the statistics of its layers are in memory at a time.
    auto segments = runtime::splitModel(module, split);
    if (!segments) {
      emitError(module.getLoc(), "squeeze-calibrate: ")
          << llvm::toString(segments.takeError());
      return signalPassFailure();
    }
    llvm::DenseSet<Operation *> selected;
    for (LinearOp op : layers)
      selected.insert(op);
    size_t lastNeeded = 0;
    for (auto [i, seg] : llvm::enumerate(*segments))
      for (Operation *op : seg.ops)
        if (selected.contains(op))
          lastNeeded = i;

    StoreWriter writer;
    if (failed(openStore(module, writer)))
      return signalPassFailure();
    // The value entering the current segment, per window.
    std::vector<runtime::Tensor> acts;
    for (int64_t w = 0; w < nsamples; ++w)
      acts.push_back(runtime::Tensor::i64(
          {1, seqlen}, std::vector<int64_t>(ids.begin() + starts[w],
                                            ids.begin() + starts[w] + seqlen)));
    // One window's X^T X, a panel at a time in f32, is added to the f64 sum.
    std::vector<float> tmp;
    auto start = std::chrono::steady_clock::now();
    double lastReport = 0;
    for (size_t si = 0; si <= lastNeeded; ++si) {
      runtime::ModelSegment &seg = (*segments)[si];
      // One accumulator per distinct input value of this segment's layers.
      llvm::DenseMap<Value, unsigned> inputIndex;
      llvm::DenseMap<Operation *, unsigned> layerInput;
      std::vector<InputStats> stats;
      for (Operation *op : seg.ops) {
        auto lin = dyn_cast<LinearOp>(op);
        if (!lin || !selected.contains(op))
          continue;
        auto [it, inserted] =
            inputIndex.try_emplace(lin.getInput(), stats.size());
        if (inserted) {
          InputStats s;
          s.allocate(lin.getInFeatures());
          if (tmp.size() < size_t(kPanel * s.dim))
            tmp.resize(kPanel * s.dim);
          stats.push_back(std::move(s));
        }
        stats[it->second].layers.push_back(op);
        layerInput[op] = it->second;
      }

      runtime::ExecOptions execOpts;
      execOpts.numThreads = threads;
      // Its own store: the mapped weight files go with the segment.
      execOpts.weights = makeWeightStore(*seg.module);
      auto exec = runtime::Executor::create(*seg.module, execOpts);
      if (!exec) {
        emitError(module.getLoc(), "squeeze-calibrate: ")
            << llvm::toString(exec.takeError());
        return signalPassFailure();
      }
      int64_t window = 0;
      std::string observerError;
      llvm::DenseSet<unsigned> seenThisWindow;
      (*exec)->setLinearObserver([&](Operation *clone,
                                     const runtime::Tensor &x) {
        auto it = layerInput.find(seg.original.lookup(clone));
        if (it == layerInput.end() || !seenThisWindow.insert(it->second).second)
          return;
        InputStats &s = stats[it->second];
        if (x.dtype() != runtime::DType::F32 || x.numel() % s.dim != 0) {
          observerError = "unexpected activation for " + layerName(it->first);
          return;
        }
        const float *data = static_cast<const float *>(x.raw());
        int64_t rows = x.numel() / s.dim;
        for (auto [b, panel] : llvm::enumerate(s.panels)) {
          int64_t r0 = int64_t(b) * kPanel, p = std::min(kPanel, s.dim - r0);
          runtime::gemm(&(*exec)->getThreadPool(), /*transA=*/true,
                        /*transB=*/false, p, r0 + p, rows, 1.0f, data + r0,
                        s.dim, data, s.dim, 0.0f, tmp.data(), r0 + p);
          for (size_t i = 0; i < panel.size(); ++i)
            panel[i] += tmp[i];
        }
        s.tokens += rows;
        // Sampled rows that fall into this window.
        auto lo = llvm::lower_bound(picks, window * seqlen);
        for (auto p = lo; p != picks.end() && *p < (window + 1) * seqlen; ++p) {
          int64_t row = *p - window * seqlen;
          s.sample.insert(s.sample.end(), data + row * s.dim,
                          data + (row + 1) * s.dim);
        }
      });

      for (window = 0; window < nsamples; ++window) {
        seenThisWindow.clear();
        auto out = (*exec)->run({acts[window]});
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
        acts[window] =
            si < lastNeeded ? std::move((*out)[0]) : runtime::Tensor();
      }
      if (failed(writeStats(module, writer, stats)))
        return signalPassFailure();
      bool calibrated = !stats.empty();
      stats.clear();
      exec->reset();
      releaseFreedMemory();
      // Progress on long runs (large models): a line per segment that
      // calibrated layers, once a few seconds have passed since the last.
      double now = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
      if (calibrated && now - lastReport >= 5.0) {
        lastReport = now;
        llvm::errs() << llvm::formatv(
            "calibrate: segment {0}/{1} ({2} layer(s)) done at {3:F1} s\n",
            si + 1, lastNeeded + 1, layerInput.size(), now);
      }
    }
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    llvm::errs() << llvm::formatv(
        "calibrate: {0}/{0} windows, {1:F0} tokens/s\n", nsamples.getValue(),
        nsamples * seqlen / std::max(secs, 1e-9));
    if (failed(closeStore(module, writer)))
      return signalPassFailure();
  }

  /// The side file the statistics go to, written as segments finish.
  struct StoreWriter {
    SmallString<128> path;
    std::unique_ptr<llvm::raw_fd_ostream> os;
    uint64_t offset = 0;

    void write(const void *data, uint64_t bytes) {
      os->write(static_cast<const char *>(data), bytes);
      offset += bytes;
    }
  };

  LogicalResult openStore(ModuleOp module, StoreWriter &w) {
    w.path = store.getValue();
    if (w.path.empty()) {
      if (auto ec =
              llvm::sys::fs::createTemporaryFile("s10-calib", "bin", w.path))
        return emitError(module.getLoc(), "squeeze-calibrate: cannot create a "
                                          "temporary file: ")
               << ec.message();
    }
    llvm::sys::fs::make_absolute(w.path);
    std::error_code ec;
    w.os = std::make_unique<llvm::raw_fd_ostream>(w.path, ec);
    if (ec)
      return emitError(module.getLoc(), "squeeze-calibrate: cannot write '")
             << w.path << "': " << ec.message();
    return success();
  }

  LogicalResult writeStats(ModuleOp module, StoreWriter &w,
                           std::vector<InputStats> &stats) {
    Builder b(module.getContext());
    auto put = [&](const void *data, uint64_t bytes) {
      auto attr = ExternalStorageAttr::get(module.getContext(), w.path.str(),
                                           w.offset, bytes);
      w.write(data, bytes);
      return attr;
    };
    for (InputStats &s : stats) {
      uint64_t at = w.offset;
      uint64_t bytes = writeHessian(s, w);
      auto h = ExternalStorageAttr::get(module.getContext(), w.path.str(), at,
                                        bytes);
      auto x = put(s.sample.data(), s.sample.size() * sizeof(float));
      SqueezeDialect &d = squeezeDialect(module.getContext());
      for (Operation *op : s.layers) {
        d.getHessianAttrHelper().setAttr(op, h);
        d.getSamplesAttrHelper().setAttr(op, x);
        d.getCalibTokensAttrHelper().setAttr(op, b.getI64IntegerAttr(s.tokens));
      }
    }
    if (w.os->has_error())
      return emitError(module.getLoc(), "squeeze-calibrate: writing '")
             << w.path << "' failed";
    return success();
  }

  /// Writes H = (2/N) X^T X as the full row-major d x d matrix, a row panel
  /// at a time: its lower part from its own panel, its upper part mirrored
  /// from the panels below. Each panel is freed once nothing needs it.
  /// Returns the bytes written.
  static uint64_t writeHessian(InputStats &s, StoreWriter &w) {
    const int64_t d = s.dim;
    double scale = s.tokens > 0 ? 2.0 / double(s.tokens) : 0.0;
    std::vector<double> rowsBuf(size_t(std::min(kPanel, d) * d));
    for (size_t b = 0; b < s.panels.size(); ++b) {
      int64_t r0 = int64_t(b) * kPanel, p = std::min(kPanel, d - r0);
      const std::vector<double> &own = s.panels[b];
      for (int64_t i = 0; i < p; ++i) {
        double *row = rowsBuf.data() + i * d;
        for (int64_t j = 0; j <= r0 + i; ++j)
          row[j] = scale * own[i * (r0 + p) + j];
        for (int64_t j = r0 + i + 1; j < r0 + p; ++j)
          row[j] = scale * own[(j - r0) * (r0 + p) + r0 + i];
      }
      for (size_t c = b + 1; c < s.panels.size(); ++c) {
        int64_t c0 = int64_t(c) * kPanel, q = std::min(kPanel, d - c0);
        const std::vector<double> &below = s.panels[c];
        // A tiled transpose of below's columns [r0, r0 + p).
        constexpr int64_t kTile = 32;
        for (int64_t j0 = 0; j0 < q; j0 += kTile)
          for (int64_t i = 0; i < p; ++i)
            for (int64_t j = j0, je = std::min(q, j0 + kTile); j < je; ++j)
              rowsBuf[i * d + c0 + j] = scale * below[j * (c0 + q) + r0 + i];
      }
      w.write(rowsBuf.data(), uint64_t(p * d) * sizeof(double));
      std::vector<double>().swap(s.panels[b]);
    }
    return uint64_t(d * d) * sizeof(double);
  }

  LogicalResult closeStore(ModuleOp module, StoreWriter &w) {
    w.os->close();
    if (w.os->has_error())
      return emitError(module.getLoc(), "squeeze-calibrate: writing '")
             << w.path << "' failed";
    return success();
  }
};
} // namespace
