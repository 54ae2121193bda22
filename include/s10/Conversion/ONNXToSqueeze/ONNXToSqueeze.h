//===- ONNXToSqueeze.h - Raise ONNX graphs to squeeze ops -------*- C++ -*-===//

#ifndef S10_CONVERSION_ONNXTOSQUEEZE_ONNXTOSQUEEZE_H
#define S10_CONVERSION_ONNXTOSQUEEZE_ONNXTOSQUEEZE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace s10 {

#define GEN_PASS_DECL_RAISEONNXTOSQUEEZE
#include "s10/Conversion/Passes.h.inc"

/// Patterns recognizing linear layers, RMSNorm, rotary embedding, attention,
/// SwiGLU and embeddings in `onnx.node` graphs.
void populateRaiseONNXToSqueezePatterns(mlir::RewritePatternSet &patterns);

/// Tags every `squeeze.linear` / `squeeze.quantized_linear` in `func` with
/// its role, derived from the attention and SwiGLU ops around it.
void assignLinearRoles(mlir::func::FuncOp func);

/// Specializes a with-past graph to an empty past: every rank-4 input that
/// is only concatenated (axis 2) with new keys/values into a returned
/// `present` value (passed through one-input Concat or Identity nodes, its
/// length read through Shape) is removed with those outputs, leaving the KV
/// cache to the runtime. All such inputs go or none: when one is also read
/// otherwise, nothing changes and `blocked` names it. Returns the ONNX names
/// of the removed inputs and outputs.
llvm::SmallVector<std::string> takeOverKVCache(mlir::func::FuncOp func,
                                               std::string &blocked);

} // namespace s10

#endif // S10_CONVERSION_ONNXTOSQUEEZE_ONNXTOSQUEEZE_H
