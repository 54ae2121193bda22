//===- GpuCheck.cpp - Run compiled CUDA kernels against the references ----===//
//
//   s10-gpu-check --cases DIR [--json FILE] [--device N] [--reps N]
//
// DIR holds what s10-cuda-cases wrote on a machine with MLIR: cases.txt and
// kernels.<chip>.cubin. For every case this tool rebuilds the weights and
// inputs from the case's seed (s10/Quant/GpuCases.h), runs the kernel of the
// cubin matching the device, and holds the output against the C++
// reference kernels of lib/Quant (packed GEMV) or plain double-precision
// loops. Bench cases are then timed with CUDA events, the weights rotated
// through copies larger than the L2 cache so that every launch streams them
// from memory, beside the device's measured copy bandwidth.
//
// Exit status: 0 when every check passes, 1 when one fails, 2 when there is
// no driver, no GPU or no usable input (nothing is written then).
//
//===----------------------------------------------------------------------===//

#include "cuda/Driver.h"

#include "s10/Quant/GpuCases.h"
#include "s10/Quant/Layout.h"
#include "s10/Quant/PackedKernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace s10rt::cuda;
namespace layout = s10::quant::layout;
namespace gc = s10::quant::gpucases;

namespace {

// The launch shapes of GpuKernelBuilder.h.
constexpr unsigned kGemvWarps = 4, kWarp = 32, kBinaryBlock = 256;
// A prefill GEMM warp's tile: 8 rows by 32 tokens (GpuKernelBuilder.h).
constexpr unsigned kGemmRows = 8, kGemmTokens = 32;

struct Fatal {
  std::string message;
};

Driver *gDriver = nullptr;

void ok(CUresult r, const char *what) {
  std::string e = gDriver->check(r, what);
  if (!e.empty())
    throw Fatal{e};
}

/// A device buffer.
struct Buffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  explicit Buffer(size_t n) : bytes(std::max<size_t>(n, 4)) {
    ok(gDriver->cuMemAlloc(&ptr, bytes), "cuMemAlloc");
  }
  Buffer(const void *host, size_t n) : Buffer(n) {
    ok(gDriver->cuMemcpyHtoD(ptr, host, n), "cuMemcpyHtoD");
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() {
    if (ptr)
      gDriver->cuMemFree(ptr);
  }
  template <typename T> std::vector<T> read(size_t count) const {
    std::vector<T> v(count);
    ok(gDriver->cuMemcpyDtoH(v.data(), ptr, count * sizeof(T)), "cuMemcpyDtoH");
    return v;
  }
};

/// Kernel arguments (ptr, ptr, ptr, i64) and its grid.
struct Launch {
  CUfunction fn = nullptr;
  unsigned gridX = 1, gridY = 1, block = 128;
  void run(CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, int64_t n) const {
    void *args[] = {&a, &b, &c, &n};
    runArgs(args);
  }
  /// Arguments as cuLaunchKernel takes them: pointers to each value.
  void runArgs(void **args) const {
    ok(gDriver->cuLaunchKernel(fn, gridX, gridY, 1, block, 1, 1, 0, nullptr,
                               args, nullptr),
       "cuLaunchKernel");
  }
};

std::string jsonEscape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\';
    if (uint8_t(c) < 0x20) {
      o += ' ';
      continue;
    }
    o += c;
  }
  return o;
}

std::string shapeOf(const gc::Case &c) {
  switch (c.kind) {
  case gc::Kind::Gemv:
  case gc::Kind::Dense:
    return std::to_string(c.out) + "x" + std::to_string(c.in) + " x" +
           std::to_string(c.tokens);
  case gc::Kind::RMSNorm:
    return std::to_string(c.tokens) + "x" + std::to_string(c.in);
  case gc::Kind::Binary:
    return std::to_string(c.in);
  case gc::Kind::Embedding:
    return std::to_string(c.tokens) + " of " + std::to_string(c.out) + "x" +
           std::to_string(c.in);
  case gc::Kind::Rotary:
  case gc::Kind::Attention:
  case gc::Kind::KvAppend:
  case gc::Kind::RopeAppend:
    return std::to_string(c.tokens) + " at " + std::to_string(c.pos0) + ", " +
           std::to_string(c.out) + "x" + std::to_string(c.in);
  }
  return "";
}

/// The inputs of a GEMV case on the device, and the reference output.
struct GemvCase {
  std::vector<uint8_t> weight; // packed bytes, or f16 / f32 values
  std::vector<float> x, ref, mag;
  std::vector<float> r;   // fuse=add: the residual
  std::vector<float> xIn; // fuse=norm*: x before the norm (x is after)
  std::vector<uint8_t> g; // fuse=norm*: the f16 norm weight
  gc::Fuse fuse = gc::Fuse::None;
  int64_t out = 0, in = 0, tokens = 1;
  // fuse=normqkv: the k and v weight (one for both) and its rows.
  std::vector<uint8_t> kvWeight;
  std::vector<float> kvRef, kvMag;
  int64_t kvOut = 0;
};

void buildGemvRows(const gc::Case &c, GemvCase &g, const std::vector<float> *x);

