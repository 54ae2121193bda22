//===- CudaSessionTest.cpp - The CUDA session on an emulated GPU ----------===//
//
// libs10rt's CUDA session runs a cuda artifact's plan on a Device. Here the
// device is the CPU: memory is host memory and each launch runs the
// artifact's kernels, emulated warp by warp (GpuEmulator.h), from the same
// kernel module the artifact's cubin is compiled from. The session must
// give the CPU session's logits for the same model: prefill in one chunk
// and in several, decode, reset, and refusals that leave it unchanged.
//
//===----------------------------------------------------------------------===//

#include "GpuEmulator.h"

#include "Error.h"
#include "Model.h"
#include "Session.h"
#include "Synth.h"
#include "cuda/CudaSession.h"

#include "s10/Codegen/CudaCodegen.h"
#include "s10/Codegen/GpuKernelBuilder.h"
#include "s10/Codegen/Passes.h"
#include "s10/InitAll.h"
#include "s10/Target/Artifact/ArtifactWriter.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <random>
#include <set>

namespace {

using s10rt::cuda::DevicePtr;

/// Host memory and emulated kernels behind the Device interface.
class EmulatedDevice final : public s10rt::cuda::Device {
public:
  explicit EmulatedDevice(const Emulated &emu) : emu_(emu) {}
  ~EmulatedDevice() override { EXPECT_EQ(live_, 0) << "leaked allocations"; }
  std::string name() const override { return "emulated"; }
  uint32_t chip() const override { return 0; }
  DevicePtr alloc(size_t bytes) override {
    if (bytes > budget)
      throw s10rt::Error(S10_RESOURCE_EXHAUSTED, "out of device memory");
    budget -= bytes;
    ++live_;
    return DevicePtr(uintptr_t(std::calloc(bytes ? bytes : 4, 1)));
  }
  void free(DevicePtr p) override {
    --live_;
    std::free(reinterpret_cast<void *>(uintptr_t(p)));
  }
  void upload(DevicePtr dst, const void *src, size_t bytes) override {
    std::memcpy(ptr(dst), src, bytes);
  }
  void download(void *dst, DevicePtr src, size_t bytes) override {
    std::memcpy(dst, ptr(src), bytes);
  }
  void copy(DevicePtr dst, DevicePtr src, size_t bytes) override {
    Work w;
    w.copy = true;
    w.a[0] = int64_t(dst);
    w.a[1] = int64_t(src);
    w.a[2] = int64_t(bytes);
    queue(w);
  }
  void loadKernels(const uint8_t *, size_t,
                   const std::vector<std::string> &names) override {
    names_ = names;
    for (const std::string &n : names) {
      fns_.push_back(emu_.get<void *>(n));
      args_.push_back(emu_.args(n));
      if (!fns_.back() || args_.back() < 4 || args_.back() > 9)
        throw s10rt::Error(S10_INTERNAL, "no emulated kernel " + n);
    }
  }
  void launch(uint32_t kernel, unsigned gridX, unsigned gridY, unsigned block,
              void **args) override {
    // Every argument is 8 bytes (a pointer or an int64_t), taken by value
    // now, as cuLaunchKernel and a graph capture do.
    Work w;
    w.kernel = kernel;
    w.gridX = gridX;
    w.gridY = gridY;
    w.block = block;
    for (int k = 0; k < args_.at(kernel); ++k)
      std::memcpy(&w.a[k], args[k], 8);
    queue(w);
  }
  void synchronize() override {}
  void beginCapture() override {
    EXPECT_FALSE(capturing_);
    capturing_ = true;
    graphs_.emplace_back();
  }
  uint32_t endCapture() override {
    EXPECT_TRUE(capturing_);
    capturing_ = false;
    return uint32_t(graphs_.size() - 1);
  }
  void replay(uint32_t graph) override {
    ++replays;
    for (const Work &w : graphs_.at(graph))
      run(w);
  }

