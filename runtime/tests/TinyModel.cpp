//===- TinyModel.cpp - A random tiny LLaMA and its reference --------------===//

#include "TinyModel.h"

#include <cmath>
#include <random>
#include <stdexcept>

using namespace s10rt;
using namespace s10rt::format;
using namespace s10rt::test;
namespace layout = s10::quant::layout;

namespace {

enum class Kind { F32, F16, KBit, Bitmap };

/// How one linear layer is stored.
struct Storage {
  Kind kind = Kind::F32;
  unsigned bits = 4, salientBits = 0;
  int64_t groupSize = 16;
  layout::ParamFormat params = layout::ParamFormat::F16;
  bool bias = false;
};

Storage f32(bool bias = false) { return {Kind::F32, 0, 0, 0, {}, bias}; }
Storage f16(bool bias = false) { return {Kind::F16, 0, 0, 0, {}, bias}; }
Storage kbit(unsigned bits, int64_t group, layout::ParamFormat p) {
  return {Kind::KBit, bits, 0, group, p, false};
}
Storage bitmap(unsigned salientBits, int64_t group, layout::ParamFormat p) {
  return {Kind::Bitmap, 1, salientBits, group, p, false};
}

class Builder {
public:
  explicit Builder(TinyModel &m) : m(m), a(m.artifact), rng(m.options.seed) {}
  void build();

private:
  float uniform(float lo, float hi) {
    return std::uniform_real_distribution<float>(lo, hi)(rng);
  }
  std::vector<float> randomVector(size_t n, float lo, float hi) {
    std::vector<float> v(n);
    for (float &x : v)
      x = uniform(lo, hi);
    return v;
  }
  /// A norm weight stored as f32 or f16; returns the tensor, fills `ref`.
  uint32_t normWeight(const std::string &name, bool half,
                      std::vector<float> &ref);
  uint32_t linear(const std::string &name, int64_t out, int64_t in,
                  const Storage &s, DenseLinear &ref, uint32_t &bias);
  layout::Logical randomLogical(const Storage &s, int64_t out, int64_t in);

