//===- Tokenizer.h - SentencePiece tokenizer wrapper ------------*- C++ -*-===//
//
// The compiler-side face of SpTokenizer.h (llvm::Error, int64 ids): the
// encoding protocols the reference numbers were produced with (see
// models/llama-12m/README.md).
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_TOKENIZER_H
#define S10_RUNTIME_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace s10::runtime {

class SpTokenizer;

class Tokenizer {
public:
  /// Loads a SentencePiece model file; the error names the file.
  static llvm::Expected<std::unique_ptr<Tokenizer>> load(llvm::StringRef path);
  ~Tokenizer();

  /// Plain sp.encode(text): no BOS/EOS.
  std::vector<int64_t> encode(llvm::StringRef text) const;
  /// Generation prompts: BOS + sp.encode(prompt).
  std::vector<int64_t> encodePrompt(llvm::StringRef prompt) const;
  /// Text files (perplexity): concat(sp.encode(line + "\n") for line in
  /// text.split("\n")), with Python's str.split semantics (a trailing "\n"
  /// yields a final empty line, itself encoded as "\n"), no BOS. Line
  /// endings are first normalized as Python's text-mode read() does
  /// ("\r\n" and "\r" become "\n").
  std::vector<int64_t> encodeDocument(llvm::StringRef text) const;
  std::string decode(llvm::ArrayRef<int64_t> ids) const;

  int64_t bosId() const;
  int64_t eosId() const;
  int64_t vocabSize() const;

private:
  explicit Tokenizer(std::unique_ptr<SpTokenizer> sp);
  std::unique_ptr<SpTokenizer> sp;
};

/// Pre-tokenized text (a `.ids` file, from any tokenizer): decimal token ids
/// separated by white space or commas. The error names the first entry that
/// is not a non-negative integer.
llvm::Expected<std::vector<int64_t>> parseTokenIds(llvm::StringRef text);

} // namespace s10::runtime

#endif // S10_RUNTIME_TOKENIZER_H
