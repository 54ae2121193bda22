//===- Synth.cpp - LLaMA-shaped artifacts with seeded weights -------------===//

#include "Synth.h"

#include "s10rt/Format.h"
#include "s10rt/PackedSpec.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>

namespace s10rt::synth {

namespace fmt = s10rt::format;
namespace layout = s10::quant::layout;

namespace {

[[noreturn]] void fail(const std::string &msg) {
  throw std::runtime_error(msg);
}

uint64_t alignTo(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

template <typename T> void append(std::string &s, const T &v) {
  s.append(reinterpret_cast<const char *>(&v), sizeof(T));
}

/// f16 values k / 1000 * scale for k uniform in [lo, hi].
std::vector<uint8_t> halfTensor(size_t n, int lo, int hi, float scale,
                                uint64_t seed) {
  gc::Rng rng(seed);
  std::vector<uint8_t> bytes(n * 2);
  for (size_t k = 0; k < n; ++k) {
    uint16_t h = layout::floatToHalf(rng.milli(lo, hi) * scale);
    std::memcpy(&bytes[k * 2], &h, 2);
  }
  return bytes;
}

/// The bytes of a linear layer's weight from case `c` (its seed).
std::vector<uint8_t> linearBytes(const gc::Case &c, layout::Spec &spec) {
  if (c.kind == gc::Kind::Dense) {
    float scale = 1.0f / std::sqrt(float(c.in));
    if (c.f16)
      return halfTensor(size_t(c.out * c.in), -1000, 1000, scale, c.seed);
    gc::Rng rng(c.seed);
    std::vector<uint8_t> bytes(size_t(c.out * c.in) * 4);
    for (size_t k = 0; k < bytes.size() / 4; ++k) {
      float v = rng.unit() * scale;
      std::memcpy(&bytes[k * 4], &v, 4);
    }
    return bytes;
  }
  std::vector<uint8_t> bytes;
  std::string error;
  // A manifest case (named kernel) fixes the salient count.
  if (!gc::packCase(c, !c.kernel.empty(), spec, bytes, error))
    fail(error);
  return bytes;
}

} // namespace

Summary write(const Options &o, const std::string &path) {
  const gc::LlamaShape &s = o.shape;
  if (s.vocab <= 0 || s.hidden <= 0 || s.layers <= 0 || s.heads <= 0 ||
      s.kvHeads <= 0 || s.headDim <= 0 || s.headDim % 2 ||
      s.intermediate <= 0 || s.heads % s.kvHeads || s.maxPositions <= 0)
    fail("shape '" + s.name + "' is not a valid LLaMA decoder");
  auto say = [&](const std::string &line) {
    if (o.progress)
      o.progress(line);
  };

  // The case of every role: the first of the manifest (a cuda artifact's)
  // or of the roles themselves that runs the same kernel, so that roles of
  // one shape (q and o of square attention) share a seed in both targets.
  std::vector<gc::Case> roles = gc::llamaCases(s, o.linear, o.seed);
  const std::vector<gc::Case> source = o.cuda ? o.manifest : roles;
  std::vector<std::string> kernelNames;
  std::vector<uint32_t> kernelAbi;
  std::vector<uint32_t> roleKernel(roles.size(), fmt::kNone);
  static const uint32_t abiOf[] = {
      uint32_t(fmt::KernelAbi::GpuGemv),       // Gemv
      uint32_t(fmt::KernelAbi::GpuGemv),       // Dense
      uint32_t(fmt::KernelAbi::GpuRMSNorm),    // RMSNorm
      uint32_t(fmt::KernelAbi::GpuBinary),     // Binary
      uint32_t(fmt::KernelAbi::GpuEmbedding),  // Embedding
      uint32_t(fmt::KernelAbi::GpuRotary),     // Rotary
      uint32_t(fmt::KernelAbi::GpuAttention),  // Attention
      uint32_t(fmt::KernelAbi::GpuKvAppend),   // KvAppend
      uint32_t(fmt::KernelAbi::GpuRopeAppend), // RopeAppend
  };
  auto abiOfCase = [](const gc::Case &c) {
    switch (c.fuse) {
    case gc::Fuse::Add:
      return uint32_t(fmt::KernelAbi::GpuGemvAdd);
    case gc::Fuse::SwiGLU:
      return uint32_t(fmt::KernelAbi::GpuGemvSwiGLU);
    case gc::Fuse::Norm:
      return uint32_t(fmt::KernelAbi::GpuNormGemv);
    case gc::Fuse::NormSwiGLU:
      return uint32_t(fmt::KernelAbi::GpuNormGemvSwiGLU);
    case gc::Fuse::NormQKV:
      return uint32_t(fmt::KernelAbi::GpuNormGemvQkv);
    case gc::Fuse::Gemm: // a prefill GEMM is no role's kernel
      return uint32_t(fmt::kNone);
    case gc::Fuse::None:
      break;
    }
    return abiOf[size_t(c.kind)];
  };
  // The roles of the linears: fused or plain (a CPU plan runs the fused
  // roles' weights unfused). Fused, q, k and v are one launch: k's and v's
  // weight is the q role's second (kKvOfQkv, after the roles).
  const bool fuse = o.fuse, fusedPlan = o.fuse && o.cuda;
  const int kKvOfQkv = gc::kLlamaRoles;
  const int qRole = fuse ? gc::kQkvNorm : gc::kQProj,
            kvRole = fuse ? kKvOfQkv : gc::kKvProj,
            oRole = fuse ? gc::kOProjAdd : gc::kOProj,
            upRole = fuse ? gc::kGateUpNormSwiGLU : gc::kUpProj,
            downRole = fuse ? gc::kDownProjAdd : gc::kDownProj,
            headRole = fuse ? gc::kHeadNorm : gc::kHead;
  auto used = [&](size_t r) {
    bool fusedRole = r >= gc::kOProjAdd;
    bool plainOnly = r == gc::kQProj || r == gc::kKvProj || r == gc::kOProj ||
                     r == gc::kUpProj || r == gc::kDownProj || r == gc::kHead ||
                     r == gc::kNorm || r == gc::kAdd || r == gc::kSwiGLU ||
                     r == gc::kRotaryQ || r == gc::kRotaryK ||
                     r == gc::kKvAppend;
    // q, k and v each with the norm: replaced by the one launch.
    bool replaced = r == gc::kQProjNorm || r == gc::kKvProjNorm;
    return !o.cuda || (fuse ? !plainOnly && !replaced : !fusedRole);
  };
  for (size_t r = 0; r < roles.size(); ++r) {
    if (!used(r))
      continue;
    const gc::Case *found = nullptr;
    for (const gc::Case &c : source)
      if (gc::sameKernel(c, roles[r])) {
        found = &c;
        break;
      }
    if (!found)
      fail("no kernel in the manifest for " +
           gc::caseLine(roles[r]).substr(0, 60) +
           "...: compile the cases for this shape and layout");
    roles[r] = *found;
    if (!o.cuda)
      continue;
    size_t k = 0;
    while (k < kernelNames.size() && kernelNames[k] != found->kernel)
      ++k;
    if (k == kernelNames.size()) {
      kernelNames.push_back(found->kernel);
      kernelAbi.push_back(abiOfCase(*found));
    }
    roleKernel[r] = uint32_t(k);
  }

  // The k and v weight of the q, k, v launch (its salient count, a
  // manifest's).
  roles.push_back(gc::qkvKvCase(roles[gc::kQkvNorm]));
  roleKernel.push_back(fmt::kNone);

  // Strings.
  std::string strings(1, '\0');
  auto addString = [&](const std::string &str) {
    uint32_t off = uint32_t(strings.size());
    strings += str;
    strings += '\0';
    return off;
  };

  // Weights: the distinct tensors' bytes, then a record per use.
  Summary sum;
  // Roles of one case (one shape) share their bytes.
  struct Weight {
    std::vector<uint8_t> bytes;
    layout::Spec spec; // packed only
  };
  std::map<std::string, Weight> byCase;
  std::map<int, const Weight *> roleWeight;
  for (int r : {qRole, kvRole, oRole, upRole, downRole}) {
    const gc::Case &c = roles[size_t(r)];
    std::string key = gc::caseLine(c);
    auto it = byCase.find(key);
    if (it == byCase.end()) {
      say("weights of " + std::to_string(c.out) + "x" + std::to_string(c.in) +
          (c.kind == gc::Kind::Dense
               ? std::string(" dense")
               : " " + std::string(layout::kindName(c.spec.kind))) +
          " from seed " + std::to_string(c.seed));
      Weight w;
      w.bytes = linearBytes(c, w.spec);
      it = byCase.emplace(key, std::move(w)).first;
    }
    roleWeight[r] = &it->second;
  }
  const uint64_t tableSeed = o.seed + 1000;
  std::vector<uint8_t> embedding =
      halfTensor(size_t(s.vocab * s.hidden), -1000, 1000, 1.0f, tableSeed);
  std::vector<uint8_t> head =
      halfTensor(size_t(s.vocab * s.hidden), -1000, 1000,
                 1.0f / std::sqrt(float(s.hidden)), tableSeed + 1);
  std::vector<uint8_t> norm =
      halfTensor(size_t(s.hidden), 500, 1500, 1.0f, tableSeed + 2);
  std::vector<uint8_t> invFreq(size_t(s.headDim / 2) * 4);
  for (int64_t i = 0; i < s.headDim / 2; ++i) {
    float v = 1.0f / std::pow(s.ropeTheta, float(2 * i) / float(s.headDim));
    std::memcpy(&invFreq[size_t(i) * 4], &v, 4);
  }

  struct Use {
    const std::vector<uint8_t> *bytes;
    uint64_t offset;
  };
  std::vector<fmt::TensorRecord> tensors;
  std::vector<Use> uses;
  uint64_t weightBytes = 0;
  auto addTensor = [&](const std::string &name, fmt::DType dtype, int64_t d0,
                       int64_t d1, const std::vector<uint8_t> &bytes,
                       const layout::Spec *spec) {
    fmt::TensorRecord t{};
    t.dtype = uint32_t(dtype);
    t.rank = d1 ? 2 : 1;
    t.dims[0] = d0;
    t.dims[1] = d1;
    t.offset = alignTo(weightBytes, 64);
    t.size = bytes.size();
    t.nameOffset = addString(name);
    if (spec)
      fmt::setPackedSpec(t, *spec);
    weightBytes = t.offset + t.size;
    tensors.push_back(t);
    uses.push_back({&bytes, t.offset});
    return uint32_t(tensors.size() - 1);
  };
  auto addLinear = [&](const std::string &name, int role) {
    const gc::Case &c = roles[size_t(role)];
    const Weight &w = *roleWeight[role];
    const std::vector<uint8_t> &bytes = w.bytes;
    sum.linearBytes += bytes.size();
    sum.linearWeights += uint64_t(c.out * c.in);
    if (c.kind == gc::Kind::Dense)
      return addTensor(name, c.f16 ? fmt::DType::F16 : fmt::DType::F32, c.out,
                       c.in, bytes, nullptr);
    return addTensor(name, fmt::DType::Packed, c.out, c.in, bytes, &w.spec);
  };

  // Buffers.
  std::vector<fmt::BufferRecord> buffers;
  auto addBuffer = [&](const std::string &name, int64_t width) {
    buffers.push_back({uint32_t(width), addString(name)});
    return uint32_t(buffers.size() - 1);
  };
  int64_t qW = s.heads * s.headDim, kvW = s.kvHeads * s.headDim;
  uint32_t resid[2] = {addBuffer("residual.0", s.hidden),
                       addBuffer("residual.1", s.hidden)};
  uint32_t xb = fusedPlan ? 0 : addBuffer("normed", s.hidden);
  uint32_t qb = addBuffer("q", qW), kb = addBuffer("k", kvW),
           vb = addBuffer("v", kvW);
  uint32_t qr = fusedPlan ? 0 : addBuffer("q.rotated", qW),
           kr = fusedPlan ? 0 : addBuffer("k.rotated", kvW);
  uint32_t ab = addBuffer("attention", qW);
  uint32_t ob = fusedPlan ? 0 : addBuffer("projected", s.hidden);
  uint32_t gb = fusedPlan ? 0 : addBuffer("gate", s.intermediate),
           ub = fusedPlan ? 0 : addBuffer("up", s.intermediate),
           hb = addBuffer("swiglu", s.intermediate);
  uint32_t logits = addBuffer("logits", s.vocab);

  // Steps.
  std::vector<fmt::StepRecord> steps;
  auto step = [&](fmt::OpCode op, int role, uint32_t out,
                  std::initializer_list<uint32_t> in, uint32_t tensor,
                  const std::string &name) -> fmt::StepRecord & {
    fmt::StepRecord r{};
    r.op = uint32_t(op);
    r.kernel = roleKernel[size_t(role)];
    r.in[0] = r.in[1] = r.in[2] = fmt::kNone;
    size_t k = 0;
    for (uint32_t b : in)
      r.in[k++] = b;
    r.out = out;
    r.tensor[0] = tensor;
    r.tensor[1] = fmt::kNone;
    r.nameOffset = addString(name);
    // A cpu Linear's decode kernel and a cuda GEMV's prefill GEMM: none
    // (cuda prefill runs the GEMVs).
    r.reserved =
        (op == fmt::OpCode::Linear && !o.cuda) || (o.cuda && fmt::isGemvOp(op))
            ? fmt::kNone
            : 0;
    steps.push_back(r);
    return steps.back();
  };
  using Op = fmt::OpCode;
  uint32_t freqs = addTensor("rotary.inv_freq", fmt::DType::F32, s.headDim / 2,
                             0, invFreq, nullptr);
  uint32_t embed = addTensor("embed_tokens", fmt::DType::F16, s.vocab, s.hidden,
                             embedding, nullptr);
  step(Op::Embedding, gc::kEmbedding, resid[0], {}, embed, "embed_tokens");
  float eps = float(s.eps);
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string p = "block " + std::to_string(l) + " ";
    uint32_t h = resid[0], h2 = resid[1];
    uint32_t n1 = addTensor(p + "input_layernorm", fmt::DType::F16, s.hidden, 0,
                            norm, nullptr);
    uint32_t qW = addLinear(p + "q_proj", qRole);
    uint32_t kW = addLinear(p + "k_proj", kvRole);
    uint32_t vW = addLinear(p + "v_proj", kvRole);
    if (fusedPlan) {
      // q, k and v of the norm of h in one launch.
      fmt::StepRecord &r = step(Op::NormLinearQKV, qRole, qb, {h}, qW,
                                p + "input_layernorm + q, k, v");
      r.tensor[1] = kW;
      r.i[0] = int32_t(n1);
      r.i[1] = int32_t(vW);
      r.i[2] = int32_t(kb);
      r.i[3] = int32_t(vb);
      r.f[0] = eps;
    } else {
      step(Op::RMSNorm, gc::kNorm, xb, {h}, n1, p + "input_layernorm").f[0] =
          eps;
      step(Op::Linear, qRole, qb, {xb}, qW, p + "q_proj");
      step(Op::Linear, kvRole, kb, {xb}, kW, p + "k_proj");
      step(Op::Linear, kvRole, vb, {xb}, vW, p + "v_proj");
    }
    if (fusedPlan) {
      // The KV append rotates q in place and k into the cache.
      fmt::StepRecord &at = step(Op::RopeAttention, gc::kAttention, ab,
                                 {qb, kb, vb}, freqs, p + "rotary + attention");
      at.i[0] = int32_t(s.heads), at.i[1] = int32_t(s.kvHeads);
      at.i[2] = int32_t(s.headDim), at.i[3] = int32_t(l);
      at.f[0] = float(roles[gc::kAttention].scale);
      at.reserved = roleKernel[gc::kRopeAppend];
    } else {
      fmt::StepRecord &rq =
          step(Op::Rotary, gc::kRotaryQ, qr, {qb}, freqs, p + "rotary q");
      rq.i[0] = int32_t(s.heads), rq.i[1] = int32_t(s.headDim);
      fmt::StepRecord &rk =
          step(Op::Rotary, gc::kRotaryK, kr, {kb}, freqs, p + "rotary k");
      rk.i[0] = int32_t(s.kvHeads), rk.i[1] = int32_t(s.headDim);
      fmt::StepRecord &at = step(Op::Attention, gc::kAttention, ab,
                                 {qr, kr, vb}, fmt::kNone, p + "attention");
      at.i[0] = int32_t(s.heads), at.i[1] = int32_t(s.kvHeads);
      at.i[2] = int32_t(s.headDim), at.i[3] = int32_t(l);
      at.f[0] = float(roles[gc::kAttention].scale);
      if (o.cuda)
        at.reserved = roleKernel[gc::kKvAppend];
    }
    uint32_t oW = addLinear(p + "o_proj", oRole);
    if (fusedPlan) {
      step(Op::LinearAdd, oRole, h2, {ab, h}, oW, p + "o_proj + residual");
    } else {
      step(Op::Linear, oRole, ob, {ab}, oW, p + "o_proj");
      step(Op::Add, gc::kAdd, h2, {h, ob}, fmt::kNone,
           p + "attention residual");
    }
    uint32_t n2 = addTensor(p + "post_attention_layernorm", fmt::DType::F16,
                            s.hidden, 0, norm, nullptr);
    uint32_t gW = addLinear(p + "gate_proj", upRole);
    uint32_t uW = addLinear(p + "up_proj", upRole);
    if (fusedPlan) {
      fmt::StepRecord &r =
          step(Op::NormLinearSwiGLU, upRole, hb, {h2}, gW,
               p + "post_attention_layernorm + gate, up, swiglu");
      r.tensor[1] = uW;
      r.i[0] = int32_t(n2);
      r.f[0] = eps;
    } else {
      step(Op::RMSNorm, gc::kNorm, xb, {h2}, n2, p + "post_attention_layernorm")
          .f[0] = eps;
      step(Op::Linear, upRole, gb, {xb}, gW, p + "gate_proj");
      step(Op::Linear, upRole, ub, {xb}, uW, p + "up_proj");
      step(Op::SwiGLU, gc::kSwiGLU, hb, {gb, ub}, fmt::kNone, p + "swiglu");
    }
    uint32_t dW = addLinear(p + "down_proj", downRole);
    if (fusedPlan) {
      step(Op::LinearAdd, downRole, h, {hb, h2}, dW,
           p + "down_proj + residual");
    } else {
      step(Op::Linear, downRole, ob, {hb}, dW, p + "down_proj");
      step(Op::Add, gc::kAdd, h, {h2, ob}, fmt::kNone, p + "mlp residual");
    }
  }
  uint32_t fn = addTensor("norm", fmt::DType::F16, s.hidden, 0, norm, nullptr);
  uint32_t headW =
      addTensor("lm_head", fmt::DType::F16, s.vocab, s.hidden, head, nullptr);
  if (fusedPlan) {
    fmt::StepRecord &r = step(Op::NormLinear, headRole, logits, {resid[0]},
                              headW, "norm + lm_head");
    r.tensor[1] = fn;
    r.f[0] = eps;
  } else {
    step(Op::RMSNorm, gc::kNorm, xb, {resid[0]}, fn, "norm").f[0] = eps;
    step(Op::Linear, headRole, logits, {xb}, headW, "lm_head");
  }

