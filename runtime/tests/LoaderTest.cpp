//===- LoaderTest.cpp - Corrupted artifacts are rejected, never crash -----===//

#include "TestUtil.h"
#include "TinyModel.h"

#include <cstddef>
#include <random>

using namespace s10rt;
using namespace s10rt::format;
using namespace s10rt::test;

namespace {

class LoaderTest : public ::testing::Test {
protected:
  void SetUp() override {
    tiny = TinyModel::build(TinyOptions());
    good = tiny.artifact.serialize(&layout);
    buffers = uint32_t(tiny.artifact.buffers.size());
  }
  /// Opens `bytes` written to a file.
  Result open(const std::vector<uint8_t> &bytes, bool verify = true) {
    std::string path = dir.file("t" + std::to_string(files++) + ".s10");
    writeFile(path, bytes);
    ModelPtr m;
    Result r = openModel(path, m, verify);
    if (r.ok())
      exercise(m.get());
    return r;
  }
  /// A model that opened runs a few tokens without crashing (whatever its
  /// numbers are).
  static void exercise(s10_model_t *m) {
    s10_session_options_t o;
    s10_session_options_init(&o);
    o.threads = 2;
    o.max_context = 16;
    s10_session_t *s = nullptr;
    Result r(s10_session_create(m, &o, &s));
    if (!r.ok())
      return;
    int32_t ids[5] = {1, 2, 3, 4, 5};
    Result(s10_session_prefill(s, ids, 5, nullptr));
    Result(s10_session_decode(s, 6));
    s10_session_free(s);
  }
  /// Opens `good` with a record field patched, checksums off.
  template <typename T>
  Result patched(uint64_t at, T value, bool verify = false) {
    std::vector<uint8_t> b = good;
    poke<T>(b, at, value);
    return open(b, verify);
  }
  uint64_t stepField(uint32_t step, size_t field) const {
    return layout.stepRecord(step, buffers) + field;
  }
  uint64_t tensorField(uint32_t tensor, size_t field) const {
    return layout.tensorRecord(tensor) + field;
  }
  uint32_t stepIndex(const std::string &name) const {
    for (uint32_t i = 0; i < tiny.artifact.steps.size(); ++i)
      if (tiny.artifact.steps[i].name == name)
        return i;
    ADD_FAILURE() << "no step " << name;
    return 0;
  }
  uint32_t tensorIndex(const std::string &name) const {
    for (uint32_t i = 0; i < tiny.artifact.tensors.size(); ++i)
      if (tiny.artifact.tensors[i].name == name)
        return i;
    ADD_FAILURE() << "no tensor " << name;
    return 0;
  }
  uint64_t sectionRecord(SectionKind kind) const {
    for (uint32_t i = 0;; ++i) {
      uint64_t at = sizeof(Header) + 32 * i;
      if (peek<uint32_t>(good, at) == uint32_t(kind))
        return at;
    }
  }

