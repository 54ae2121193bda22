//===- RuntimeTest.cpp - Running tiny models through the C API ------------===//

#include "TestUtil.h"
#include "TinyModel.h"

#include <cmath>
#include <cstring>

using namespace s10rt;
using namespace s10rt::test;

namespace {

std::vector<int32_t> prompt(size_t n, uint32_t vocab, uint32_t seed = 7) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < n; ++i)
    ids.push_back(int32_t((seed + i * 37 + i * i * 11) % vocab));
  return ids;
}

class RuntimeTest : public ::testing::Test {
protected:
  /// Writes the tiny model built with `o` and opens it.
  void load(const TinyOptions &o = TinyOptions()) {
    tiny = TinyModel::build(o);
    std::string path = dir.file("tiny" + std::to_string(files++) + ".s10");
    writeFile(path, tiny.artifact.serialize());
    Result r = openModel(path, model);
    ASSERT_TRUE(r.ok()) << r;
  }
  std::vector<float> prefillAll(s10_session_t *s,
                                const std::vector<int32_t> &ids) {
    std::vector<float> all(ids.size() * tiny.options.vocab);
    Result r(s10_session_prefill(s, ids.data(), ids.size(), all.data()));
    EXPECT_TRUE(r.ok()) << r;
    return all;
  }
  std::vector<float> lastLogits(s10_session_t *s) {
    const float *p = nullptr;
    size_t n = 0;
    Result r(s10_session_logits(s, &p, &n));
    EXPECT_TRUE(r.ok()) << r;
    EXPECT_EQ(n, tiny.options.vocab);
    return p ? std::vector<float>(p, p + n) : std::vector<float>();
  }

  TempDir dir;
  int files = 0;
  TinyModel tiny;
  ModelPtr model;
};

TEST_F(RuntimeTest, MatchesReference) {
  load();
  std::vector<int32_t> ids = prompt(12, tiny.options.vocab);
  std::vector<float> ref = tiny.reference(ids);
  SessionPtr s = newSession(model.get());
  std::vector<float> all = prefillAll(s.get(), ids);
  expectClose(all.data(), ref.data(), ids.size(), tiny.options.vocab);
  std::vector<float> last = lastLogits(s.get());
  EXPECT_EQ(0, std::memcmp(last.data(),
                           all.data() + (ids.size() - 1) * tiny.options.vocab,
                           last.size() * sizeof(float)));
  EXPECT_EQ(s10_session_length(s.get()), ids.size());
}

TEST_F(RuntimeTest, MatchesReferenceOddShapes) {
  // Widths that are not multiples of the 16 vector lanes, one kv head.
  TinyOptions o;
  o.vocab = 50;
  o.hidden = 40;
  o.heads = 5;
  o.kvHeads = 1;
  o.headDim = 8;
  o.intermediate = 72;
  o.layers = 3;
  o.seed = 3;
  load(o);
  std::vector<int32_t> ids = prompt(9, o.vocab, 3);
  std::vector<float> ref = tiny.reference(ids);
  SessionPtr s = newSession(model.get(), 3);
  std::vector<float> all = prefillAll(s.get(), ids);
  expectClose(all.data(), ref.data(), ids.size(), o.vocab);
}

TEST_F(RuntimeTest, PrefillEqualsDecode) {
  load();
  std::vector<int32_t> ids = prompt(10, tiny.options.vocab);
  SessionPtr a = newSession(model.get());
  std::vector<float> all = prefillAll(a.get(), ids);
  SessionPtr b = newSession(model.get());
  for (size_t t = 0; t < ids.size(); ++t) {
    Result r(s10_session_decode(b.get(), ids[t]));
    ASSERT_TRUE(r.ok()) << r;
    std::vector<float> l = lastLogits(b.get());
    expectClose(l.data(), all.data() + t * tiny.options.vocab, 1,
                tiny.options.vocab);
  }
  EXPECT_EQ(s10_session_length(b.get()), ids.size());
}

TEST_F(RuntimeTest, ChunkedPrefillEqualsOneShot) {
  load();
  std::vector<int32_t> ids = prompt(12, tiny.options.vocab);
  SessionPtr a = newSession(model.get());
  std::vector<float> one = prefillAll(a.get(), ids);
  for (uint32_t chunk : {1u, 2u, 5u}) {
    SessionPtr b = newSession(model.get(), 2, chunk);
    std::vector<float> chunked = prefillAll(b.get(), ids);
    expectClose(chunked.data(), one.data(), ids.size(), tiny.options.vocab);
    // Then continue decoding identically.
    Result ra(s10_session_decode(a.get(), 3)),
        rb(s10_session_decode(b.get(), 3));
    ASSERT_TRUE(ra.ok() && rb.ok());
    std::vector<float> la = lastLogits(a.get()), lb = lastLogits(b.get());
    expectClose(lb.data(), la.data(), 1, tiny.options.vocab);
    s10_session_reset(a.get());
    prefillAll(a.get(), ids);
  }
}