  // Sections.
  fmt::ModelConfig config{};
  config.vocab = uint32_t(s.vocab);
  config.hidden = uint32_t(s.hidden);
  config.layers = uint32_t(s.layers);
  config.heads = uint32_t(s.heads);
  config.kvHeads = uint32_t(s.kvHeads);
  config.headDim = uint32_t(s.headDim);
  config.intermediate = uint32_t(s.intermediate);
  config.maxPositions = uint32_t(s.maxPositions);
  config.bosId = 1;
  config.eosId = 2;
  config.nameOffset = addString(s.name + "-synthetic");
  config.weightBytes = weightBytes;
  std::string configSec, tensorSec, planSec, kernelSec;
  append(configSec, config);
  for (const fmt::TensorRecord &t : tensors)
    append(tensorSec, t);
  fmt::PlanHeader ph{};
  ph.bufferCount = uint32_t(buffers.size());
  ph.stepCount = uint32_t(steps.size());
  ph.logitsBuffer = logits;
  ph.kvSlots = uint32_t(s.layers);
  ph.kvWidth = uint32_t(kvW);
  append(planSec, ph);
  for (const fmt::BufferRecord &b : buffers)
    append(planSec, b);
  for (const fmt::StepRecord &r : steps)
    append(planSec, r);
  if (o.cuda) {
    fmt::KernelsHeader kh{};
    kh.count = uint32_t(kernelNames.size());
    kh.reserved = o.chip;
    kh.codeOffset = alignTo(
        sizeof(kh) + kernelNames.size() * sizeof(fmt::KernelRecord), 64);
    kh.codeSize = o.cubin.size();
    append(kernelSec, kh);
    for (size_t k = 0; k < kernelNames.size(); ++k) {
      fmt::KernelRecord kr{};
      kr.abi = kernelAbi[k];
      kr.symbolOffset = addString(kernelNames[k]);
      append(kernelSec, kr);
    }
    kernelSec.resize(kh.codeOffset, '\0');
    kernelSec += o.cubin;
  }