/// The rows of the case's weight, then its epilogue: + r, or SwiGLU with
/// the weight as both gate and up (silu(W x) * (W x)). `mag` becomes the
/// error scale of the result: |r| added, or the rows' scales carried
/// through silu(g) * u (|silu'| <= 1.1).
void buildGemv(const gc::Case &c, GemvCase &g) {
  std::vector<float> normed;
  if (gc::fusesNorm(c.fuse)) {
    // The kernel takes x and the weight g; the reference rows are of the
    // normalized x (the RMSNorm kernels' arithmetic, the root in double).
    std::vector<float> x =
        gc::randomVector(size_t(c.tokens * c.in), c.seed + 3000);
    for (float &v : x)
      v *= 7.0f;
    std::vector<float> w = gc::randomVector(size_t(c.in), c.seed + 3001);
    g.g.resize(size_t(c.in) * 2);
    for (int64_t j = 0; j < c.in; ++j) {
      uint16_t h = layout::floatToHalf(w[size_t(j)]);
      w[size_t(j)] = layout::halfToFloat(h);
      std::memcpy(g.g.data() + 2 * j, &h, 2);
    }
    normed.resize(x.size());
    for (int64_t t = 0; t < c.tokens; ++t) {
      double ss = 0;
      for (int64_t j = 0; j < c.in; ++j)
        ss += double(x[size_t(t * c.in + j)]) * x[size_t(t * c.in + j)];
      double inv = 1.0 / std::sqrt(ss / double(c.in) + c.eps);
      for (int64_t j = 0; j < c.in; ++j)
        normed[size_t(t * c.in + j)] =
            float(double(w[size_t(j)]) * x[size_t(t * c.in + j)] * inv);
    }
    g.xIn = std::move(x);
  }
  buildGemvRows(c, g, normed.empty() ? nullptr : &normed);
  g.fuse = c.fuse;
  if (c.fuse == gc::Fuse::NormQKV) {
    GemvCase kv;
    buildGemvRows(gc::qkvKvCase(c), kv, &normed);
    g.kvWeight = std::move(kv.weight);
    g.kvRef = std::move(kv.ref);
    g.kvMag = std::move(kv.mag);
    g.kvOut = c.kvOut;
  }
  if (c.fuse == gc::Fuse::Add) {
    g.r = gc::randomVector(g.ref.size(), c.seed + 2000);
    for (size_t k = 0; k < g.ref.size(); ++k) {
      g.ref[k] = float(double(g.ref[k]) + g.r[k]);
      g.mag[k] = float(double(g.mag[k]) + std::fabs(g.r[k]));
    }
  } else if (gc::fusesSwiGLU(c.fuse)) {
    for (size_t k = 0; k < g.ref.size(); ++k) {
      double v = g.ref[k], silu = v / (1.0 + std::exp(-v));
      g.ref[k] = float(silu * v);
      g.mag[k] = float((1.1 * std::fabs(v) + std::fabs(silu)) * g.mag[k] +
                       0.1 * std::fabs(silu * v));
    }
  }
}

/// The case's weight and the reference rows of x (random, or `x`).
void buildGemvRows(const gc::Case &c, GemvCase &g,
                   const std::vector<float> *x) {
  g.out = c.out;
  g.in = c.in;
  g.tokens = c.tokens;
  g.x = x ? *x : gc::randomVector(size_t(c.tokens * c.in), c.seed + 1000);
  g.ref.assign(size_t(c.tokens * c.out), 0.0f);
  g.mag.assign(size_t(c.tokens * c.out), 0.0f);
  if (c.kind == gc::Kind::Gemv) {
    layout::Spec spec;
    std::string error;
    if (!gc::packCase(c, true, spec, g.weight, error))
      throw Fatal{c.kernel + ": " + error};
    layout::PackedMatrix m;
    layout::Status st = layout::PackedMatrix::create(
        spec, c.out, c.in, g.weight.data(), g.weight.size(), true, m);
    if (st.failed())
      throw Fatal{c.kernel + ": " + st.message()};
    std::vector<float> row(size_t(c.in));
    for (int64_t t = 0; t < c.tokens; ++t) {
      const float *xt = g.x.data() + t * c.in;
      layout::GemvScratch scratch;
      m.prepare(xt, scratch);
      m.gemvRows(xt, scratch, g.ref.data() + t * c.out, 0, c.out);
    }
    for (int64_t r = 0; r < c.out; ++r) {
      m.decodeRow(r, row.data());
      for (int64_t t = 0; t < c.tokens; ++t) {
        double s = 0;
        for (int64_t j = 0; j < c.in; ++j)
          s += std::fabs(double(row[size_t(j)]) * g.x[size_t(t * c.in + j)]);
        g.mag[size_t(t * c.out + r)] = float(s);
      }
    }
    return;
  }
  // Dense: values in [-1, 1], stored as the kernel reads them.
  std::vector<float> w = gc::randomVector(size_t(c.out * c.in), c.seed);
  size_t elem = c.f16 ? 2 : 4;
  g.weight.resize(w.size() * elem);
  for (size_t k = 0; k < w.size(); ++k) {
    if (c.f16) {
      uint16_t h = layout::floatToHalf(w[k]);
      w[k] = layout::halfToFloat(h);
      std::memcpy(g.weight.data() + 2 * k, &h, 2);
    } else {
      std::memcpy(g.weight.data() + 4 * k, &w[k], 4);
    }
  }
  for (int64_t t = 0; t < c.tokens; ++t)
    for (int64_t r = 0; r < c.out; ++r) {
      double s = 0, a = 0;
      for (int64_t j = 0; j < c.in; ++j) {
        double p = double(w[size_t(r * c.in + j)]) * g.x[size_t(t * c.in + j)];
        s += p;
        a += std::fabs(p);
      }
      g.ref[size_t(t * c.out + r)] = float(s);
      g.mag[size_t(t * c.out + r)] = float(a);
    }
}