TEST_F(RuntimeTest, ThreadCountsAgreeExactly) {
  load();
  std::vector<int32_t> ids = prompt(11, tiny.options.vocab);
  std::vector<float> base;
  for (uint32_t threads : {1u, 2u, 3u, 8u}) {
    SessionPtr s = newSession(model.get(), threads);
    std::vector<float> all = prefillAll(s.get(), ids);
    Result r(s10_session_decode(s.get(), 5));
    ASSERT_TRUE(r.ok()) << r;
    std::vector<float> l = lastLogits(s.get());
    all.insert(all.end(), l.begin(), l.end());
    if (base.empty())
      base = all;
    else
      EXPECT_EQ(
          0, std::memcmp(base.data(), all.data(), base.size() * sizeof(float)))
          << threads << " threads";
  }
}

TEST_F(RuntimeTest, ResetStartsOver) {
  load();
  std::vector<int32_t> ids = prompt(6, tiny.options.vocab);
  SessionPtr s = newSession(model.get());
  std::vector<float> first = prefillAll(s.get(), ids);
  prefillAll(s.get(), prompt(4, tiny.options.vocab, 1));
  s10_session_reset(s.get());
  EXPECT_EQ(s10_session_length(s.get()), 0u);
  const float *p;
  size_t n;
  EXPECT_EQ(Result(s10_session_logits(s.get(), &p, &n)).code,
            S10_INVALID_ARGUMENT);
  std::vector<float> again = prefillAll(s.get(), ids);
  EXPECT_EQ(
      0, std::memcmp(first.data(), again.data(), first.size() * sizeof(float)));
}

TEST_F(RuntimeTest, ContextOverflowLeavesSessionUsable) {
  load();
  SessionPtr s = newSession(model.get(), 2, 0, 8);
  std::vector<int32_t> ids = prompt(6, tiny.options.vocab);
  prefillAll(s.get(), ids);
  std::vector<float> before = lastLogits(s.get());
  std::vector<int32_t> more = prompt(3, tiny.options.vocab, 2);
  Result r(s10_session_prefill(s.get(), more.data(), more.size(), nullptr));
  EXPECT_EQ(r.code, S10_OUT_OF_RANGE) << r;
  EXPECT_NE(r.message.find("context"), std::string::npos) << r;
  EXPECT_EQ(s10_session_length(s.get()), 6u);
  std::vector<float> after = lastLogits(s.get());
  EXPECT_EQ(before, after);
  // The two tokens that fit still run, and match a fresh session.
  ASSERT_TRUE(Result(s10_session_decode(s.get(), more[0])).ok());
  ASSERT_TRUE(Result(s10_session_decode(s.get(), more[1])).ok());
  EXPECT_EQ(Result(s10_session_decode(s.get(), more[2])).code,
            S10_OUT_OF_RANGE);
  std::vector<int32_t> all = ids;
  all.insert(all.end(), more.begin(), more.begin() + 2);
  std::vector<float> ref = tiny.reference(all);
  std::vector<float> l = lastLogits(s.get());
  expectClose(l.data(), ref.data() + 7 * tiny.options.vocab, 1,
              tiny.options.vocab);
}

TEST_F(RuntimeTest, TokenOutsideVocab) {
  load();
  SessionPtr s = newSession(model.get());
  std::vector<int32_t> ids = {1, 2, int32_t(tiny.options.vocab)};
  Result r(s10_session_prefill(s.get(), ids.data(), ids.size(), nullptr));
  EXPECT_EQ(r.code, S10_OUT_OF_RANGE) << r;
  EXPECT_EQ(s10_session_length(s.get()), 0u);
  EXPECT_EQ(Result(s10_session_decode(s.get(), -1)).code, S10_OUT_OF_RANGE);
  ids.pop_back();
  std::vector<float> all = prefillAll(s.get(), ids);
  std::vector<float> ref = tiny.reference(ids);
  expectClose(all.data(), ref.data(), ids.size(), tiny.options.vocab);
}