  int launches = 0, replays = 0, gemmLaunches = 0;
  size_t budget = SIZE_MAX; // bytes alloc() may still give

private:
  struct Work {
    bool copy = false;
    uint32_t kernel = 0;
    unsigned gridX = 0, gridY = 0, block = 0;
    int64_t a[9] = {};
  };
  void queue(const Work &w) {
    if (capturing_)
      graphs_.back().push_back(w);
    else
      run(w);
  }
  void run(const Work &w) {
    if (w.copy) {
      std::memmove(ptr(DevicePtr(w.a[0])), ptr(DevicePtr(w.a[1])),
                   size_t(w.a[2]));
      return;
    }
    // Pass the arguments as int64_t, then the thread and block ids.
    const int64_t *a = w.a;
    using Fn = void (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                        int64_t, int64_t, int64_t, int64_t);
    using Fn4 =
        void (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
    using Fn5 = void (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t);
    using Fn6 = void (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, int64_t);
    using Fn8 = void (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, int64_t, int64_t, int64_t);
    using Fn9 = void (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
    void *fn = fns_.at(w.kernel);
    int n = args_.at(w.kernel);
    bool ok = launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          if (n == 4)
            reinterpret_cast<Fn4>(fn)(a[0], a[1], a[2], a[3], tid, bx, by);
          else if (n == 5)
            reinterpret_cast<Fn5>(fn)(a[0], a[1], a[2], a[3], a[4], tid, bx,
                                      by);
          else if (n == 6)
            reinterpret_cast<Fn6>(fn)(a[0], a[1], a[2], a[3], a[4], a[5], tid,
                                      bx, by);
          else if (n == 7)
            reinterpret_cast<Fn>(fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                                     tid, bx, by);
          else if (n == 8)
            reinterpret_cast<Fn8>(fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                                      a[7], tid, bx, by);
          else
            reinterpret_cast<Fn9>(fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6],
                                      a[7], a[8], tid, bx, by);
        },
        w.gridX, w.gridY, w.block);
    if (!ok)
      throw s10rt::Error(S10_INTERNAL, "lanes diverged at a shuffle");
    ++launches;
    gemmLaunches += names_.at(w.kernel).rfind("s10_gemm_", 0) == 0;
  }

  static void *ptr(DevicePtr p) {
    return reinterpret_cast<void *>(uintptr_t(p));
  }
  const Emulated &emu_;
  std::vector<void *> fns_;
  std::vector<int> args_;
  std::vector<std::string> names_;
  int live_ = 0;
  bool capturing_ = false;
  std::vector<std::vector<Work>> graphs_;
};

std::string writeTemp(const std::string &bytes, const char *suffix) {
  llvm::SmallString<128> path;
  EXPECT_FALSE(
      llvm::sys::fs::createTemporaryFile("s10-cuda-session", suffix, path));
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  EXPECT_FALSE(ec);
  os << bytes;
  return std::string(path);
}

/// The tiny decoder as a CPU artifact (the runtime's own kernels) and as a
/// cuda artifact with its kernel module emulated.
struct Fixture {
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module, cudaModule;
  std::unique_ptr<Emulated> emu;
  std::shared_ptr<s10rt::Model> cpu, cuda;
  std::vector<std::string> files;
  int gemms = 0; // GEMV steps with a prefill GEMM

