//===- SqueezeKernelsTest.cpp - Model-level kernels and the KV cache ------===//

#include "TestUtil.h"

#include "s10/Runtime/Kernels.h"
#include "s10/Runtime/Tensor.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace s10::runtime;
using namespace s10::runtime::test;

namespace {

/// softmax(scale q k^T + causal mask) v, one (b, h, t) at a time, in double.
std::vector<float> naiveAttention(const AttentionShape &s,
                                  const std::vector<float> &q,
                                  const std::vector<float> &k,
                                  const std::vector<float> &v) {
  int64_t D = s.headDim, qRow = s.heads * D, kvRow = s.kvHeads * D;
  std::vector<float> out(s.batch * s.seq * qRow);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      int64_t g = h / (s.heads / s.kvHeads);
      for (int64_t t = 0; t < s.seq; ++t) {
        int64_t limit = s.causal ? std::min(s.kvSeq, s.past + t + 1) : s.kvSeq;
        std::vector<double> sc(limit);
        double mx = -INFINITY;
        for (int64_t j = 0; j < limit; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += double(q[(b * s.seq + t) * qRow + h * D + d]) *
                   k[(b * s.kvSeq + j) * kvRow + g * D + d];
          sc[j] = dot * s.scale;
          mx = std::max(mx, sc[j]);
        }
        double sum = 0;
        for (double &x : sc)
          sum += (x = std::exp(x - mx));
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < limit; ++j)
            acc += sc[j] / sum * v[(b * s.kvSeq + j) * kvRow + g * D + d];
          out[(b * s.seq + t) * qRow + h * D + d] = float(acc);
        }
      }
    }
  return out;
}

TEST(SqueezeKernelsTest, AttentionMatchesNaive) {
  ThreadPool pool(2);
  for (bool causal : {true, false})
    for (int64_t past : {0, 5}) {
      AttentionShape s;
      s.batch = 2;
      s.seq = 70; // more than one 64-row block
      s.past = causal ? past : 0;
      s.kvSeq = s.seq + s.past;
      s.heads = 6;
      s.kvHeads = 2;
      s.headDim = 8;
      s.scale = 0.3f;
      s.causal = causal;
      auto q = randomFloats(s.batch * s.seq * s.heads * s.headDim, 1);
      auto k = randomFloats(s.batch * s.kvSeq * s.kvHeads * s.headDim, 2);
      auto v = randomFloats(s.batch * s.kvSeq * s.kvHeads * s.headDim, 3);
      std::vector<float> out(q.size());
      const float *kp[2] = {k.data(), k.data() + s.kvSeq * s.kvHeads * 8};
      const float *vp[2] = {v.data(), v.data() + s.kvSeq * s.kvHeads * 8};
      attention(&pool, s, q.data(), kp, vp, out.data());
      auto want = naiveAttention(s, q, k, v);
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], want[i], 2e-5) << i << " causal " << causal;
    }
}

TEST(SqueezeKernelsTest, AttentionOpThroughExecutor) {
  std::string text = R"(
func.func @main(%q: tensor<?x?x?xf32>, %k: tensor<?x?x?xf32>, %v: tensor<?x?x?xf32>) -> tensor<*xf32> {
  %0 = squeeze.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 1 : i64, head_dim = 4 : i64, scale = 0.5 : f64, causal}
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %1 = tensor.cast %0 : tensor<?x?x?xf32> to tensor<*xf32>
  return %1 : tensor<*xf32>
})";
  Compiled c = compile(text);
  ASSERT_TRUE(c.exec);
  AttentionShape s;
  s.seq = s.kvSeq = 9;
  s.heads = 4;
  s.kvHeads = 1;
  s.headDim = 4;
  s.scale = 0.5f;
  auto q = randomFloats(9 * 16, 4), k = randomFloats(9 * 4, 5),
       v = randomFloats(9 * 4, 6);
  auto out =
      runOk(*c.exec, {Tensor::f32({1, 9, 16}, q), Tensor::f32({1, 9, 4}, k),
                      Tensor::f32({1, 9, 4}, v)});
  ASSERT_EQ(out.size(), 1u);
  expectNear(out[0], naiveAttention(s, q, k, v), 2e-5f);
}

