//===- CudaCodegen.cpp - CUDA kernel modules to PTX and cubins ------------===//

#include "s10/Codegen/CudaCodegen.h"

#include "CaptureDiagnostics.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"

#include <cstdlib>

using namespace mlir;
using s10::codegen::detail::CaptureDiagnostics;

void s10::codegen::buildLowerKernelsToNVVMPipeline(
    OpPassManager &pm, const LowerKernelsToNVVMOptions &options) {
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &gm = pm.nest<gpu::GPUModuleOp>();
  gm.addPass(createSCFToControlFlowPass());
  // ctpop as the LLVM intrinsic (popc); the GPU lowering would leave it.
  gm.addPass(createConvertMathToLLVMPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.useBarePtrCallConv = true;
  gm.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  gm.addPass(createCanonicalizerPass());
  gm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  if (options.format == "llvm")
    return;
  GpuModuleToBinaryPassOptions bin;
  bin.compilationTarget = options.format;
  bin.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(bin));
}

void s10::codegen::registerLowerKernelsToNVVMPipeline() {
  PassPipelineRegistration<LowerKernelsToNVVMOptions>(
      "s10-lower-kernels-to-nvvm",
      "Lower s10 CUDA kernels (gpu.module) to NVVM and serialize them to "
      "PTX (format=isa) or a cubin (format=bin)",
      buildLowerKernelsToNVVMPipeline);
}

void s10::codegen::registerCudaCodegen(DialectRegistry &registry) {
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  NVVM::registerConvertGpuToNVVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

bool s10::codegen::isCudaChip(llvm::StringRef chip) {
  llvm::Regex re("^sm_([0-9]+)a?$");
  llvm::SmallVector<llvm::StringRef, 2> m;
  if (!re.match(chip, &m))
    return false;
  unsigned v = 0;
  return !m[1].getAsInteger(10, v) && v >= 70;
}

std::string s10::codegen::findCudaToolkit() {
  auto hasPtxas = [](llvm::StringRef root) {
    llvm::SmallString<256> p(root);
    llvm::sys::path::append(p, "bin", "ptxas");
    return llvm::sys::fs::can_execute(p);
  };
  if (const char *home = std::getenv("CUDA_HOME"))
    if (hasPtxas(home))
      return home;
  if (auto ptxas = llvm::sys::findProgramByName("ptxas")) {
    llvm::SmallString<256> root(*ptxas);
    llvm::sys::path::remove_filename(root); // bin
    llvm::sys::path::remove_filename(root);
    if (hasPtxas(root))
      return std::string(root);
  }
  if (hasPtxas("/usr/local/cuda"))
    return "/usr/local/cuda";
  return "";
}

OwningOpRef<ModuleOp>
s10::codegen::createKernelModule(Location loc, gpu::GPUModuleOp &kernels) {
  OwningOpRef<ModuleOp> holder = ModuleOp::create(loc);
  OpBuilder b = OpBuilder::atBlockEnd(holder->getBody());
  (*holder)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                     b.getUnitAttr());
  kernels = gpu::GPUModuleOp::create(b, loc, "s10_kernels");
  return holder;
}

LogicalResult s10::codegen::compileCudaKernels(ModuleOp module,
                                               llvm::StringRef chip, bool ptx,
                                               std::string &out,
                                               std::string &error) {
  if (!isCudaChip(chip)) {
    error = "not a CUDA chip name: '" + chip.str() +
            "' (expected sm_80, "
            "sm_90, ...)";
    return failure();
  }
  LowerKernelsToNVVMOptions options;
  options.chip = chip.str();
  options.format = ptx ? "isa" : "bin";
  if (!ptx) {
    options.toolkit = findCudaToolkit();
    if (options.toolkit.empty()) {
      error = "a cubin needs the CUDA toolkit's ptxas: none on PATH, in "
              "$CUDA_HOME/bin or /usr/local/cuda/bin";
      return failure();
    }
  }
  DialectRegistry registry;
  registerCudaCodegen(registry);
  module.getContext()->appendDialectRegistry(registry);
  CaptureDiagnostics diags(module.getContext());
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  buildLowerKernelsToNVVMPipeline(pm, options);
  if (failed(pm.run(module))) {
    error = "compiling the CUDA kernels for " + chip.str() + " failed:\n" +
            diags.text;
    return failure();
  }
  auto binary = module.lookupSymbol<gpu::BinaryOp>("s10_kernels");
  if (!binary || binary.getObjects().size() != 1) {
    error = "compiling the CUDA kernels gave no object";
    return failure();
  }
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  out = object.getObject().getValue().str();
  return success();
}