  /// The tiny decoder, or the module of `text` (named `path`).
  explicit Fixture(const std::string &text = {},
                   std::string path = S10_TEST_INPUTS "/tiny-decoder.mlir")
      : ctx(registry()) {
    ctx.loadAllAvailableDialects();
    module = text.empty() ? parseSourceFile<ModuleOp>(path, &ctx)
                          : parseSourceString<ModuleOp>(text, &ctx);
    if (!module) {
      ADD_FAILURE() << "cannot parse " << path;
      return;
    }
    cudaModule = module->clone();
    PassManager pm(&ctx);
    GenerateKernelsOptions gen;
    gen.denseOutIn = true;
    gen.target = "cuda";
    pm.addPass(createGenerateKernels(gen));
    if (failed(pm.run(*cudaModule))) {
      ADD_FAILURE() << "kernel generation failed";
      return;
    }
    emu = std::make_unique<Emulated>(
        cudaModule->lookupSymbol<gpu::GPUModuleOp>("s10_kernels"));
    s10::target::ArtifactOptions opts;
    opts.modulePath = path;
    std::string bytes;
    s10::target::ArtifactSummary sum;
    if (llvm::Error e = s10::target::writeArtifact(*module, opts, bytes, sum)) {
      ADD_FAILURE() << llvm::toString(std::move(e));
      return;
    }
    files.push_back(writeTemp(bytes, "s10"));
    opts.cuda = true;
    opts.codeObject = "the kernels are emulated";
    if (llvm::Error e =
            s10::target::writeArtifact(*cudaModule, opts, bytes, sum)) {
      ADD_FAILURE() << llvm::toString(std::move(e));
      return;
    }
    EXPECT_EQ(sum.compiledSteps, sum.steps);
    files.push_back(writeTemp(bytes, "s10"));
    cpu = s10rt::Model::open(files[0].c_str(), true);
    cuda = s10rt::Model::open(files[1].c_str(), true);
    // The residual adds, SwiGLUs and RMSNorms run fused into their GEMVs:
    // q, k and v (one launch) and the head compute their input's norm (this
    // decoder's gate and up read the residual stream itself); the KV append
    // rotates q and k.
    namespace fmt = s10rt::format;
    int adds = 0, swiglus = 0, normed = 0, plain = 0, roped = 0, qkv = 0;
    for (const s10rt::Step &st : cuda->steps) {
      gemms += st.gemmKernel != fmt::kNone;
      qkv += st.op == fmt::OpCode::NormLinearQKV;
      roped += st.op == fmt::OpCode::RopeAttention;
      plain += st.op == fmt::OpCode::Rotary;
      adds += st.op == fmt::OpCode::LinearAdd;
      swiglus += st.op == fmt::OpCode::LinearSwiGLU;
      normed += st.op == fmt::OpCode::NormLinear;
      plain += st.op == fmt::OpCode::Add || st.op == fmt::OpCode::SwiGLU ||
               st.op == fmt::OpCode::RMSNorm;
    }
    EXPECT_EQ(adds, 2 * int(cuda->config.layers));
    EXPECT_EQ(swiglus, int(cuda->config.layers));
    EXPECT_EQ(normed, 1);
    EXPECT_EQ(qkv, int(cuda->config.layers));
    EXPECT_EQ(roped, int(cuda->config.layers));
    EXPECT_EQ(plain, 0);
  }
  ~Fixture() {
    for (const std::string &f : files)
      llvm::sys::fs::remove(f);
  }
  static DialectRegistry registry() {
    DialectRegistry r;
    s10::registerAllDialects(r);
    return r;
  }
};

void expectClose(const float *got, const float *want, size_t n,
                 const std::string &what) {
  float scale = 0;
  for (size_t k = 0; k < n; ++k)
    scale = std::max(scale, std::fabs(want[k]));
  for (size_t k = 0; k < n; ++k)
    EXPECT_NEAR(got[k], want[k], 1e-5f * scale + 1e-6f)
        << what << ", element " << k;
}

TEST(CudaSession, EmulatedGpuMatchesCpuSession) {
  Fixture f;
  ASSERT_TRUE(f.cpu && f.cuda);
  EXPECT_TRUE(f.cuda->cuda);
  EXPECT_FALSE(f.cpu->cuda);
  const size_t vocab = f.cpu->config.vocab;
  std::vector<int32_t> ids = {1, 5, 3, 7, 2, 9, 4, 11, 0, 15};
  for (uint32_t chunk : {0u, 3u}) {
    s10_session_options_t o;
    s10_session_options_init(&o);
    o.threads = 1;
    o.max_chunk = chunk;
    s10rt::Session cpu(f.cpu, o);
    auto device = std::make_unique<EmulatedDevice>(*f.emu);
    EmulatedDevice *dev = device.get();
    s10rt::cuda::CudaSession gpu(f.cuda, o, std::move(device));
    std::vector<float> want(ids.size() * vocab), got(ids.size() * vocab);
    cpu.prefill(ids.data(), ids.size(), want.data());
    gpu.prefill(ids.data(), ids.size(), got.data());
    std::string label = "prefill in chunks of " + std::to_string(chunk);
    expectClose(got.data(), want.data(), got.size(), label);
    EXPECT_GT(dev->launches, 0);
    // Decode the greedy continuation one token at a time.
    for (int step = 0; step < 4; ++step) {
      const float *l = cpu.logits();
      int32_t next = int32_t(std::max_element(l, l + vocab) - l);
      cpu.prefill(&next, 1, nullptr);
      gpu.prefill(&next, 1, nullptr);
      expectClose(gpu.logits(), cpu.logits(), vocab,
                  label + ", decode step " + std::to_string(step));
    }
    EXPECT_EQ(gpu.length(), cpu.length());
    // The first one-token step was captured, and every one replayed it:
    // the four decode steps, and the last chunk of 10 ids in chunks of 3.
    EXPECT_EQ(dev->replays, chunk == 3 ? 5 : 4);
    // A token outside the vocab is refused and changes nothing.
    int32_t bad = int32_t(vocab);
    size_t before = gpu.length();
    std::vector<float> last(gpu.logits(), gpu.logits() + vocab);
    try {
      gpu.prefill(&bad, 1, nullptr);
      ADD_FAILURE() << "an id outside the vocab was accepted";
    } catch (const s10rt::Error &e) {
      EXPECT_EQ(e.code(), S10_OUT_OF_RANGE);
    }
    EXPECT_EQ(gpu.length(), before);
    EXPECT_EQ(std::vector<float>(gpu.logits(), gpu.logits() + vocab), last);
    // After a reset the sequence starts over.
    gpu.reset();
    cpu.reset();
    EXPECT_EQ(gpu.logits(), nullptr);
    gpu.prefill(ids.data(), 4, nullptr);
    cpu.prefill(ids.data(), 4, nullptr);
    expectClose(gpu.logits(), cpu.logits(), vocab, label + ", after reset");
  }
}

