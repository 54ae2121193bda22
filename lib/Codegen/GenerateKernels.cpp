//===- GenerateKernels.cpp - Build the kernels of a model's layers --------===//

#include "s10/Codegen/CpuCodegen.h"
#include "s10/Codegen/CudaCodegen.h"
#include "s10/Codegen/GpuKernelBuilder.h"
#include "s10/Codegen/KernelBuilder.h"
#include "s10/Codegen/Passes.h"
#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

namespace s10::codegen {
#define GEN_PASS_DEF_GENERATEKERNELS
#include "s10/Codegen/Passes.h.inc"
} // namespace s10::codegen

using namespace mlir;
using namespace s10::codegen;
namespace sq = s10::squeeze;

namespace {

/// The kernel an op needs: its symbol and how to build it.
struct Request {
  std::string name;
  std::function<LogicalResult(OpBuilder &, Location)> build;
};

std::optional<DenseType> denseType(Type t) {
  if (t.isF16())
    return DenseType::F16;
  if (t.isF32())
    return DenseType::F32;
  return std::nullopt;
}

/// A constant dense weight: read from storage or folded into the IR.
bool isConstantWeight(Value v) {
  Operation *def = v.getDefiningOp();
  return def && (isa<sq::WeightOp>(def) || matchPattern(v, m_Constant()));
}

Request gemvRequest(const GemvWeight &w, bool cuda) {
  return {gemvKernelName(w), [w, cuda](OpBuilder &b, Location loc) {
            if (cuda)
              return LogicalResult(buildGpuGemvKernel(b, loc, w));
            return LogicalResult(buildGemvKernel(b, loc, w));
          }};
}

LogicalResult checkWeight(const GemvWeight &w, bool cuda, std::string &why) {
  return cuda ? checkGpuGemvWeight(w, why) : checkGemvWeight(w, why);
}

/// The GEMV weight of a packed layer (CPU features unset).
GemvWeight packedWeight(sq::PackedWeightOp packed) {
  auto type = cast<sq::QWeightType>(packed.getType());
  return GemvWeight::makePacked(packed.getPacking().getSpec(),
                                type.getOutFeatures(), type.getInFeatures());
}

/// The GEMV weight of a linear layer a kernel of the target serves, or
/// none (with a warning for a packed weight, if `warn`).
std::optional<GemvWeight> linearWeight(Operation *op, bool denseOutIn,
                                       bool cuda, bool avx512, bool avx2,
                                       bool warn) {
  if (auto lin = dyn_cast<sq::QuantizedLinearOp>(op)) {
    auto packed = lin.getWeight().getDefiningOp<sq::PackedWeightOp>();
    if (!packed || lin.getBias())
      return std::nullopt;
    GemvWeight w = packedWeight(packed);
    w.avx512 = avx512;
    w.avx2 = avx2;
    std::string reason;
    if (failed(checkWeight(w, cuda, reason))) {
      if (warn)
        op->emitWarning("no kernel for this packed weight: ") << reason;
      return std::nullopt;
    }
    return w;
  }
  if (auto lin = dyn_cast<sq::LinearOp>(op)) {
    auto type = cast<RankedTensorType>(lin.getWeight().getType());
    std::optional<DenseType> dt = denseType(type.getElementType());
    if (!dt || lin.getBias() || !type.hasStaticShape() ||
        !isConstantWeight(lin.getWeight()))
      return std::nullopt;
    GemvWeight w = GemvWeight::makeDense(
        *dt, lin.getOutFeatures(), lin.getInFeatures(),
        !denseOutIn && lin.getWeightLayout() == sq::WeightLayout::in_out);
    std::string reason;
    if (failed(checkWeight(w, cuda, reason)))
      return std::nullopt;
    return w;
  }
  return std::nullopt;
}

/// Both operands and the result of one float shape.
bool isElementwise(Operation *op) {
  if (op->getNumOperands() != 2 || op->getNumResults() != 1)
    return false;
  Type t = op->getOperand(0).getType();
  auto shaped = dyn_cast<RankedTensorType>(t);
  return shaped && isa<FloatType>(shaped.getElementType()) &&
         op->getOperand(1).getType() == t && op->getResult(0).getType() == t;
}

bool isPlainAdd(Operation *op) {
  auto node = dyn_cast<s10::onnx::NodeOp>(op);
  return node && node.getOpType() == "Add" && !node.getDomain() &&
         isElementwise(op);
}

/// A fused GEMV: the Add or SwiGLU that runs it and the linears it absorbs.
struct Fusion {
  SmallVector<Operation *, 2> linears;
  SmallVector<GemvWeight, 2> weights;
  int64_t operand = -1; // Add: the index of the linear's result
  std::optional<GemvNorm> norm;

