//===- FuzzSqueezeAttr.cpp - libFuzzer target: squeeze attribute syntax ---===//
//
// Input: text parsed as an attribute and as a type with every s10 dialect
// loaded (#squeeze.scheme, #squeeze.packing, !squeeze.qweight, ...). What
// parses must print and parse back to the same object.
//
//===----------------------------------------------------------------------===//

#include "s10/InitAll.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Types.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  s10::registerAllDialects(registry);
  auto ctx = std::make_unique<mlir::MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
  ctx->disableMultithreading();
  return ctx;
}

template <typename T> std::string print(T x) {
  std::string s;
  llvm::raw_string_ostream os(s);
  x.print(os);
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static std::unique_ptr<mlir::MLIRContext> ctx;
  static unsigned uses = 0;
  if (!ctx || ++uses % 5000 == 0)
    ctx = makeContext();
  mlir::ScopedDiagnosticHandler quiet(
      ctx.get(), [](mlir::Diagnostic &) { return mlir::success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  // Only s10's own syntax is held to the round trip.
  auto ours = [](mlir::Dialect &d) {
    return d.getNamespace() == "squeeze" || d.getNamespace() == "onnx";
  };
  if (mlir::Attribute a = mlir::parseAttribute(text, ctx.get());
      a && ours(a.getDialect())) {
    std::string printed = print(a);
    mlir::Attribute again = mlir::parseAttribute(printed, ctx.get());
    if (again != a) {
      fprintf(stderr, "attribute does not round-trip: '%s'\n", printed.c_str());
      std::abort();
    }
  }
  if (mlir::Type t = mlir::parseType(text, ctx.get());
      t && ours(t.getDialect())) {
    std::string printed = print(t);
    mlir::Type again = mlir::parseType(printed, ctx.get());
    if (again != t) {
      fprintf(stderr, "type does not round-trip: '%s'\n", printed.c_str());
      std::abort();
    }
  }
  return 0;
}