/// The tiny decoder's graph at widths the prefill GEMMs serve (multiples
/// of 32): hidden 64, two heads of 32 over one KV head, an MLP of 128, a
/// vocab of 64; random f32 weights as hex constants.
std::string wideDecoder(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto constant = [&](const char *name, int64_t rows, int64_t cols,
                      float scale) {
    std::string hex = "0x";
    char buf[3];
    int64_t n = rows * (cols ? cols : 1);
    for (int64_t i = 0; i < n; ++i) {
      float v = u(rng) * scale;
      uint8_t b[4];
      std::memcpy(b, &v, 4);
      for (uint8_t c : b) {
        std::snprintf(buf, sizeof(buf), "%02X", c);
        hex += buf;
      }
    }
    std::string type = cols ? "tensor<" + std::to_string(rows) + "x" +
                                  std::to_string(cols) + "xf32>"
                            : "tensor<" + std::to_string(rows) + "xf32>";
    return std::string("    %") + name + " = arith.constant dense<\"" + hex +
           "\"> : " + type + "\n";
  };
  std::string m = "module attributes {squeeze.max_positions = 64 : i64} {\n"
                  "  func.func @main(%ids: tensor<1x?xi64>) -> "
                  "tensor<1x?x64xf32> {\n";
  m += constant("emb", 64, 64, 2.0f);
  m += constant("n1", 64, 0, 2.0f);
  m += constant("wq", 64, 64, 0.5f);
  m += constant("wk", 32, 64, 0.5f);
  m += constant("wv", 32, 64, 0.5f);
  m += constant("wo", 64, 64, 0.5f);
  m += constant("wg", 128, 64, 0.5f);
  m += constant("wu", 128, 64, 0.5f);
  m += constant("wd", 64, 128, 0.5f);
  m += constant("nf", 64, 0, 2.0f);
  m += constant("head", 64, 64, 0.5f);
  m +=
      R"(    %x = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<64x64xf32>) -> tensor<1x?x64xf32>
    %h = squeeze.rms_norm %x, %n1 {epsilon = 1.0e-05 : f64} : (tensor<1x?x64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
    %q = squeeze.linear %h, %wq {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x64xf32>, tensor<64x64xf32>) -> tensor<1x?x64xf32>
    %k = squeeze.linear %h, %wk {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x64xf32>, tensor<32x64xf32>) -> tensor<1x?x32xf32>
    %v = squeeze.linear %h, %wv {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x64xf32>, tensor<32x64xf32>) -> tensor<1x?x32xf32>
    %qr = squeeze.rotary %q {head_dim = 32 : i64, num_heads = 2 : i64, theta = 1.000000e+04 : f64} : (tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
    %kr = squeeze.rotary %k {head_dim = 32 : i64, num_heads = 1 : i64, theta = 1.000000e+04 : f64} : (tensor<1x?x32xf32>) -> tensor<1x?x32xf32>
    %a = squeeze.attention %qr, %kr, %v {causal, head_dim = 32 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 0.1767766952966369 : f64} : (tensor<1x?x64xf32>, tensor<1x?x32xf32>, tensor<1x?x32xf32>) -> tensor<1x?x64xf32>
    %o = squeeze.linear %a, %wo {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x64xf32>, tensor<64x64xf32>) -> tensor<1x?x64xf32>
    %r1 = onnx.node "Add"(%x, %o) {name = "add_1"} : (tensor<1x?x64xf32>, tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
    %g = squeeze.linear %r1, %wg {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x64xf32>, tensor<128x64xf32>) -> tensor<1x?x128xf32>
    %u = squeeze.linear %r1, %wu {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x64xf32>, tensor<128x64xf32>) -> tensor<1x?x128xf32>
    %s = squeeze.swiglu %g, %u : (tensor<1x?x128xf32>, tensor<1x?x128xf32>) -> tensor<1x?x128xf32>
    %d = squeeze.linear %s, %wd {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x128xf32>, tensor<64x128xf32>) -> tensor<1x?x64xf32>
    %r2 = onnx.node "Add"(%r1, %d) {name = "add_2"} : (tensor<1x?x64xf32>, tensor<1x?x64xf32>) -> tensor<1x?x64xf32>
    %f = squeeze.rms_norm %r2, %nf {epsilon = 1.0e-05 : f64} : (tensor<1x?x64xf32>, tensor<64xf32>) -> tensor<1x?x64xf32>
    %logits = squeeze.linear %f, %head {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x64xf32>, tensor<64x64xf32>) -> tensor<1x?x64xf32>
    return %logits : tensor<1x?x64xf32>
  }
}
)";
  return m;
}

