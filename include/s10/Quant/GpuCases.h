//===- GpuCases.h - CUDA kernel cases shared by compiler and runtime -*- C++
//-*-===//
//
// The CUDA kernels are compiled on a machine without a GPU and checked on
// one without MLIR. A case manifest (one line per kernel) carries what the
// GPU machine needs to rebuild every input: the layout, the shape and a
// seed. Weights come from randomWeight(), which uses integer arithmetic and
// exactly rounded conversions only, so both machines derive the same bytes
// (and so the same salient counts, on which kernel names and offsets
// depend). Header-only, plain C++17: the runtime's check tool includes it.
//
//   gemv    kernel=NAME kind=bitmap bits=1 group=128 sbits=4 params=f16
//           block=0 nm=0 count=29491 out=384 in=384 tokens=2 seed=7 bench=0
//   dense   kernel=NAME type=f16 out=4096 in=384 tokens=2 seed=3 bench=0
//   rmsnorm kernel=NAME type=f16 width=384 eps=1e-05 rows=7 seed=5
//   binary  kernel=NAME op=swiglu n=1000 seed=9
//   embedding kernel=NAME type=f16 vocab=4096 hidden=384 tokens=5 seed=3
//   rotary  kernel=NAME heads=6 dim=64 tokens=3 pos=5 seed=4
//   attention kernel=NAME heads=6 kv=2 dim=64 scale=0.125 tokens=3 pos=5
//           ctx=16 seed=8
//   kvappend kernel=NAME width=128 tokens=3 pos=5 ctx=16 seed=9
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_GPUCASES_H
#define S10_QUANT_GPUCASES_H

#include "s10/Quant/Layout.h"
#include "s10/Quant/SplitMix.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace s10::quant::gpucases {

/// splitmix64 with the draws the cases need.
struct Rng : SplitMix64 {
  using SplitMix64::SplitMix64;
  /// Uniform in [0, n) (n small: the bias is below 2^-40).
  uint64_t below(uint64_t n) { return next() % n; }
  /// k / 1000 for k uniform in [lo, hi]: exactly rounded, so portable.
  float milli(int lo, int hi) {
    return float(int64_t(lo) + int64_t(below(uint64_t(hi - lo + 1)))) / 1000.0f;
  }
  /// A value in [-1, 1] for activations.
  float unit() { return milli(-1000, 1000); }
};

/// A random weight of `s` (kbit, ternary, bitmap or channel-block): uniform
/// codes, about one in five weights salient (per channel and row block for
/// channel blocks), scales in [0.001, 1], offsets in [-1, 1], salient
/// scales a tenth of that.
inline layout::Logical randomWeight(const layout::Spec &s, int64_t out,
                                    int64_t in, uint64_t seed) {
  Rng rng(seed);
  layout::Logical w;
  w.out = out;
  w.in = in;
  w.groupSize = s.groupSize;
  size_t n = size_t(out) * size_t(in);
  w.codes.resize(n);
  if (s.kind == layout::Kind::Bitmap) {
    w.salient.resize(n);
    for (auto &m : w.salient)
      m = rng.below(5) == 0;
  } else if (s.kind == layout::Kind::ChannelBlock) {
    w.salient.resize(n);
    for (int64_t b = 0; b * s.block < out; ++b) {
      std::vector<uint8_t> chan(static_cast<size_t>(in));
      for (auto &m : chan)
        m = rng.below(5) == 0;
      for (int64_t i = b * s.block; i < out && i < (b + 1) * s.block; ++i)
        for (int64_t j = 0; j < in; ++j)
          w.salient[size_t(i * in + j)] = chan[size_t(j)];
    }
  }
  for (size_t k = 0; k < n; ++k) {
    bool sal = !w.salient.empty() && w.salient[k];
    unsigned bits = sal ? s.salientBits : s.bits;
    uint64_t levels = s.kind == layout::Kind::Ternary ? 3 : uint64_t(1) << bits;
    w.codes[k] = uint8_t(rng.below(levels));
  }
  size_t ng = size_t(out * w.groups());
  for (size_t k = 0; k < ng; ++k) {
    w.scales.push_back(rng.milli(1, 1000));
    w.offsets.push_back(rng.milli(-1000, 1000));
    if (s.mixed()) {
      w.salientScales.push_back(rng.milli(1, 1000) * 0.125f);
      w.salientOffsets.push_back(rng.milli(-1000, 1000));
    }
  }
  return w;
}