struct Result {
  bool pass = true;
  double maxErr = 0; // largest |got - want| / scale
  int64_t checked = 0, wrong = 0;
  std::string detail;
};

/// |got - want| <= tol * scale for every element.
void compare(const std::vector<float> &got, const std::vector<float> &want,
             const std::vector<float> &scale, double tol, Result &r) {
  for (size_t k = 0; k < want.size(); ++k) {
    double s = std::max(double(scale[k]), 1e-30);
    double e = std::fabs(double(got[k]) - double(want[k])) / s;
    if (!(e <= tol)) { // NaN fails too
      if (r.wrong == 0) {
        char buf[160];
        std::snprintf(buf, sizeof(buf), "element %zu: got %.9g, want %.9g", k,
                      double(got[k]), double(want[k]));
        r.detail = buf;
      }
      ++r.wrong;
      r.pass = false;
    }
    if (std::isfinite(e))
      r.maxErr = std::max(r.maxErr, e);
    ++r.checked;
  }
}

Result checkGemv(const gc::Case &c, const GemvCase &g, const Launch &l) {
  Buffer w(g.weight.data(), g.weight.size());
  Buffer x(g.x.data(), g.x.size() * 4);
  std::vector<float> init(g.ref.size() + 1, 12345.0f);
  Buffer y(init.data(), init.size() * 4);
  int64_t tokens = g.tokens;
  Result r;
  // The rows in `b` (a sentinel after them) against `want`.
  auto expectRows = [&](const Buffer &b, const std::vector<float> &want,
                        const std::vector<float> &mag, const char *what) {
    std::vector<float> got = b.read<float>(want.size() + 1);
    if (got.back() != 12345.0f) {
      r.pass = false;
      r.detail = std::string("wrote past the end of ") + what;
    }
    got.pop_back();
    // The GEMM rounds the weight's values and x to f16: each product is
    // off by at most 2^-10 of its magnitude.
    double tol = g.fuse == gc::Fuse::Gemm ? 0x1p-10 + 1e-5 : 1e-5;
    compare(got, want, mag, tol, r);
  };
  switch (g.fuse) {
  case gc::Fuse::Add: {
    Buffer r(g.r.data(), g.r.size() * 4);
    void *args[] = {&w.ptr, &x.ptr, &r.ptr, &y.ptr, &tokens};
    l.runArgs(args);
    ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
    break;
  }
  case gc::Fuse::SwiGLU: {
    void *args[] = {&w.ptr, &w.ptr, &x.ptr, &y.ptr, &tokens};
    l.runArgs(args);
    break;
  }
  case gc::Fuse::NormQKV: {
    // q's rows into y, k's and v's (one weight for both) into yk and yv.
    Buffer xIn(g.xIn.data(), g.xIn.size() * 4), gw(g.g.data(), g.g.size());
    Buffer wk(g.kvWeight.data(), g.kvWeight.size());
    std::vector<float> kvInit(g.kvRef.size() + 1, 12345.0f);
    Buffer yk(kvInit.data(), kvInit.size() * 4),
        yv(kvInit.data(), kvInit.size() * 4);
    void *args[] = {&w.ptr, &wk.ptr, &wk.ptr, &gw.ptr, &xIn.ptr,
                    &y.ptr, &yk.ptr, &yv.ptr, &tokens};
    l.runArgs(args);
    ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
    expectRows(yk, g.kvRef, g.kvMag, "yk");
    expectRows(yv, g.kvRef, g.kvMag, "yv");
    break;
  }
  case gc::Fuse::Norm:
  case gc::Fuse::NormSwiGLU: {
    // The kernel normalizes x itself: it gets x before the norm.
    Buffer xIn(g.xIn.data(), g.xIn.size() * 4), gw(g.g.data(), g.g.size());
    if (g.fuse == gc::Fuse::Norm) {
      void *args[] = {&w.ptr, &gw.ptr, &xIn.ptr, &y.ptr, &tokens};
      l.runArgs(args);
    } else {
      void *args[] = {&w.ptr, &w.ptr, &gw.ptr, &xIn.ptr, &y.ptr, &tokens};
      l.runArgs(args);
    }
    ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
    break;
  }
  case gc::Fuse::Gemm:
  case gc::Fuse::None:
    l.run(w.ptr, x.ptr, y.ptr, g.tokens);
    break;
  }
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  expectRows(y, g.ref, g.mag, "y");
  return r;
}