/// Prefill through the tensor-core GEMMs: every GEMV step of the wide
/// decoder has a GEMM twin, chunks of several tokens run them (one chunk
/// of 20 tokens, a full MMA tile and part of one; chunks of 7), a decode
/// step after them runs the GEMVs, and the logits stay within the f16
/// rounding of the CPU session's (3e-3 of the largest); with gemv_prefill
/// the GEMVs run prefill and the logits are the CPU's within 1e-5.
TEST(CudaSession, PrefillGemmsMatchCpuSession) {
  Fixture f(wideDecoder(7), "wide-decoder.mlir");
  ASSERT_TRUE(f.cpu && f.cuda);
  // q, k and v; o + add; gate, up and SwiGLU; down + add; the head.
  EXPECT_EQ(f.gemms, 5);
  const size_t vocab = f.cpu->config.vocab;
  std::vector<int32_t> ids(20);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = int32_t((i * 37 + 5) % vocab);
  auto maxAbs = [](const float *v, size_t n) {
    float m = 0;
    for (size_t k = 0; k < n; ++k)
      m = std::max(m, std::fabs(v[k]));
    return m;
  };
  for (auto [gemv, chunk] :
       std::vector<std::pair<uint32_t, uint32_t>>{{0, 0}, {0, 7}, {1, 0}}) {
    s10_session_options_t o;
    s10_session_options_init(&o);
    o.threads = 1;
    o.max_chunk = chunk;
    o.gemv_prefill = gemv;
    s10rt::Session cpu(f.cpu, o);
    auto device = std::make_unique<EmulatedDevice>(*f.emu);
    EmulatedDevice *dev = device.get();
    s10rt::cuda::CudaSession gpu(f.cuda, o, std::move(device));
    std::vector<float> want(ids.size() * vocab), got(ids.size() * vocab);
    cpu.prefill(ids.data(), ids.size(), want.data());
    gpu.prefill(ids.data(), ids.size(), got.data());
    std::string label = std::string(gemv ? "GEMV" : "GEMM") +
                        " prefill in chunks of " + std::to_string(chunk);
    float tol = (gemv ? 1e-5f : 3e-3f) * maxAbs(want.data(), want.size());
    float worst = 0;
    for (size_t k = 0; k < got.size(); ++k)
      worst = std::max(worst, std::fabs(got[k] - want[k]));
    EXPECT_LE(worst, tol) << label;
    // The GEMMs ran (five a chunk), or none did.
    // (Every chunk here has several tokens.)
    int chunks = chunk ? int(ids.size() + chunk - 1) / int(chunk) : 1;
    EXPECT_EQ(dev->gemmLaunches, gemv ? 0 : 5 * chunks) << label;
    // A decode step runs the GEMVs, from the cache the prefill filled.
    const float *l = cpu.logits();
    int32_t next = int32_t(std::max_element(l, l + vocab) - l);
    cpu.prefill(&next, 1, nullptr);
    gpu.prefill(&next, 1, nullptr);
    float dworst = 0;
    for (size_t k = 0; k < vocab; ++k)
      dworst = std::max(dworst, std::fabs(gpu.logits()[k] - cpu.logits()[k]));
    EXPECT_LE(dworst, (gemv ? 1e-5f : 3e-3f) * maxAbs(cpu.logits(), vocab))
        << label << ", decode";
    EXPECT_EQ(dev->gemmLaunches, gemv ? 0 : 5 * chunks) << label;
    std::fprintf(stderr, "%s: max |diff| %.3g of %.3g, decode %.3g\n",
                 label.c_str(), worst, maxAbs(want.data(), want.size()),
                 dworst);
  }
}