  struct Sec {
    fmt::SectionKind kind;
    const std::string *data;
  };
  std::vector<Sec> secs = {{fmt::SectionKind::Config, &configSec},
                           {fmt::SectionKind::Strings, &strings},
                           {fmt::SectionKind::Tensors, &tensorSec},
                           {fmt::SectionKind::Plan, &planSec}};
  if (o.cuda)
    secs.push_back({fmt::SectionKind::Kernels, &kernelSec});
  // Everything before the weights, which are written from their sources.
  std::string front(sizeof(fmt::Header) +
                        (secs.size() + 1) * sizeof(fmt::SectionRecord),
                    '\0');
  std::vector<fmt::SectionRecord> table;
  for (const Sec &sec : secs) {
    front.resize(alignTo(front.size(), fmt::sectionAlign(sec.kind)), '\0');
    fmt::SectionRecord rec{};
    rec.kind = uint32_t(sec.kind);
    rec.offset = front.size();
    rec.size = sec.data->size();
    table.push_back(rec);
    front += *sec.data;
  }
  front.resize(
      alignTo(front.size(), fmt::sectionAlign(fmt::SectionKind::Weights)),
      '\0');
  fmt::SectionRecord wrec{};
  wrec.kind = uint32_t(fmt::SectionKind::Weights);
  wrec.offset = front.size();
  wrec.size = weightBytes;
  table.push_back(wrec);
  std::memcpy(&front[sizeof(fmt::Header)], table.data(),
              table.size() * sizeof(fmt::SectionRecord));