Result checkRMSNorm(const gc::Case &c, const Launch &l) {
  int64_t width = c.in, rows = c.tokens;
  std::vector<float> x = gc::randomVector(size_t(rows * width), c.seed);
  std::vector<float> g = gc::randomVector(size_t(width), c.seed + 1);
  std::vector<uint8_t> wb(size_t(width) * (c.f16 ? 2 : 4));
  for (int64_t j = 0; j < width; ++j) {
    if (c.f16) {
      uint16_t h = layout::floatToHalf(g[size_t(j)]);
      g[size_t(j)] = layout::halfToFloat(h);
      std::memcpy(wb.data() + 2 * j, &h, 2);
    } else {
      std::memcpy(wb.data() + 4 * j, &g[size_t(j)], 4);
    }
  }
  std::vector<float> want(x.size()), scale(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < width; ++j)
      ss += double(x[size_t(r * width + j)]) * x[size_t(r * width + j)];
    double inv = 1.0 / std::sqrt(ss / double(width) + c.eps);
    for (int64_t j = 0; j < width; ++j) {
      size_t k = size_t(r * width + j);
      want[k] = float(double(g[size_t(j)]) * x[k] * inv);
      scale[k] = std::fabs(want[k]) + 1e-6f;
    }
  }
  Buffer xb(x.data(), x.size() * 4), wbuf(wb.data(), wb.size()),
      yb(x.size() * 4);
  l.run(xb.ptr, wbuf.ptr, yb.ptr, rows);
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  Result r;
  compare(yb.read<float>(x.size()), want, scale, 1e-5, r);
  return r;
}

Result checkBinary(const gc::Case &c, const Launch &l) {
  int64_t n = c.in;
  std::vector<float> a = gc::randomVector(size_t(n), c.seed),
                     b = gc::randomVector(size_t(n), c.seed + 1);
  for (float &v : a)
    v *= 8.0f; // SwiGLU over a useful range of the exponential
  std::vector<float> want(static_cast<size_t>(n)),
      scale(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double w = c.swiglu
                   ? a[size_t(i)] / (1.0 + std::exp(-double(a[size_t(i)]))) *
                         b[size_t(i)]
                   : double(a[size_t(i)]) + b[size_t(i)];
    want[size_t(i)] = float(w);
    scale[size_t(i)] = float(std::fabs(w) + 0.1);
  }
  std::vector<float> init(size_t(n) + 1, 12345.0f);
  Buffer ab(a.data(), a.size() * 4), bb(b.data(), b.size() * 4),
      yb(init.data(), init.size() * 4);
  l.run(ab.ptr, bb.ptr, yb.ptr, n);
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  std::vector<float> got = yb.read<float>(init.size());
  Result r;
  if (got.back() != 12345.0f) {
    r.pass = false;
    r.detail = "wrote past the end of y";
  }
  got.pop_back();
  compare(got, want, scale, 1e-6, r);
  return r;
}

Result checkEmbedding(const gc::Case &c, const Launch &l) {
  std::vector<float> table = gc::randomVector(size_t(c.out * c.in), c.seed);
  size_t elem = c.f16 ? 2 : 4;
  std::vector<uint8_t> bytes(table.size() * elem);
  for (size_t k = 0; k < table.size(); ++k) {
    if (c.f16) {
      uint16_t h = layout::floatToHalf(table[k]);
      table[k] = layout::halfToFloat(h);
      std::memcpy(bytes.data() + 2 * k, &h, 2);
    } else {
      std::memcpy(bytes.data() + 4 * k, &table[k], 4);
    }
  }
  gc::Rng rng(c.seed + 1);
  std::vector<int32_t> ids(static_cast<size_t>(c.tokens));
  for (int32_t &id : ids)
    id = int32_t(rng.below(uint64_t(c.out)));
  ids.back() = int32_t(c.out - 1); // the last row too
  std::vector<float> want, scale;
  for (int32_t id : ids)
    for (int64_t j = 0; j < c.in; ++j) {
      want.push_back(table[size_t(int64_t(id) * c.in + j)]);
      scale.push_back(1.0f);
    }
  Buffer tb(bytes.data(), bytes.size()), ib(ids.data(), ids.size() * 4),
      yb(want.size() * 4);
  l.run(tb.ptr, ib.ptr, yb.ptr, c.tokens);
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  Result r;
  compare(yb.read<float>(want.size()), want, scale, 0.0, r);
  return r;
}

Result checkRotary(const gc::Case &c, const Launch &l) {
  int64_t heads = c.out, dim = c.in, half = dim / 2;
  std::vector<float> cs = gc::rotaryTable(dim, c.pos0 + c.tokens);
  std::vector<float> x =
      gc::randomVector(size_t(c.tokens * heads * dim), c.seed);
  std::vector<float> want(x.size()), scale(x.size());
  for (int64_t t = 0; t < c.tokens; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        int64_t p = c.pos0 + t, at = (t * heads + h) * dim + i;
        float co = cs[size_t((p * half + i) * 2)];
        float si = cs[size_t((p * half + i) * 2 + 1)];
        float x1 = x[size_t(at)], x2 = x[size_t(at + half)];
        want[size_t(at)] = x1 * co - x2 * si;
        want[size_t(at + half)] = x2 * co + x1 * si;
        scale[size_t(at)] = scale[size_t(at + half)] =
            std::fabs(x1) + std::fabs(x2);
      }
  int64_t tokens = c.tokens, pos0 = c.pos0;
  Buffer xb(x.data(), x.size() * 4), cb(cs.data(), cs.size() * 4),
      yb(x.size() * 4), pb(&pos0, 8);
  CUdeviceptr xp = xb.ptr, cp = cb.ptr, yp = yb.ptr, pp = pb.ptr;
  void *args[] = {&xp, &cp, &yp, &tokens, &pp};
  l.runArgs(args);
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  Result r;
  compare(yb.read<float>(x.size()), want, scale, 1e-6, r);
  return r;
}