  TinyModel &m;
  ArtifactData &a;
  std::mt19937_64 rng;
};

uint32_t Builder::normWeight(const std::string &name, bool half,
                             std::vector<float> &ref) {
  int64_t n = m.options.hidden;
  ref = randomVector(size_t(n), 0.7f, 1.3f);
  if (!half)
    return a.addF32(name, {n}, ref);
  std::vector<uint16_t> h(ref.size());
  for (size_t i = 0; i < h.size(); ++i) {
    h[i] = layout::floatToHalf(ref[i]);
    ref[i] = layout::halfToFloat(h[i]);
  }
  return a.addF16(name, {n}, h);
}

layout::Logical Builder::randomLogical(const Storage &s, int64_t out,
                                       int64_t in) {
  layout::Logical w;
  w.out = out;
  w.in = in;
  w.groupSize = s.groupSize;
  int64_t groups = w.groups();
  float amp = 1.7f / std::sqrt(float(in));
  size_t n = size_t(out * in), ng = size_t(out * groups);
  w.codes.resize(n);
  if (s.kind == Kind::KBit) {
    unsigned top = (1u << s.bits) - 1u;
    for (uint8_t &c : w.codes)
      c = uint8_t(rng() % (top + 1));
    for (size_t g = 0; g < ng; ++g) {
      float scale = 2 * amp / float(top) * uniform(0.5f, 1.5f);
      w.scales.push_back(scale);
      w.offsets.push_back(-scale * float(top) / 2 * uniform(0.8f, 1.2f));
    }
    return w;
  }
  unsigned top = (1u << s.salientBits) - 1u;
  w.salient.resize(n);
  for (size_t i = 0; i < n; ++i) {
    w.salient[i] = uniform(0, 1) < 0.15f;
    w.codes[i] = uint8_t(w.salient[i] ? rng() % (top + 1) : rng() % 2);
  }
  for (size_t g = 0; g < ng; ++g) {
    float alpha = amp * uniform(0.5f, 1.5f), mu = amp * uniform(-0.2f, 0.2f);
    w.scales.push_back(2 * alpha);
    w.offsets.push_back(mu - alpha);
    float scale = 3 * amp / float(top) * uniform(0.5f, 1.5f);
    w.salientScales.push_back(scale);
    w.salientOffsets.push_back(-scale * float(top) / 2);
  }
  return w;
}

uint32_t Builder::linear(const std::string &name, int64_t out, int64_t in,
                         const Storage &s, DenseLinear &ref, uint32_t &bias) {
  ref.out = out;
  ref.in = in;
  ref.w.resize(size_t(out * in));
  uint32_t tensor = 0;
  switch (s.kind) {
  case Kind::F32: {
    float amp = 1.7f / std::sqrt(float(in));
    ref.w = randomVector(ref.w.size(), -amp, amp);
    tensor = a.addF32(name, {out, in}, ref.w);
    break;
  }
  case Kind::F16: {
    float amp = 1.7f / std::sqrt(float(in));
    std::vector<uint16_t> h(ref.w.size());
    for (size_t i = 0; i < h.size(); ++i) {
      h[i] = layout::floatToHalf(uniform(-amp, amp));
      ref.w[i] = layout::halfToFloat(h[i]);
    }
    tensor = a.addF16(name, {out, in}, h);
    break;
  }
  case Kind::KBit:
  case Kind::Bitmap: {
    layout::Logical logical = randomLogical(s, out, in);
    layout::Spec spec;
    spec.kind =
        s.kind == Kind::KBit ? layout::Kind::KBit : layout::Kind::Bitmap;
    spec.bits = s.bits;
    spec.salientBits = s.salientBits;
    spec.groupSize = s.groupSize;
    spec.params = s.params;
    if (layout::Status st = layout::fit(spec, logical); st.failed())
      throw std::runtime_error(name + ": " + st.message());
    TensorData t;
    t.dtype = DType::Packed;
    t.rank = 2;
    t.dims[0] = out;
    t.dims[1] = in;
    t.name = name;
    t.spec = spec;
    if (layout::Status st = layout::pack(spec, logical, t.bytes); st.failed())
      throw std::runtime_error(name + ": " + st.message());
    // The reference reads the weights back as stored (rounded parameters).
    layout::Logical stored;
    if (layout::Status st = layout::unpack(spec, out, in, t.bytes.data(),
                                           t.bytes.size(), stored);
        st.failed())
      throw std::runtime_error(name + ": " + st.message());
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        ref.w[size_t(i * in + j)] = stored.value(i, j);
    tensor = a.addTensor(std::move(t));
    break;
  }
  }
  bias = kNone;
  if (s.bias) {
    ref.bias = randomVector(size_t(out), -0.2f, 0.2f);
    if (s.kind == Kind::F16) {
      std::vector<uint16_t> h(ref.bias.size());
      for (size_t i = 0; i < h.size(); ++i) {
        h[i] = layout::floatToHalf(ref.bias[i]);
        ref.bias[i] = layout::halfToFloat(h[i]);
      }
      bias = a.addF16(name + ".bias", {out}, h);
    } else {
      bias = a.addF32(name + ".bias", {out}, ref.bias);
    }
  }
  return tensor;
}

void Builder::build() {
  const TinyOptions &o = m.options;
  using PF = layout::ParamFormat;
  ModelConfig &c = a.config;
  c.vocab = o.vocab;
  c.hidden = o.hidden;
  c.layers = o.layers;
  c.heads = o.heads;
  c.kvHeads = o.kvHeads;
  c.headDim = o.headDim;
  c.intermediate = o.intermediate;
  c.maxPositions = o.maxPositions;
  c.bosId = 1;
  c.eosId = 2;
  a.name = "tiny-llama";

  // Generated kernels of tests/TestKernels.c.
  uint32_t kGemv = kNone, kNorm = kNone, kAdd = kNone, kSwiglu = kNone,
           kGemv2 = kNone;
  if (o.kernels) {
    a.code = o.code;
    kGemv = a.addKernel(KernelAbi::Gemv, "s10rt_test_gemv32_f32");
    kNorm = a.addKernel(KernelAbi::RMSNormRow, "s10rt_test_rmsnorm32_f32");
    kAdd = a.addKernel(KernelAbi::Binary, "s10rt_test_add");
    kSwiglu = a.addKernel(KernelAbi::Binary, "s10rt_test_swiglu");
    kGemv2 = a.addKernel(KernelAbi::Gemv, "s10rt_test_gemv32_f32_x2");
    if (o.gemmTable)
      for (uint32_t masked = 0; masked < 2; ++masked) {
        uint32_t kernel = a.addKernel(KernelAbi::GemmBlock,
                                      o.zeroGemm ? "s10rt_test_gemm_1x1_v4_zero"
                                                 : "s10rt_test_gemm_1x1_v4");
        gemmBlockWords({1, 1, 4, masked, 1, 1, 64}, a.kernels[kernel].reserved);
      }
  }
  auto useKernel = [&](uint32_t step, uint32_t kernel) {
    if (kernel != kNone)
      a.steps[step].record.kernel = kernel;
  };

  int64_t H = o.hidden, hd = o.headDim, qW = int64_t(o.heads) * hd,
          kvW = int64_t(o.kvHeads) * hd, I = o.intermediate, V = o.vocab;
  uint32_t x = a.addBuffer(uint32_t(H), "x");
  uint32_t h = a.addBuffer(uint32_t(H), "h");
  uint32_t q = a.addBuffer(uint32_t(qW), "q");
  uint32_t k = a.addBuffer(uint32_t(kvW), "k");
  uint32_t v = a.addBuffer(uint32_t(kvW), "v");
  uint32_t g = a.addBuffer(uint32_t(I), "gate");
  uint32_t u = a.addBuffer(uint32_t(I), "up");
  uint32_t d = a.addBuffer(uint32_t(H), "down");
  uint32_t logits = a.addBuffer(uint32_t(V), "logits");
  a.logitsBuffer = logits;
  a.kvSlots = o.layers;
  a.kvWidth = uint32_t(kvW);

  std::vector<uint16_t> table(size_t(V * H));
  m.embed.resize(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    table[i] = layout::floatToHalf(uniform(-1, 1));
    m.embed[i] = layout::halfToFloat(table[i]);
  }
  uint32_t embedT = a.addF16("embed_tokens", {V, H}, table);
  a.addStep(OpCode::Embedding, {}, x, {embedT}, {}, {}, "embed");

  for (int64_t i = 0; i < hd / 2; ++i)
    m.invFreq.push_back(1.0f / std::pow(10000.0f, float(2 * i) / float(hd)));
  uint32_t freqT = a.addF32("inv_freq", {hd / 2}, m.invFreq);

  // Every storage the runtime reads, spread over the layers' linears
  // (q, k, v, o, gate, up, down); group 12 does not start on bytes.
  std::vector<std::vector<Storage>> kinds = {
      {kbit(4, 16, PF::F16), bitmap(3, 16, PF::F16), f16(), f32(true),
       bitmap(4, 16, PF::Q8), kbit(2, 16, PF::Q8), f16(true)},
      {o.kernels ? f32() : kbit(1, 16, PF::F16), kbit(3, 8, PF::F16),
       bitmap(3, 12, PF::Q8), f16(), kbit(4, 32, PF::Q8),
       bitmap(2, 16, PF::F16), kbit(8, 16, PF::F16)},
  };
  if (o.squeezed)
    kinds = {std::vector<Storage>(7, bitmap(4, 128, PF::F16))};
  m.layers.resize(o.layers);
  for (uint32_t l = 0; l < o.layers; ++l) {
    TinyModel::Layer &L = m.layers[l];
    const std::vector<Storage> &s = kinds[l % kinds.size()];
    std::string p = "layers." + std::to_string(l) + ".";
    uint32_t b;
    uint32_t an = normWeight(p + "input_layernorm", l % 2 == 1, L.attnNorm);
    a.addStep(OpCode::RMSNorm, {x}, h, {an}, {}, {m.eps}, p + "attn_norm");
    uint32_t qt = linear(p + "q_proj", qW, H, s[0], L.q, b);
    uint32_t qs =
        a.addStep(OpCode::Linear, {h}, q, {qt, b}, {}, {}, p + "q_proj");
    if (l == 1)
      useKernel(qs, kGemv);
    uint32_t kt = linear(p + "k_proj", kvW, H, s[1], L.k, b);
    a.addStep(OpCode::Linear, {h}, k, {kt, b}, {}, {}, p + "k_proj");
    uint32_t vt = linear(p + "v_proj", kvW, H, s[2], L.v, b);
    a.addStep(OpCode::Linear, {h}, v, {vt, b}, {}, {}, p + "v_proj");
    a.addStep(OpCode::Rotary, {q}, q, {freqT}, {int32_t(o.heads), int32_t(hd)},
              {}, p + "rotary_q");
    a.addStep(OpCode::Rotary, {k}, k, {freqT},
              {int32_t(o.kvHeads), int32_t(hd)}, {}, p + "rotary_k");
    // In place: the attention output overwrites the queries, o_proj its
    // own input.
    a.addStep(OpCode::Attention, {q, k, v}, q, {},
              {int32_t(o.heads), int32_t(o.kvHeads), int32_t(hd), int32_t(l)},
              {1.0f / std::sqrt(float(hd))}, p + "attention");
    uint32_t ot = linear(p + "o_proj", H, qW, s[3], L.o, b);
    a.addStep(OpCode::Linear, {q}, q, {ot, b}, {}, {}, p + "o_proj");
    useKernel(a.addStep(OpCode::Add, {x, q}, x, {}, {}, {}, p + "residual1"),
              kAdd);
    uint32_t fn =
        normWeight(p + "post_attention_layernorm", l % 2 == 0, L.ffnNorm);
    a.addStep(OpCode::RMSNorm, {x}, h, {fn}, {}, {m.eps}, p + "ffn_norm");
    uint32_t gt = linear(p + "gate_proj", I, H, s[4], L.gate, b);
    a.addStep(OpCode::Linear, {h}, g, {gt, b}, {}, {}, p + "gate_proj");
    uint32_t ut = linear(p + "up_proj", I, H, s[5], L.up, b);
    a.addStep(OpCode::Linear, {h}, u, {ut, b}, {}, {}, p + "up_proj");
    useKernel(a.addStep(OpCode::SwiGLU, {g, u}, g, {}, {}, {}, p + "swiglu"),
              kSwiglu);
    uint32_t dt = linear(p + "down_proj", H, I, s[6], L.down, b);
    a.addStep(OpCode::Linear, {g}, d, {dt, b}, {}, {}, p + "down_proj");
    useKernel(a.addStep(OpCode::Add, {x, d}, x, {}, {}, {}, p + "residual2"),
              kAdd);
  }
  uint32_t nt = normWeight("norm", false, m.finalNorm);
  useKernel(a.addStep(OpCode::RMSNorm, {x}, h, {nt}, {}, {m.eps}, "norm"),
            kNorm);
  uint32_t b;
  uint32_t ht = linear("lm_head", V, H, o.kernels ? f32() : f16(), m.lmHead, b);
  uint32_t hs = a.addStep(OpCode::Linear, {h}, logits, {ht}, {}, {}, "lm_head");
  useKernel(hs, o.doubledHead ? kGemv2 : kGemv);
  if (o.kernels && o.doubledHead)
    m.headScale = 2.0f;
}

//===----------------------------------------------------------------------===//
// Reference
//===----------------------------------------------------------------------===//

void rmsNorm(const std::vector<float> &x, int64_t rows, int64_t n,
             const std::vector<float> &w, float eps, std::vector<float> &y) {
  y.resize(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i)
      ss += double(x[size_t(r * n + i)]) * x[size_t(r * n + i)];
    double inv = 1.0 / std::sqrt(ss / double(n) + eps);
    for (int64_t i = 0; i < n; ++i)
      y[size_t(r * n + i)] = float(x[size_t(r * n + i)] * inv * w[size_t(i)]);
  }
}

