//===- VerifyWeights.h - The tools' check of a model's weights -*- C++ -*-===//
//
// s10-run and s10-compile check quantized and packed weights before they use
// them (--verify-weights, on by default).
//
//===----------------------------------------------------------------------===//

#ifndef S10_TOOLS_VERIFYWEIGHTS_H
#define S10_TOOLS_VERIFYWEIGHTS_H

#include "s10/Dialect/Squeeze/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"

namespace s10 {

/// Runs squeeze-verify-weights on `module`; the diagnostics name the layer,
/// the error names the file and the option that skips the check.
inline llvm::Error verifyModelWeights(mlir::ModuleOp module,
                                      llvm::StringRef path) {
  mlir::PassManager pm(module.getContext());
  pm.addPass(s10::squeeze::createSqueezeVerifyWeights());
  if (succeeded(pm.run(module)))
    return llvm::Error::success();
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "the weights of '" + path +
          "' do not verify (see above; --verify-weights=false skips the "
          "check)");
}

} // namespace s10

#endif // S10_TOOLS_VERIFYWEIGHTS_H
