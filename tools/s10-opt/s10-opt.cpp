//===- s10-opt.cpp - s10 optimizer driver ---------------------------------===//
//
// mlir-opt with the dialects and passes of s10 and the upstream ones it uses.
//
//===----------------------------------------------------------------------===//

#include "s10/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  s10::registerAllDialects(registry);
  s10::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "s10 optimizer driver\n", registry));
}