/// `count` activations in [-1, 1].
inline std::vector<float> randomVector(size_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (float &x : v)
    x = rng.unit();
  return v;
}

/// The rotary (cos, sin) pairs per position p < positions and frequency i
/// as the runtime tabulates them: 1 / 10000^(2i / dim) and the angle in
/// f32, cos and sin in double.
inline std::vector<float> rotaryTable(int64_t dim, int64_t positions) {
  int64_t half = dim / 2;
  std::vector<float> cs(size_t(positions * half * 2));
  for (int64_t i = 0; i < half; ++i) {
    float inv = 1.0f / std::pow(10000.0f, float(2 * i) / float(dim));
    for (int64_t p = 0; p < positions; ++p) {
      float angle = float(p) * inv;
      cs[size_t((p * half + i) * 2)] = float(std::cos(double(angle)));
      cs[size_t((p * half + i) * 2 + 1)] = float(std::sin(double(angle)));
    }
  }
  return cs;
}

/// Causal grouped-query attention in double precision: token t (at
/// position pos0 + t) of q [tokens][heads * dim] over the cache kv = K
/// [maxCtx][kvHeads * dim] then V. `out` gets the result and `mag` the sum
/// over positions of |p v| (a scale for tolerances).
inline void attentionReference(const float *q, const float *kv, int64_t tokens,
                               int64_t heads, int64_t kvHeads, int64_t dim,
                               int64_t pos0, int64_t maxCtx, double scale,
                               std::vector<float> &out,
                               std::vector<float> &mag) {
  int64_t qW = heads * dim, kvW = kvHeads * dim, group = heads / kvHeads;
  out.assign(size_t(tokens * qW), 0.0f);
  mag.assign(size_t(tokens * qW), 0.0f);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      int64_t n = pos0 + t + 1, g = h / group;
      std::vector<double> w(static_cast<size_t>(n));
      double mx = -INFINITY, sum = 0;
      for (int64_t p = 0; p < n; ++p) {
        double d = 0;
        for (int64_t j = 0; j < dim; ++j)
          d += double(q[t * qW + h * dim + j]) * kv[p * kvW + g * dim + j];
        w[size_t(p)] = d * scale;
        mx = std::max(mx, w[size_t(p)]);
      }
      for (double &v : w)
        sum += (v = std::exp(v - mx));
      for (int64_t j = 0; j < dim; ++j) {
        double a = 0, m = 0;
        for (int64_t p = 0; p < n; ++p) {
          double v = kv[(maxCtx + p) * kvW + g * dim + j];
          a += w[size_t(p)] / sum * v;
          m += w[size_t(p)] / sum * std::fabs(v);
        }
        out[size_t(t * qW + h * dim + j)] = float(a);
        mag[size_t(t * qW + h * dim + j)] = float(m);
      }
    }
}

enum class Kind {
  Gemv,
  Dense,
  RMSNorm,
  Binary,
  Embedding,
  Rotary,
  Attention,
  KvAppend,
  RopeAppend // rotary of q (in place) and k, with the KV append
};

/// What a gemv or dense case's kernel does with its rows: store them, add
/// a residual (y = W x + r), or take gate and up from two weights of the
/// case's shape and layout and store silu(gate) * up; Norm and NormSwiGLU
/// first take the RMSNorm of x (an f16 weight, epsilon `eps`). NormQKV
/// computes q (the case's weight), k and v (two weights of kvOut rows,
/// qkvKvCase()) of the RMSNorm of x in one launch. Gemm is the prefill
/// GEMM of a gemv case's weight on tensor cores, over `tokens` tokens.
enum class Fuse { None, Add, SwiGLU, Norm, NormSwiGLU, NormQKV, Gemm };