  TempDir dir;
  int files = 0;
  TinyModel tiny;
  std::vector<uint8_t> good;
  FileLayout layout;
  uint32_t buffers = 0;
};

#define EXPECT_REJECTED(result, status, text)                                  \
  do {                                                                         \
    Result r_ = (result);                                                      \
    EXPECT_EQ(r_.code, status) << r_;                                          \
    EXPECT_NE(r_.message.find(text), std::string::npos) << r_;                 \
    EXPECT_EQ(r_.message.find(".s10: "), r_.message.find(": ") - 4) << r_;     \
  } while (0)

TEST_F(LoaderTest, GoodArtifactOpens) {
  EXPECT_TRUE(open(good).ok());
  EXPECT_TRUE(open(good, false).ok());
}

TEST_F(LoaderTest, Truncated) {
  for (size_t n : {size_t(0), size_t(1), size_t(63), size_t(64), size_t(200),
                   good.size() / 2, good.size() - 1}) {
    std::vector<uint8_t> b(good.begin(), good.begin() + n);
    Result r = open(b);
    EXPECT_EQ(r.code, S10_DATA_LOSS) << n << " bytes: " << r;
  }
  std::vector<uint8_t> b(good.begin(), good.end() - 1);
  EXPECT_REJECTED(open(b), S10_DATA_LOSS, "truncated");
  b = good;
  b.push_back(0);
  EXPECT_REJECTED(open(b), S10_DATA_LOSS, "trailing bytes");
}

TEST_F(LoaderTest, EveryHeaderByteFlipped) {
  for (uint64_t at = 0; at < sizeof(Header); ++at) {
    std::vector<uint8_t> b = good;
    b[at] ^= 0x10;
    Result r = open(b);
    if (at >= offsetof(Header, reserved)) {
      // The reserved word is covered by no checksum and ignored.
      EXPECT_TRUE(r.ok()) << at << ": " << r;
      continue;
    }
    s10_status_code_t want =
        at >= offsetof(Header, version) && at < offsetof(Header, headerSize)
            ? S10_UNIMPLEMENTED
            : S10_DATA_LOSS;
    EXPECT_EQ(r.code, want) << "byte " << at << ": " << r;
    if (at < 8) {
      EXPECT_NE(r.message.find("not an s10 artifact"), std::string::npos);
    }
  }
}

TEST_F(LoaderTest, HeaderFieldsWithValidChecksum) {
  auto withField = [&](size_t field, auto value) {
    std::vector<uint8_t> b = good;
    poke(b, field, value);
    refreshHeaderChecksum(b);
    return open(b);
  };
  EXPECT_REJECTED(withField(offsetof(Header, version), uint32_t(4)),
                  S10_UNIMPLEMENTED, "format version 4, this runtime reads 3");
  // A CPU plan relabelled cuda: its steps name no CUDA kernels.
  EXPECT_REJECTED(withField(offsetof(Header, target), uint32_t(Target::Cuda)),
                  S10_DATA_LOSS, "a cuda artifact runs every step as one");
  EXPECT_REJECTED(withField(offsetof(Header, target), uint32_t(99)),
                  S10_UNIMPLEMENTED, "unknown target 99");
  EXPECT_REJECTED(withField(offsetof(Header, headerSize), uint32_t(128)),
                  S10_DATA_LOSS, "header size");
  EXPECT_REJECTED(
      withField(offsetof(Header, fileSize), uint64_t(good.size() + 1)),
      S10_DATA_LOSS, "truncated");
  EXPECT_REJECTED(
      withField(offsetof(Header, fileSize), uint64_t(good.size() - 1)),
      S10_DATA_LOSS, "trailing bytes");
  EXPECT_REJECTED(withField(offsetof(Header, payloadChecksum), uint64_t(1)),
                  S10_DATA_LOSS, "checksum");
  EXPECT_REJECTED(
      withField(offsetof(Header, sectionTableOffset), uint64_t(128)),
      S10_DATA_LOSS, "section table");
  EXPECT_REJECTED(withField(offsetof(Header, sectionCount), uint32_t(0)),
                  S10_DATA_LOSS, "section table");
  EXPECT_REJECTED(withField(offsetof(Header, sectionCount), uint32_t(1u << 30)),
                  S10_DATA_LOSS, "section table");
  EXPECT_REJECTED(withField(0, uint8_t('X')), S10_DATA_LOSS,
                  "not an s10 artifact");
}

TEST_F(LoaderTest, PayloadByteFlipped) {
  for (uint64_t at = sizeof(Header); at < good.size(); at += 61) {
    std::vector<uint8_t> b = good;
    b[at] ^= 0x01;
    Result r = open(b);
    EXPECT_EQ(r.code, S10_DATA_LOSS) << at << ": " << r;
    EXPECT_NE(r.message.find("checksum"), std::string::npos) << r;
  }
}

TEST_F(LoaderTest, SectionTable) {
  uint64_t plan = sectionRecord(SectionKind::Plan);
  uint64_t weights = sectionRecord(SectionKind::Weights);
  EXPECT_REJECTED(patched<uint32_t>(plan, 42), S10_DATA_LOSS,
                  "unknown kind 42");
  EXPECT_REJECTED(patched<uint32_t>(plan, uint32_t(SectionKind::Config)),
                  S10_DATA_LOSS, "two config sections");
  EXPECT_REJECTED(patched<uint64_t>(plan + 8, layout.offset[5] + 8),
                  S10_DATA_LOSS, "aligned");
  EXPECT_REJECTED(patched<uint64_t>(weights + 8, layout.offset[4] + 64),
                  S10_DATA_LOSS, "4096-byte aligned");
  EXPECT_REJECTED(patched<uint64_t>(plan + 8, uint64_t(1) << 62), S10_DATA_LOSS,
                  "outside the file");
  EXPECT_REJECTED(patched<uint64_t>(plan + 16, ~uint64_t(0)), S10_DATA_LOSS,
                  "outside the file");
  EXPECT_REJECTED(patched<uint64_t>(plan + 8, 0), S10_DATA_LOSS,
                  "outside the file");
  EXPECT_REJECTED(patched<uint64_t>(plan + 8, layout.offset[3]), S10_DATA_LOSS,
                  "overlap");
  // Dropping the plan: the table says there is one section fewer.
  std::vector<uint8_t> b = good;
  poke<uint32_t>(b, plan, uint32_t(SectionKind::Kernels));
  EXPECT_REJECTED(open(b, false), S10_DATA_LOSS, "no plan section");
}

TEST_F(LoaderTest, Config) {
  uint64_t c = layout.offset[uint32_t(SectionKind::Config)];
  EXPECT_REJECTED(patched<uint32_t>(c + offsetof(ModelConfig, vocab), 0),
                  S10_DATA_LOSS, "vocab");
  EXPECT_REJECTED(patched<uint32_t>(c + offsetof(ModelConfig, maxPositions), 0),
                  S10_DATA_LOSS, "max_positions");
  EXPECT_REJECTED(patched<uint32_t>(c + offsetof(ModelConfig, kvHeads), 3),
                  S10_DATA_LOSS, "kv_heads");
  EXPECT_REJECTED(patched<uint32_t>(c + offsetof(ModelConfig, eosId), 64),
                  S10_DATA_LOSS, "eos");
  EXPECT_REJECTED(
      patched<uint32_t>(c + offsetof(ModelConfig, nameOffset), 1u << 20),
      S10_DATA_LOSS, "string offset");
  EXPECT_REJECTED(
      patched<uint64_t>(c + offsetof(ModelConfig, weightBytes), 1ull << 40),
      S10_DATA_LOSS, "weight bytes");
  uint64_t rec = sectionRecord(SectionKind::Config);
  EXPECT_REJECTED(patched<uint64_t>(rec + 16, 64), S10_DATA_LOSS,
                  "config section is 64 bytes");
}

TEST_F(LoaderTest, Strings) {
  uint64_t s = layout.offset[uint32_t(SectionKind::Strings)];
  uint64_t n = layout.size[uint32_t(SectionKind::Strings)];
  EXPECT_REJECTED(
      patched<uint32_t>(tensorField(0, offsetof(TensorRecord, nameOffset)),
                        uint32_t(n)),
      S10_DATA_LOSS, "outside the strings section");
  // The last string loses its NUL.
  EXPECT_REJECTED(patched<uint8_t>(s + n - 1, 'x'), S10_DATA_LOSS,
                  "not NUL-terminated");
  EXPECT_REJECTED(
      patched<uint32_t>(stepField(3, offsetof(StepRecord, nameOffset)),
                        0xFFFFFFF0u),
      S10_DATA_LOSS, "string offset");
}

TEST_F(LoaderTest, Tensors) {
  uint32_t embed = tensorIndex("embed_tokens");
  uint64_t wsize = layout.size[uint32_t(SectionKind::Weights)];
  auto field = [&](size_t f) { return tensorField(embed, f); };
  EXPECT_REJECTED(
      patched<uint64_t>(field(offsetof(TensorRecord, offset)), wsize),
      S10_DATA_LOSS, "outside the weights section");
  EXPECT_REJECTED(
      patched<uint64_t>(field(offsetof(TensorRecord, offset)), ~uint64_t(63)),
      S10_DATA_LOSS, "outside the weights section");
  EXPECT_REJECTED(
      patched<uint64_t>(field(offsetof(TensorRecord, size)), ~uint64_t(0)),
      S10_DATA_LOSS, "outside the weights section");
  EXPECT_REJECTED(
      patched<uint64_t>(field(offsetof(TensorRecord, offset)), uint64_t(4)),
      S10_DATA_LOSS, "64-byte aligned");
  EXPECT_REJECTED(patched<int64_t>(field(offsetof(TensorRecord, dims)), 65),
                  S10_DATA_LOSS, "bytes");
  EXPECT_REJECTED(patched<int64_t>(field(offsetof(TensorRecord, dims)), -64),
                  S10_DATA_LOSS, "dimension");
  EXPECT_REJECTED(
      patched<int64_t>(field(offsetof(TensorRecord, dims)), int64_t(1) << 62),
      S10_DATA_LOSS, "elements");
  EXPECT_REJECTED(patched<uint32_t>(field(offsetof(TensorRecord, rank)), 3),
                  S10_DATA_LOSS, "rank");
  EXPECT_REJECTED(patched<uint32_t>(field(offsetof(TensorRecord, dtype)), 9),
                  S10_DATA_LOSS, "dtype");
  EXPECT_REJECTED(patched<uint32_t>(field(offsetof(TensorRecord, dtype)),
                                    uint32_t(DType::F32)),
                  S10_DATA_LOSS, "bytes");
  uint64_t tensors = sectionRecord(SectionKind::Tensors);
  EXPECT_REJECTED(patched<uint64_t>(tensors + 16, layout.size[3] - 8),
                  S10_DATA_LOSS, "88-byte records");
}

TEST_F(LoaderTest, PackedTensors) {
  uint32_t q = tensorIndex("layers.0.q_proj"); // kbit 4
  uint32_t k = tensorIndex("layers.0.k_proj"); // bitmap
  EXPECT_REJECTED(
      patched<uint8_t>(tensorField(q, offsetof(TensorRecord, pkBits)), 9),
      S10_DATA_LOSS, "bits");
  EXPECT_REJECTED(
      patched<uint8_t>(tensorField(q, offsetof(TensorRecord, pkKind)), 7),
      S10_DATA_LOSS, "layout kind");
  EXPECT_REJECTED(
      patched<uint8_t>(tensorField(q, offsetof(TensorRecord, pkParams)), 5),
      S10_DATA_LOSS, "parameter format");
  EXPECT_REJECTED(
      patched<int64_t>(tensorField(q, offsetof(TensorRecord, pkGroupSize)), 0),
      S10_DATA_LOSS, "group size");
  EXPECT_REJECTED(
      patched<int64_t>(tensorField(q, offsetof(TensorRecord, pkGroupSize)), 8),
      S10_DATA_LOSS, "needs");
  EXPECT_REJECTED(patched<int64_t>(tensorField(q, offsetof(TensorRecord, dims)),
                                   int64_t(1) << 40),
                  S10_DATA_LOSS, "cannot hold");
  int64_t count = tiny.artifact.tensors[k].spec.salientCount;
  EXPECT_REJECTED(
      patched<int64_t>(tensorField(k, offsetof(TensorRecord, pkSalientCount)),
                       count + 1000),
      S10_DATA_LOSS, "tensor");
  // Content: every byte of the bitmap weight set.
  std::vector<uint8_t> b = good;
  uint64_t at =
      layout.offset[uint32_t(SectionKind::Weights)] +
      peek<uint64_t>(good, tensorField(k, offsetof(TensorRecord, offset)));
  std::fill(b.begin() + at,
            b.begin() + at + tiny.artifact.tensors[k].bytes.size(), 0xFF);
  EXPECT_REJECTED(open(b, false), S10_DATA_LOSS, "layers.0.k_proj");
}

TEST_F(LoaderTest, Plan) {
  uint64_t p = layout.offset[uint32_t(SectionKind::Plan)];
  EXPECT_REJECTED(patched<uint32_t>(p + offsetof(PlanHeader, stepCount),
                                    uint32_t(tiny.artifact.steps.size() + 1)),
                  S10_DATA_LOSS, "plan section");
  EXPECT_REJECTED(
      patched<uint32_t>(p + offsetof(PlanHeader, logitsBuffer), buffers),
      S10_DATA_LOSS, "logits buffer");
  EXPECT_REJECTED(patched<uint32_t>(p + offsetof(PlanHeader, logitsBuffer), 0),
                  S10_DATA_LOSS, "the vocab is 64");
  EXPECT_REJECTED(patched<uint32_t>(p + offsetof(PlanHeader, kvWidth), 8),
                  S10_DATA_LOSS, "KV width");
  EXPECT_REJECTED(patched<uint32_t>(p + offsetof(PlanHeader, kvSlots), 1),
                  S10_DATA_LOSS, "slot");
  // Slots nobody owns would only make the session allocate (a fuzzer's
  // find: such a plan made the session ask for 1.2 TB).
  EXPECT_REJECTED(
      patched<uint32_t>(p + offsetof(PlanHeader, kvSlots), 0xFFFFFFFFu),
      S10_DATA_LOSS, "KV cache slots but only");
  uint32_t slots = 0;
  std::memcpy(&slots, good.data() + p + offsetof(PlanHeader, kvSlots), 4);
  EXPECT_REJECTED(
      patched<uint32_t>(p + offsetof(PlanHeader, kvSlots), slots + 1),
      S10_DATA_LOSS, "used by no attention step");
  EXPECT_REJECTED(patched<uint32_t>(p + sizeof(PlanHeader), 0), S10_DATA_LOSS,
                  "width 0");
}

TEST_F(LoaderTest, Steps) {
  uint32_t q = stepIndex("layers.0.q_proj");
  uint32_t att = stepIndex("layers.0.attention");
  uint32_t rot = stepIndex("layers.0.rotary_q");
  uint32_t norm = stepIndex("layers.0.attn_norm");
  uint32_t add = stepIndex("layers.0.residual1");
  auto f = [&](uint32_t step, size_t field) { return stepField(step, field); };
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, op)), 99),
                  S10_DATA_LOSS, "unknown op 99");
  // Fused GEMV steps are for cuda artifacts only.
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, op)),
                                    uint32_t(OpCode::LinearAdd)),
                  S10_DATA_LOSS, "fused steps run only in cuda artifacts");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, op)),
                                    uint32_t(OpCode::LinearSwiGLU)),
                  S10_DATA_LOSS, "fused steps run only in cuda artifacts");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, op)),
                                    uint32_t(OpCode::NormLinearQKV)),
                  S10_DATA_LOSS, "fused steps run only in cuda artifacts");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, in)), buffers),
                  S10_DATA_LOSS, "is buffer");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, in)), kNone),
                  S10_DATA_LOSS, "is buffer");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, out)), 1000),
                  S10_DATA_LOSS, "is buffer");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, tensor)),
                                    uint32_t(tiny.artifact.tensors.size())),
                  S10_DATA_LOSS, "is tensor");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, tensor)), kNone),
                  S10_DATA_LOSS, "is tensor");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, tensor)),
                                    tensorIndex("embed_tokens")),
                  S10_DATA_LOSS, "the weight must be [32x32]");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, tensor) + 4),
                                    tensorIndex("layers.0.k_proj")),
                  S10_DATA_LOSS, "bias");
  EXPECT_REJECTED(patched<uint32_t>(f(q, offsetof(StepRecord, kernel)), 0),
                  S10_DATA_LOSS, "kernel 0, the artifact has 0");
  EXPECT_REJECTED(patched<uint32_t>(f(norm, offsetof(StepRecord, tensor)),
                                    tensorIndex("inv_freq")),
                  S10_DATA_LOSS, "weight must be");
  EXPECT_REJECTED(patched<float>(f(norm, offsetof(StepRecord, f)), -1.0f),
                  S10_DATA_LOSS, "epsilon");
  EXPECT_REJECTED(patched<uint32_t>(f(add, offsetof(StepRecord, in) + 4),
                                    5 /* gate: width 64 */),
                  S10_DATA_LOSS, "width");
  EXPECT_REJECTED(patched<int32_t>(f(rot, offsetof(StepRecord, i) + 4), 7),
                  S10_DATA_LOSS, "heads");
  EXPECT_REJECTED(patched<int32_t>(f(rot, offsetof(StepRecord, i)), 2),
                  S10_DATA_LOSS, "heads");
  EXPECT_REJECTED(patched<uint32_t>(f(rot, offsetof(StepRecord, tensor)),
                                    tensorIndex("norm")),
                  S10_DATA_LOSS, "inverse frequencies");
  EXPECT_REJECTED(patched<int32_t>(f(att, offsetof(StepRecord, i) + 12), 2),
                  S10_DATA_LOSS, "slot 2");
  EXPECT_REJECTED(patched<int32_t>(f(att, offsetof(StepRecord, i) + 12), -1),
                  S10_DATA_LOSS, "slot -1");
  EXPECT_REJECTED(patched<int32_t>(f(att, offsetof(StepRecord, i) + 4), 3),
                  S10_DATA_LOSS, "grouped attention");
  EXPECT_REJECTED(patched<int32_t>(f(att, offsetof(StepRecord, i) + 4), 4),
                  S10_DATA_LOSS, "widths");
  EXPECT_REJECTED(patched<int32_t>(f(att, offsetof(StepRecord, i) + 8), 0),
                  S10_DATA_LOSS, "grouped attention");
  EXPECT_REJECTED(patched<uint32_t>(f(att, offsetof(StepRecord, in) + 4), 0),
                  S10_DATA_LOSS, "widths");
  EXPECT_REJECTED(patched<uint32_t>(f(att, offsetof(StepRecord, kernel)), 0),
                  S10_DATA_LOSS, "kernel");
}

