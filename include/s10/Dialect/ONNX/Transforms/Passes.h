//===- Passes.h - ONNX-level passes -----------------------------*- C++ -*-===//
//
// Passes that work on the imported `onnx.node` graph before it is raised:
// shape specialization and folding of the shape sub-graphs.
//
//===----------------------------------------------------------------------===//

#ifndef S10_DIALECT_ONNX_TRANSFORMS_PASSES_H
#define S10_DIALECT_ONNX_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

#include <cstdint>
#include <string>

namespace s10::onnx {

#define GEN_PASS_DECL
#include "s10/Dialect/ONNX/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "s10/Dialect/ONNX/Transforms/Passes.h.inc"

} // namespace s10::onnx

#endif // S10_DIALECT_ONNX_TRANSFORMS_PASSES_H