std::vector<float> apply(const DenseLinear &l, const std::vector<float> &x,
                         int64_t rows) {
  std::vector<float> y(size_t(rows * l.out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < l.out; ++i) {
      double acc = l.bias.empty() ? 0.0 : l.bias[size_t(i)];
      for (int64_t j = 0; j < l.in; ++j)
        acc += double(l.w[size_t(i * l.in + j)]) * x[size_t(r * l.in + j)];
      y[size_t(r * l.out + i)] = float(acc);
    }
  return y;
}

void rope(std::vector<float> &x, int64_t rows, int64_t heads, int64_t dim,
          const std::vector<float> &invFreq) {
  int64_t half = dim / 2;
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t h = 0; h < heads; ++h) {
      float *xh = x.data() + (p * heads + h) * dim;
      for (int64_t i = 0; i < half; ++i) {
        float angle = float(p) * invFreq[size_t(i)];
        double c = std::cos(double(angle)), s = std::sin(double(angle));
        double x1 = xh[i], x2 = xh[i + half];
        xh[i] = float(x1 * c - x2 * s);
        xh[i + half] = float(x2 * c + x1 * s);
      }
    }
}

} // namespace

TinyModel TinyModel::build(const TinyOptions &options) {
  TinyModel m;
  m.options = options;
  Builder(m).build();
  return m;
}