TEST_F(LoaderTest, Kernels) {
  TinyOptions o;
  o.kernels = true;
  o.code = readFile(S10RT_TEST_KERNELS);
  TinyModel m = TinyModel::build(o);
  FileLayout kl;
  std::vector<uint8_t> kb = m.artifact.serialize(&kl);
  EXPECT_TRUE(open(kb).ok());
  uint64_t k = kl.offset[uint32_t(SectionKind::Kernels)];
  auto with = [&](uint64_t at, auto v) {
    std::vector<uint8_t> b = kb;
    poke(b, at, v);
    return open(b, false);
  };
  EXPECT_REJECTED(with(k + offsetof(KernelsHeader, count), uint32_t(1u << 28)),
                  S10_DATA_LOSS, "records do not fit");
  EXPECT_REJECTED(with(k + offsetof(KernelsHeader, codeOffset), uint64_t(8)),
                  S10_DATA_LOSS, "code object");
  EXPECT_REJECTED(with(k + offsetof(KernelsHeader, codeSize), ~uint64_t(0)),
                  S10_DATA_LOSS, "code object");
  EXPECT_REJECTED(with(k + offsetof(KernelsHeader, codeSize), uint64_t(0)),
                  S10_DATA_LOSS, "no code object");
  EXPECT_REJECTED(with(k + sizeof(KernelsHeader), uint32_t(9)), S10_DATA_LOSS,
                  "ABI 9, unknown for a cpu-x86_64 artifact");
  // Reserved words are zero but for GemmBlock kernels.
  EXPECT_REJECTED(with(k + sizeof(KernelsHeader) + 8, uint32_t(1)),
                  S10_DATA_LOSS, "non-zero reserved words");
  // A CUDA kernel's ABI in a CPU artifact.
  EXPECT_REJECTED(with(k + sizeof(KernelsHeader), uint32_t(KernelAbi::GpuGemv)),
                  S10_DATA_LOSS, "ABI 11, unknown for a cpu-x86_64 artifact");
  EXPECT_REJECTED(with(k + sizeof(KernelsHeader) + 4, uint32_t(1u << 30)),
                  S10_DATA_LOSS, "symbol");
  // Code for CPU features the runtime does not know, or this CPU lacks.
  EXPECT_REJECTED(
      with(k + offsetof(KernelsHeader, cpuFeatures), uint64_t(1) << 63),
      S10_UNIMPLEMENTED, "CPU features unknown to this runtime (bits 0x8000");
  // sse3 and popcnt: every x86-64 machine these tests run on has them.
  EXPECT_TRUE(with(k + offsetof(KernelsHeader, cpuFeatures),
                   uint64_t(1) | uint64_t(1) << 6)
                  .ok());
  // An add calling the gemv kernel.
  uint32_t add = 0;
  for (uint32_t i = 0; i < m.artifact.steps.size(); ++i)
    if (m.artifact.steps[i].name == "layers.0.residual1")
      add = i;
  uint32_t nb = uint32_t(m.artifact.buffers.size());
  EXPECT_REJECTED(
      with(kl.stepRecord(add, nb) + offsetof(StepRecord, kernel), uint32_t(0)),
      S10_DATA_LOSS, "ABI gemv, the op needs binary");
  EXPECT_REJECTED(
      with(kl.stepRecord(add, nb) + offsetof(StepRecord, kernel), uint32_t(5)),
      S10_DATA_LOSS, "kernel 5, the artifact has 5");
  // A kernels section without kernels is fine when it has no code.
  ArtifactData a = tiny.artifact;
  a.kernelsSection = true;
  EXPECT_TRUE(open(a.serialize()).ok());
}

