//===- Tokenizer.cpp - SentencePiece tokenizer wrapper --------------------===//

#include "s10/Runtime/Tokenizer.h"
#include "s10/Runtime/SpTokenizer.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"

using namespace llvm;
using namespace s10::runtime;

static std::vector<int64_t> widen(const std::vector<int32_t> &ids) {
  return std::vector<int64_t>(ids.begin(), ids.end());
}

Tokenizer::Tokenizer(std::unique_ptr<SpTokenizer> sp) : sp(std::move(sp)) {}
Tokenizer::~Tokenizer() = default;

Expected<std::unique_ptr<Tokenizer>> Tokenizer::load(StringRef path) {
  std::string error;
  auto sp = SpTokenizer::load(path.str(), error);
  if (!sp)
    return createStringError(inconvertibleErrorCode(), error);
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(sp)));
}

std::vector<int64_t> Tokenizer::encode(StringRef text) const {
  return widen(sp->encode(text.str()));
}

std::vector<int64_t> Tokenizer::encodePrompt(StringRef prompt) const {
  return widen(sp->encodePrompt(prompt.str()));
}

std::vector<int64_t> Tokenizer::encodeDocument(StringRef text) const {
  return widen(sp->encodeDocument(text.str()));
}

std::string Tokenizer::decode(ArrayRef<int64_t> ids) const {
  // Ids outside int32 are no piece: map them to -1, which decodes to "".
  std::vector<int32_t> narrow;
  narrow.reserve(ids.size());
  for (int64_t id : ids)
    narrow.push_back(id >= INT32_MIN && id <= INT32_MAX ? int32_t(id) : -1);
  return sp->decode(narrow);
}

int64_t Tokenizer::bosId() const { return sp->bosId(); }
int64_t Tokenizer::eosId() const { return sp->eosId(); }
int64_t Tokenizer::vocabSize() const { return sp->vocabSize(); }

Expected<std::vector<int64_t>> s10::runtime::parseTokenIds(StringRef text) {
  SmallVector<StringRef> parts;
  SplitString(text, parts, " \t\r\n,");
  std::vector<int64_t> ids;
  for (StringRef p : parts) {
    int64_t id;
    if (p.getAsInteger(10, id) || id < 0)
      return createStringError(inconvertibleErrorCode(),
                               "'" + p + "' is not a token id");
    ids.push_back(id);
  }
  return ids;
}
