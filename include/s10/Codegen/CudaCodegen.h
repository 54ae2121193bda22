//===- CudaCodegen.h - CUDA kernel modules to PTX and cubins ----*- C++ -*-===//
//
// Lowers the gpu.module of GpuKernelBuilder.h kernels through NVVM
// (`nvvm-attach-target`, `convert-gpu-to-nvvm` with bare pointers) and
// serializes it with `gpu-module-to-binary`: PTX from LLVM's NVPTX backend,
// or a cubin assembled by the CUDA toolkit's ptxas.
//
//===----------------------------------------------------------------------===//

#ifndef S10_CODEGEN_CUDACODEGEN_H
#define S10_CODEGEN_CUDACODEGEN_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace s10::codegen {

struct LowerKernelsToNVVMOptions
    : public mlir::PassPipelineOptions<LowerKernelsToNVVMOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("NVIDIA chip (sm_80, sm_90, ...)"),
                           llvm::cl::init("sm_90")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("llvm (NVVM IR only), isa (PTX) or bin (cubin)"),
      llvm::cl::init("isa")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit root holding bin/ptxas (format=bin)"),
      llvm::cl::init("")};
};

/// Adds the passes that lower the gpu.modules of the module they run on to
/// NVVM and, unless format=llvm, serialize them into gpu.binary ops.
void buildLowerKernelsToNVVMPipeline(mlir::OpPassManager &pm,
                                     const LowerKernelsToNVVMOptions &options);

/// Registers the pipeline above as `s10-lower-kernels-to-nvvm`.
void registerLowerKernelsToNVVMPipeline();

/// Adds the conversion interfaces, LLVM IR translations and the NVVM target
/// the pipeline needs.
void registerCudaCodegen(mlir::DialectRegistry &registry);

/// True for chip names of the form sm_NN (NN >= 70) or sm_NNa.
bool isCudaChip(llvm::StringRef chip);

/// The CUDA toolkit root whose bin/ holds ptxas ($CUDA_HOME, ptxas on PATH,
/// /usr/local/cuda), or an empty string.
std::string findCudaToolkit();

/// A new module marked gpu.container_module holding an empty gpu.module
/// @s10_kernels (set in `kernels`), the form compileCudaKernels takes.
mlir::OwningOpRef<mlir::ModuleOp>
createKernelModule(mlir::Location loc, mlir::gpu::GPUModuleOp &kernels);

/// Compiles the kernels of `module` (a module holding gpu.module
/// @s10_kernels, which is lowered in place) for `chip`: PTX text if `ptx`,
/// else a cubin (ptxas must exist). On failure `error` says why.
mlir::LogicalResult compileCudaKernels(mlir::ModuleOp module,
                                       llvm::StringRef chip, bool ptx,
                                       std::string &out, std::string &error);

} // namespace s10::codegen

#endif // S10_CODEGEN_CUDACODEGEN_H
