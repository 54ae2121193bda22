//===- CodegenBench.cpp - Generated GEMV kernels vs PackedMatrix ----------===//
//
// Times the generated GEMV kernel (KernelBuilder.h, compiled by CpuCodegen.h
// for one x86-64 CPU, x86-64-v3 unless given on the command line) of every
// shape of the bundled llama-12m model against the C++ reference
// PackedMatrix::gemvRows (after prepare(), which a runtime does once per
// token) on one thread. Dense f16 weights have no PackedMatrix: their
// reference is a plain f32 loop over the decoded matrix.
//
//   s10-bench-codegen [cpu]
//
// With S10_BENCH_KEEP_SO=path the compiled shared object is written there
// and loaded from there (for llvm-objdump and perf annotate).
//
// Each time is the best of several blocks of calls, the generated kernel and
// the reference alternating block by block, so that both see the same
// machine load. The last lines add up one token of the model (six layers of
// q, k, v, o, gate, up, down, plus the f16 lm_head) per layout.
//
//===----------------------------------------------------------------------===//

#include "s10/Codegen/CpuCodegen.h"
#include "s10/Codegen/KernelBuilder.h"
#include "s10/Quant/Layout.h"
#include "s10/Quant/PackedKernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace mlir;
using namespace s10::codegen;
using namespace s10::quant::layout;

namespace {

using GemvFn = void (*)(const uint8_t *, const float *, float *, int64_t,
                        int64_t);

struct ShapeDef {
  int64_t out, in;
  int perToken; // uses per token in the model
};
// q and o, k and v, gate and up (x6 layers), down (x6), lm_head (x1).
const ShapeDef kShapes[] = {
    {384, 384, 12}, {128, 384, 12}, {1024, 384, 12}, {384, 1024, 6}};
const ShapeDef kLmHead = {4096, 384, 1};

struct LayoutDef {
  std::string name;
  bool packed;
  Spec spec;
  double salientFrac;
  bool avx512 = false; // GemvWeight::avx512
  bool avx2 = false;   // GemvWeight::avx2
};

Spec makeSpec(Kind kind, unsigned bits, unsigned salientBits, ParamFormat f,
              int64_t groupSize = 128) {
  Spec s;
  s.kind = kind;
  s.bits = bits;
  s.salientBits = salientBits;
  s.groupSize = groupSize;
  s.params = f;
  return s;
}

std::vector<LayoutDef> layouts() {
  return {
      {"bitmap_s4_f16_20%", true,
       makeSpec(Kind::Bitmap, 1, 4, ParamFormat::F16), 0.2},
      {"bitmap_s4_q8_10%", true, makeSpec(Kind::Bitmap, 1, 4, ParamFormat::Q8),
       0.1},
      {"kbit2_f16", true, makeSpec(Kind::KBit, 2, 0, ParamFormat::F16), 0},
      // The default recipe's layout.
      {"kbit3_q8_g256", true, makeSpec(Kind::KBit, 3, 0, ParamFormat::Q8, 256),
       0},
      {"kbit4_f16", true, makeSpec(Kind::KBit, 4, 0, ParamFormat::F16), 0},
      {"dense_f16", false, Spec(), 0},
  };
}

/// xorshift64*.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }
};

Logical randomLogical(const Spec &s, int64_t out, int64_t in, double frac,
                      uint64_t seed) {
  Rng rng(seed);
  Logical w;
  w.out = out;
  w.in = in;
  w.groupSize = s.groupSize;
  size_t n = size_t(out * in);
  w.codes.resize(n);
  if (s.mixed()) {
    w.salient.resize(n);
    uint64_t threshold = uint64_t(frac * 4294967296.0);
    for (auto &m : w.salient)
      m = (rng.next() >> 32) < threshold;
  }
  for (size_t k = 0; k < n; ++k) {
    unsigned bits = s.mixed() && w.salient[k] ? s.salientBits : s.bits;
    w.codes[k] = uint8_t(rng.next() >> (64 - bits));
  }
  size_t ng = size_t(out * w.groups());
  for (size_t k = 0; k < ng; ++k) {
    w.scales.push_back(0.001f + 0.01f * rng.uniform());
    w.offsets.push_back(0.02f * (rng.uniform() - 0.5f));
    if (s.mixed()) {
      w.salientScales.push_back(0.001f + 0.005f * rng.uniform());
      w.salientOffsets.push_back(0.04f * (rng.uniform() - 0.5f));
    }
  }
  return w;
}

/// One weight of the benchmark: its bytes, kernel and reference.
struct Entry {
  const LayoutDef *layout;
  ShapeDef shape;
  GemvWeight weight;
  std::vector<uint8_t> bytes;
  PackedMatrix matrix;        // packed only
  std::vector<float> decoded; // dense only: the f32 values, [out][in]
  GemvFn kernel = nullptr;
  double genUs = 0, refUs = 0, maxErr = 0;
};

