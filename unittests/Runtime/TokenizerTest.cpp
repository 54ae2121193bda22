//===- TokenizerTest.cpp - Encoding protocols -----------------------------===//

#include "s10/Runtime/Tokenizer.h"

#include "gtest/gtest.h"

using namespace s10::runtime;

namespace {

std::unique_ptr<Tokenizer> loadModelTokenizer() {
  auto tok =
      Tokenizer::load(S10_SOURCE_DIR "/models/llama-12m/tokenizer.model");
  if (!tok) {
    ADD_FAILURE() << llvm::toString(tok.takeError());
    return nullptr;
  }
  return std::move(*tok);
}

std::vector<int64_t> concat(std::initializer_list<std::vector<int64_t>> parts) {
  std::vector<int64_t> all;
  for (const auto &p : parts)
    all.insert(all.end(), p.begin(), p.end());
  return all;
}

TEST(TokenizerTest, ReferencePrompt) {
  auto tok = loadModelTokenizer();
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->bosId(), 1);
  EXPECT_EQ(tok->eosId(), 2);
  EXPECT_EQ(tok->vocabSize(), 4096);
  EXPECT_EQ(tok->encodePrompt("The history of the city begins in the"),
            (std::vector<int64_t>{1, 343, 319, 3482, 305, 266, 2750, 1607, 1565,
                                  291, 266}));
  EXPECT_EQ(tok->decode(tok->encodePrompt("The history of the city")),
            "The history of the city");
}

TEST(TokenizerTest, DocumentProtocolFollowsPythonSplit) {
  auto tok = loadModelTokenizer();
  ASSERT_TRUE(tok);
  // "a\n\nb c" -> ["a", "", "b c"], each encoded with a "\n" appended.
  EXPECT_EQ(tok->encodeDocument("Hello world\n\nfoo bar"),
            concat({tok->encode("Hello world\n"), tok->encode("\n"),
                    tok->encode("foo bar\n")}));
  // A trailing newline yields a final empty line, itself encoded as "\n".
  EXPECT_EQ(tok->encodeDocument("Hello\n"),
            concat({tok->encode("Hello\n"), tok->encode("\n")}));
  EXPECT_EQ(tok->encodeDocument(""), tok->encode("\n"));
  // Line endings are normalized like Python's text-mode read().
  EXPECT_EQ(tok->encodeDocument("Hello\r\nworld\rfoo"),
            tok->encodeDocument("Hello\nworld\nfoo"));
  // No BOS.
  EXPECT_NE(tok->encodeDocument("x").front(), tok->bosId());
}

TEST(TokenizerTest, MissingFileIsAnError) {
  auto tok = Tokenizer::load("/nonexistent/tokenizer.model");
  ASSERT_FALSE(bool(tok));
  std::string msg = llvm::toString(tok.takeError());
  EXPECT_NE(msg.find("/nonexistent/tokenizer.model"), std::string::npos);
  auto bad = Tokenizer::load(S10_SOURCE_DIR "/models/llama-12m/README.md");
  ASSERT_FALSE(bool(bad));
  llvm::consumeError(bad.takeError());
}

} // namespace