  Request request() const {
    if (operand >= 0) {
      GemvWeight w = weights[0];
      return {gemvAddKernelName(w), [w](OpBuilder &b, Location loc) {
                return LogicalResult(buildGpuGemvAddKernel(b, loc, w));
              }};
    }
    GemvWeight g = weights[0], u = weights[1];
    std::optional<GemvNorm> n = norm;
    return {gemvSwiGLUKernelName(g, u, n),
            [g, u, n](OpBuilder &b, Location loc) {
              return LogicalResult(buildGpuGemvSwiGLUKernel(b, loc, g, u, n));
            }};
  }
};

std::optional<Fusion> fusionFor(Operation *op, bool denseOutIn) {
  // A linear whose result only `op` reads, with a CUDA GEMV.
  auto linearOf = [&](Value v) -> std::pair<Operation *, GemvWeight> {
    Operation *def = v.getDefiningOp();
    if (!def || !v.hasOneUse() ||
        !isa<sq::LinearOp, sq::QuantizedLinearOp>(def))
      return {nullptr, {}};
    std::optional<GemvWeight> w =
        linearWeight(def, denseOutIn, true, false, false, false);
    return {w ? def : nullptr, w ? *w : GemvWeight{}};
  };
  if (isPlainAdd(op)) {
    for (int64_t i = 0; i < 2; ++i) {
      auto [lin, w] = linearOf(op->getOperand(i));
      if (lin)
        return Fusion{{lin}, {w}, i, std::nullopt};
    }
    return std::nullopt;
  }
  if (isa<sq::SwiGLUOp>(op) && isElementwise(op)) {
    auto [gate, wg] = linearOf(op->getOperand(0));
    auto [up, wu] = linearOf(op->getOperand(1));
    if (!gate || !up || gate == up ||
        gate->getOperand(0) != up->getOperand(0) || wg.out != wu.out ||
        wg.in != wu.in)
      return std::nullopt;
    return Fusion{{gate, up}, {wg, wu}, -1, std::nullopt};
  }
  return std::nullopt;
}

/// Whether two rotaries turn by the same angles: the same head dim and
/// theta, and the same `inv_freq` attribute or none.
bool sameRotation(sq::RotaryOp a, sq::RotaryOp b) {
  return a.getHeadDim() == b.getHeadDim() && a.getHeadDim() % 2 == 0 &&
         a.getTheta() == b.getTheta() &&
         a->getAttr("inv_freq") == b->getAttr("inv_freq");
}

/// The norm a GEMV can take into its own pass over x: an RMSNorm of a
/// static width with a constant f16 / f32 weight.
std::optional<GemvNorm> gemvNormOf(sq::RMSNormOp norm) {
  auto in = cast<RankedTensorType>(norm.getInput().getType());
  auto wt = cast<RankedTensorType>(norm.getWeight().getType());
  std::optional<DenseType> dt = denseType(wt.getElementType());
  int64_t width = in.getShape().back();
  if (!dt || ShapedType::isDynamic(width) || wt.getDimSize(0) != width ||
      !isConstantWeight(norm.getWeight()))
    return std::nullopt;
  return GemvNorm{*dt, norm.getEpsilon().convertToDouble()};
}

std::optional<Request> requestFor(Operation *op, bool denseOutIn, bool cuda,
                                  bool avx512, bool avx2) {
  if (isa<sq::QuantizedLinearOp, sq::LinearOp>(op)) {
    std::optional<GemvWeight> w =
        linearWeight(op, denseOutIn, cuda, avx512, avx2, /*warn=*/true);
    if (!w)
      return std::nullopt;
    return gemvRequest(*w, cuda);
  }
  if (auto norm = dyn_cast<sq::RMSNormOp>(op)) {
    auto in = cast<RankedTensorType>(norm.getInput().getType());
    auto wt = cast<RankedTensorType>(norm.getWeight().getType());
    std::optional<DenseType> dt = denseType(wt.getElementType());
    int64_t width = in.getShape().back();
    if (!dt || ShapedType::isDynamic(width) || width <= 0 ||
        wt.getDimSize(0) != width)
      return std::nullopt;
    double eps = norm.getEpsilon().convertToDouble();
    DenseType t = *dt;
    return Request{
        rmsNormKernelName(width, eps, t), [=](OpBuilder &b, Location loc) {
          if (cuda)
            return LogicalResult(buildGpuRMSNormKernel(b, loc, width, eps, t));
          buildRMSNormRowKernel(b, loc, width, eps, t);
          return success();
        }};
  }
  {
    if (auto emb = dyn_cast<sq::EmbeddingOp>(op)) {
      auto tt = dyn_cast<RankedTensorType>(emb.getTable().getType());
      std::optional<DenseType> dt =
          tt ? denseType(tt.getElementType()) : std::nullopt;
      if (!dt || tt.getRank() != 2 || !tt.hasStaticShape() ||
          !isConstantWeight(emb.getTable()))
        return std::nullopt;
      int64_t vocab = tt.getDimSize(0), hidden = tt.getDimSize(1);
      DenseType t = *dt;
      return Request{embeddingKernelName(vocab, hidden, t),
                     [=](OpBuilder &b, Location loc) {
                       if (cuda)
                         return LogicalResult(
                             buildGpuEmbeddingKernel(b, loc, vocab, hidden, t));
                       buildEmbeddingKernel(b, loc, vocab, hidden, t);
                       return success();
                     }};
    }
    if (auto rot = dyn_cast<sq::RotaryOp>(op)) {
      int64_t heads = rot.getNumHeads(), dim = rot.getHeadDim();
      if (heads <= 0 || dim <= 0 || dim % 2)
        return std::nullopt;
      return Request{
          rotaryKernelName(heads, dim), [=](OpBuilder &b, Location loc) {
            if (cuda)
              return LogicalResult(buildGpuRotaryKernel(b, loc, heads, dim));
            buildRotaryKernel(b, loc, heads, dim);
            return success();
          }};
    }
  }
  if (auto att = dyn_cast<sq::AttentionOp>(op); att && !cuda) {
    int64_t h = att.getNumHeads(), kv = att.getNumKvHeads(),
            d = att.getHeadDim();
    float scale = float(att.getScale().convertToDouble());
    if (!att.getCausal() || h <= 0 || kv <= 0 || d <= 0 || h % kv)
      return std::nullopt;
    return Request{attendKernelName(d, kv * d, scale),
                   [=](OpBuilder &b, Location loc) {
                     buildAttendKernel(b, loc, d, kv * d, scale);
                     return success();
                   }};
  }
  if (cuda) {
    // On the GPU every op of the plan is a kernel.
    if (auto att = dyn_cast<sq::AttentionOp>(op)) {
      int64_t h = att.getNumHeads(), kv = att.getNumKvHeads(),
              d = att.getHeadDim();
      float scale = float(att.getScale().convertToDouble());
      if (!att.getCausal() || h <= 0 || kv <= 0 || d <= 0 || h % kv || d % 4)
        return std::nullopt;
      return Request{attentionKernelName(h, kv, d, scale),
                     [=](OpBuilder &b, Location loc) {
                       return LogicalResult(
                           buildGpuAttentionKernel(b, loc, h, kv, d, scale));
                     }};
    }
  }
  std::optional<BinaryKind> kind;
  if (isa<sq::SwiGLUOp>(op))
    kind = BinaryKind::SwiGLU;
  if (auto node = dyn_cast<s10::onnx::NodeOp>(op))
    if (node.getOpType() == "Add" && !node.getDomain())
      kind = BinaryKind::Add;
  if (!kind || !isElementwise(op))
    return std::nullopt;
  BinaryKind k = *kind;
  return Request{binaryKernelName(k), [k, cuda](OpBuilder &b, Location loc) {
                   if (cuda)
                     buildGpuBinaryKernel(b, loc, k);
                   else
                     buildBinaryKernel(b, loc, k);
                   return success();
                 }};
}

struct GenerateKernelsPass
    : public s10::codegen::impl::GenerateKernelsBase<GenerateKernelsPass> {
  using GenerateKernelsBase::GenerateKernelsBase;
  LogicalResult initialize(MLIRContext *ctx) override {
    if (target != "cpu" && target != "cuda")
      return emitError(UnknownLoc::get(ctx),
                       "squeeze-generate-kernels: target must be 'cpu' or "
                       "'cuda', got '")
             << target << "'";
    if (target == "cpu") {
      std::vector<std::string> features;
      std::string error;
      if (failed(cpuFeatures(cpu, features, error)))
        return emitError(UnknownLoc::get(ctx), "squeeze-generate-kernels: ")
               << error;
      avx512 = llvm::is_contained(features, "avx512f");
      avx2 = llvm::is_contained(features, "avx2");
    }
    return success();
  }

  bool avx512 = false, avx2 = false;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    bool cuda = target == "cuda";
    Operation *kernels = findKernelModule(module, cuda);
    if (!kernels)
      return signalPassFailure();
    OpBuilder b(ctx);
    bool failedBuild = false, usesGemm = false;
    // Builds kernel `name` unless present and names it in `op`'s `attr`.
    auto attach =
        [&](Operation *op, StringRef attr, StringRef name,
            function_ref<LogicalResult(OpBuilder &, Location)> build) {
          if (failed(ensureKernel(kernels, b, name, op->getLoc(), build)))
            return false;
          op->setAttr(attr, StringAttr::get(ctx, name));
          return true;
        };
    // The prefill twin of a layer's GEMV-family kernel, where the GEMM
    // serves it (elsewhere the GEMV runs prefill too).
    auto attachGemm = [&](Operation *op, const GemvFamily &f) {
      std::string why;
      if (!cuda || !gemm || failed(checkGpuGemm(f, why)))
        return true;
      return attach(op, "s10.gemm_kernel", gemmKernelName(f),
                    [&](OpBuilder &b, Location loc) {
                      return LogicalResult(buildGpuGemmKernel(b, loc, f));
                    });
    };
    // Fusions first: their linears get no kernel of their own.
    llvm::DenseMap<Operation *, Fusion> fusions;
    llvm::DenseMap<Operation *, Operation *> absorbedBy;
    llvm::DenseSet<Operation *> absorbed;
    // GEMVs that compute their input's RMSNorm themselves: linears, and
    // SwiGLU fusions (through their gate and up).
    llvm::DenseMap<Operation *, GemvNorm> normed;
    // Attentions whose q and k rotaries run in their KV-append kernel.
    llvm::DenseSet<Operation *> roped;
    // q linears that run their attention's k and v linears in their launch.
    llvm::DenseMap<Operation *, std::pair<Operation *, Operation *>> qkv;
    if (cuda && fuse) {
      for (auto fn : module.getOps<func::FuncOp>())
        fn.walk([&](sq::AttentionOp att) {
          auto rq = att.getQuery().getDefiningOp<sq::RotaryOp>();
          auto rk = att.getKey().getDefiningOp<sq::RotaryOp>();
          if (rq && rk && rq != rk && att.getQuery().hasOneUse() &&
              att.getKey().hasOneUse() && att.getCausal() &&
              sameRotation(rq, rk) && rq.getNumHeads() == att.getNumHeads() &&
              rk.getNumHeads() == att.getNumKvHeads() &&
              rq.getHeadDim() == att.getHeadDim() &&
              att.getNumHeads() % att.getNumKvHeads() == 0) {
            roped.insert(att);
            absorbed.insert(rq);
            absorbed.insert(rk);
          }
        });
      for (auto fn : module.getOps<func::FuncOp>())
        fn.walk([&](Operation *op) {
          if (std::optional<Fusion> f = fusionFor(op, denseOutIn)) {
            for (Operation *lin : f->linears)
              absorbedBy[lin] = op;
            absorbed.insert(f->linears.begin(), f->linears.end());
            fusions.try_emplace(op, std::move(*f));
          }
        });
      // An RMSNorm whose every user is a linear GEMV reading it as its
      // input (not one a residual add absorbed) runs inside them.
      for (auto fn : module.getOps<func::FuncOp>())
        fn.walk([&](sq::RMSNormOp norm) {
          std::optional<GemvNorm> n = gemvNormOf(norm);
          if (!n || norm->use_empty())
            return;
          SmallVector<Operation *> gemvs;
          for (OpOperand &use : norm->getUses()) {
            Operation *u = use.getOwner();
            if (use.getOperandNumber() != 0 ||
                !isa<sq::LinearOp, sq::QuantizedLinearOp>(u))
              return;
            if (Operation *by = absorbedBy.lookup(u)) {
              if (!isa<sq::SwiGLUOp>(by))
                return;
              gemvs.push_back(by);
            } else if (linearWeight(u, denseOutIn, true, false, false, false)) {
              gemvs.push_back(u);
            } else {
              return;
            }
          }
          absorbed.insert(norm);
          for (Operation *g : gemvs) {
            normed[g] = *n;
            if (auto it = fusions.find(g); it != fusions.end())
              it->second.norm = *n;
          }
        });
      // An attention's q, k and v linears, each computing the same norm of
      // one input, run as one launch: the q linear's, the others absorbed.
      for (auto fn : module.getOps<func::FuncOp>())
        fn.walk([&](sq::AttentionOp att) {
          auto linearOf = [&](Value v, bool throughRotary) -> Operation * {
            if (throughRotary)
              if (auto rot = v.getDefiningOp<sq::RotaryOp>())
                v = rot.getInput();
            Operation *def = v.getDefiningOp();
            if (!def || !v.hasOneUse() || !normed.contains(def))
              return nullptr;
            return def;
          };
          Operation *q = linearOf(att.getQuery(), true);
          Operation *k = linearOf(att.getKey(), true);
          Operation *v = linearOf(att.getValue(), false);
          if (!q || !k || !v || q == k || q == v || k == v ||
              q->getOperand(0) != k->getOperand(0) ||
              q->getOperand(0) != v->getOperand(0))
            return;
          qkv[q] = {k, v};
          absorbed.insert(k);
          absorbed.insert(v);
        });
    }
    for (auto fn : module.getOps<func::FuncOp>()) {
      fn.walk([&](Operation *op) {
        if (absorbed.contains(op)) {
          op->removeAttr("s10.kernel");
          op->removeAttr("s10.gemm_kernel");
          return;
        }
        if (auto it = fusions.find(op); it != fusions.end()) {
          Request req = it->second.request();
          if (!attach(op, "s10.kernel", req.name, req.build)) {
            failedBuild = true;
            return;
          }
          const Fusion &f = it->second;
          GemvFamily family{f.operand >= 0 ? GemvFamily::Kind::Add
                                           : GemvFamily::Kind::SwiGLU,
                            {f.weights.begin(), f.weights.end()},
                            f.norm};
          if (!attachGemm(op, family)) {
            failedBuild = true;
            return;
          }
          if (it->second.operand >= 0)
            op->setAttr("s10.fused_linear",
                        b.getI64IntegerAttr(it->second.operand));
          else
            op->setAttr("s10.fused_linears", b.getUnitAttr());
          if (it->second.norm)
            op->setAttr("s10.fused_norm", b.getUnitAttr());
          ++numLayers;
          ++numFused;
          return;
        }
        if (auto it = qkv.find(op); it != qkv.end()) {
          auto weight = [&](Operation *lin) {
            return *linearWeight(lin, denseOutIn, true, false, false, false);
          };
          GemvWeight wq = weight(op), wk = weight(it->second.first),
                     wv = weight(it->second.second);
          GemvNorm n = normed.lookup(op);
          if (!attach(op, "s10.kernel", gemvQkvKernelName(wq, wk, wv, n),
                      [&](OpBuilder &b, Location loc) {
                        return LogicalResult(
                            buildGpuNormGemvQkvKernel(b, loc, wq, wk, wv, n));
                      }) ||
              !attachGemm(op, {GemvFamily::Kind::Qkv, {wq, wk, wv}, n})) {
            failedBuild = true;
            return;
          }
          op->setAttr("s10.fused_norm", b.getUnitAttr());
          op->setAttr("s10.fused_qkv", b.getUnitAttr());
          ++numLayers;
          ++numFused;
          return;
        }
        if (auto it = normed.find(op); it != normed.end()) {
          GemvWeight w =
              *linearWeight(op, denseOutIn, true, false, false, false);
          GemvNorm n = it->second;
          if (!attach(op, "s10.kernel", gemvNormKernelName(w, n),
                      [&](OpBuilder &b, Location loc) {
                        return LogicalResult(
                            buildGpuNormGemvKernel(b, loc, w, n));
                      }) ||
              !attachGemm(op, {GemvFamily::Kind::Plain, {w}, n})) {
            failedBuild = true;
            return;
          }
          op->setAttr("s10.fused_norm", b.getUnitAttr());
          ++numLayers;
          ++numFused;
          return;
        }
        std::optional<Request> req =
            requestFor(op, denseOutIn, cuda, avx512, avx2);
        if (!req)
          return;
        if (!attach(op, "s10.kernel", req->name, req->build)) {
          failedBuild = true;
          return;
        }
        if (cuda && isa<sq::QuantizedLinearOp, sq::LinearOp>(op))
          if (std::optional<GemvWeight> w =
                  linearWeight(op, denseOutIn, true, false, false, false))
            failedBuild |= !attachGemm(op, {GemvFamily::Kind::Plain, {*w}, {}});
        ++numLayers;
        usesGemm |=
            isa<sq::QuantizedLinearOp, sq::LinearOp, sq::AttentionOp>(op);
        // Prefill decodes a packed weight's rows into panels for the GEMM.
        if (auto lin = dyn_cast<sq::QuantizedLinearOp>(op); lin && !cuda) {
          GemvWeight w =
              packedWeight(lin.getWeight().getDefiningOp<sq::PackedWeightOp>());
          failedBuild |=
              !attach(op, "s10.decode_kernel", decodeKernelName(w),
                      [&](OpBuilder &b, Location loc) {
                        return LogicalResult(buildDecodeKernel(b, loc, w));
                      });
        }
        // On the GPU an attention's keys and values join the cache by a
        // kernel of their own, which also rotates q and k when the
        // attention absorbed their rotaries.
        if (auto att = dyn_cast<sq::AttentionOp>(op); att && cuda) {
          int64_t h = att.getNumHeads(), kvh = att.getNumKvHeads(),
                  d = att.getHeadDim(), width = kvh * d;
          if (roped.contains(op)) {
            failedBuild |=
                !attach(op, "s10.kv_append", ropeAppendKernelName(h, kvh, d),
                        [&](OpBuilder &b, Location loc) {
                          return LogicalResult(
                              buildGpuRopeAppendKernel(b, loc, h, kvh, d));
                        });
            op->setAttr("s10.fused_rotary", b.getUnitAttr());
            ++numFused;
          } else {
            failedBuild |= !attach(
                op, "s10.kv_append", kvAppendKernelName(width),
                [&](OpBuilder &b, Location loc) {
                  return LogicalResult(buildGpuKvAppendKernel(b, loc, width));
                });
          }
        }
      });
    }
    if (failedBuild)
      return signalPassFailure();
    if (!cuda && usesGemm)
      addGemmKernels(module, kernels, b);
  }