void makeEntry(Entry &e, uint64_t seed) {
  const ShapeDef &sh = e.shape;
  if (!e.layout->packed) {
    e.weight = GemvWeight::makeDense(DenseType::F16, sh.out, sh.in);
    Rng rng(seed);
    e.bytes.resize(e.weight.bytes());
    e.decoded.resize(size_t(sh.out * sh.in));
    for (size_t k = 0; k < e.decoded.size(); ++k) {
      uint16_t h = floatToHalf(0.1f * (rng.uniform() - 0.5f));
      std::memcpy(e.bytes.data() + 2 * k, &h, 2);
      e.decoded[k] = halfToFloat(h);
    }
    return;
  }
  Spec spec = e.layout->spec;
  Logical w = randomLogical(spec, sh.out, sh.in, e.layout->salientFrac, seed);
  Status st = fit(spec, w);
  if (!st.failed())
    st = pack(spec, w, e.bytes);
  if (!st.failed())
    st = PackedMatrix::create(spec, sh.out, sh.in, e.bytes.data(),
                              e.bytes.size(), true, e.matrix);
  if (st.failed()) {
    std::fprintf(stderr, "%s %lldx%lld: %s\n", e.layout->name.c_str(),
                 (long long)sh.out, (long long)sh.in, st.message().c_str());
    std::exit(1);
  }
  e.weight = GemvWeight::makePacked(spec, sh.out, sh.in);
  e.weight.avx512 = e.layout->avx512;
  e.weight.avx2 = e.layout->avx2;
}

/// Compiles every kernel into one shared object and loads it.
void *compileAndLoad(std::vector<Entry> &entries, const std::string &cpu) {
  DialectRegistry registry;
  registerKernelDialects(registry);
  registry.insert<LLVM::LLVMDialect>();
  registerKernelTranslations(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  Location loc = UnknownLoc::get(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b = OpBuilder::atBlockEnd(module->getBody());
  for (Entry &e : entries)
    if (failed(buildGemvKernel(b, loc, e.weight)))
      std::exit(1);
  std::string error, so;
  if (failed(lowerKernelsToLLVM(*module, error)) ||
      failed(emitSharedObject(*module, cpu, so, error))) {
    std::fprintf(stderr, "%s\n", error.c_str());
    std::exit(1);
  }
  llvm::SmallString<128> path;
  if (llvm::sys::fs::createTemporaryFile("s10-bench-codegen", "so", path))
    std::exit(1);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    os << so;
  }
  if (const char *keep = getenv("S10_BENCH_KEEP_SO")) {
    std::error_code ec;
    llvm::raw_fd_ostream os(keep, ec);
    os << so;
  }
  const char *keep = getenv("S10_BENCH_KEEP_SO");
  void *handle = dlopen(keep ? keep : path.c_str(), RTLD_NOW | RTLD_LOCAL);
  llvm::sys::fs::remove(path);
  if (!handle) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    std::exit(1);
  }
  for (Entry &e : entries)
    e.kernel = reinterpret_cast<GemvFn>(
        dlsym(handle, gemvKernelName(e.weight).c_str()));
  return handle;
}

using Clock = std::chrono::steady_clock;

double secondsOf(const std::function<void()> &fn, int iters) {
  auto t0 = Clock::now();
  for (int i = 0; i < iters; ++i)
    fn();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Best microseconds per call of `a` and `b`, measured in alternating blocks
/// of about 2 ms each.
std::pair<double, double> bestOfBoth(const std::function<void()> &a,
                                     const std::function<void()> &b) {
  auto itersFor = [](const std::function<void()> &fn) {
    fn();
    int n = 1;
    while (secondsOf(fn, n) < 2e-3 && n < (1 << 20))
      n *= 2;
    return n;
  };
  int na = itersFor(a), nb = itersFor(b);
  double ta = 1e30, tb = 1e30;
  for (int rep = 0; rep < 15; ++rep) {
    ta = std::min(ta, secondsOf(a, na) / na);
    tb = std::min(tb, secondsOf(b, nb) / nb);
  }
  return {ta * 1e6, tb * 1e6};
}

void run(Entry &e) {
  const ShapeDef &sh = e.shape;
  Rng rng(sh.out * 7 + sh.in);
  std::vector<float> x(size_t(sh.in)), y(size_t(sh.out)), ref(size_t(sh.out));
  for (float &v : x)
    v = 2.0f * rng.uniform() - 1.0f;
  s10::quant::layout::GemvScratch scratch;
  std::function<void()> reference;
  if (e.layout->packed) {
    e.matrix.prepare(x.data(), scratch);
    reference = [&] {
      e.matrix.gemvRows(x.data(), scratch, ref.data(), 0, sh.out);
    };
  } else {
    reference = [&] {
      for (int64_t i = 0; i < sh.out; ++i) {
        const float *w = &e.decoded[size_t(i * sh.in)];
        float acc = 0;
        for (int64_t j = 0; j < sh.in; ++j)
          acc += w[j] * x[j];
        ref[size_t(i)] = acc;
      }
    };
  }
  auto generated = [&] {
    e.kernel(e.bytes.data(), x.data(), y.data(), 0, sh.out);
  };
  std::tie(e.genUs, e.refUs) = bestOfBoth(generated, reference);
  // The error relative to the row's sum of |w x|, as the tests measure it.
  std::vector<float> row(size_t(sh.in));
  for (int64_t i = 0; i < sh.out; ++i) {
    if (e.layout->packed)
      e.matrix.decodeRow(i, row.data());
    else
      std::copy_n(&e.decoded[size_t(i * sh.in)], sh.in, row.data());
    double mag = 1e-30;
    for (int64_t j = 0; j < sh.in; ++j)
      mag += std::fabs(double(row[size_t(j)]) * x[size_t(j)]);
    e.maxErr = std::max(
        e.maxErr,
        std::fabs(double(y[size_t(i)]) - double(ref[size_t(i)])) / mag);
  }
}

} // namespace

