//===- s10-translate.cpp - s10 translation driver -------------------------===//
//
// mlir-translate with s10's translations (`--import-onnx`) and dialects.
//
//===----------------------------------------------------------------------===//

#include "s10/InitAll.h"
#include "s10/Target/ONNX/ImportONNX.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  s10::registerImportONNXTranslation(s10::registerAllDialects);
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "s10 translation driver\n"));
}
