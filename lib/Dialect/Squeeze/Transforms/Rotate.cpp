//===- Rotate.cpp - Rotate the residual stream and the value heads --------===//
//
// Finds the residual stream from the embedding through the residual
// additions, checks that only RMSNorm and those additions read it, and
// rewrites the weights around it; the numerics are s10/Quant/Rotation.h.
//
//===----------------------------------------------------------------------===//

#include "QuantUtils.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/Transforms/Passes.h"
#include "s10/Quant/Rotation.h"
#include "s10/Runtime/Tensor.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace s10::squeeze {
#define GEN_PASS_DEF_SQUEEZEROTATE
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"
} // namespace s10::squeeze

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;
using quant::MatrixD;
using quant::Rotation;

namespace {

/// M <- In^T diag(gamma) M Out for a weight M of shape [in, out]; the
/// rotations act on consecutive segments of their size (one segment for
/// the residual rotation, one per head for the head rotation).
struct Rewrite {
  const Rotation *in = nullptr;
  std::vector<double> gamma; // empty: no scale to fold
  const Rotation *out = nullptr;
};

bool isResidualAdd(Operation *op) {
  if (isa<arith::AddFOp>(op))
    return true;
  auto node = dyn_cast<onnx::NodeOp>(op);
  return node && node.getOpType() == "Add" && node.getInputs().size() == 2 &&
         node.getOutputs().size() == 1 &&
         node.getInputs()[0].getType() == node.getOutputs()[0].getType() &&
         node.getInputs()[1].getType() == node.getOutputs()[0].getType();
}

bool isConstant(Value v) {
  Operation *def = v.getDefiningOp();
  return def && (isa<WeightOp>(def) ||
                 (isa<arith::ConstantOp>(def) &&
                  isa<ElementsAttr>(cast<arith::ConstantOp>(def).getValue())));
}

/// The values of a constant tensor, in f64, row-major.
llvm::Expected<std::vector<double>> readConstant(Value v,
                                                 runtime::WeightStore &store) {
  auto values = loadConstantValues(v, store);
  if (!values)
    return values.takeError();
  return std::vector<double>(values->begin(), values->end());
}

/// A constant of `type` holding `values`, rounded once to its element type.
FailureOr<Value> makeConstant(OpBuilder &b, Location loc, RankedTensorType type,
                              ArrayRef<double> values, StringRef name) {
  Type et = type.getElementType();
  std::vector<char> bytes;
  auto put = [&](auto x) {
    const char *p = reinterpret_cast<const char *>(&x);
    bytes.insert(bytes.end(), p, p + sizeof x);
  };
  bytes.reserve(values.size() * et.getIntOrFloatBitWidth() / 8);
  for (double v : values) {
    if (et.isF16())
      put(runtime::doubleToHalf(v));
    else if (et.isBF16())
      put(runtime::doubleToBF16(v));
    else if (et.isF32())
      put(float(v));
    else if (et.isF64())
      put(v);
    else
      return failure();
  }
  auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64);
  auto attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
  return arith::ConstantOp::create(b, loc, attr).getResult();
}

MatrixD transpose(const MatrixD &a) {
  MatrixD t(a.cols, a.rows);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < a.cols; ++j)
      t(j, i) = a(i, j);
  return t;
}

