//===- GenerateKernels.cpp - Build the kernels of a model's layers --------===//

#include "s10/Codegen/CpuCodegen.h"
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

Request gemvRequest(const GemvWeight &w) {
  return {gemvKernelName(w), [w](OpBuilder &b, Location loc) {
            return LogicalResult(buildGemvKernel(b, loc, w));
          }};
}

std::optional<Request> requestFor(Operation *op, bool denseOutIn) {
  if (auto lin = dyn_cast<sq::QuantizedLinearOp>(op)) {
    auto packed = lin.getWeight().getDefiningOp<sq::PackedWeightOp>();
    if (!packed || lin.getBias())
      return std::nullopt;
    auto type = cast<sq::QWeightType>(packed.getType());
    GemvWeight w =
        GemvWeight::makePacked(packed.getPacking().getSpec(),
                               type.getOutFeatures(), type.getInFeatures());
    std::string reason;
    if (failed(checkGemvWeight(w, reason))) {
      op->emitWarning("no kernel for this packed weight: ") << reason;
      return std::nullopt;
    }
    return gemvRequest(w);
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
    if (failed(checkGemvWeight(w, reason)))
      return std::nullopt;
    return gemvRequest(w);
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
    return Request{rmsNormKernelName(width, eps, t),
                   [=](OpBuilder &b, Location loc) {
                     buildRMSNormRowKernel(b, loc, width, eps, t);
                     return success();
                   }};
  }
  std::optional<BinaryKind> kind;
  if (isa<sq::SwiGLUOp>(op))
    kind = BinaryKind::SwiGLU;
  if (auto node = dyn_cast<s10::onnx::NodeOp>(op))
    if (node.getOpType() == "Add" && !node.getDomain())
      kind = BinaryKind::Add;
  if (!kind || op->getNumOperands() != 2 || op->getNumResults() != 1)
    return std::nullopt;
  // Elementwise only: both operands and the result of one float shape.
  Type t = op->getOperand(0).getType();
  auto shaped = dyn_cast<RankedTensorType>(t);
  if (!shaped || !isa<FloatType>(shaped.getElementType()) ||
      op->getOperand(1).getType() != t || op->getResult(0).getType() != t)
    return std::nullopt;
  BinaryKind k = *kind;
  return Request{binaryKernelName(k), [k](OpBuilder &b, Location loc) {
                   buildBinaryKernel(b, loc, k);
                   return success();
                 }};
}

struct GenerateKernelsPass
    : public s10::codegen::impl::GenerateKernelsBase<GenerateKernelsPass> {
  using GenerateKernelsBase::GenerateKernelsBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    ModuleOp kernels;
    for (auto nested : module.getOps<ModuleOp>())
      if (nested.getSymName() == "s10_kernels")
        kernels = nested;
    if (!kernels) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      kernels = ModuleOp::create(b, module.getLoc(), StringRef("s10_kernels"));
    }
    OpBuilder b = OpBuilder::atBlockEnd(kernels.getBody());
    bool failedBuild = false;
    for (auto fn : module.getOps<func::FuncOp>()) {
      fn.walk([&](Operation *op) {
        std::optional<Request> req = requestFor(op, denseOutIn);
        if (!req)
          return;
        if (!SymbolTable::lookupSymbolIn(kernels, req->name)) {
          b.setInsertionPointToEnd(kernels.getBody());
          if (failed(req->build(b, op->getLoc()))) {
            failedBuild = true;
            return;
          }
          ++numKernels;
        }
        op->setAttr("s10.kernel", StringAttr::get(ctx, req->name));
        ++numLayers;
      });
    }
    if (failedBuild)
      signalPassFailure();
  }
};

} // namespace

void s10::codegen::registerCodegenPasses() {
  registerS10CodegenPasses();
  registerLowerKernelsToLLVMPipeline();
}