  std::string tmp = path + ".partial";
  std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
  if (!os)
    fail("cannot write '" + tmp + "'");
  struct Remove {
    const std::string &p;
    bool keep = false;
    ~Remove() {
      if (!keep)
        std::remove(p.c_str());
    }
  } guard{tmp};
  uint64_t h = fmt::checksum(front.data() + sizeof(fmt::Header),
                             front.size() - sizeof(fmt::Header));
  os.write(front.data(), std::streamsize(front.size()));
  say("writing " + std::to_string(tensors.size()) + " tensors, " +
      std::to_string(weightBytes >> 20) + " MiB of weights");
  // Tensors in offset order with zero padding between them: every chunk
  // but the last is a multiple of 8 bytes, so the checksum streams.
  uint64_t at = 0;
  static const char zeros[64] = {};
  for (const Use &u : uses) {
    if (u.offset > at) {
      h = fmt::checksum(zeros, size_t(u.offset - at), h);
      os.write(zeros, std::streamsize(u.offset - at));
    }
    h = fmt::checksum(u.bytes->data(), u.bytes->size(), h);
    os.write(reinterpret_cast<const char *>(u.bytes->data()),
             std::streamsize(u.bytes->size()));
    at = u.offset + u.bytes->size();
  }
  fmt::Header hd =
      fmt::makeHeader(o.cuda ? fmt::Target::Cuda : fmt::Target::CpuX86_64,
                      uint32_t(table.size()), front.size() + weightBytes, h);
  os.seekp(0);
  os.write(reinterpret_cast<const char *>(&hd), sizeof(hd));
  os.close();
  if (!os)
    fail("cannot write '" + tmp + "'");
  if (std::rename(tmp.c_str(), path.c_str()))
    fail("cannot rename '" + tmp + "' to '" + path + "'");
  guard.keep = true;

  sum.fileBytes = hd.fileSize;
  sum.weightBytes = weightBytes;
  sum.steps = unsigned(steps.size());
  sum.kernels = unsigned(kernelNames.size());
  sum.tensors = unsigned(tensors.size());
  return sum;
}

} // namespace s10rt::synth