inline const char *fuseWord(Fuse f) {
  switch (f) {
  case Fuse::Add:
    return "add";
  case Fuse::SwiGLU:
    return "swiglu";
  case Fuse::Norm:
    return "norm";
  case Fuse::NormSwiGLU:
    return "normswiglu";
  case Fuse::NormQKV:
    return "normqkv";
  case Fuse::Gemm:
    return "gemm";
  case Fuse::None:
    break;
  }
  return "none";
}

inline bool fusesNorm(Fuse f) {
  return f == Fuse::Norm || f == Fuse::NormSwiGLU || f == Fuse::NormQKV;
}
inline bool fusesSwiGLU(Fuse f) {
  return f == Fuse::SwiGLU || f == Fuse::NormSwiGLU;
}

struct Case {
  Kind kind = Kind::Gemv;
  Fuse fuse = Fuse::None; // gemv, dense
  std::string kernel;
  layout::Spec spec; // gemv (salientCount: the compiling machine's)
  bool f16 = true;   // dense, rmsnorm, embedding: weight type
  // gemv, dense: rows and columns; rmsnorm: in = width; embedding: vocab and
  // hidden; rotary, attention: heads and head dim.
  int64_t out = 0, in = 0;
  int64_t tokens = 1; // rows of x (rmsnorm: rows)
  double eps = 1e-5;  // rmsnorm
  // fuse=normqkv: the rows of k and of v, and their weights' salient count
  // (the compiling machine's).
  int64_t kvOut = 0, kvCount = 0;
  bool swiglu = false; // binary: swiglu, else add
  int64_t kvHeads = 0; // attention
  int64_t pos0 = 0;    // rotary, attention: position of the first token
  int64_t maxCtx = 0;  // attention: positions in the cache
  double scale = 0;    // attention
  uint64_t seed = 0;
  bool bench = false; // timed by the check tool
};

/// The packed bytes of gemv case `c`'s weight (randomWeight of its seed)
/// and the spec it fits. With `checkCount` its salient count must be the
/// case's, the one its kernel was compiled for. False with `error` set if
/// not, or if the weight does not fit or pack.
inline bool packCase(const Case &c, bool checkCount, layout::Spec &spec,
                     std::vector<uint8_t> &bytes, std::string &error) {
  std::string shape = std::to_string(c.out) + "x" + std::to_string(c.in);
  spec = c.spec;
  layout::Logical w = randomWeight(spec, c.out, c.in, c.seed);
  layout::Status st = layout::fit(spec, w);
  if (st.failed()) {
    error = "the " + shape + " weight does not fit its layout: " + st.message();
    return false;
  }
  if (checkCount && spec.salientCount != c.spec.salientCount) {
    error = "the " + shape + " weight from seed " + std::to_string(c.seed) +
            " has " + std::to_string(spec.salientCount) +
            " salient weights, kernel " + c.kernel + " was compiled for " +
            std::to_string(c.spec.salientCount);
    return false;
  }
  st = layout::pack(spec, w, bytes);
  if (st.failed()) {
    error = "cannot pack the " + shape + " weight: " + st.message();
    return false;
  }
  return true;
}

/// The case of the k and v weights of a fuse=normqkv case `c` (one weight
/// for both, from the next seed): kvOut rows of c's layout and input.
inline Case qkvKvCase(const Case &c) {
  Case kv = c;
  kv.fuse = Fuse::None;
  kv.out = c.kvOut;
  kv.seed = c.seed + 1;
  kv.spec.salientCount = c.kvCount;
  return kv;
}

inline const char *kindWord(Kind k) {
  switch (k) {
  case Kind::Gemv:
    return "gemv";
  case Kind::Dense:
    return "dense";
  case Kind::RMSNorm:
    return "rmsnorm";
  case Kind::Binary:
    return "binary";
  case Kind::Embedding:
    return "embedding";
  case Kind::Rotary:
    return "rotary";
  case Kind::Attention:
    return "attention";
  case Kind::KvAppend:
    return "kvappend";
  case Kind::RopeAppend:
    return "ropeappend";
  }
  return "?";
}

