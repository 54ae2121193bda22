//===- CpuCodegen.h - Kernel modules to x86-64 shared objects ---*- C++ -*-===//
//
// Lowers the kernel functions of KernelBuilder.h to the llvm dialect (bare
// pointer calling convention, so each kernel is a plain C function) and
// compiles such a module into an x86-64 ELF shared object: LLVM IR, the O3
// pipeline, an object file from llvm::TargetMachine, linked by ld.lld.
//
//===----------------------------------------------------------------------===//

#ifndef S10_CODEGEN_CPUCODEGEN_H
#define S10_CODEGEN_CPUCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace s10::codegen {

/// Adds the passes that lower kernel funcs (memref, scf, arith, math,
/// vector, func) to the llvm dialect; run on the module holding them.
void buildLowerKernelsToLLVMPipeline(mlir::OpPassManager &pm);

/// Registers the pipeline above as `s10-lower-kernels-to-llvm`.
void registerLowerKernelsToLLVMPipeline();

/// Runs the pipeline on `module`; on failure `error` holds the diagnostics.
mlir::LogicalResult lowerKernelsToLLVM(mlir::ModuleOp module,
                                       std::string &error);

/// Adds the LLVM IR translations emitSharedObject needs.
void registerKernelTranslations(mlir::DialectRegistry &registry);

/// The path of ld.lld (or ld.lld-22) on PATH or in /usr/lib/llvm-22/bin, or
/// an empty string.
std::string findLinker();

/// The LLVM x86 feature names (e.g. "avx512f") enabled for `cpu`, a CPU
/// name emitSharedObject accepts; fails for unknown CPUs.
mlir::LogicalResult cpuFeatures(llvm::StringRef cpu,
                                std::vector<std::string> &features,
                                std::string &error);

/// Compiles a module in the llvm dialect into a shared object for `cpu`
/// (an LLVM x86 CPU name such as "x86-64-v3" or "x86-64-v4", or "native"
/// for the host's CPU and features). Every llvm.func with a body is
/// exported under its name. The object references no other library.
mlir::LogicalResult emitSharedObject(mlir::ModuleOp module, llvm::StringRef cpu,
                                     std::string &soBytes, std::string &error);

} // namespace s10::codegen

#endif // S10_CODEGEN_CPUCODEGEN_H