TEST(SqueezeKernelsTest, RotaryMatchesNaive) {
  const int64_t heads = 3, d = 8, seq = 5, offset = 7;
  const double theta = 500.0;
  auto x = randomFloats(2 * seq * heads * d, 8);
  RotaryTable table(d, theta);
  table.ensure(offset + seq);
  std::vector<float> y(x.size());
  rotary(nullptr, x.data(), 2, seq, heads, table, offset, y.data());
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < d / 2; ++i) {
          double f = std::pow(theta, -2.0 * double(i) / double(d));
          double a = double(offset + t) * f;
          int64_t base = ((b * seq + t) * heads + h) * d;
          double x1 = x[base + i], x2 = x[base + i + d / 2];
          EXPECT_NEAR(y[base + i], x1 * std::cos(a) - x2 * std::sin(a), 2e-5);
          EXPECT_NEAR(y[base + i + d / 2], x2 * std::cos(a) + x1 * std::sin(a),
                      2e-5);
        }
}

TEST(SqueezeKernelsTest, RMSNormAndSwiGLU) {
  auto x = randomFloats(3 * 16, 9), w = randomFloats(16, 10);
  std::vector<float> y(x.size());
  rmsNorm(nullptr, x.data(), 3, 16, w.data(), 1e-5, y.data());
  for (int r = 0; r < 3; ++r) {
    double ss = 0;
    for (int i = 0; i < 16; ++i)
      ss += double(x[r * 16 + i]) * x[r * 16 + i];
    double inv = 1.0 / std::sqrt(ss / 16 + 1e-5);
    for (int i = 0; i < 16; ++i)
      EXPECT_NEAR(y[r * 16 + i], x[r * 16 + i] * inv * w[i], 1e-6);
  }
  auto g = randomFloats(1000, 11, -30, 30), u = randomFloats(1000, 12);
  std::vector<float> o(1000);
  swiglu(nullptr, g.data(), u.data(), 1000, o.data());
  for (int i = 0; i < 1000; ++i) {
    double silu = g[i] / (1.0 + std::exp(-double(g[i])));
    EXPECT_NEAR(o[i], silu * u[i], 1e-6 * std::max(1.0, std::fabs(silu)));
  }
}

TEST(SqueezeKernelsTest, LogSumExp) {
  auto x = randomFloats(4096, 13, -20, 20);
  double mx = -INFINITY, sum = 0;
  for (float v : x)
    mx = std::max(mx, double(v));
  for (float v : x)
    sum += std::exp(v - mx);
  EXPECT_NEAR(logSumExp(x.data(), x.size()), mx + std::log(sum), 1e-6);
}

/// A quantized_weight attribute set for an [out, in] weight with groups of
/// `gs` and salient weights, plus the naive dequantized matrix.
struct QWeight {
  std::string attrs, type;
  std::vector<float> w; // [out, in]
};

QWeight makeQWeight(int64_t out, int64_t in, int64_t gs, uint32_t seed) {
  int64_t groups = (in + gs - 1) / gs;
  std::mt19937 gen(seed);
  std::vector<int> codes(out * in);
  std::vector<bool> mask(out * in);
  for (int64_t i = 0; i < out * in; ++i) {
    mask[i] = gen() % 4 == 0;
    codes[i] = mask[i] ? int(gen() % 16) : int(gen() % 2);
  }
  auto sc = randomFloats(out * groups, seed + 1, 0.1f, 1.0f);
  auto of = randomFloats(out * groups, seed + 2);
  auto ssc = randomFloats(out * groups, seed + 3, 0.01f, 0.2f);
  auto sof = randomFloats(out * groups, seed + 4);
  QWeight q;
  q.w.resize(out * in);
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      int64_t g = j / gs, idx = i * in + j;
      q.w[idx] = mask[idx]
                     ? ssc[i * groups + g] * codes[idx] + sof[i * groups + g]
                     : sc[i * groups + g] * codes[idx] + of[i * groups + g];
    }
  auto ints = [&](auto &v, const char *elt) {
    std::string s = "dense<[";
    for (int64_t i = 0; i < out; ++i) {
      s += i ? ", [" : "[";
      for (int64_t j = 0; j < in; ++j)
        s += (j ? ", " : "") +
             (std::string(elt) == "i1"
                  ? std::string(v[i * in + j] ? "true" : "false")
                  : std::to_string(int(v[i * in + j])));
      s += "]";
    }
    return s + "]> : tensor<" + std::to_string(out) + "x" + std::to_string(in) +
           "x" + elt + ">";
  };
  auto floats = [&](const std::vector<float> &v) {
    return denseLiteral(v, {out, groups}) + " : tensor<" + std::to_string(out) +
           "x" + std::to_string(groups) + "xf32>";
  };
  q.type = llvm::formatv("!squeeze.qweight<{0}x{1}, #squeeze.scheme<bits = 1, "
                         "group_size = {2}, salient_bits = 4, salient_fraction "
                         "= 0.25, mask = layer, layout = unpacked>>",
                         out, in, gs)
               .str();
  q.attrs = "codes = " + ints(codes, "i8") + ", scales = " + floats(sc) +
            ", offsets = " + floats(of) +
            ", salient_mask = " + ints(mask, "i1") +
            ", salient_scales = " + floats(ssc) +
            ", salient_offsets = " + floats(sof);
  return q;
}

