//===- SpTokenizer.h - SentencePiece, plain C++ -----------------*- C++ -*-===//
//
// Loads libsentencepiece privately through a small shim module (see
// lib/Runtime/SentencePieceShim.cpp; its bundled protobuf clashes with the
// libprotobuf the ONNX importer links) and implements the encoding
// protocols the reference numbers were produced with. No MLIR or LLVM:
// s10-run's artifact path compiles this file in; Tokenizer.h wraps it for
// the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_SPTOKENIZER_H
#define S10_RUNTIME_SPTOKENIZER_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace s10::runtime {

class SpTokenizer {
public:
  /// Loads `path`; on failure returns null and sets `error`.
  static std::unique_ptr<SpTokenizer> load(const std::string &path,
                                           std::string &error);
  ~SpTokenizer();

  /// Plain sp.encode(text): no BOS/EOS.
  std::vector<int32_t> encode(const std::string &text) const;
  /// Generation prompts: BOS + sp.encode(prompt).
  std::vector<int32_t> encodePrompt(const std::string &text) const;
  /// Text files (perplexity): concat(sp.encode(line + "\n") for line in
  /// text.split("\n")), with Python's str.split semantics (a trailing "\n"
  /// yields a final empty line, itself encoded as "\n"), no BOS. Line
  /// endings are first normalized as Python's text-mode read() does
  /// ("\r\n" and "\r" become "\n").
  std::vector<int32_t> encodeDocument(const std::string &text) const;
  std::string decode(const std::vector<int32_t> &ids) const;
  int32_t bosId() const;
  int32_t eosId() const;
  int32_t vocabSize() const;

private:
  explicit SpTokenizer(void *sp) : sp(sp) {}
  void encodeInto(const std::string &text, std::vector<int32_t> &ids) const;
  void *sp;
};

} // namespace s10::runtime

#endif // S10_RUNTIME_SPTOKENIZER_H