int main(int argc, char **argv) {
  std::string cpu = argc > 1 ? argv[1] : "x86-64-v3";
  std::vector<LayoutDef> defs = layouts();
  // On AVX-512 CPUs mixed layouts get masked-sum kernels; their lookup-table
  // kernels (what AVX2 CPUs run) are measured beside them.
  std::vector<std::string> features;
  std::string error;
  if (failed(cpuFeatures(cpu, features, error))) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  bool avx512 = std::count(features.begin(), features.end(), "avx512f"),
       avx2 = std::count(features.begin(), features.end(), "avx2");
  if (avx512) {
    std::vector<LayoutDef> both;
    for (LayoutDef l : defs) {
      if (l.packed && l.spec.mixed()) {
        LayoutDef m = l;
        m.avx512 = true;
        m.name += " m16";
        both.push_back(m);
        l.name += " lut";
      }
      both.push_back(l);
    }
    defs = both;
  }
  // k-bit layouts with AVX2 get code-table kernels; the plain ones are
  // measured beside them.
  if (avx2) {
    std::vector<LayoutDef> both;
    for (LayoutDef l : defs) {
      GemvWeight probe = GemvWeight::makePacked(l.spec, kLmHead.out, 384);
      probe.avx2 = true;
      probe.avx512 = avx512;
      if (l.packed && usesCodeTable(probe)) {
        LayoutDef t = l;
        t.avx2 = true;
        t.avx512 = avx512;
        t.name += " tbl";
        both.push_back(t);
      }
      both.push_back(l);
    }
    defs = both;
  }
  std::vector<Entry> entries;
  uint64_t seed = 1;
  for (const LayoutDef &l : defs) {
    std::vector<ShapeDef> shapes(std::begin(kShapes), std::end(kShapes));
    shapes.push_back(kLmHead);
    for (const ShapeDef &sh : shapes) {
      Entry e;
      e.layout = &l;
      e.shape = sh;
      makeEntry(e, seed++);
      entries.push_back(std::move(e));
    }
  }
  void *handle = compileAndLoad(entries, cpu);
  std::printf("generated kernels for %s vs PackedMatrix::gemvRows "
              "(dense: f32 loop), one thread, best of 15 blocks\n",
              cpu.c_str());
  std::printf("%-22s %10s %10s %10s %9s %9s %8s %9s\n", "layout", "shape",
              "gen us", "ref us", "gen Gw/s", "ref Gw/s", "speedup", "max err");
  for (Entry &e : entries) {
    run(e);
    double weights = double(e.shape.out * e.shape.in);
    std::string shape =
        std::to_string(e.shape.out) + "x" + std::to_string(e.shape.in);
    std::printf("%-22s %10s %10.2f %10.2f %9.2f %9.2f %7.2fx %9.1e%s\n",
                e.layout->name.c_str(), shape.c_str(), e.genUs, e.refUs,
                weights / e.genUs * 1e-3, weights / e.refUs * 1e-3,
                e.refUs / e.genUs, e.maxErr,
                e.maxErr > 1e-5 ? " MISMATCH" : "");
  }
  // One token: the layout's four shapes as the model uses them, plus the
  // dense f16 lm_head.
  double lmGen = 0, lmRef = 0;
  for (const Entry &e : entries)
    if (!e.layout->packed && e.shape.out == kLmHead.out &&
        e.shape.in == kLmHead.in) {
      lmGen = e.genUs;
      lmRef = e.refUs;
    }
  std::printf("\none token of llama-12m, one thread (+ dense f16 lm_head "
              "%.1f us generated, %.1f us reference):\n",
              lmGen, lmRef);
  for (const LayoutDef &l : defs) {
    if (!l.packed)
      continue;
    double gen = lmGen, ref = lmRef, weights = 0;
    for (const Entry &e : entries)
      for (const ShapeDef &sh : kShapes)
        if (e.layout == &l && e.shape.out == sh.out && e.shape.in == sh.in) {
          gen += sh.perToken * e.genUs;
          ref += sh.perToken * e.refUs;
          weights += sh.perToken * double(sh.out * sh.in);
        }
    std::printf("  %-22s %.2f M packed weights: generated %7.1f us, "
                "reference %7.1f us\n",
                l.name.c_str(), weights * 1e-6, gen, ref);
  }
  dlclose(handle);
  return 0;
}
