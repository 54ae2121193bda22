//===- InitAll.cpp - Register everything s10 provides ---------------------===//

#include "s10/InitAll.h"

#include "s10/Codegen/CudaCodegen.h"
#include "s10/Codegen/Passes.h"
#include "s10/Conversion/Passes.h"
#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/ONNX/Transforms/Passes.h"
#include "s10/Dialect/Squeeze/IR/SqueezeDialect.h"
#include "s10/Dialect/Squeeze/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void s10::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<s10::onnx::ONNXDialect, s10::squeeze::SqueezeDialect>();
  registry.insert<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::gpu::GPUDialect, mlir::LLVM::LLVMDialect,
                  mlir::NVVM::NVVMDialect, mlir::linalg::LinalgDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
                  mlir::vector::VectorDialect>();
  // What lowering CUDA kernels needs in any tool that parses a model.
  s10::codegen::registerCudaCodegen(registry);
}

void s10::registerAllPasses() {
  s10::registerS10ConversionPasses();
  s10::onnx::registerONNXTransformsPasses();
  s10::squeeze::registerSqueezeTransformsPasses();
  s10::codegen::registerCodegenPasses();
  mlir::registerTransformsPasses();
  mlir::registerConversionPasses();
  mlir::registerGPUPasses();
  // The raising recipe for imported graphs of any exporter: the TorchScript
  // exporter leaves types that only shape refinement makes ranked.
  mlir::PassPipelineRegistration<>(
      "s10-raise",
      "Raise an imported ONNX graph to squeeze ops: "
      "func.func(onnx-specialize-shapes, raise-onnx-to-squeeze), "
      "canonicalize, cse",
      [](mlir::OpPassManager &pm) {
        mlir::OpPassManager &fn = pm.nest<mlir::func::FuncOp>();
        fn.addPass(s10::onnx::createONNXSpecializeShapes());
        fn.addPass(s10::createRaiseONNXToSqueeze());
        pm.addPass(mlir::createCanonicalizerPass());
        pm.addPass(mlir::createCSEPass());
      });
}
