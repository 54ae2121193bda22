//===- Passes.h - Squeeze quantization passes -------------------*- C++ -*-===//

#ifndef S10_DIALECT_SQUEEZE_TRANSFORMS_PASSES_H
#define S10_DIALECT_SQUEEZE_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace s10::squeeze {

#define GEN_PASS_DECL
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "s10/Dialect/Squeeze/Transforms/Passes.h.inc"

} // namespace s10::squeeze

#endif // S10_DIALECT_SQUEEZE_TRANSFORMS_PASSES_H
