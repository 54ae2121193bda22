//===- FuzzSqueezeAttr.cpp - libFuzzer target: squeeze attribute syntax ---===//
//
// Input: text parsed as an attribute and as a type with every s10 dialect
// loaded (#squeeze.scheme, #squeeze.packing, !squeeze.qweight, ...). What
// parses must print and parse back to the same object.
//
//===----------------------------------------------------------------------===//

#include "FuzzContext.h"

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

template <typename T> std::string print(T x) {
  std::string s;
  llvm::raw_string_ostream os(s);
  x.print(os);
  return s;
}

/// What parses as `T` in s10's own dialects prints and parses back to
/// itself.
template <typename T, typename Parse>
void checkRoundTrip(T parsed, Parse parse, const char *what) {
  // Only s10's own syntax is held to the round trip.
  if (!parsed || (parsed.getDialect().getNamespace() != "squeeze" &&
                  parsed.getDialect().getNamespace() != "onnx"))
    return;
  std::string printed = print(parsed);
  if (parse(printed) != parsed) {
    fprintf(stderr, "%s does not round-trip: '%s'\n", what, printed.c_str());
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext *ctx = &s10::fuzz::fuzzContext(5000);
  mlir::ScopedDiagnosticHandler quiet(
      ctx, [](mlir::Diagnostic &) { return mlir::success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  checkRoundTrip(
      mlir::parseAttribute(text, ctx),
      [&](llvm::StringRef s) { return mlir::parseAttribute(s, ctx); },
      "attribute");
  checkRoundTrip(
      mlir::parseType(text, ctx),
      [&](llvm::StringRef s) { return mlir::parseType(s, ctx); }, "type");
  return 0;
}