TEST(SqueezeKernelsTest, QuantizedLinearDequantizesLikeNaive) {
  const int64_t out = 3, in = 10, gs = 4; // the last group is short
  QWeight q = makeQWeight(out, in, gs, 20);
  std::string text = llvm::formatv(R"(
func.func @main(%x: tensor<?x?xf32>) -> tensor<?x{1}xf32> {{
  %qw = squeeze.quantized_weight {{{0}} : {2}
  %y = squeeze.quantized_linear %x, %qw : (tensor<?x?xf32>, {2}) -> tensor<?x{1}xf32>
  return %y : tensor<?x{1}xf32>
})",
                                   q.attrs, out, q.type)
                         .str();
  Compiled c = compile(text);
  ASSERT_TRUE(c.exec);
  auto x = randomFloats(2 * in, 30);
  int observed = 0;
  c.exec->setLinearObserver([&](mlir::Operation *op, const Tensor &input) {
    ++observed;
    EXPECT_EQ(input.dtype(), DType::F32);
    expectNear(input, x, 0);
  });
  auto res = runOk(*c.exec, {Tensor::f32({2, in}, x)});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(observed, 1);
  std::vector<float> want(2 * out);
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < out; ++i) {
      double acc = 0;
      for (int j = 0; j < in; ++j)
        acc += double(x[r * in + j]) * q.w[i * in + j];
      want[r * out + i] = float(acc);
    }
  expectNear(res[0], want, 1e-5f);
}