// The loader refuses a q, k, v step whose outputs share a buffer with each
// other or with its input, or whose v weight is not [v's width x input].
TEST(CudaSession, LoaderChecksQkvSteps) {
  Fixture f;
  ASSERT_TRUE(f.cuda);
  namespace fmt = s10rt::format;
  auto text = llvm::MemoryBuffer::getFile(f.files[1]);
  ASSERT_TRUE(bool(text));
  std::string good = (*text)->getBuffer().str();
  fmt::Header h;
  std::memcpy(&h, good.data(), sizeof(h));
  size_t planAt = 0;
  for (uint32_t k = 0; k < h.sectionCount; ++k) {
    fmt::SectionRecord r;
    std::memcpy(&r, good.data() + h.sectionTableOffset + k * sizeof(r),
                sizeof(r));
    if (r.kind == uint32_t(fmt::SectionKind::Plan))
      planAt = size_t(r.offset);
  }
  ASSERT_NE(planAt, 0u);
  fmt::PlanHeader ph;
  std::memcpy(&ph, good.data() + planAt, sizeof(ph));
  size_t stepsAt =
      planAt + sizeof(ph) + ph.bufferCount * sizeof(fmt::BufferRecord);
  size_t qkvAt = 0;
  fmt::StepRecord qkv{};
  for (uint32_t k = 0; k < ph.stepCount && !qkvAt; ++k) {
    size_t at = stepsAt + k * sizeof(fmt::StepRecord);
    std::memcpy(&qkv, good.data() + at, sizeof(qkv));
    if (qkv.op == uint32_t(fmt::OpCode::NormLinearQKV))
      qkvAt = at;
  }
  ASSERT_NE(qkvAt, 0u);
  auto expectRefused = [&](fmt::StepRecord bad, const std::string &part) {
    std::string bytes = good;
    std::memcpy(&bytes[qkvAt], &bad, sizeof(bad));
    std::string path = writeTemp(bytes, "s10");
    try {
      s10rt::Model::open(path.c_str(), /*verifyChecksum=*/false);
      ADD_FAILURE() << "accepted; expected: " << part;
    } catch (const s10rt::Error &e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << e.what();
    }
    llvm::sys::fs::remove(path);
  };
  fmt::StepRecord bad = qkv;
  bad.i[2] = int32_t(qkv.out);
  expectRefused(bad, "the q, k and v outputs share a buffer");
  bad = qkv;
  bad.i[3] = qkv.i[2];
  expectRefused(bad, "the q, k and v outputs share a buffer");
  bad = qkv;
  bad.i[3] = int32_t(qkv.in[0]);
  expectRefused(bad, "an output is the input");
  bad = qkv;
  bad.i[2] = int32_t(ph.bufferCount);
  expectRefused(bad, "the key output is buffer");
  bad = qkv;
  bad.i[1] = int32_t(qkv.tensor[0]);
  expectRefused(bad, "the v weight must be");
  bad = qkv;
  bad.i[0] = -1;
  expectRefused(bad, "the norm weight is tensor");
}

TEST(CudaSession, RefusesWhatItCannotRun) {
  Fixture f;
  ASSERT_TRUE(f.cpu && f.cuda);
  s10_session_options_t o;
  s10_session_options_init(&o);
  // A CPU artifact is not for the CUDA session.
  try {
    s10rt::cuda::CudaSession s(f.cpu, o,
                               std::make_unique<EmulatedDevice>(*f.emu));
    ADD_FAILURE() << "a CPU artifact was accepted";
  } catch (const s10rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("not a cuda artifact"),
              std::string::npos);
  }
  // A context longer than the model's.
  o.max_context = f.cuda->config.maxPositions + 1;
  try {
    s10rt::cuda::CudaSession s(f.cuda, o,
                               std::make_unique<EmulatedDevice>(*f.emu));
    ADD_FAILURE() << "max_context past max_positions was accepted";
  } catch (const s10rt::Error &e) {
    EXPECT_EQ(e.code(), S10_INVALID_ARGUMENT);
  }
  // Device memory running out half way through the session's allocations:
  // an error, and what was allocated is freed (the device checks).
  o.max_context = 0;
  size_t need = 0;
  {
    auto device = std::make_unique<EmulatedDevice>(*f.emu);
    EmulatedDevice *d = device.get();
    s10rt::cuda::CudaSession s(f.cuda, o, std::move(device));
    need = SIZE_MAX - d->budget;
  }
  ASSERT_GT(need, 1000u);
  for (size_t budget : {size_t(0), need / 3, 2 * need / 3, need - 1}) {
    auto device = std::make_unique<EmulatedDevice>(*f.emu);
    device->budget = budget;
    try {
      s10rt::cuda::CudaSession s(f.cuda, o, std::move(device));
      ADD_FAILURE() << "a session fit in " << budget << " bytes";
    } catch (const s10rt::Error &e) {
      EXPECT_EQ(e.code(), S10_RESOURCE_EXHAUSTED);
    }
  }
  // A full context.
  o.max_context = 4;
  s10rt::cuda::CudaSession s(f.cuda, o,
                             std::make_unique<EmulatedDevice>(*f.emu));
  std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  try {
    s.prefill(ids.data(), ids.size(), nullptr);
    ADD_FAILURE() << "a prompt past max_context was accepted";
  } catch (const s10rt::Error &e) {
    EXPECT_EQ(e.code(), S10_OUT_OF_RANGE);
  }
  EXPECT_EQ(s.length(), 0u);
}

} // namespace

