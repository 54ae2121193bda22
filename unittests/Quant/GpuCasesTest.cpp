//===- GpuCasesTest.cpp - The CUDA case manifest and its weights ----------===//

#include "s10/Quant/GpuCases.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace s10::quant;
namespace gc = s10::quant::gpucases;

namespace {

layout::Spec bitmapSpec() {
  layout::Spec s;
  s.kind = layout::Kind::Bitmap;
  s.bits = 1;
  s.salientBits = 4;
  s.groupSize = 128;
  return s;
}

TEST(GpuCases, LinesRoundTrip) {
  std::vector<gc::Case> cases(4);
  cases[0].kind = gc::Kind::Gemv;
  cases[0].kernel = "s10_gemv_x";
  cases[0].spec = bitmapSpec();
  cases[0].spec.params = layout::ParamFormat::Q8;
  cases[0].spec.salientCount = 123;
  cases[0].out = 37;
  cases[0].in = 1280;
  cases[0].tokens = 2;
  cases[0].seed = 99;
  cases[0].bench = true;
  cases[1].kind = gc::Kind::Dense;
  cases[1].kernel = "s10_gemv_dense_f32_19x64";
  cases[1].f16 = false;
  cases[1].out = 19;
  cases[1].in = 64;
  cases[2].kind = gc::Kind::RMSNorm;
  cases[2].kernel = "s10_rmsnorm";
  cases[2].in = 384;
  cases[2].tokens = 7;
  cases[2].eps = 1e-6;
  cases[3].kind = gc::Kind::Binary;
  cases[3].kernel = "s10_swiglu";
  cases[3].swiglu = true;
  cases[3].in = 22033;
  gc::Case e;
  e.kind = gc::Kind::Embedding;
  e.kernel = "s10_embedding_f16_4096x384";
  e.out = 4096;
  e.in = 384;
  e.tokens = 5;
  cases.push_back(e);
  gc::Case r;
  r.kind = gc::Kind::Rotary;
  r.kernel = "s10_rotary_h6_d64";
  r.out = 6;
  r.in = 64;
  r.tokens = 3;
  r.pos0 = 500;
  cases.push_back(r);
  gc::Case a;
  a.kind = gc::Kind::Attention;
  a.kernel = "s10_attention";
  a.out = 32;
  a.kvHeads = 8;
  a.in = 128;
  a.scale = double(float(1.0 / std::sqrt(128.0)));
  a.tokens = 2;
  a.pos0 = 1000;
  a.maxCtx = 1056;
  cases.push_back(a);
  gc::Case kva;
  kva.kind = gc::Kind::KvAppend;
  kva.kernel = "s10_kv_append_w128";
  kva.in = 128;
  kva.tokens = 3;
  kva.pos0 = 1000;
  kva.maxCtx = 1056;
  cases.push_back(kva);
  gc::Case ra = kva;
  ra.kind = gc::Kind::RopeAppend;
  ra.kernel = "s10_rope_append_h32_kv8_d128";
  ra.out = 32;
  ra.kvHeads = 8;
  ra.in = 128;
  cases.push_back(ra);
  // Fused GEMVs: the residual add, SwiGLU, and the norm with its epsilon.
  for (gc::Fuse f : {gc::Fuse::Add, gc::Fuse::SwiGLU, gc::Fuse::Norm,
                     gc::Fuse::NormSwiGLU, gc::Fuse::Gemm}) {
    gc::Case fc = cases[0];
    fc.kernel = std::string("s10_gemv_fused_") + gc::fuseWord(f);
    fc.fuse = f;
    fc.eps = gc::fusesNorm(f) ? 1e-6 : fc.eps;
    cases.push_back(fc);
  }
  // q, k and v in one launch: the rows and salient count of k and v too.
  gc::Case qkv = cases[0];
  qkv.kernel = "s10_gemv_qkv";
  qkv.fuse = gc::Fuse::NormQKV;
  qkv.kvOut = 1024;
  qkv.kvCount = 838861;
  cases.push_back(qkv);
  gc::Case t = cases[0];
  t.kernel = "s10_gemv_ternary";
  t.spec = layout::Spec();
  t.spec.kind = layout::Kind::Ternary;
  t.spec.bits = 2;
  t.spec.params = layout::ParamFormat::Q8T;
  cases.push_back(t);
  for (const gc::Case &c : cases) {
    std::string line = gc::caseLine(c), error;
    gc::Case back;
    ASSERT_TRUE(gc::parseCase(line, back, error)) << line << ": " << error;
    EXPECT_EQ(gc::caseLine(back), line);
    EXPECT_EQ(back.kernel, c.kernel);
    EXPECT_EQ(back.kind, c.kind);
    EXPECT_EQ(back.fuse, c.fuse);
    EXPECT_EQ(back.out, c.out);
    EXPECT_EQ(back.in, c.in);
    EXPECT_EQ(back.tokens, c.tokens);
    EXPECT_EQ(back.seed, c.seed);
    EXPECT_EQ(back.bench, c.bench);
    EXPECT_EQ(back.f16, c.f16);
    EXPECT_EQ(back.swiglu, c.swiglu);
    EXPECT_EQ(back.eps, c.eps);
    EXPECT_EQ(back.spec.salientCount, c.spec.salientCount);
    EXPECT_EQ(back.spec.params, c.spec.params);
    EXPECT_EQ(back.kvHeads, c.kvHeads);
    EXPECT_EQ(back.pos0, c.pos0);
    EXPECT_EQ(back.maxCtx, c.maxCtx);
    EXPECT_EQ(float(back.scale), float(c.scale));
    EXPECT_EQ(back.kvOut, c.kvOut);
    EXPECT_EQ(back.kvCount, c.kvCount);
  }
  // The k and v weight's case: kvOut rows from the next seed, its count.
  gc::Case kv = gc::qkvKvCase(qkv);
  EXPECT_EQ(kv.fuse, gc::Fuse::None);
  EXPECT_EQ(kv.out, 1024);
  EXPECT_EQ(kv.in, qkv.in);
  EXPECT_EQ(kv.seed, qkv.seed + 1);
  EXPECT_EQ(kv.spec.salientCount, 838861);
}

TEST(GpuCases, BadLinesNameTheirFault) {
  struct Bad {
    const char *line, *message;
  };
  for (Bad b : {
           Bad{"gemm kernel=k seed=1", "unknown case kind 'gemm'"},
           Bad{"binary kernel=k op=add n=5", "missing seed"},
           Bad{"binary kernel=k op=mul n=5 seed=1",
               "op must be add or swiglu, got 'mul'"},
           Bad{"binary kernel=k op=add n=0 seed=1", "n must be an integer"},
           Bad{"dense kernel=k type=bf16 out=1 in=8 tokens=1 seed=1 bench=0",
               "type must be f16 or f32, got 'bf16'"},
           Bad{"rmsnorm kernel=k type=f16 width=8 eps=x rows=1 seed=1",
               "eps must be a number >= 0, got 'x'"},
           Bad{"gemv kernel=k kind=nm bits=1 group=128 sbits=4 params=f16 "
               "block=8 nm=1 count=0 out=8 in=64 tokens=1 seed=1 bench=0",
               "kind must be kbit, ternary, bitmap or chanblock, got 'nm'"},
           Bad{"gemv kernel=k kind=kbit bits=9 group=128 sbits=0 params=f16 "
               "block=0 nm=0 count=0 out=8 in=64 tokens=1 seed=1 bench=0",
               "bits must be an integer in [1, 8], got '9'"},
           Bad{"dense kernel=k type=f16 out=1 in=8 tokens=1 seed=1 bench",
               "expected key=value, got 'bench'"},
           Bad{"attention kernel=k heads=6 kv=2 dim=64 scale=0.125 tokens=9 "
               "pos=10 ctx=16 seed=1",
               "pos + tokens at most ctx"},
           Bad{"attention kernel=k heads=6 kv=4 dim=64 scale=0.125 tokens=1 "
               "pos=0 ctx=16 seed=1",
               "heads must be a multiple of kv"},
           Bad{"rotary kernel=k heads=6 dim=63 tokens=1 pos=0 seed=1",
               "dim must be even"},
           Bad{"dense kernel=k type=f16 out=8 in=64 tokens=1 seed=1 bench=0 "
               "fuse=normqkv eps=1e-5",
               "missing kvout"},
           Bad{"gemv kernel=k kind=kbit bits=2 group=64 sbits=0 params=f16 "
               "block=0 nm=0 count=0 out=8 in=64 tokens=1 seed=1 bench=0 "
               "fuse=normqkv eps=1e-5 kvout=4",
               "missing kvcount"},
           Bad{"dense kernel=k type=f16 out=8 in=64 tokens=1 seed=1 bench=0 "
               "fuse=gemm",
               "(gemv cases) gemm, got 'gemm'"},
       }) {
    gc::Case c;
    std::string error;
    EXPECT_FALSE(gc::parseCase(b.line, c, error)) << b.line;
    EXPECT_NE(error.find(b.message), std::string::npos)
        << b.line << ": " << error;
  }
}

// The GPU machine rebuilds the weights from the seed: the same seed gives
// the same weight, they fit their layout, and about one in five is salient.
TEST(GpuCases, RandomWeightsAreReproducibleAndFit) {
  layout::Spec s = bitmapSpec();
  layout::Logical a = gc::randomWeight(s, 64, 512, 7);
  layout::Logical b = gc::randomWeight(s, 64, 512, 7);
  layout::Logical c = gc::randomWeight(s, 64, 512, 8);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.salient, b.salient);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.salientOffsets, b.salientOffsets);
  EXPECT_NE(a.codes, c.codes);
  layout::Spec fitted = s;
  ASSERT_FALSE(layout::fit(fitted, a).failed());
  double frac = double(fitted.salientCount) / double(64 * 512);
  EXPECT_GT(frac, 0.17);
  EXPECT_LT(frac, 0.23);
  std::vector<uint8_t> bytes;
  EXPECT_FALSE(layout::pack(fitted, a, bytes).failed());
  layout::Spec cb = s;
  cb.kind = layout::Kind::ChannelBlock;
  cb.block = 4;
  layout::Logical w = gc::randomWeight(cb, 10, 256, 3);
  EXPECT_FALSE(layout::fit(cb, w).failed());
  std::vector<float> x = gc::randomVector(1000, 5);
  for (float v : x) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LE(v, 1.0f);
  }
  EXPECT_EQ(x, gc::randomVector(1000, 5));
}

} // namespace