/// A tiny random decoder (2 layers, GQA, both weight layouts, one quantized
/// linear) in squeeze ops, with every weight an inline constant.
std::string tinyModel() {
  const int64_t vocab = 13, hidden = 16, kv = 2, hd = 4, inter = 24;
  uint32_t seed = 100;
  std::string s;
  auto cst = [&](const std::string &name, llvm::ArrayRef<int64_t> shape,
                 float scale) {
    auto v = randomFloats(shapeNumel(shape), seed++, -scale, scale);
    s += "  %" + name + " = arith.constant " + denseLiteral(v, shape) + " : " +
         shapeType(shape, "f32") + "\n";
  };
  auto act = [](int64_t n) { return shapeType({1, -1, n}, "f32"); };
  cst("emb", {vocab, hidden}, 1.0f);
  std::string h = "%h0";
  s += "  %h0 = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, " +
       shapeType({vocab, hidden}, "f32") + ") -> " + act(hidden) + "\n";
  for (int l = 0; l < 2; ++l) {
    std::string p = "l" + std::to_string(l) + "_";
    cst(p + "n1", {hidden}, 1.0f);
    cst(p + "wq", {hidden, hidden}, 0.5f);  // in_out
    cst(p + "wk", {kv * hd, hidden}, 0.5f); // out_in
    cst(p + "wv", {hidden, kv * hd}, 0.5f); // in_out
    cst(p + "wo", {hidden, hidden}, 0.5f);
    cst(p + "n2", {hidden}, 1.0f);
    cst(p + "wg", {hidden, inter}, 0.5f);
    cst(p + "wu", {hidden, inter}, 0.5f);
    auto lin = [&](const std::string &out, const std::string &x, int64_t in,
                   const std::string &w, int64_t o, bool inOut) {
      s += "  %" + out + " = squeeze.linear " + x + ", %" + w +
           " {weight_layout = #squeeze.weight_layout<" +
           (inOut ? "in_out" : "out_in") + ">} : (" + act(in) + ", " +
           (inOut ? shapeType({in, o}, "f32") : shapeType({o, in}, "f32")) +
           ") -> " + act(o) + "\n";
    };
    s += "  %" + p + "x = squeeze.rms_norm " + h + ", %" + p +
         "n1 {epsilon = 1.0e-5 : f64} : (" + act(hidden) +
         ", tensor<16xf32>) -> " + act(hidden) + "\n";
    lin(p + "q", "%" + p + "x", hidden, p + "wq", hidden, true);
    lin(p + "k", "%" + p + "x", hidden, p + "wk", kv * hd, false);
    lin(p + "v", "%" + p + "x", hidden, p + "wv", kv * hd, true);
    s +=
        "  %" + p + "qr = squeeze.rotary %" + p +
        "q {num_heads = 4 : i64, head_dim = 4 : i64, theta = 100.0 : f64} : (" +
        act(hidden) + ") -> " + act(hidden) + "\n";
    s +=
        "  %" + p + "kr = squeeze.rotary %" + p +
        "k {num_heads = 2 : i64, head_dim = 4 : i64, theta = 100.0 : f64} : (" +
        act(kv * hd) + ") -> " + act(kv * hd) + "\n";
    s += "  %" + p + "a = squeeze.attention %" + p + "qr, %" + p + "kr, %" + p +
         "v {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, "
         "scale = 0.5 : f64, causal} : (" +
         act(hidden) + ", " + act(kv * hd) + ", " + act(kv * hd) + ") -> " +
         act(hidden) + "\n";
    lin(p + "o", "%" + p + "a", hidden, p + "wo", hidden, true);
    s += "  %" + p + "h1 = onnx.node \"Add\"(" + h + ", %" + p + "o) : (" +
         act(hidden) + ", " + act(hidden) + ") -> " + act(hidden) + "\n";
    s += "  %" + p + "y = squeeze.rms_norm %" + p + "h1, %" + p +
         "n2 {epsilon = 1.0e-5 : f64} : (" + act(hidden) +
         ", tensor<16xf32>) -> " + act(hidden) + "\n";
    lin(p + "g", "%" + p + "y", hidden, p + "wg", inter, true);
    lin(p + "u", "%" + p + "y", hidden, p + "wu", inter, true);
    s += "  %" + p + "s = squeeze.swiglu %" + p + "g, %" + p + "u : (" +
         act(inter) + ", " + act(inter) + ") -> " + act(inter) + "\n";
    QWeight q = makeQWeight(hidden, inter, 8, 200 + l);
    s += "  %" + p + "qd = squeeze.quantized_weight {" + q.attrs +
         "} : " + q.type + "\n";
    s += "  %" + p + "d = squeeze.quantized_linear %" + p + "s, %" + p +
         "qd : (" + act(inter) + ", " + q.type + ") -> " + act(hidden) + "\n";
    s += "  %" + p + "h2 = onnx.node \"Add\"(%" + p + "h1, %" + p + "d) : (" +
         act(hidden) + ", " + act(hidden) + ") -> " + act(hidden) + "\n";
    h = "%" + p + "h2";
  }
  cst("nf", {hidden}, 1.0f);
  cst("head", {vocab, hidden}, 0.5f);
  s += "  %hf = squeeze.rms_norm " + h + ", %nf {epsilon = 1.0e-5 : f64} : (" +
       act(hidden) + ", tensor<16xf32>) -> " + act(hidden) + "\n";
  s += "  %logits = squeeze.linear %hf, %head {weight_layout = "
       "#squeeze.weight_layout<out_in>} : (" +
       act(hidden) + ", " + shapeType({vocab, hidden}, "f32") + ") -> " +
       act(vocab) + "\n";
  return "func.func @main(%ids: tensor<1x?xi64>) -> " + act(vocab) + " {\n" +
         s + "  return %logits : " + act(vocab) + "\n}\n";
}