inline std::string caseLine(const Case &c) {
  std::ostringstream os;
  os << kindWord(c.kind) << " kernel=" << c.kernel;
  switch (c.kind) {
  case Kind::Gemv:
    os << " kind=" << layout::kindName(c.spec.kind) << " bits=" << c.spec.bits
       << " group=" << c.spec.groupSize << " sbits=" << c.spec.salientBits
       << " params=" << layout::paramFormatName(c.spec.params)
       << " block=" << c.spec.block << " nm=" << c.spec.nmSalient
       << " count=" << c.spec.salientCount << " out=" << c.out << " in=" << c.in
       << " tokens=" << c.tokens;
    break;
  case Kind::Dense:
    os << " type=" << (c.f16 ? "f16" : "f32") << " out=" << c.out
       << " in=" << c.in << " tokens=" << c.tokens;
    break;
  case Kind::RMSNorm: {
    char eps[32];
    std::snprintf(eps, sizeof(eps), "%.17g", c.eps);
    os << " type=" << (c.f16 ? "f16" : "f32") << " width=" << c.in
       << " eps=" << eps << " rows=" << c.tokens;
    break;
  }
  case Kind::Binary:
    os << " op=" << (c.swiglu ? "swiglu" : "add") << " n=" << c.in;
    break;
  case Kind::Embedding:
    os << " type=" << (c.f16 ? "f16" : "f32") << " vocab=" << c.out
       << " hidden=" << c.in << " tokens=" << c.tokens;
    break;
  case Kind::Rotary:
    os << " heads=" << c.out << " dim=" << c.in << " tokens=" << c.tokens
       << " pos=" << c.pos0;
    break;
  case Kind::Attention: {
    char scale[32];
    std::snprintf(scale, sizeof(scale), "%.9g", c.scale);
    os << " heads=" << c.out << " kv=" << c.kvHeads << " dim=" << c.in
       << " scale=" << scale << " tokens=" << c.tokens << " pos=" << c.pos0
       << " ctx=" << c.maxCtx;
    break;
  }
  case Kind::KvAppend:
    os << " width=" << c.in << " tokens=" << c.tokens << " pos=" << c.pos0
       << " ctx=" << c.maxCtx;
    break;
  case Kind::RopeAppend:
    os << " heads=" << c.out << " kv=" << c.kvHeads << " dim=" << c.in
       << " tokens=" << c.tokens << " pos=" << c.pos0 << " ctx=" << c.maxCtx;
    break;
  }
  os << " seed=" << c.seed;
  if (c.kind == Kind::Gemv || c.kind == Kind::Dense) {
    os << " bench=" << (c.bench ? 1 : 0);
    if (c.fuse != Fuse::None)
      os << " fuse=" << fuseWord(c.fuse);
    if (fusesNorm(c.fuse)) {
      char eps[32];
      std::snprintf(eps, sizeof(eps), "%.17g", c.eps);
      os << " eps=" << eps;
    }
    if (c.fuse == Fuse::NormQKV) {
      os << " kvout=" << c.kvOut;
      if (c.kind == Kind::Gemv)
        os << " kvcount=" << c.kvCount;
    }
  }
  return os.str();
}