std::vector<float> TinyModel::reference(const std::vector<int32_t> &ids) const {
  const TinyOptions &o = options;
  int64_t T = int64_t(ids.size()), H = o.hidden, hd = o.headDim;
  int64_t heads = o.heads, kvHeads = o.kvHeads, I = o.intermediate;
  std::vector<float> x(size_t(T * H)), h;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < H; ++i)
      x[size_t(t * H + i)] = embed[size_t(ids[size_t(t)] * H + i)];
  for (const Layer &L : layers) {
    rmsNorm(x, T, H, L.attnNorm, eps, h);
    std::vector<float> q = apply(L.q, h, T), k = apply(L.k, h, T),
                       v = apply(L.v, h, T);
    rope(q, T, heads, hd, invFreq);
    rope(k, T, kvHeads, hd, invFreq);
    std::vector<float> att(size_t(T * heads * hd));
    double scale = 1.0 / std::sqrt(double(hd));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t hh = 0; hh < heads; ++hh) {
        int64_t g = hh / (heads / kvHeads);
        std::vector<double> s(size_t(t + 1));
        double mx = -1e300;
        for (int64_t j = 0; j <= t; ++j) {
          double acc = 0;
          for (int64_t e = 0; e < hd; ++e)
            acc += double(q[size_t((t * heads + hh) * hd + e)]) *
                   k[size_t((j * kvHeads + g) * hd + e)];
          s[size_t(j)] = acc * float(scale);
          mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (double &e : s)
          sum += (e = std::exp(e - mx));
        for (int64_t e = 0; e < hd; ++e) {
          double acc = 0;
          for (int64_t j = 0; j <= t; ++j)
            acc += s[size_t(j)] / sum * v[size_t((j * kvHeads + g) * hd + e)];
          att[size_t((t * heads + hh) * hd + e)] = float(acc);
        }
      }
    std::vector<float> o2 = apply(L.o, att, T);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] += o2[i];
    rmsNorm(x, T, H, L.ffnNorm, eps, h);
    std::vector<float> gt = apply(L.gate, h, T), up = apply(L.up, h, T);
    for (int64_t i = 0; i < T * I; ++i) {
      double gv = gt[size_t(i)];
      gt[size_t(i)] = float(gv / (1 + std::exp(-gv)) * up[size_t(i)]);
    }
    std::vector<float> dn = apply(L.down, gt, T);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] += dn[i];
  }
  rmsNorm(x, T, H, finalNorm, eps, h);
  std::vector<float> logits = apply(lmHead, h, T);
  for (float &l : logits)
    l *= headScale;
  return logits;
}