// A LLaMA-shaped artifact from seeds (s10-synth-llama), as a cuda artifact
// on the kernels of its manifest and as a CPU artifact on the runtime's
// own kernels: the same weights, so the same logits, for grouped queries
// and the packed kinds, ternary included (dense f16 runs in both as the
// lm_head).
TEST(CudaSession, SyntheticLlamaMatchesCpuSession) {
  namespace gc = s10::quant::gpucases;
  namespace layout = s10::quant::layout;
  // Two blocks of grouped queries, small: the emulator runs a thread per
  // lane.
  gc::LlamaShape shape;
  shape.name = "test";
  shape.vocab = 64, shape.hidden = 32, shape.layers = 2, shape.heads = 2;
  shape.kvHeads = 1, shape.headDim = 32, shape.intermediate = 64;
  shape.maxPositions = 16;
  std::vector<gc::LinearFormat> formats(3);
  formats[0].spec.kind = layout::Kind::KBit;
  formats[0].spec.bits = 2;
  formats[0].spec.groupSize = 32;
  formats[1].spec.kind = layout::Kind::Bitmap;
  formats[1].spec.bits = 1;
  formats[1].spec.salientBits = 4;
  formats[1].spec.groupSize = 32;
  formats[1].spec.params = layout::ParamFormat::Q8;
  formats[2].spec.kind = layout::Kind::Ternary;
  formats[2].spec.bits = 2;
  formats[2].spec.groupSize = 32;
  formats[2].spec.params = layout::ParamFormat::Q8T;
  MLIRContext ctx(Fixture::registry());
  ctx.loadAllAvailableDialects();
  for (const gc::LinearFormat &format : formats) {
    SCOPED_TRACE(layout::kindName(format.spec.kind));
    // The manifest and kernels s10-cuda-cases would write for this shape.
    std::vector<gc::Case> manifest = gc::llamaCases(shape, format, 11);
    gpu::GPUModuleOp gm;
    OwningOpRef<ModuleOp> holder =
        createKernelModule(UnknownLoc::get(&ctx), gm);
    OpBuilder b = OpBuilder::atBlockEnd(gm.getBody());
    std::set<std::string> built;
    for (gc::Case &c : manifest) {
      std::string error;
      ASSERT_TRUE(resolveGpuCase(c, error)) << error;
      if (built.insert(c.kernel).second) {
        ASSERT_TRUE(succeeded(buildGpuCaseKernel(b, UnknownLoc::get(&ctx), c)))
            << c.kernel;
      }
    }
    Emulated emu(gm);

    for (bool fuse : {true, false}) {
      // The unfused plan on the first layout only (its steps are the CPU
      // plan's); the fused plan, as s10-compile writes it, on every one.
      if (!fuse && &format != &formats[0])
        continue;
      SCOPED_TRACE(fuse ? "fused" : "unfused");
      s10rt::synth::Options o;
      o.shape = shape;
      o.linear = format;
      o.seed = 11;
      o.fuse = fuse;
      llvm::SmallString<128> cpuPath, cudaPath;
      ASSERT_FALSE(
          llvm::sys::fs::createTemporaryFile("s10-synth", "s10", cpuPath));
      ASSERT_FALSE(
          llvm::sys::fs::createTemporaryFile("s10-synth", "s10", cudaPath));
      s10rt::synth::Summary cpuSum =
          s10rt::synth::write(o, cpuPath.str().str());
      o.cuda = true;
      o.cubin = "the kernels are emulated";
      o.manifest = manifest;
      s10rt::synth::Summary cudaSum =
          s10rt::synth::write(o, cudaPath.str().str());
      EXPECT_EQ(cudaSum.linearBytes, cpuSum.linearBytes);
      // Per block 15 steps; fused 5: q, k and v with the norm (one
      // launch), attention with its rotaries (in the KV append), o + add,
      // the norm with gate, up and SwiGLU, down + add (and the head with
      // the final norm).
      const uint32_t layers = uint32_t(shape.layers);
      EXPECT_EQ(cpuSum.steps, 3u + 15u * layers);
      EXPECT_EQ(cudaSum.steps, fuse ? 2u + 5u * layers : 3u + 15u * layers);
      auto cpu = s10rt::Model::open(cpuPath.c_str(), true);
      auto cuda = s10rt::Model::open(cudaPath.c_str(), true);
      llvm::sys::fs::remove(cpuPath);
      llvm::sys::fs::remove(cudaPath);
      EXPECT_EQ(cuda->compiledSteps, cudaSum.steps);
      EXPECT_EQ(cpu->compiledSteps, 0u);

      s10_session_options_t so;
      s10_session_options_init(&so);
      so.threads = 1;
      s10rt::Session cpuS(cpu, so);
      auto device = std::make_unique<EmulatedDevice>(emu);
      EmulatedDevice *dev = device.get();
      s10rt::cuda::CudaSession gpuS(cuda, so, std::move(device));
      const size_t vocab = size_t(shape.vocab);
      std::vector<int32_t> ids = {1, 60, 17};
      std::vector<float> want(ids.size() * vocab), got(ids.size() * vocab);
      cpuS.prefill(ids.data(), ids.size(), want.data());
      gpuS.prefill(ids.data(), ids.size(), got.data());
      expectClose(got.data(), want.data(), got.size(), "prefill");
      for (int step = 0; step < 2; ++step) {
        const float *l = cpuS.logits();
        int32_t next = int32_t(std::max_element(l, l + vocab) - l);
        cpuS.prefill(&next, 1, nullptr);
        gpuS.prefill(&next, 1, nullptr);
        expectClose(gpuS.logits(), cpuS.logits(), vocab,
                    "decode step " + std::to_string(step));
      }
      EXPECT_EQ(dev->replays, 2);
    }
  }
}