TEST_F(LoaderTest, GemmKernels) {
  TinyOptions o;
  o.kernels = true;
  o.gemmTable = true;
  o.code = readFile(S10RT_TEST_KERNELS);
  TinyModel m = TinyModel::build(o);
  EXPECT_TRUE(open(m.artifact.serialize()).ok());
  // The table's records are the last two: unmasked, masked.
  uint32_t first = uint32_t(m.artifact.kernels.size() - 2);
  auto words = [&](GemmBlockShape a, GemmBlockShape b) {
    ArtifactData d = m.artifact;
    gemmBlockWords(a, d.kernels[first].reserved);
    gemmBlockWords(b, d.kernels[first + 1].reserved);
    return open(d.serialize());
  };
  GemmBlockShape u{1, 1, 4, 0, 1, 1, 64}, t{1, 1, 4, 1, 1, 1, 64};
  EXPECT_TRUE(words(u, t).ok());
  // Twice the same block, so one is missing.
  EXPECT_REJECTED(words(u, u), S10_DATA_LOSS, "repeats kernel");
  // A table of 2 x 1 with only two kernels.
  GemmBlockShape u2 = u, t2 = t;
  u2.maxMr = t2.maxMr = 2;
  EXPECT_REJECTED(words(u2, t2), S10_DATA_LOSS,
                  "the GEMM kernel table has 2 kernels, 2 x 1 x 2 expected");
  // Kernels of two different tables.
  GemmBlockShape t3 = t;
  t3.kc = 128;
  EXPECT_REJECTED(words(u, t3), S10_DATA_LOSS, "different table");
  // Out of range: vector width, k block, block outside its table.
  GemmBlockShape bad = u;
  bad.vec = 12;
  EXPECT_REJECTED(words(bad, t), S10_DATA_LOSS, "out of range");
  bad = u;
  bad.kc = 0;
  EXPECT_REJECTED(words(bad, t), S10_DATA_LOSS, "out of range");
  bad = u;
  bad.mr = 2;
  EXPECT_REJECTED(words(bad, t), S10_DATA_LOSS, "lies outside its table");
  // A masked flag of 3, a bit past the fields.
  for (uint32_t junk : {3u << 8, 1u << 30}) {
    ArtifactData d = m.artifact;
    d.kernels[first].reserved[0] |= junk;
    EXPECT_REJECTED(open(d.serialize()), S10_DATA_LOSS,
                    "malformed shape words");
  }
  // A step calling a GemmBlock kernel.
  {
    ArtifactData d = m.artifact;
    for (StepData &st : d.steps)
      if (st.record.op == uint32_t(OpCode::Add))
        st.record.kernel = first;
    EXPECT_REJECTED(open(d.serialize()), S10_DATA_LOSS,
                    "of ABI gemm_block, the op needs binary");
  }
  // A Linear naming a kernel that is no decode kernel as its decoder.
  {
    ArtifactData d = m.artifact;
    for (StepData &st : d.steps)
      if (st.record.op == uint32_t(OpCode::Linear))
        st.record.reserved = first;
    EXPECT_REJECTED(open(d.serialize()), S10_DATA_LOSS,
                    "as its decode kernel, which is not one");
  }
  {
    ArtifactData d = m.artifact;
    uint32_t dk = d.addKernel(KernelAbi::Decode, "s10rt_test_add");
    // A decode kernel for a dense weight.
    for (StepData &st : d.steps)
      if (st.record.op == uint32_t(OpCode::Linear) &&
          d.tensors[st.record.tensor[0]].dtype != DType::Packed) {
        st.record.reserved = dk;
        break;
      }
    EXPECT_REJECTED(open(d.serialize()), S10_DATA_LOSS,
                    "for a weight that is not packed");
  }
}

TEST_F(LoaderTest, RandomCorruptionNeverCrashes) {
  // Checksums off and the header checksum recomputed: every flipped byte
  // reaches the section and record checks. Whatever opens must also run.
  std::mt19937_64 rng(1234);
  uint64_t weights = layout.offset[uint32_t(SectionKind::Weights)];
  int opened = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::vector<uint8_t> b = good;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      // Mostly the metadata before the weights, sometimes the weights.
      uint64_t at = rng() % 4 == 0 ? weights + rng() % (b.size() - weights)
                                   : 64 + rng() % (weights - 64);
      b[at] ^= uint8_t(1u << (rng() % 8));
    }
    if (rng() % 8 == 0) {
      uint64_t field = 16 + 4 * (rng() % 8);
      b[field] ^= uint8_t(1u << (rng() % 8));
    }
    refreshHeaderChecksum(b);
    Result r = open(b, false);
    opened += r.ok();
    EXPECT_TRUE(r.ok() || r.code == S10_DATA_LOSS ||
                r.code == S10_UNIMPLEMENTED)
        << r;
  }
  std::printf("[ info     ] %d of 1500 corrupted artifacts opened\n", opened);
}

} // namespace
