//===- FuzzContext.h - The MLIR context of the MLIR fuzz targets -*- C++
//-*-===//

#ifndef S10_FUZZ_FUZZCONTEXT_H
#define S10_FUZZ_FUZZCONTEXT_H

#include "s10/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>

namespace s10::fuzz {

/// A context with every s10 dialect loaded. Types and attributes are
/// interned for a context's lifetime: it starts afresh every `refreshEvery`
/// calls so memory stays bounded over millions of inputs.
inline mlir::MLIRContext &fuzzContext(unsigned refreshEvery) {
  static std::unique_ptr<mlir::MLIRContext> ctx;
  static unsigned uses = 0;
  if (!ctx || ++uses % refreshEvery == 0) {
    mlir::DialectRegistry registry;
    s10::registerAllDialects(registry);
    ctx = std::make_unique<mlir::MLIRContext>(registry);
    ctx->loadAllAvailableDialects();
    ctx->disableMultithreading();
  }
  return *ctx;
}

} // namespace s10::fuzz

#endif // S10_FUZZ_FUZZCONTEXT_H
