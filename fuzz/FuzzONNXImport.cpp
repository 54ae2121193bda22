//===- FuzzONNXImport.cpp - libFuzzer target: the ONNX importer -----------===//
//
// Input: a little-endian u32 n, then n bytes of serialized ModelProto, then
// the bytes of the external-data file "data.bin" beside it. The importer
// must reject what it cannot take with a diagnostic, never crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzContext.h"

#include "s10/Target/ONNX/ImportONNX.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>

namespace {

std::string &workDir() {
  static std::string dir = [] {
    const char *base = std::getenv("TMPDIR");
    std::string t = std::string(base ? base : "/tmp") + "/s10-fuzz-onnx-XXXXXX";
    if (!mkdtemp(t.data()))
      std::abort();
    return t;
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext *ctx = &s10::fuzz::fuzzContext(2000);
  if (size < 4)
    return 0;
  uint32_t n;
  std::memcpy(&n, data, 4);
  size_t modelBytes = std::min<size_t>(n, size - 4);
  const char *model = reinterpret_cast<const char *>(data + 4);
  std::string blobPath = workDir() + "/data.bin";
  if (FILE *f = std::fopen(blobPath.c_str(), "wb")) {
    std::fwrite(model + modelBytes, 1, size - 4 - modelBytes, f);
    std::fclose(f);
  }
  mlir::ScopedDiagnosticHandler quiet(
      ctx, [](mlir::Diagnostic &) { return mlir::success(); });
  std::string modelPath = workDir() + "/model.onnx";
  llvm::MemoryBufferRef buffer(llvm::StringRef(model, modelBytes), modelPath);
  auto module = s10::importONNXBuffer(buffer, ctx);
  return 0;
}