Result checkAttention(const gc::Case &c, const Launch &l) {
  int64_t heads = c.out, kvH = c.kvHeads, dim = c.in;
  int64_t qW = heads * dim, kvW = kvH * dim;
  std::vector<float> q = gc::randomVector(size_t(c.tokens * qW), c.seed);
  std::vector<float> kv =
      gc::randomVector(size_t(2 * c.maxCtx * kvW), c.seed + 1);
  std::vector<float> want, scale;
  gc::attentionReference(q.data(), kv.data(), c.tokens, heads, kvH, dim, c.pos0,
                         c.maxCtx, c.scale, want, scale);
  // The output overwrites q, as the plan allows.
  int64_t tokens = c.tokens, pos0 = c.pos0, ctx = c.maxCtx;
  Buffer qb(q.data(), q.size() * 4), kb(kv.data(), kv.size() * 4),
      sb(size_t(c.tokens * heads * c.maxCtx) * 4), pb(&pos0, 8);
  CUdeviceptr qp = qb.ptr, kp = kb.ptr, sp = sb.ptr, pp = pb.ptr;
  void *args[] = {&qp, &kp, &qp, &sp, &tokens, &pp, &ctx};
  l.runArgs(args);
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  Result r;
  compare(qb.read<float>(q.size()), want, scale, 1e-5, r);
  return r;
}

/// Rotary of q (in place) and k (into the key cache) with the KV append:
/// the rotary kernels' arithmetic, so exact; v copied exactly.
Result checkRopeAppend(const gc::Case &c, const Launch &l) {
  int64_t heads = c.out, kvh = c.kvHeads, dim = c.in, half = dim / 2;
  int64_t kvW = kvh * dim, tokens = c.tokens, pos0 = c.pos0, ctx = c.maxCtx;
  std::vector<float> cs = gc::rotaryTable(dim, ctx);
  std::vector<float> q = gc::randomVector(size_t(tokens * heads * dim), c.seed),
                     k = gc::randomVector(size_t(tokens * kvW), c.seed + 1),
                     v = gc::randomVector(size_t(tokens * kvW), c.seed + 2),
                     kv = gc::randomVector(size_t(2 * ctx * kvW), c.seed + 3);
  std::vector<float> wantQ = q, wantKv = kv;
  auto rotate = [&](const std::vector<float> &x, int64_t hs, float *out,
                    int64_t outStride) {
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t h = 0; h < hs; ++h)
        for (int64_t i = 0; i < half; ++i) {
          int64_t p = pos0 + t, at = (t * hs + h) * dim + i;
          float co = cs[size_t((p * half + i) * 2)];
          float si = cs[size_t((p * half + i) * 2 + 1)];
          float x1 = x[size_t(at)], x2 = x[size_t(at + half)];
          float *o = out + t * outStride + h * dim + i;
          o[0] = x1 * co - x2 * si;
          o[half] = x2 * co + x1 * si;
        }
  };
  rotate(q, heads, wantQ.data(), heads * dim);
  rotate(k, kvh, wantKv.data() + pos0 * kvW, kvW);
  for (int64_t e = 0; e < tokens * kvW; ++e)
    wantKv[size_t((ctx + pos0) * kvW + e)] = v[size_t(e)];
  Buffer qb(q.data(), q.size() * 4), kb(k.data(), k.size() * 4),
      vb(v.data(), v.size() * 4), sb(cs.data(), cs.size() * 4),
      cb(kv.data(), kv.size() * 4), pb(&pos0, 8);
  CUdeviceptr qp = qb.ptr, kp = kb.ptr, vp = vb.ptr, sp = sb.ptr, cp = cb.ptr,
              pp = pb.ptr;
  void *args[] = {&qp, &kp, &vp, &sp, &cp, &tokens, &pp, &ctx};
  l.runArgs(args);
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  Result r;
  std::vector<float> ones(std::max(q.size(), kv.size()), 1.0f);
  compare(qb.read<float>(q.size()), wantQ,
          std::vector<float>(ones.begin(), ones.begin() + q.size()), 0.0, r);
  compare(cb.read<float>(kv.size()), wantKv,
          std::vector<float>(ones.begin(), ones.begin() + kv.size()), 0.0, r);
  return r;
}

Result checkKvAppend(const gc::Case &c, const Launch &l) {
  int64_t n = c.tokens * c.in, tokens = c.tokens, pos0 = c.pos0, ctx = c.maxCtx;
  std::vector<float> k = gc::randomVector(size_t(n), c.seed),
                     v = gc::randomVector(size_t(n), c.seed + 1),
                     kv = gc::randomVector(size_t(2 * ctx * c.in), c.seed + 2);
  std::vector<float> want = kv, scale(kv.size(), 1.0f);
  for (int64_t e = 0; e < n; ++e) {
    want[size_t(pos0 * c.in + e)] = k[size_t(e)];
    want[size_t((ctx + pos0) * c.in + e)] = v[size_t(e)];
  }
  Buffer kb(k.data(), k.size() * 4), vb(v.data(), v.size() * 4),
      cb(kv.data(), kv.size() * 4), pb(&pos0, 8);
  CUdeviceptr kp = kb.ptr, vp = vb.ptr, cp = cb.ptr, pp = pb.ptr;
  void *args[] = {&kp, &vp, &cp, &tokens, &pp, &ctx};
  l.runArgs(args);
  ok(gDriver->cuCtxSynchronize(), c.kernel.c_str());
  Result r;
  compare(cb.read<float>(kv.size()), want, scale, 0.0, r);
  return r;
}

