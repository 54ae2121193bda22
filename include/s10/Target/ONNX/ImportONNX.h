//===- ImportONNX.h - ONNX model to MLIR ------------------------*- C++ -*-===//
//
// Imports an ONNX model as one `func.func` of `onnx.node` ops. Large weights
// are referenced (`squeeze.weight`), never copied into the IR.
//
//===----------------------------------------------------------------------===//

#ifndef S10_TARGET_ONNX_IMPORTONNX_H
#define S10_TARGET_ONNX_IMPORTONNX_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <functional>
#include <string>

namespace llvm {
class MemoryBufferRef;
} // namespace llvm

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace s10 {

struct ONNXImportOptions {
  // Initializers/Constant tensors at most this many bytes become inline
  // arith.constant dense<...>; larger ones in external data become
  // squeeze.weight references; larger ones stored inside the .onnx become
  // arith.constant with a DenseElementsAttr.
  uint64_t inlineLimitBytes = 1024;
  std::string functionName = "main";
};

/// Imports an ONNX model file. Emits diagnostics (naming the file, and the
/// node and op type where one is at fault) through the context's handler
/// and returns null on failure. Never crashes on malformed input.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXFile(llvm::StringRef path, mlir::MLIRContext *context,
               const ONNXImportOptions &options = {});

/// Imports a serialized ONNX model held in memory. The buffer identifier is
/// the model's path, against which external data is resolved; "<stdin>" (or
/// an empty identifier) means there is none, and a model with external data
/// is then rejected.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXBuffer(llvm::MemoryBufferRef buffer, mlir::MLIRContext *context,
                 const ONNXImportOptions &options = {});

/// Reads a serialized onnx.TensorProto file (as in ONNX's backend test data
/// `input_0.pb`) into a DenseElementsAttr (for tests/conformance).
mlir::FailureOr<mlir::DenseElementsAttr>
readTensorProtoFile(llvm::StringRef path, mlir::MLIRContext *context);

/// Same, from a buffer (its identifier names it in diagnostics).
mlir::FailureOr<mlir::DenseElementsAttr>
readTensorProtoBuffer(llvm::MemoryBufferRef buffer, mlir::MLIRContext *context);

/// Registers the `--import-onnx` translation (with `--onnx-inline-limit` and
/// `--onnx-function-name`) and `--import-onnx-tensor` (a TensorProto file as
/// a function returning it as a constant). `registerDialects`, when given, adds
/// the dialects the tool should load beyond those the importer creates.
void registerImportONNXTranslation(
    std::function<void(mlir::DialectRegistry &)> registerDialects = nullptr);

} // namespace s10

#endif // S10_TARGET_ONNX_IMPORTONNX_H