/// Parses one manifest line; false with `error` set if it is malformed.
inline bool parseCase(const std::string &line, Case &c, std::string &error) {
  std::istringstream is(line);
  std::string word;
  is >> word;
  std::map<std::string, std::string> kv;
  for (std::string tok; is >> tok;) {
    size_t eq = tok.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "expected key=value, got '" + tok + "'";
      return false;
    }
    kv[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  auto str = [&](const char *key, std::string &out) {
    auto it = kv.find(key);
    if (it == kv.end()) {
      error = std::string("missing ") + key;
      return false;
    }
    out = it->second;
    return true;
  };
  auto num = [&](const char *key, int64_t &out, int64_t lo, int64_t hi) {
    std::string s;
    if (!str(key, s))
      return false;
    char *end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end || v < lo || v > hi) {
      error = std::string(key) + " must be an integer in [" +
              std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + s +
              "'";
      return false;
    }
    out = v;
    return true;
  };
  const int64_t kMaxDim = int64_t(1) << 20;
  int64_t seed = 0, bench = 0;
  if (!str("kernel", c.kernel) || !num("seed", seed, 0, INT64_MAX))
    return false;
  c.seed = uint64_t(seed);
  std::string type;
  if (word == "gemv") {
    c.kind = Kind::Gemv;
    std::string kind, params;
    int64_t bits, group, sbits, block, nm, count;
    if (!str("kind", kind) || !str("params", params) ||
        !num("bits", bits, 1, 8) || !num("group", group, 1, kMaxDim) ||
        !num("sbits", sbits, 0, 8) || !num("block", block, 0, kMaxDim) ||
        !num("nm", nm, 0, kMaxDim) || !num("count", count, 0, INT64_MAX) ||
        !num("out", c.out, 1, kMaxDim) || !num("in", c.in, 1, kMaxDim) ||
        !num("tokens", c.tokens, 1, 4096) || !num("bench", bench, 0, 1))
      return false;
    if (kind == "kbit")
      c.spec.kind = layout::Kind::KBit;
    else if (kind == "bitmap")
      c.spec.kind = layout::Kind::Bitmap;
    else if (kind == "chanblock")
      c.spec.kind = layout::Kind::ChannelBlock;
    else if (kind == "ternary")
      c.spec.kind = layout::Kind::Ternary;
    else {
      error =
          "kind must be kbit, ternary, bitmap or chanblock, got '" + kind + "'";
      return false;
    }
    if (!layout::parseParamFormat(params, c.spec.params)) {
      error = "params must be f16, q8 or q8t, got '" + params + "'";
      return false;
    }
    c.spec.bits = unsigned(bits);
    c.spec.groupSize = group;
    c.spec.salientBits = unsigned(sbits);
    c.spec.block = block;
    c.spec.nmSalient = nm;
    c.spec.salientCount = count;
  } else if (word == "dense") {
    c.kind = Kind::Dense;
    if (!str("type", type) || !num("out", c.out, 1, kMaxDim) ||
        !num("in", c.in, 1, kMaxDim) || !num("tokens", c.tokens, 1, 4096) ||
        !num("bench", bench, 0, 1))
      return false;
  } else if (word == "rmsnorm") {
    c.kind = Kind::RMSNorm;
    std::string eps;
    if (!str("type", type) || !num("width", c.in, 1, kMaxDim) ||
        !num("rows", c.tokens, 1, 4096) || !str("eps", eps))
      return false;
    char *end = nullptr;
    c.eps = std::strtod(eps.c_str(), &end);
    if (eps.empty() || *end || !(c.eps >= 0)) {
      error = "eps must be a number >= 0, got '" + eps + "'";
      return false;
    }
  } else if (word == "binary") {
    c.kind = Kind::Binary;
    std::string op;
    if (!str("op", op) || !num("n", c.in, 1, INT64_C(1) << 30))
      return false;
    if (op != "add" && op != "swiglu") {
      error = "op must be add or swiglu, got '" + op + "'";
      return false;
    }
    c.swiglu = op == "swiglu";
  } else if (word == "embedding") {
    c.kind = Kind::Embedding;
    if (!str("type", type) || !num("vocab", c.out, 1, INT64_C(1) << 24) ||
        !num("hidden", c.in, 1, kMaxDim) || !num("tokens", c.tokens, 1, 4096))
      return false;
  } else if (word == "rotary") {
    c.kind = Kind::Rotary;
    if (!num("heads", c.out, 1, 1024) || !num("dim", c.in, 2, 4096) ||
        !num("tokens", c.tokens, 1, 4096) || !num("pos", c.pos0, 0, kMaxDim))
      return false;
    if (c.in % 2) {
      error = "dim must be even";
      return false;
    }
  } else if (word == "attention") {
    c.kind = Kind::Attention;
    std::string scale;
    if (!num("heads", c.out, 1, 1024) || !num("kv", c.kvHeads, 1, 1024) ||
        !num("dim", c.in, 1, 4096) || !str("scale", scale) ||
        !num("tokens", c.tokens, 1, 4096) || !num("pos", c.pos0, 0, kMaxDim) ||
        !num("ctx", c.maxCtx, 1, kMaxDim))
      return false;
    char *end = nullptr;
    c.scale = std::strtod(scale.c_str(), &end);
    if (scale.empty() || *end || !(c.scale > 0)) {
      error = "scale must be a number > 0, got '" + scale + "'";
      return false;
    }
    if (c.out % c.kvHeads || c.pos0 + c.tokens > c.maxCtx) {
      error = "heads must be a multiple of kv and pos + tokens at most ctx";
      return false;
    }
  } else if (word == "kvappend") {
    c.kind = Kind::KvAppend;
    if (!num("width", c.in, 1, kMaxDim) || !num("tokens", c.tokens, 1, 4096) ||
        !num("pos", c.pos0, 0, kMaxDim) || !num("ctx", c.maxCtx, 1, kMaxDim))
      return false;
    if (c.pos0 + c.tokens > c.maxCtx) {
      error = "pos + tokens must be at most ctx";
      return false;
    }
  } else if (word == "ropeappend") {
    c.kind = Kind::RopeAppend;
    if (!num("heads", c.out, 1, 1024) || !num("kv", c.kvHeads, 1, 1024) ||
        !num("dim", c.in, 2, 4096) || !num("tokens", c.tokens, 1, 4096) ||
        !num("pos", c.pos0, 0, kMaxDim) || !num("ctx", c.maxCtx, 1, kMaxDim))
      return false;
    if (c.in % 2 || c.out % c.kvHeads || c.pos0 + c.tokens > c.maxCtx) {
      error = "dim must be even, heads a multiple of kv and pos + tokens at "
              "most ctx";
      return false;
    }
  } else {
    error = "unknown case kind '" + word + "'";
    return false;
  }
  if (auto it = kv.find("fuse"); it != kv.end()) {
    if (c.kind != Kind::Gemv && c.kind != Kind::Dense) {
      error = "fuse applies to gemv and dense cases only";
      return false;
    }
    if (it->second == "add")
      c.fuse = Fuse::Add;
    else if (it->second == "swiglu")
      c.fuse = Fuse::SwiGLU;
    else if (it->second == "norm")
      c.fuse = Fuse::Norm;
    else if (it->second == "normswiglu")
      c.fuse = Fuse::NormSwiGLU;
    else if (it->second == "normqkv")
      c.fuse = Fuse::NormQKV;
    else if (it->second == "gemm" && c.kind == Kind::Gemv)
      c.fuse = Fuse::Gemm;
    else if (it->second != "none") {
      error = "fuse must be none, add, swiglu, norm, normswiglu, normqkv or "
              "(gemv cases) gemm, got '" +
              it->second + "'";
      return false;
    }
    if (c.fuse == Fuse::NormQKV &&
        (!num("kvout", c.kvOut, 1, kMaxDim) ||
         (c.kind == Kind::Gemv && !num("kvcount", c.kvCount, 0, INT64_MAX))))
      return false;
    if (fusesNorm(c.fuse)) {
      std::string eps;
      if (!str("eps", eps))
        return false;
      char *end = nullptr;
      c.eps = std::strtod(eps.c_str(), &end);
      if (eps.empty() || *end || !(c.eps >= 0)) {
        error = "eps must be a number >= 0, got '" + eps + "'";
        return false;
      }
    }
  }
  if (c.kind == Kind::Dense || c.kind == Kind::RMSNorm ||
      c.kind == Kind::Embedding) {
    if (type != "f16" && type != "f32") {
      error = "type must be f16 or f32, got '" + type + "'";
      return false;
    }
    c.f16 = type == "f16";
  }
  c.bench = bench != 0;
  return true;
}