/// Milliseconds between two events around `body`.
template <typename F> double timeMs(F body) {
  CUevent a, b;
  ok(gDriver->cuEventCreate(&a, 0), "cuEventCreate");
  ok(gDriver->cuEventCreate(&b, 0), "cuEventCreate");
  ok(gDriver->cuEventRecord(a, nullptr), "cuEventRecord");
  body();
  ok(gDriver->cuEventRecord(b, nullptr), "cuEventRecord");
  ok(gDriver->cuEventSynchronize(b), "cuEventSynchronize");
  float ms = 0;
  ok(gDriver->cuEventElapsedTime(&ms, a, b), "cuEventElapsedTime");
  gDriver->cuEventDestroy(a);
  gDriver->cuEventDestroy(b);
  return double(ms);
}

/// Device-to-device copy bandwidth (bytes read plus written per second),
/// the best of several 1 GiB copies.
double copyBandwidth() {
  size_t bytes = size_t(1) << 30;
  if (gDriver->memoryBytes > 0)
    bytes = std::min<size_t>(bytes, size_t(gDriver->memoryBytes) / 8);
  Buffer a(bytes), b(bytes);
  ok(gDriver->cuMemsetD8(a.ptr, 1, bytes), "cuMemsetD8");
  double best = 1e30;
  for (int i = 0; i < 6; ++i)
    best = std::min(best, timeMs([&] {
                      ok(gDriver->cuMemcpyDtoD(b.ptr, a.ptr, bytes),
                         "cuMemcpyDtoD");
                    }));
  return 2.0 * double(bytes) / (best * 1e-3);
}

struct Timing {
  double us = 0, launchUs = 0, gbps = 0;
  int64_t bytes = 0, copies = 0;
};

/// Mean time of `reps` launches, each on the next of enough weight copies
/// to exceed the L2 cache four times; and the median wall time of one
/// launch followed by a synchronization.
Timing bench(const GemvCase &g, const Launch &l, int reps) {
  Timing t;
  size_t wBytes = g.weight.size();
  size_t want = size_t(std::max<int64_t>(4 * gDriver->l2Bytes, 256 << 20));
  t.copies = int64_t(std::max<size_t>(2, (want + wBytes - 1) / wBytes));
  std::vector<std::unique_ptr<Buffer>> ws;
  ws.push_back(std::make_unique<Buffer>(g.weight.data(), wBytes));
  for (int64_t k = 1; k < t.copies; ++k) {
    ws.push_back(std::make_unique<Buffer>(wBytes));
    ok(gDriver->cuMemcpyDtoD(ws.back()->ptr, ws[0]->ptr, wBytes),
       "cuMemcpyDtoD");
  }
  // A GEMM takes all the case's tokens; a GEMV one.
  int64_t tokens = g.fuse == gc::Fuse::Gemm ? g.tokens : 1;
  Buffer x(g.x.data(), size_t(tokens * g.in) * 4),
      y(size_t(tokens * g.out) * 4), r(size_t(g.out) * 4), gw(size_t(g.in) * 2);
  ok(gDriver->cuMemsetD8(r.ptr, 0, size_t(g.out) * 4), "cuMemsetD8");
  if (!g.g.empty())
    ok(gDriver->cuMemcpyHtoD(gw.ptr, g.g.data(), size_t(g.in) * 2),
       "cuMemcpyHtoD");
  // Launch i reads copy i (and, for SwiGLU, copy i + 1 as the up weight:
  // two weights' bytes per launch, as in a decoder).
  auto run = [&](int i) {
    CUdeviceptr w = ws[size_t(i) % ws.size()]->ptr;
    CUdeviceptr w2 = ws[size_t(i + 1) % ws.size()]->ptr;
    int64_t one = 1;
    switch (g.fuse) {
    case gc::Fuse::Add: {
      void *args[] = {&w, &x.ptr, &r.ptr, &y.ptr, &one};
      l.runArgs(args);
      break;
    }
    case gc::Fuse::SwiGLU: {
      void *args[] = {&w, &w2, &x.ptr, &y.ptr, &one};
      l.runArgs(args);
      break;
    }
    case gc::Fuse::Norm: {
      void *args[] = {&w, &gw.ptr, &x.ptr, &y.ptr, &one};
      l.runArgs(args);
      break;
    }
    case gc::Fuse::NormSwiGLU: {
      void *args[] = {&w, &w2, &gw.ptr, &x.ptr, &y.ptr, &one};
      l.runArgs(args);
      break;
    }
    case gc::Fuse::NormQKV:
      throw Fatal{"fuse=normqkv cases are checked, not timed"};
    case gc::Fuse::Gemm:
    case gc::Fuse::None:
      l.run(w, x.ptr, y.ptr, tokens);
      break;
    }
  };
  for (int i = 0; i < 20; ++i)
    run(i);
  ok(gDriver->cuCtxSynchronize(), "warm-up");
  double ms = timeMs([&] {
    for (int i = 0; i < reps; ++i)
      run(i);
  });
  t.us = ms * 1e3 / reps;
  int64_t weights = gc::fusesSwiGLU(g.fuse) ? 2 : 1;
  t.bytes = weights * int64_t(wBytes) + 4 * tokens * (g.in + g.out) +
            (g.fuse == gc::Fuse::Add ? 4 * g.out : 0) +
            (gc::fusesNorm(g.fuse) ? 2 * g.in : 0);
  t.gbps = double(t.bytes) / (t.us * 1e-6) / 1e9;
  std::vector<double> walls;
  for (int i = 0; i < 51; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    run(i);
    ok(gDriver->cuCtxSynchronize(), "launch");
    walls.push_back(std::chrono::duration<double, std::micro>(
                        std::chrono::steady_clock::now() - t0)
                        .count());
  }
  std::sort(walls.begin(), walls.end());
  t.launchUs = walls[walls.size() / 2];
  return t;
}