  /// Builds kernel `name` at the end of `kernels` unless it is there
  /// already: equal names mean interchangeable kernels.
  LogicalResult
  ensureKernel(Operation *kernels, OpBuilder &b, StringRef name, Location loc,
               function_ref<LogicalResult(OpBuilder &, Location)> build) {
    if (SymbolTable::lookupSymbolIn(kernels, name))
      return success();
    b.setInsertionPointToEnd(&kernels->getRegion(0).front());
    if (failed(build(b, loc)))
      return failure();
    ++numKernels;
    return success();
  }

  /// Prefill runs linears and attention through a GEMM: the whole table of
  /// its micro-kernels for this CPU, named in the module's
  /// `s10.gemm_kernels` ({mr, nv, vec, kc, kernels}: kernel
  /// ((r - 1) * nv + v - 1) * 2 + masked for r rows and v vectors).
  void addGemmKernels(ModuleOp module, Operation *kernels, OpBuilder &b) {
    MLIRContext *ctx = &getContext();
    GemmKernelTable t = gemmKernelTable(avx512);
    SmallVector<Attribute> names;
    for (int r = 1; r <= t.mr; ++r)
      for (int v = 1; v <= t.nv; ++v)
        for (bool masked : {false, true}) {
          std::string name = gemmBlockKernelName(r, v, t.vec, masked);
          (void)ensureKernel(kernels, b, name, module.getLoc(),
                             [&](OpBuilder &b, Location loc) {
                               buildGemmBlockKernel(b, loc, r, v, t.vec,
                                                    masked);
                               return success();
                             });
          names.push_back(StringAttr::get(ctx, name));
        }
    Builder a(ctx);
    module->setAttr("s10.gemm_kernels",
                    a.getDictionaryAttr(
                        {a.getNamedAttr("mr", a.getI64IntegerAttr(t.mr)),
                         a.getNamedAttr("nv", a.getI64IntegerAttr(t.nv)),
                         a.getNamedAttr("vec", a.getI64IntegerAttr(t.vec)),
                         a.getNamedAttr("kc", a.getI64IntegerAttr(t.kc)),
                         a.getNamedAttr("kernels", a.getArrayAttr(names))}));
  }