struct RotatePass : squeeze::impl::SqueezeRotateBase<RotatePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Operation *quantized = nullptr;
    module.walk([&](Operation *op) {
      if (isa<QuantizedLinearOp, QuantizedWeightOp, PackedWeightOp>(op)) {
        quantized = op;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (quantized) {
      quantized->emitError()
          << "squeeze-rotate: the model is already quantized; rotate the "
             "full-precision model before quantizing it";
      return signalPassFailure();
    }
    store = makeWeightStore(module);
    bool any = false;
    for (auto func : module.getOps<func::FuncOp>()) {
      FailureOr<bool> done = rotateFunc(func);
      if (failed(done))
        return signalPassFailure();
      any |= *done;
    }
    if (!any) {
      module.emitError() << "squeeze-rotate: no squeeze.embedding in the "
                            "module: nothing to rotate (raise the model "
                            "with raise-onnx-to-squeeze first)";
      return signalPassFailure();
    }
  }

private:
  std::shared_ptr<runtime::WeightStore> store; // shared: passes are copyable

  FailureOr<bool> rotateFunc(func::FuncOp func) {
    SmallVector<EmbeddingOp> embeddings(func.getOps<EmbeddingOp>());
    if (embeddings.empty())
      return false;
    if (embeddings.size() > 1) {
      embeddings[1].emitError()
          << "squeeze-rotate: more than one embedding in @" << func.getName();
      return failure();
    }
    EmbeddingOp emb = embeddings.front();
    auto tableType = cast<RankedTensorType>(emb.getTable().getType());
    int64_t d = tableType.getDimSize(1);
    Rotation q(d, seed);

    // The residual stream: the embedding and every addition onto it.
    llvm::DenseSet<Value> stream;
    llvm::SetVector<Operation *> adds;
    llvm::SetVector<Operation *> norms;
    SmallVector<Value> work{emb.getResult()};
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (!stream.insert(v).second)
        continue;
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (isa<RMSNormOp>(user) && use.getOperandNumber() == 0) {
          norms.insert(user);
        } else if (isResidualAdd(user)) {
          adds.insert(user);
          work.push_back(user->getResult(0));
        } else {
          user->emitError()
              << "squeeze-rotate: the residual stream feeds '"
              << user->getName()
              << "'; only rms_norm and additions keep it rotation invariant";
          return failure();
        }
      }
    }

    llvm::MapVector<Operation *, Rewrite> rewrites;
    // Writers: what the additions bring onto the stream.
    for (Operation *add : adds)
      for (Value operand : add->getOperands()) {
        if (stream.contains(operand))
          continue;
        auto lin = operand.getDefiningOp<LinearOp>();
        if (!lin || !operand.hasOneUse() || !isConstant(lin.getWeight())) {
          add->emitError()
              << "squeeze-rotate: this addition brings a value onto the "
                 "residual stream that is not the sole use of a linear layer "
                 "with constant weights";
          return failure();
        }
        rewrites[lin].out = &q;
      }
    // Readers: the linears behind each RMSNorm, which absorb its scale.
    for (Operation *op : norms) {
      auto norm = cast<RMSNormOp>(op);
      if (!isConstant(norm.getWeight())) {
        norm.emitError() << "squeeze-rotate: the rms_norm scale is not a "
                            "constant";
        return failure();
      }
      auto gamma = readConstant(norm.getWeight(), *store);
      if (!gamma) {
        norm.emitError() << "squeeze-rotate: rms_norm scale: "
                         << llvm::toString(gamma.takeError());
        return failure();
      }
      for (OpOperand &use : norm.getResult().getUses()) {
        auto lin = dyn_cast<LinearOp>(use.getOwner());
        if (!lin || use.getOperandNumber() != 0 ||
            !isConstant(lin.getWeight())) {
          use.getOwner()->emitError()
              << "squeeze-rotate: reads a normalized residual stream but is "
                 "not a linear layer with constant weights";
          return failure();
        }
        Rewrite &r = rewrites[lin];
        r.in = &q;
        r.gamma = *gamma;
      }
    }

    // Value heads: v's output and o's input, per head.
    std::vector<std::unique_ptr<Rotation>> headRots;
    if (heads) {
      for (AttentionOp attn : func.getOps<AttentionOp>()) {
        auto v = attn.getValue().getDefiningOp<LinearOp>();
        bool ok = v && attn.getValue().hasOneUse() && rewrites.count(v) &&
                  rewrites[v].in && !rewrites[v].out;
        for (OpOperand &use : attn.getResult().getUses()) {
          auto o = dyn_cast<LinearOp>(use.getOwner());
          ok &= o && use.getOperandNumber() == 0 && rewrites.count(o) &&
                !rewrites[o].in;
        }
        if (!ok) {
          attn.emitError()
              << "squeeze-rotate: the value heads can only be rotated when a "
                 "linear layer alone computes the values and linear layers "
                 "writing the residual stream alone read the result (use "
                 "heads=false)";
          return failure();
        }
        headRots.push_back(
            std::make_unique<Rotation>(attn.getHeadDim(), seed + 1));
        rewrites[v].out = headRots.back().get();
        for (Operation *user : attn.getResult().getUsers())
          rewrites[user].in = headRots.back().get();
      }
    }

    // Rewrite: the embedding's rows, every linear, then the norm scales.
    {
      auto table = readConstant(emb.getTable(), *store);
      if (!table) {
        emb.emitError() << "squeeze-rotate: embedding table: "
                        << llvm::toString(table.takeError());
        return failure();
      }
      MatrixD e(tableType.getDimSize(0), d, *table);
      quant::rotateRows(e, q);
      if (failed(replaceOperand(emb, 1, e.data, "rot.embed")))
        return failure();
    }
    for (auto &[op, r] : rewrites)
      if (failed(rewriteLinear(cast<LinearOp>(op), r)))
        return failure();
    for (Operation *op : norms) {
      auto norm = cast<RMSNormOp>(op);
      auto type = cast<RankedTensorType>(norm.getWeight().getType());
      OpBuilder b(norm);
      auto ones = DenseElementsAttr::get(
          type, FloatAttr::get(type.getElementType(), 1.0).getValue());
      Value old = norm.getWeight();
      norm->setOperand(1, arith::ConstantOp::create(b, norm.getLoc(), ones));
      eraseIfDead(old);
    }
    return true;
  }

  /// Gives `op` a new constant operand `idx` of the old one's type.
  LogicalResult replaceOperand(Operation *op, unsigned idx,
                               ArrayRef<double> values, StringRef name) {
    Value old = op->getOperand(idx);
    OpBuilder b(op);
    auto type = cast<RankedTensorType>(old.getType());
    FailureOr<Value> c = makeConstant(b, op->getLoc(), type, values, name);
    if (failed(c))
      return op->emitError() << "squeeze-rotate: cannot store a rotated "
                             << type.getElementType() << " tensor";
    op->setOperand(idx, *c);
    eraseIfDead(old);
    return success();
  }

  static void eraseIfDead(Value v) {
    if (Operation *def = v.getDefiningOp(); def && def->use_empty())
      def->erase();
  }

  LogicalResult rewriteLinear(LinearOp lin, const Rewrite &r) {
    std::string name = layerName(lin);
    auto type = cast<RankedTensorType>(lin.getWeight().getType());
    auto values = readConstant(lin.getWeight(), *store);
    if (!values)
      return lin.emitError() << "squeeze-rotate: " << name << ": "
                             << llvm::toString(values.takeError());
    bool inOut = lin.getWeightLayout() == WeightLayout::in_out;
    MatrixD m(type.getDimSize(0), type.getDimSize(1), *values);
    if (!inOut)
      m = transpose(m);
    // m is [in, out]: the input side acts on its columns, the output side
    // on its rows.
    auto fits = [&](const Rotation *rot, int64_t len) {
      return !rot || len % rot->size() == 0;
    };
    if (!fits(r.in, m.rows) || !fits(r.out, m.cols) ||
        (!r.gamma.empty() && int64_t(r.gamma.size()) != m.rows))
      return lin.emitError() << "squeeze-rotate: " << name
                             << ": weight shape does not match the rotation";
    if (r.in) {
      MatrixD t = transpose(m);
      quant::rotateRows(t, *r.in, r.gamma.empty() ? nullptr : &r.gamma);
      m = transpose(t);
    }
    if (r.out)
      quant::rotateRows(m, *r.out);
    if (!inOut)
      m = transpose(m);
    if (failed(replaceOperand(lin, 1, m.data, "rot." + name)))
      return failure();
    if (r.out && lin.getBias()) {
      auto bias = readConstant(lin.getBias(), *store);
      if (!bias)
        return lin.emitError() << "squeeze-rotate: " << name
                               << " bias: " << llvm::toString(bias.takeError());
      MatrixD bm(1, int64_t(bias->size()), *bias);
      quant::rotateRows(bm, *r.out);
      if (failed(replaceOperand(lin, 2, bm.data, "rot." + name + ".bias")))
        return failure();
    }
    return success();
  }
};
} // namespace