int usage() {
  std::fprintf(stderr,
               "usage: s10-gpu-check --cases DIR [--json FILE] [--device N] "
               "[--reps N] [--driver LIB]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::string dir, jsonPath, library;
  int device = 0, reps = 200;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    const char *v = nullptr;
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    }
    if ((a == "--cases" || a == "--json" || a == "--device" || a == "--reps" ||
         a == "--driver") &&
        !(v = value()))
      return usage();
    if (a == "--cases")
      dir = v;
    else if (a == "--json")
      jsonPath = v;
    else if (a == "--device")
      device = std::atoi(v);
    else if (a == "--reps")
      reps = std::max(1, std::atoi(v));
    else if (a == "--driver")
      library = v;
    else
      return usage();
  }
  if (dir.empty())
    return usage();

  Driver driver;
  gDriver = &driver;
  std::string error;
  if (!driver.open(device, error,
                   library.empty() ? nullptr : library.c_str())) {
    std::fprintf(stderr, "s10-gpu-check: error: %s\n", error.c_str());
    return 2;
  }
  std::string chip =
      "sm_" + std::to_string(driver.ccMajor) + std::to_string(driver.ccMinor);
  std::fprintf(stderr,
               "s10-gpu-check: %s (%s, %d SMs, %.1f GiB, L2 %lld "
               "KiB, driver %d)\n",
               driver.name.c_str(), chip.c_str(), driver.sms,
               double(driver.memoryBytes) / double(1 << 30),
               (long long)(driver.l2Bytes / 1024), driver.driverVersion);

  std::ifstream in(dir + "/cases.txt");
  if (!in) {
    std::fprintf(stderr, "s10-gpu-check: error: cannot read %s/cases.txt\n",
                 dir.c_str());
    return 2;
  }
  std::vector<gc::Case> cases;
  int lineNo = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineNo;
    if (line.empty() || line[0] == '#')
      continue;
    gc::Case c;
    if (!gc::parseCase(line, c, error)) {
      std::fprintf(stderr, "s10-gpu-check: error: %s/cases.txt:%d: %s\n",
                   dir.c_str(), lineNo, error.c_str());
      return 2;
    }
    cases.push_back(c);
  }
  std::string cubinPath = dir + "/kernels." + chip + ".cubin";
  std::ifstream cf(cubinPath, std::ios::binary);
  if (!cf) {
    std::fprintf(stderr,
                 "s10-gpu-check: error: no %s: the cases were not compiled "
                 "for this device's chip\n",
                 cubinPath.c_str());
    return 2;
  }
  std::string cubin((std::istreambuf_iterator<char>(cf)),
                    std::istreambuf_iterator<char>());

  std::ostringstream checks, benches;
  int failedChecks = 0, nChecks = 0;
  double copyGbps = 0;
  try {
    CUmodule module = nullptr;
    ok(driver.cuModuleLoadData(&module, cubin.data()), "cuModuleLoadData");
    copyGbps = copyBandwidth();
    std::fprintf(stderr, "device copy bandwidth: %.1f GB/s\n", copyGbps / 1e9);
    std::fprintf(stderr, "%-58s %-16s %-6s %s\n", "kernel", "shape", "check",
                 "max error / tolerance scale");
    for (const gc::Case &c : cases) {
      Launch l;
      ok(driver.cuModuleGetFunction(&l.fn, module, c.kernel.c_str()),
         c.kernel.c_str());
      Result r;
      GemvCase g;
      if (c.fuse == gc::Fuse::Gemm) {
        buildGemv(c, g);
        l.gridX = unsigned((c.out + kGemmRows * kGemvWarps - 1) /
                           (kGemmRows * kGemvWarps));
        l.gridY = unsigned((c.tokens + kGemmTokens - 1) / kGemmTokens);
        l.block = kGemvWarps * kWarp;
        r = checkGemv(c, g, l);
      } else if (c.kind == gc::Kind::Gemv || c.kind == gc::Kind::Dense) {
        buildGemv(c, g);
        // q, k and v: the grid's rows are all three weights'.
        int64_t rows = c.out + (c.fuse == gc::Fuse::NormQKV ? 2 * c.kvOut : 0);
        l.gridX = unsigned((rows + kGemvWarps - 1) / kGemvWarps);
        l.gridY = unsigned(c.tokens);
        l.block = kGemvWarps * kWarp;
        r = checkGemv(c, g, l);
      } else if (c.kind == gc::Kind::RMSNorm) {
        l.gridX = unsigned((c.tokens + kGemvWarps - 1) / kGemvWarps);
        l.block = kGemvWarps * kWarp;
        r = checkRMSNorm(c, l);
      } else if (c.kind == gc::Kind::Binary) {
        l.gridX = unsigned((c.in + kBinaryBlock - 1) / kBinaryBlock);
        l.block = kBinaryBlock;
        r = checkBinary(c, l);
      } else if (c.kind == gc::Kind::Embedding) {
        l.gridX = unsigned(c.tokens);
        l.block = kBinaryBlock;
        r = checkEmbedding(c, l);
      } else if (c.kind == gc::Kind::Rotary) {
        int64_t pairs = c.tokens * c.out * (c.in / 2);
        l.gridX = unsigned((pairs + kBinaryBlock - 1) / kBinaryBlock);
        l.block = kBinaryBlock;
        r = checkRotary(c, l);
      } else if (c.kind == gc::Kind::RopeAppend) {
        int64_t half = c.in / 2;
        int64_t units =
            c.tokens * (c.out * half + c.kvHeads * half + c.kvHeads * c.in);
        l.gridX = unsigned((units + kBinaryBlock - 1) / kBinaryBlock);
        l.block = kBinaryBlock;
        r = checkRopeAppend(c, l);
      } else if (c.kind == gc::Kind::KvAppend) {
        l.gridX = unsigned((c.tokens * c.in + kBinaryBlock - 1) / kBinaryBlock);
        l.block = kBinaryBlock;
        r = checkKvAppend(c, l);
      } else {
        l.gridX = unsigned((c.out + kGemvWarps - 1) / kGemvWarps);
        l.gridY = unsigned(c.tokens);
        l.block = kGemvWarps * kWarp;
        r = checkAttention(c, l);
      }
      ++nChecks;
      failedChecks += !r.pass;
      std::fprintf(stderr, "%-58s %-16s %-6s %.3g%s%s\n", c.kernel.c_str(),
                   shapeOf(c).c_str(), r.pass ? "pass" : "FAIL", r.maxErr,
                   r.detail.empty() ? "" : "  ", r.detail.c_str());
      checks << (nChecks > 1 ? ",\n" : "") << "    {\"kernel\": \""
             << jsonEscape(c.kernel) << "\", \"case\": \""
             << gc::kindWord(c.kind) << "\", \"shape\": \"" << shapeOf(c)
             << "\", \"pass\": " << (r.pass ? "true" : "false")
             << ", \"max_error\": " << r.maxErr
             << ", \"elements\": " << r.checked << ", \"wrong\": " << r.wrong
             << "}";
      if (!c.bench || !r.pass)
        continue;
      Timing t = bench(g, l, reps);
      int64_t benchTokens = c.fuse == gc::Fuse::Gemm ? c.tokens : 1;
      std::fprintf(stderr,
                   "  bench: %.2f us/launch of %lld tokens (one launch + sync: "
                   "%.2f us), %.1f GB/s = %.1f %% of copy bandwidth, %lld "
                   "bytes, %lld weight copies\n",
                   t.us, (long long)benchTokens, t.launchUs, t.gbps,
                   100.0 * t.gbps * 1e9 / copyGbps, (long long)t.bytes,
                   (long long)t.copies);
      benches << (benches.tellp() > 0 ? ",\n" : "") << "    {\"kernel\": \""
              << jsonEscape(c.kernel) << "\", \"case\": \""
              << gc::kindWord(c.kind) << "\", \"fuse\": \""
              << gc::fuseWord(c.fuse) << "\", \"out\": " << c.out
              << ", \"in\": " << c.in << ", \"tokens\": " << benchTokens
              << ", \"bytes\": " << t.bytes << ", \"us\": " << t.us
              << ", \"launch_sync_us\": " << t.launchUs
              << ", \"gbps\": " << t.gbps
              << ", \"copy_fraction\": " << t.gbps * 1e9 / copyGbps
              << ", \"weight_copies\": " << t.copies << "}";
    }
    driver.cuModuleUnload(module);
  } catch (const Fatal &f) {
    std::fprintf(stderr, "s10-gpu-check: error: %s\n", f.message.c_str());
    return 2;
  }
  std::fprintf(stderr, "s10-gpu-check: %d of %d kernel checks passed\n",
               nChecks - failedChecks, nChecks);
  if (!jsonPath.empty()) {
    std::ofstream os(jsonPath);
    os << "{\n  \"device\": \"" << jsonEscape(driver.name)
       << "\",\n  \"chip\": \"" << chip
       << "\",\n  \"driver_version\": " << driver.driverVersion
       << ",\n  \"copy_gbps\": " << copyGbps / 1e9
       << ",\n  \"checks_passed\": " << nChecks - failedChecks
       << ",\n  \"checks\": " << nChecks << ",\n  \"kernel_checks\": [\n"
       << checks.str() << "\n  ],\n  \"gemv_bench\": [\n"
       << benches.str() << "\n  ]\n}\n";
    if (!os) {
      std::fprintf(stderr, "s10-gpu-check: error: cannot write %s\n",
                   jsonPath.c_str());
      return 2;
    }
  }
  return failedChecks ? 1 : 0;
}