  /// The kernel module of the target, created if missing: a builtin.module
  /// or a gpu.module named s10_kernels. Null (with an error) if one of the
  /// other kind holds the name.
  Operation *findKernelModule(ModuleOp module, bool cuda) {
    Operation *found = SymbolTable::lookupSymbolIn(module, "s10_kernels");
    if (!found)
      for (auto nested : module.getOps<ModuleOp>())
        if (nested.getSymName() == "s10_kernels")
          found = nested;
    if (found) {
      if (cuda ? isa<gpu::GPUModuleOp>(found) : isa<ModuleOp>(found))
        return found;
      found->emitError("s10_kernels holds kernels of the other target");
      return nullptr;
    }
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    if (!cuda)
      return ModuleOp::create(b, module.getLoc(), StringRef("s10_kernels"));
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    return gpu::GPUModuleOp::create(b, module.getLoc(), "s10_kernels");
  }
};

} // namespace

int64_t s10::codegen::countFusedLayers(ModuleOp module) {
  int64_t fused = 0;
  module.walk([&](Operation *op) {
    if (op->hasAttr("s10.fused_linear"))
      fused += 1;
    if (op->hasAttr("s10.fused_linears"))
      fused += 2;
    if (op->hasAttr("s10.fused_rotary"))
      fused += 2;
    if (op->hasAttr("s10.fused_qkv"))
      fused += 2;
    // A norm all of whose readers compute it (it has no kernel of its own).
    if (isa<sq::RMSNormOp>(op) && !op->hasAttr("s10.kernel") &&
        !op->use_empty())
      fused += 1;
  });
  return fused;
}

void s10::codegen::registerCodegenPasses() {
  registerS10CodegenPasses();
  registerLowerKernelsToLLVMPipeline();
  registerLowerKernelsToNVVMPipeline();
}