// The tool refuses a manifest without a role's kernel, or whose weights
// would not match the salient count a kernel was compiled for, and leaves
// no file behind.
TEST(CudaSession, SyntheticLlamaRefusals) {
  namespace gc = s10::quant::gpucases;
  gc::LlamaShape shape;
  ASSERT_TRUE(gc::llamaShape("tiny", shape));
  s10rt::synth::Options o;
  o.shape = shape;
  o.linear.spec.kind = s10::quant::layout::Kind::Bitmap;
  o.linear.spec.bits = 1;
  o.linear.spec.salientBits = 3;
  o.linear.spec.groupSize = 64;
  o.cuda = true;
  o.manifest = gc::llamaCases(shape, o.linear, 5);
  for (gc::Case &c : o.manifest) {
    std::string error;
    ASSERT_TRUE(resolveGpuCase(c, error)) << error;
  }
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("s10-synth", "s10", path));
  llvm::sys::fs::remove(path);
  auto expectRefused = [&](const std::string &part) {
    try {
      s10rt::synth::write(o, path.str().str());
      ADD_FAILURE() << "accepted; expected: " << part;
    } catch (const std::runtime_error &e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(llvm::sys::fs::exists(path));
    EXPECT_FALSE(llvm::sys::fs::exists(path + ".partial"));
  };
  std::vector<gc::Case> all = o.manifest;
  // The down projection's kernel compiled for another salient count.
  o.manifest[gc::kDownProjAdd].spec.salientCount += 1;
  expectRefused("salient weights, kernel");
  // The q, k, v launch compiled for another k and v salient count.
  o.manifest = all;
  o.manifest[gc::kQkvNorm].kvCount += 1;
  expectRefused("salient weights, kernel");
  // No attention kernel.
  o.manifest = all;
  o.manifest.erase(o.manifest.begin() + gc::kAttention);
  expectRefused("no kernel in the manifest for attention");
  // A shape that is no decoder.
  o.manifest = all;
  o.shape.heads = 3;
  expectRefused("is not a valid LLaMA decoder");
}
