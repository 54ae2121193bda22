//===- s10-opt.cpp - s10 optimizer driver ---------------------------------===//
//
// mlir-opt with the dialects and passes of s10 and the upstream ones it uses.
// The input is read into a buffer aligned for the packed weights' bytecode
// resources (s10/Tools/InputFile.h); the output file is kept only on success.
//
//===----------------------------------------------------------------------===//

#include "s10/InitAll.h"
#include "s10/Runtime/BlasCoreType.h"
#include "s10/Tools/InputFile.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  // Calibration and GPTQ run OpenBLAS, loaded at first use.
  s10::runtime::setPreferredBlasCoreType(argv);
  mlir::DialectRegistry registry;
  s10::registerAllDialects(registry);
  s10::registerAllPasses();
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "s10 optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  // Listing dialects or passes reads no input: the upstream driver does it.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, input, output, registry));

  auto file = s10::readModelFile(input);
  if (!file) {
    llvm::errs() << "s10-opt: cannot read '" << input
                 << "': " << file.getError().message() << "\n";
    return 1;
  }
  std::string error;
  auto out = mlir::openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << "s10-opt: " << error << "\n";
    return 1;
  }
  if (mlir::failed(
          mlir::MlirOptMain(out->os(), std::move(*file), registry, config)))
    return 1;
  out->keep();
  return 0;
}