TEST(SqueezeKernelsTest, KVCacheStepsEqualFullRun) {
  Compiled c = compile(tinyModel());
  ASSERT_TRUE(c.exec);
  EXPECT_TRUE(c.exec->hasKVCache());
  std::vector<int64_t> ids = {1, 5, 7, 2, 11, 0, 3, 9, 12, 4};
  auto full = runOk(*c.exec, {Tensor::i64({1, 10}, ids)});
  ASSERT_EQ(full.size(), 1u);
  ASSERT_EQ(full[0].shape(), llvm::ArrayRef<int64_t>({1, 10, 13}));
  std::vector<float> want = full[0].toFloatVector();

  // Prefill 4 tokens, then 1, 2 and 1 at a time.
  for (int pass = 0; pass < 2; ++pass) {
    c.exec->resetCache();
    std::vector<float> got;
    size_t pos = 0;
    for (size_t n : {4, 1, 2, 1, 1, 1}) {
      std::vector<int64_t> chunk(ids.begin() + pos, ids.begin() + pos + n);
      auto res = c.exec->step({Tensor::i64({1, int64_t(n)}, chunk)});
      ASSERT_TRUE(bool(res)) << llvm::toString(res.takeError());
      ASSERT_EQ((*res)[0].shape(),
                llvm::ArrayRef<int64_t>({1, int64_t(n), 13}));
      auto v = (*res)[0].toFloatVector();
      got.insert(got.end(), v.begin(), v.end());
      pos += n;
      EXPECT_EQ(c.exec->getCacheLength(), int64_t(pos));
    }
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-4) << "pass " << pass << " at " << i;
  }
  // run() ignores and keeps the cache.
  auto again = runOk(*c.exec, {Tensor::i64({1, 10}, ids)});
  ASSERT_EQ(again.size(), 1u);
  expectNear(again[0], want, 0);
  EXPECT_EQ(c.exec->getCacheLength(), 10);
}

TEST(SqueezeKernelsTest, StepWithoutAttentionRerunsHistory) {
  // An ONNX-level "model": logits = one-hot-ish Gather of a table, whose
  // result at position t depends on the whole prefix through CumSum.
  std::string text = R"(
func.func @main(%ids: tensor<1x?xi64>) -> tensor<*xf32> {
  %axis = arith.constant dense<1> : tensor<i64>
  %c = onnx.node "CumSum"(%ids, %axis) : (tensor<1x?xi64>, tensor<i64>) -> tensor<*xi64>
  %f = onnx.node "Cast"(%c) attrs {to = 1 : i64} : (tensor<*xi64>) -> tensor<*xf32>
  %u = onnx.node "Unsqueeze"(%f, %axis2) : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  return %u : tensor<*xf32>
})";
  text.replace(text.find("  %c ="), 0,
               "  %axis2 = arith.constant dense<[-1]> : tensor<1xi64>\n");
  Compiled c = compile(text);
  ASSERT_TRUE(c.exec);
  EXPECT_FALSE(c.exec->hasKVCache());
  auto a = c.exec->step({Tensor::i64({1, 3}, {1, 2, 3})});
  ASSERT_TRUE(bool(a));
  expectNear((*a)[0], {1, 3, 6}, 0);
  auto b = c.exec->step({Tensor::i64({1, 1}, {4})});
  ASSERT_TRUE(bool(b));
  ASSERT_EQ((*b)[0].shape(), llvm::ArrayRef<int64_t>({1, 1, 1}));
  expectNear((*b)[0], {10}, 0);
  EXPECT_EQ(c.exec->getCacheLength(), 4);
}

TEST(SqueezeKernelsTest, LinearObserverSeesExactInputs) {
  std::string text = R"(
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w1 = arith.constant dense<[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.0, 0.0]]> : tensor<4x3xf32>
  %w2 = arith.constant dense<[[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]> : tensor<2x3xf32>
  %b2 = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y1 = squeeze.linear %x, %w1 {weight_layout = #squeeze.weight_layout<in_out>, role = #squeeze.role<block = 0, kind = up>} : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %y2 = squeeze.linear %y1, %w2, %b2 {weight_layout = #squeeze.weight_layout<out_in>, role = #squeeze.role<block = 0, kind = down>} : (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y2 : tensor<?x2xf32>
})";
  Compiled c = compile(text);
  ASSERT_TRUE(c.exec);
  std::vector<std::vector<float>> seen;
  c.exec->setLinearObserver([&](mlir::Operation *op, const Tensor &in) {
    seen.push_back(in.toFloatVector());
  });
  auto out = runOk(*c.exec, {Tensor::f32({1, 4}, {1, 2, 3, 4})});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::vector<float>{1, 2, 3, 4}));
  // y1 = [1 + 3 + 2, 2 + 3, 2 + 3] = [6, 5, 5]
  EXPECT_EQ(seen[1], (std::vector<float>{6, 5, 5}));
  ASSERT_EQ(out.size(), 1u);
  expectNear(out[0], {6 + 10 + 15 + 0.5f, 5 - 0.5f}, 1e-6f);
}

} // namespace
