//===- Passes.h - s10 code generation passes --------------------*- C++ -*-===//

#ifndef S10_CODEGEN_PASSES_H
#define S10_CODEGEN_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace s10::codegen {

#define GEN_PASS_DECL
#include "s10/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "s10/Codegen/Passes.h.inc"

/// Registers the code generation passes and the
/// `s10-lower-kernels-to-llvm` pipeline.
void registerCodegenPasses();

/// The layers of `module` that squeeze-generate-kernels ran inside another
/// layer's kernel: the linears of a fused Add or SwiGLU, the norms inside
/// GEMVs, the rotaries inside an attention's KV append, k and v inside q's
/// launch.
int64_t countFusedLayers(mlir::ModuleOp module);

} // namespace s10::codegen

#endif // S10_CODEGEN_PASSES_H