/// Whether `a` and `b` need the same kernel: the same kind and every
/// parameter compiled into it (the layout, shape, epsilon, scale); seeds,
/// token counts, positions and salient counts may differ.
inline bool sameKernel(const Case &a, const Case &b) {
  if (a.kind != b.kind || a.fuse != b.fuse ||
      (fusesNorm(a.fuse) && a.eps != b.eps) ||
      (a.fuse == Fuse::NormQKV && a.kvOut != b.kvOut))
    return false;
  switch (a.kind) {
  case Kind::Gemv:
    return a.spec.kind == b.spec.kind && a.spec.bits == b.spec.bits &&
           a.spec.groupSize == b.spec.groupSize &&
           a.spec.salientBits == b.spec.salientBits &&
           a.spec.params == b.spec.params && a.spec.block == b.spec.block &&
           a.spec.nmSalient == b.spec.nmSalient && a.out == b.out &&
           a.in == b.in;
  case Kind::Dense:
  case Kind::Embedding:
    return a.f16 == b.f16 && a.out == b.out && a.in == b.in;
  case Kind::RMSNorm:
    return a.f16 == b.f16 && a.in == b.in && a.eps == b.eps;
  case Kind::Binary:
    return a.swiglu == b.swiglu;
  case Kind::Rotary:
    return a.out == b.out && a.in == b.in;
  case Kind::Attention:
    return a.out == b.out && a.kvHeads == b.kvHeads && a.in == b.in &&
           float(a.scale) == float(b.scale);
  case Kind::KvAppend:
    return a.in == b.in;
  case Kind::RopeAppend:
    return a.out == b.out && a.kvHeads == b.kvHeads && a.in == b.in;
  }
  return false;
}