TEST_F(RuntimeTest, BadArguments) {
  load();
  s10_model_t *m = nullptr;
  EXPECT_EQ(Result(s10_model_open(nullptr, nullptr, &m)).code,
            S10_INVALID_ARGUMENT);
  EXPECT_EQ(Result(s10_model_open("x", nullptr, nullptr)).code,
            S10_INVALID_ARGUMENT);
  s10_session_t *s = nullptr;
  EXPECT_EQ(Result(s10_session_create(nullptr, nullptr, &s)).code,
            S10_INVALID_ARGUMENT);
  s10_session_options_t o;
  s10_session_options_init(&o);
  o.max_context = tiny.options.maxPositions + 1;
  EXPECT_EQ(Result(s10_session_create(model.get(), &o, &s)).code,
            S10_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  o.max_context = 0;
  o.threads = 100000;
  EXPECT_EQ(Result(s10_session_create(model.get(), &o, &s)).code,
            S10_INVALID_ARGUMENT);
  SessionPtr ok = newSession(model.get());
  EXPECT_EQ(Result(s10_session_prefill(ok.get(), nullptr, 3, nullptr)).code,
            S10_INVALID_ARGUMENT);
  EXPECT_TRUE(Result(s10_session_prefill(ok.get(), nullptr, 0, nullptr)).ok());
  EXPECT_EQ(Result(s10_session_decode(nullptr, 1)).code, S10_INVALID_ARGUMENT);
  const float *p;
  size_t n;
  EXPECT_EQ(Result(s10_session_logits(ok.get(), &p, &n)).code,
            S10_INVALID_ARGUMENT);
  EXPECT_EQ(Result(s10_session_logits(ok.get(), nullptr, &n)).code,
            S10_INVALID_ARGUMENT);
  EXPECT_EQ(Result(s10_model_info(nullptr, nullptr)).code,
            S10_INVALID_ARGUMENT);
  EXPECT_EQ(s10_session_length(nullptr), 0u);
  s10_session_reset(nullptr);
  s10_status_free(nullptr);
  EXPECT_EQ(s10_status_code(nullptr), S10_OK);
  EXPECT_STREQ(s10_status_message(nullptr), "");
  EXPECT_STREQ(s10_runtime_version(), "0.1.0");
}

TEST_F(RuntimeTest, ModelInfo) {
  load();
  s10_model_info_t info;
  ASSERT_TRUE(Result(s10_model_info(model.get(), &info)).ok());
  EXPECT_STREQ(info.name, "tiny-llama");
  EXPECT_STREQ(info.target, "cpu-x86_64");
  EXPECT_EQ(info.format_version, 3u);
  EXPECT_EQ(info.vocab, 64u);
  EXPECT_EQ(info.hidden, 32u);
  EXPECT_EQ(info.layers, 2u);
  EXPECT_EQ(info.heads, 4u);
  EXPECT_EQ(info.kv_heads, 2u);
  EXPECT_EQ(info.head_dim, 8u);
  EXPECT_EQ(info.intermediate, 64u);
  EXPECT_EQ(info.max_positions, 64u);
  EXPECT_EQ(info.bos_id, 1);
  EXPECT_EQ(info.eos_id, 2);
  EXPECT_EQ(info.steps, tiny.artifact.steps.size());
  EXPECT_EQ(info.compiled_kernels, 0u);
  EXPECT_EQ(info.file_bytes, tiny.artifact.serialize().size());
  EXPECT_GT(info.weight_bytes, 0u);
}

TEST_F(RuntimeTest, SessionOutlivesModelHandle) {
  load();
  SessionPtr s = newSession(model.get());
  model.reset();
  std::vector<int32_t> ids = prompt(5, tiny.options.vocab);
  std::vector<float> all = prefillAll(s.get(), ids);
  std::vector<float> ref = tiny.reference(ids);
  expectClose(all.data(), ref.data(), ids.size(), tiny.options.vocab);
}

TEST_F(RuntimeTest, MissingFile) {
  Result r = openModel(dir.path() + "/absent.s10", model);
  EXPECT_EQ(r.code, S10_NOT_FOUND) << r;
  EXPECT_NE(r.message.find("absent.s10"), std::string::npos);
  EXPECT_EQ(openModel(dir.path(), model).code, S10_IO_ERROR);
}

//===----------------------------------------------------------------------===//
// Generated kernels
//===----------------------------------------------------------------------===//

TinyOptions kernelOptions(bool doubled) {
  TinyOptions o;
  o.kernels = true;
  o.code = readFile(S10RT_TEST_KERNELS);
  o.doubledHead = doubled;
  return o;
}

TEST_F(RuntimeTest, GeneratedKernels) {
  load(kernelOptions(false));
  s10_model_info_t info;
  ASSERT_TRUE(Result(s10_model_info(model.get(), &info)).ok());
  // q_proj of layer 1, final norm, lm_head, 2 adds and a swiglu per layer.
  EXPECT_EQ(info.compiled_kernels, 9u);
  std::vector<int32_t> ids = prompt(9, tiny.options.vocab);
  std::vector<float> ref = tiny.reference(ids);
  SessionPtr s = newSession(model.get());
  std::vector<float> all = prefillAll(s.get(), ids);
  expectClose(all.data(), ref.data(), ids.size(), tiny.options.vocab);
  ASSERT_TRUE(Result(s10_session_decode(s.get(), 9)).ok());
}

TEST_F(RuntimeTest, GeneratedGemmKernels) {
  // Prefill (chunks of 4 or more tokens) runs the linears and attention
  // through the artifact's GemmBlock table: here blocks of 1 x 4 with k
  // blocks of 64, a tiling unlike the built-in one.
  TinyOptions o = kernelOptions(false);
  o.gemmTable = true;
  load(o);
  std::vector<int32_t> ids = prompt(9, tiny.options.vocab);
  std::vector<float> ref = tiny.reference(ids);
  SessionPtr s = newSession(model.get());
  std::vector<float> all = prefillAll(s.get(), ids);
  expectClose(all.data(), ref.data(), ids.size(), tiny.options.vocab);
  // A table that writes zeros changes the logits: it is the one that ran.
  o.zeroGemm = true;
  load(o);
  s = newSession(model.get());
  all = prefillAll(s.get(), ids);
  double diff = 0;
  for (size_t i = 0; i < all.size(); ++i)
    diff = std::max(diff, double(std::fabs(all[i] - ref[i])));
  EXPECT_GT(diff, 1e-2);
}

TEST_F(RuntimeTest, GeneratedKernelIsCalled) {
  // The lm_head's kernel doubles its result: the logits show it ran. A
  // Gemv kernel computes one token; decode and short prefills call it
  // (chunks of 4 or more tokens multiply the weights in the runtime).
  load(kernelOptions(true));
  std::vector<int32_t> ids = prompt(5, tiny.options.vocab);
  std::vector<float> ref = tiny.reference(ids);
  SessionPtr s = newSession(model.get());
  std::vector<float> head = prefillAll(s.get(), {ids[0], ids[1]});
  expectClose(head.data(), ref.data(), 2, tiny.options.vocab);
  for (size_t t = 2; t < ids.size(); ++t) {
    ASSERT_TRUE(Result(s10_session_decode(s.get(), ids[t])).ok());
    std::vector<float> l = lastLogits(s.get());
    expectClose(l.data(), ref.data() + t * tiny.options.vocab, 1,
                tiny.options.vocab);
  }
}

TEST_F(RuntimeTest, ModelsWithKernelsLoadIndependently) {
  TinyModel a = TinyModel::build(kernelOptions(false));
  TinyModel b = TinyModel::build(kernelOptions(true));
  std::string pa = dir.file("a.s10"), pb = dir.file("b.s10");
  writeFile(pa, a.artifact.serialize());
  writeFile(pb, b.artifact.serialize());
  // Three tokens: short enough for the kernels to run per token.
  std::vector<int32_t> ids = prompt(3, 64);
  for (int round = 0; round < 3; ++round) {
    ModelPtr ma, mb;
    ASSERT_TRUE(openModel(pa, ma).ok());
    ASSERT_TRUE(openModel(pb, mb).ok());
    SessionPtr sa = newSession(ma.get()), sb = newSession(mb.get());
    ma.reset(); // frees nothing the session uses
    std::vector<float> la(ids.size() * 64), lb(ids.size() * 64);
    ASSERT_TRUE(
        Result(s10_session_prefill(sa.get(), ids.data(), ids.size(), la.data()))
            .ok());
    ASSERT_TRUE(
        Result(s10_session_prefill(sb.get(), ids.data(), ids.size(), lb.data()))
            .ok());
    std::vector<float> ra = a.reference(ids), rb = b.reference(ids);
    expectClose(la.data(), ra.data(), ids.size(), 64);
    expectClose(lb.data(), rb.data(), ids.size(), 64);
  }
}

TEST_F(RuntimeTest, MissingKernelSymbol) {
  TinyModel m = TinyModel::build(kernelOptions(false));
  m.artifact.kernels[2].symbol = "s10rt_test_no_such_kernel";
  std::string path = dir.file("missing.s10");
  writeFile(path, m.artifact.serialize());
  Result r = openModel(path, model);
  EXPECT_EQ(r.code, S10_DATA_LOSS) << r;
  EXPECT_NE(r.message.find("s10rt_test_no_such_kernel"), std::string::npos)
      << r;
}

TEST_F(RuntimeTest, BadCodeObject) {
  TinyModel m = TinyModel::build(kernelOptions(false));
  // An ELF header whose program headers are garbage: dlopen refuses it.
  m.artifact.code.resize(256);
  std::fill(m.artifact.code.begin() + 24, m.artifact.code.end(), 0xAB);
  std::string path = dir.file("badcode.s10");
  writeFile(path, m.artifact.serialize());
  Result r = openModel(path, model);
  EXPECT_EQ(r.code, S10_DATA_LOSS) << r;
  m.artifact.code.assign(100, 0x42);
  writeFile(path, m.artifact.serialize());
  r = openModel(path, model);
  EXPECT_EQ(r.code, S10_DATA_LOSS) << r;
  EXPECT_NE(r.message.find("ELF"), std::string::npos) << r;
}

} // namespace
