//===- CaptureDiagnostics.h - Diagnostics of a scope as text ----*- C++ -*-===//
//
// Private to lib/Codegen: the CPU and CUDA pipelines report a failed
// lowering with the diagnostics it emitted.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_CODEGEN_CAPTUREDIAGNOSTICS_H
#define S10_LIB_CODEGEN_CAPTUREDIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace s10::codegen::detail {

/// Collects the diagnostics of a scope into a string.
struct CaptureDiagnostics {
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
  explicit CaptureDiagnostics(mlir::MLIRContext *ctx)
      : handler(ctx, [this](mlir::Diagnostic &d) {
          llvm::raw_string_ostream os(text);
          os << d.getLocation() << ": " << d << "\n";
          return mlir::success();
        }) {}
};

} // namespace s10::codegen::detail

#endif // S10_LIB_CODEGEN_CAPTUREDIAGNOSTICS_H