/// The dimensions of a LLaMA-family decoder.
struct LlamaShape {
  std::string name;
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kvHeads = 0,
          headDim = 0, intermediate = 0, maxPositions = 0;
  double eps = 1e-5;
  float ropeTheta = 10000.0f;
};

/// LLaMA-2-7B and -70B as published (70B: grouped-query attention with 8
/// KV heads), and "tiny", a decoder of their structure for tests (grouped
/// queries, vocab 256, 2 blocks of 128 hidden).
inline bool llamaShape(const std::string &name, LlamaShape &s) {
  s = LlamaShape();
  s.name = name;
  if (name == "tiny") {
    s.vocab = 256, s.hidden = 128, s.layers = 2, s.heads = 4;
    s.kvHeads = 2, s.headDim = 32, s.intermediate = 256;
    s.maxPositions = 64;
    return true;
  }
  if (name == "llama2-7b") {
    s.vocab = 32000, s.hidden = 4096, s.layers = 32, s.heads = 32;
    s.kvHeads = 32, s.headDim = 128, s.intermediate = 11008;
    s.maxPositions = 4096;
    return true;
  }
  if (name == "llama2-70b") {
    s.vocab = 32000, s.hidden = 8192, s.layers = 80, s.heads = 64;
    s.kvHeads = 8, s.headDim = 128, s.intermediate = 28672;
    s.maxPositions = 4096;
    return true;
  }
  return false;
}

/// The format of a decoder's linear layers: one packed layout, or dense.
struct LinearFormat {
  bool dense = false;
  bool f16 = true; // dense: f16, else f32
  layout::Spec spec;
};

/// The roles of the cases llamaCases() lists, in its order.
enum LlamaRole {
  kEmbedding,
  kNorm,
  kQProj,    // [heads * dim, hidden]
  kKvProj,   // [kvHeads * dim, hidden]
  kOProj,    // [hidden, heads * dim]
  kUpProj,   // gate and up [intermediate, hidden]
  kDownProj, // [hidden, intermediate]
  kHead,     // lm_head, dense f16
  kRotaryQ,
  kRotaryK,
  kKvAppend,
  kAttention,
  kAdd,
  kSwiGLU,
  // The fused GEMVs of a CUDA plan: o and down with the residual add, and
  // the GEMVs that compute their input's RMSNorm: q, k and v, gate and up
  // with SwiGLU, the lm_head.
  kOProjAdd,
  kDownProjAdd,
  kQProjNorm,
  kKvProjNorm,
  kGateUpNormSwiGLU,
  kHeadNorm,
  kRopeAppend, // the rotaries of q and k with the KV append
  kQkvNorm,    // q, k and v of the norm in one launch
  kLlamaRoles
};

/// One case per role of a decoder of shape `s` with linear layers in `f`
/// (seeds from `seed` on; embedding and lm_head f16). Roles that share a
/// kernel (q and o of a square attention) still get a case each.
inline std::vector<Case> llamaCases(const LlamaShape &s, const LinearFormat &f,
                                    uint64_t seed) {
  std::vector<Case> cases(kLlamaRoles);
  int64_t qW = s.heads * s.headDim, kvW = s.kvHeads * s.headDim;
  auto linear = [&](Case &c, int64_t out, int64_t in) {
    c.kind = f.dense ? Kind::Dense : Kind::Gemv;
    c.f16 = f.f16;
    c.spec = f.spec;
    c.out = out;
    c.in = in;
  };
  cases[kEmbedding].kind = Kind::Embedding;
  cases[kEmbedding].out = s.vocab;
  cases[kEmbedding].in = s.hidden;
  cases[kNorm].kind = Kind::RMSNorm;
  cases[kNorm].in = s.hidden;
  cases[kNorm].eps = s.eps;
  linear(cases[kQProj], qW, s.hidden);
  linear(cases[kKvProj], kvW, s.hidden);
  linear(cases[kOProj], s.hidden, qW);
  linear(cases[kUpProj], s.intermediate, s.hidden);
  linear(cases[kDownProj], s.hidden, s.intermediate);
  cases[kHead].kind = Kind::Dense;
  cases[kHead].out = s.vocab;
  cases[kHead].in = s.hidden;
  cases[kRotaryQ].kind = cases[kRotaryK].kind = Kind::Rotary;
  cases[kRotaryQ].out = s.heads;
  cases[kRotaryK].out = s.kvHeads;
  cases[kRotaryQ].in = cases[kRotaryK].in = s.headDim;
  cases[kKvAppend].kind = Kind::KvAppend;
  cases[kKvAppend].in = kvW;
  cases[kAttention].kind = Kind::Attention;
  cases[kAttention].out = s.heads;
  cases[kAttention].kvHeads = s.kvHeads;
  cases[kAttention].in = s.headDim;
  cases[kAttention].scale = double(float(1.0 / std::sqrt(double(s.headDim))));
  cases[kAdd].kind = cases[kSwiGLU].kind = Kind::Binary;
  cases[kSwiGLU].swiglu = true;
  linear(cases[kOProjAdd], s.hidden, qW);
  linear(cases[kDownProjAdd], s.hidden, s.intermediate);
  cases[kOProjAdd].fuse = cases[kDownProjAdd].fuse = Fuse::Add;
  linear(cases[kQProjNorm], qW, s.hidden);
  linear(cases[kKvProjNorm], kvW, s.hidden);
  linear(cases[kGateUpNormSwiGLU], s.intermediate, s.hidden);
  cases[kHeadNorm].kind = Kind::Dense;
  cases[kHeadNorm].out = s.vocab;
  cases[kHeadNorm].in = s.hidden;
  for (int r : {kQProjNorm, kKvProjNorm, kHeadNorm}) {
    cases[size_t(r)].fuse = Fuse::Norm;
    cases[size_t(r)].eps = s.eps;
  }
  cases[kGateUpNormSwiGLU].fuse = Fuse::NormSwiGLU;
  cases[kGateUpNormSwiGLU].eps = s.eps;
  linear(cases[kQkvNorm], qW, s.hidden);
  cases[kQkvNorm].fuse = Fuse::NormQKV;
  cases[kQkvNorm].eps = s.eps;
  cases[kQkvNorm].kvOut = kvW;
  cases[kRopeAppend].kind = Kind::RopeAppend;
  cases[kRopeAppend].out = s.heads;
  cases[kRopeAppend].kvHeads = s.kvHeads;
  cases[kRopeAppend].in = s.headDim;
  for (Case &c : cases) {
    c.seed = seed++;
    // Check-tool inputs: a few tokens at a late position of a short cache.
    c.tokens = 2;
    if (c.kind == Kind::Attention || c.kind == Kind::KvAppend ||
        c.kind == Kind::Rotary || c.kind == Kind::RopeAppend) {
      c.pos0 = 30;
      c.maxCtx = 64;
    }
    if (c.kind == Kind::Binary)
      c.in = 2 * s.intermediate + 17;
  }
  return cases;
}

} // namespace s10::quant::gpucases

#endif // S10_QUANT_GPUCASES_H
