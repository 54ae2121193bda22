//===- PackedTestUtil.h - Helpers for the packed-layout tests ----*- C++
//-*-===//
//
// Random logical weights for every layout, the configurations and shapes the
// layout and kernel tests sweep, and slow reference implementations written
// from docs/packed-layouts.md (not from Layout.cpp): the part geometry, a
// byte-level encoder, the q8 parameter rounding and the dequantized value.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_UNITTESTS_PACKEDTESTUTIL_H
#define S10_QUANT_UNITTESTS_PACKEDTESTUTIL_H

#include "s10/Quant/Layout.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace s10::quant::layout::test {

/// A layout configuration swept by the tests.
struct Config {
  std::string name;
  Spec spec;
};
inline void PrintTo(const Config &c, std::ostream *os) { *os << c.name; }

inline Spec kbitSpec(unsigned bits, int64_t group, ParamFormat f) {
  Spec s;
  s.kind = Kind::KBit;
  s.bits = bits;
  s.groupSize = group;
  s.params = f;
  return s;
}

inline Spec ternarySpec(int64_t group, ParamFormat f) {
  Spec s = kbitSpec(2, group, f);
  s.kind = Kind::Ternary;
  return s;
}

inline Spec mixedSpec(Kind kind, unsigned salientBits, int64_t group,
                      ParamFormat f, int64_t block = 0, int64_t nm = 0) {
  Spec s;
  s.kind = kind;
  s.bits = 1;
  s.salientBits = salientBits;
  s.groupSize = group;
  s.params = f;
  s.block = block;
  s.nmSalient = nm;
  return s;
}

/// Every layout kind and parameter format: kbit 1..8 bits, bitmap with 2..8
/// salient bits, chanblock with several block heights, nm 1:8 and 2:16.
inline std::vector<Config> allConfigs() {
  std::vector<Config> c;
  for (ParamFormat f : {ParamFormat::F16, ParamFormat::Q8}) {
    std::string fs = paramFormatName(f);
    for (unsigned b = 1; b <= 8; ++b)
      c.push_back({"kbit" + std::to_string(b) + "_" + fs, kbitSpec(b, 0, f)});
    for (unsigned sb = 2; sb <= 8; ++sb)
      c.push_back({"bitmap_s" + std::to_string(sb) + "_" + fs,
                   mixedSpec(Kind::Bitmap, sb, 0, f)});
    for (auto [block, sb] :
         {std::pair<int64_t, unsigned>{1, 3}, {4, 2}, {4, 4}, {5, 8}, {16, 5}})
      c.push_back({"chanblock_b" + std::to_string(block) + "_s" +
                       std::to_string(sb) + "_" + fs,
                   mixedSpec(Kind::ChannelBlock, sb, 0, f, block)});
    for (auto [m, k, sb] : {std::tuple<int64_t, int64_t, unsigned>{8, 1, 2},
                            {8, 1, 4},
                            {16, 2, 3},
                            {16, 2, 8},
                            {2, 1, 6}})
      c.push_back({"nm" + std::to_string(k) + "of" + std::to_string(m) + "_s" +
                       std::to_string(sb) + "_" + fs,
                   mixedSpec(Kind::NM, sb, 0, f, m, k)});
  }
  // q8t differs from q8 only where the super-scales live: a few of each kind.
  const ParamFormat t = ParamFormat::Q8T;
  for (unsigned b : {1u, 2u, 3u, 4u, 8u})
    c.push_back({"kbit" + std::to_string(b) + "_q8t", kbitSpec(b, 0, t)});
  c.push_back({"bitmap_s4_q8t", mixedSpec(Kind::Bitmap, 4, 0, t)});
  c.push_back(
      {"chanblock_b4_s3_q8t", mixedSpec(Kind::ChannelBlock, 3, 0, t, 4)});
  c.push_back({"nm1of8_s4_q8t", mixedSpec(Kind::NM, 4, 0, t, 8, 1)});
  for (ParamFormat f : {ParamFormat::F16, ParamFormat::Q8, ParamFormat::Q8T})
    c.push_back(
        {std::string("ternary_") + paramFormatName(f), ternarySpec(0, f)});
  return c;
}

struct Shape {
  int64_t out, in, group;
};

/// Ragged shapes: in = 1, in not a multiple of 8 or of the group, odd out,
/// groups of 1, 7, 8, 32, 128. NM layouts get input sizes that are multiples
/// of 16.
inline std::vector<Shape> shapesFor(const Spec &s) {
  // Ternary streams need input sizes that are multiples of 8; 5 x 8 codes
  // end mid-byte in none, 3 x 24 = 72 does, and 7 x 48 crosses words.
  if (s.kind == Kind::Ternary)
    return {{1, 8, 8},     {5, 8, 1},     {3, 24, 7},  {7, 48, 32},
            {9, 136, 128}, {6, 256, 128}, {2, 40, 40}, {33, 64, 20}};
  if (s.kind == Kind::NM)
    return {{1, 16, 16}, {5, 48, 7},    {7, 64, 32}, {3, 144, 128},
            {9, 32, 1},  {2, 272, 128}, {4, 16, 5}};
  return {{1, 1, 1},   {3, 1, 1},     {5, 13, 7},   {7, 37, 32},
          {4, 8, 8},   {9, 130, 128}, {17, 67, 32}, {6, 256, 128},
          {3, 300, 7}, {2, 129, 128}, {33, 20, 20}, {1, 260, 128}};
}

inline std::string shapeName(const Shape &sh) {
  return std::to_string(sh.out) + "x" + std::to_string(sh.in) + " g" +
         std::to_string(sh.group);
}

/// Random weights that fit `s`: random codes, a random salience pattern of
/// the layout's structure (about `frac` salient), random parameters (scales
/// non-negative, as the q8 format needs).
inline Logical randomLogical(const Spec &s, int64_t out, int64_t in,
                             uint32_t seed, double frac = 0.2) {
  std::mt19937 rng(seed);
  Logical w;
  w.out = out;
  w.in = in;
  w.groupSize = s.groupSize;
  size_t n = size_t(out * in);
  w.codes.resize(n);
  std::bernoulli_distribution coin(frac);
  if (s.mixed()) {
    w.salient.assign(n, 0);
    switch (s.kind) {
    case Kind::Bitmap:
      for (auto &m : w.salient)
        m = coin(rng);
      break;
    case Kind::ChannelBlock:
      for (int64_t b = 0; b * s.block < out; ++b) {
        std::vector<uint8_t> chan(static_cast<size_t>(in));
        for (auto &m : chan)
          m = coin(rng);
        for (int64_t i = b * s.block; i < std::min(out, (b + 1) * s.block); ++i)
          std::copy(chan.begin(), chan.end(), w.salient.begin() + i * in);
      }
      break;
    case Kind::NM: {
      std::vector<int64_t> pos(size_t(s.block));
      for (int64_t i = 0; i < out; ++i)
        for (int64_t b = 0; b < in / s.block; ++b) {
          std::iota(pos.begin(), pos.end(), 0);
          std::shuffle(pos.begin(), pos.end(), rng);
          for (int64_t k = 0; k < s.nmSalient; ++k)
            w.salient[i * in + b * s.block + pos[k]] = 1;
        }
      break;
    }
    case Kind::KBit:
    case Kind::Ternary:
      break;
    }
  }
  for (size_t k = 0; k < n; ++k) {
    bool sal = !w.salient.empty() && w.salient[k];
    unsigned bits = sal ? s.salientBits : s.bits;
    unsigned top = s.kind == Kind::Ternary ? 2u : (1u << bits) - 1;
    w.codes[k] = uint8_t(std::uniform_int_distribution<unsigned>(0, top)(rng));
  }
  size_t ng = size_t(out * w.groups());
  std::uniform_real_distribution<float> scale(0.01f, 1.0f), off(-1.0f, 1.0f);
  for (size_t k = 0; k < ng; ++k) {
    w.scales.push_back(scale(rng));
    w.offsets.push_back(off(rng));
    if (s.mixed()) {
      w.salientScales.push_back(0.1f * scale(rng));
      w.salientOffsets.push_back(off(rng));
    }
  }
  return w;
}

/// Rounds the parameters to fp16 (exactly representable in the f16 format).
inline void roundParamsF16(Logical &w) {
  for (auto *v : {&w.scales, &w.offsets, &w.salientScales, &w.salientOffsets})
    for (float &x : *v)
      x = halfToFloat(floatToHalf(x));
}

/// The q8 storage of one parameter slot of one row, as the format documents
/// it: super-scale S = fp16(max |v| over the row's groups), scale codes
/// round(v / S * 255) in [0, 255], offset codes round(v / S * 127) in
/// [-127, 127], decoded as S * c / 255 and S * c / 127.
struct Q8Slot {
  uint16_t super = 0;
  std::vector<int> codes; // per group
  std::vector<float> decoded;
};

inline Q8Slot q8Slot(const std::vector<float> &v, int64_t row, int64_t groups,
                     bool isScale, bool tensorWide = false) {
  Q8Slot q;
  float mx = 0;
  // q8t: S is the max over every row's groups.
  for (size_t k = tensorWide ? 0 : size_t(row * groups);
       k < (tensorWide ? v.size() : size_t((row + 1) * groups)); ++k)
    mx = std::max(mx, std::fabs(v[k]));
  q.super = floatToHalf(mx);
  float S = halfToFloat(q.super);
  float lim = isScale ? 255.0f : 127.0f;
  for (int64_t g = 0; g < groups; ++g) {
    int c = 0;
    if (S > 0) {
      float r = std::nearbyint(v[row * groups + g] / S * lim);
      c = int(std::min(std::max(r, isScale ? 0.0f : -127.0f), lim));
    }
    q.codes.push_back(c);
    q.decoded.push_back(S * float(c) * (1.0f / lim));
  }
  return q;
}

/// The parameter vectors of a logical weight in slot order.
inline std::vector<std::vector<float> *> paramSlots(Logical &w) {
  std::vector<std::vector<float> *> s = {&w.scales, &w.offsets};
  if (!w.salientScales.empty()) {
    s.push_back(&w.salientScales);
    s.push_back(&w.salientOffsets);
  }
  return s;
}

/// Replaces the parameters by what the q8 (q8t) format stores for them.
inline void roundParamsQ8(Logical &w, bool tensorWide = false) {
  auto slots = paramSlots(w);
  for (size_t k = 0; k < slots.size(); ++k) {
    std::vector<float> orig = *slots[k];
    for (int64_t i = 0; i < w.out; ++i) {
      Q8Slot q = q8Slot(orig, i, w.groups(), k % 2 == 0, tensorWide);
      for (int64_t g = 0; g < w.groups(); ++g)
        (*slots[k])[i * w.groups() + g] = q.decoded[g];
    }
  }
}

inline void roundParams(ParamFormat f, Logical &w) {
  if (f == ParamFormat::F16)
    roundParamsF16(w);
  else
    roundParamsQ8(w, f == ParamFormat::Q8T);
}

/// The dequantized weight, from the definition: scale * code + offset with
/// the salient pair for salient weights, in float as the kernels compute it.
inline float refValue(const Logical &w, int64_t i, int64_t j) {
  int64_t g = i * ((w.in + w.groupSize - 1) / w.groupSize) + j / w.groupSize;
  bool sal = !w.salient.empty() && w.salient[i * w.in + j];
  float s = sal ? w.salientScales[g] : w.scales[g];
  float o = sal ? w.salientOffsets[g] : w.offsets[g];
  return s * float(w.codes[i * w.in + j]) + o;
}

/// Spec for a shape: the configuration with the shape's group size and the
/// salient count of `w` (counted here, not by fit()).
inline Spec specFor(const Spec &base, const Logical &w) {
  Spec s = base;
  s.groupSize = w.groupSize;
  if (s.mixed()) {
    int64_t n = 0;
    for (uint8_t m : w.salient)
      n += m != 0;
    s.salientCount = n;
  }
  return s;
}

//===----------------------------------------------------------------------===//
// Reference geometry and encoder, from docs/packed-layouts.md
//===----------------------------------------------------------------------===//

inline uint64_t refAlign(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
/// A row of `bits` bits of a 1-bit or k-bit plane: whole bytes, padded to 16.
inline uint64_t refRowBytes(uint64_t bits) {
  return refAlign((bits + 7) / 8, 16);
}

struct RefPart {
  PartId id;
  uint64_t offset, size, rowBytes;
};

struct RefGeometry {
  std::vector<RefPart> parts;
  uint64_t total = 0;
  const RefPart *find(PartId id) const {
    for (const RefPart &p : parts)
      if (p.id == id)
        return &p;
    return nullptr;
  }
};

inline unsigned refLog2(int64_t m) {
  unsigned b = 0;
  while ((int64_t(1) << b) != m)
    ++b;
  return b;
}

inline RefGeometry refGeometry(const Spec &s, int64_t out, int64_t in) {
  RefGeometry g;
  uint64_t pos = 0;
  auto add = [&](PartId id, uint64_t size, uint64_t rowBytes) {
    pos = refAlign(pos, 64);
    g.parts.push_back({id, pos, size, rowBytes});
    pos += size;
  };
  uint64_t groups = uint64_t((in + s.groupSize - 1) / s.groupSize);
  uint64_t rest = s.mixed() ? s.salientBits - 1 : 0;
  uint64_t O = uint64_t(out), I = uint64_t(in);
  uint64_t sign = refRowBytes(I);
  switch (s.kind) {
  case Kind::KBit:
    add(PartId::Codes, O * refRowBytes(I * s.bits), refRowBytes(I * s.bits));
    break;
  case Kind::Ternary:
    // One stream of five codes per byte, in whole 8-byte words.
    add(PartId::Codes, refAlign((O * I + 4) / 5, 8), 0);
    break;
  case Kind::Bitmap:
    add(PartId::Signs, O * sign, sign);
    add(PartId::Mask, O * sign, sign);
    add(PartId::Offsets, 4 * O, 0);
    add(PartId::SalientCodes,
        refAlign((uint64_t(s.salientCount) * rest + 7) / 8, 16), 0);
    break;
  case Kind::ChannelBlock: {
    uint64_t blocks = (O + s.block - 1) / s.block;
    add(PartId::Signs, O * sign, sign);
    add(PartId::ChannelMask, blocks * sign, sign);
    add(PartId::Offsets, 4 * blocks, 0);
    add(PartId::SalientCodes,
        refAlign((uint64_t(s.salientCount) * rest + 7) / 8, 16), 0);
    break;
  }
  case Kind::NM: {
    // Index and code rows have a fixed size per row: whole bytes only.
    uint64_t per = I / s.block * s.nmSalient;
    uint64_t ib = (per * refLog2(s.block) + 7) / 8;
    uint64_t cb = (per * rest + 7) / 8;
    add(PartId::Signs, O * sign, sign);
    add(PartId::Indices, O * ib, ib);
    add(PartId::SalientCodes, O * cb, cb);
    break;
  }
  }
  uint64_t nv = s.mixed() ? 4 : 2;
  if (s.params != ParamFormat::F16) {
    if (s.params == ParamFormat::Q8)
      add(PartId::SuperScales, O * 2 * nv, 2 * nv);
    else
      add(PartId::SuperScales, 2 * nv, 0);
    add(PartId::Params, O * groups * nv, groups * nv);
  } else {
    add(PartId::Params, O * groups * nv * 2, groups * nv * 2);
  }
  g.total = refAlign(pos, 64);
  return g;
}

/// Sets `n` bits of `value` at bit `pos`, least significant bit first.
inline void refPut(std::vector<uint8_t> &b, uint64_t pos, unsigned n,
                   uint32_t value) {
  for (unsigned k = 0; k < n; ++k)
    if ((value >> k) & 1u)
      b[(pos + k) / 8] |= uint8_t(1u << ((pos + k) % 8));
}

/// The bytes of `w` in layout `s`, written from the documented format.
inline std::vector<uint8_t> refPack(const Spec &s, const Logical &w) {
  RefGeometry g = refGeometry(s, w.out, w.in);
  std::vector<uint8_t> b(g.total, 0);
  int64_t out = w.out, in = w.in, groups = w.groups();
  unsigned rest = s.mixed() ? s.salientBits - 1 : 0;
  auto sal = [&](int64_t i, int64_t j) {
    return !w.salient.empty() && w.salient[i * in + j];
  };
  auto code = [&](int64_t i, int64_t j) { return w.codes[i * in + j]; };
  if (const RefPart *p = g.find(PartId::Codes); p && s.kind == Kind::Ternary) {
    // Byte k: ceil(256 v / 243), v the base-3 number whose digits, most
    // significant first, are codes 5k .. 5k + 4 of the row-major stream.
    uint64_t n = uint64_t(out * in);
    for (uint64_t k = 0; 5 * k < n; ++k) {
      uint32_t v = 0;
      for (uint64_t d = 0; d < 5; ++d)
        v = 3 * v + (5 * k + d < n ? w.codes[5 * k + d] : 0);
      refPut(b, 8 * (p->offset + k), 8, (256 * v + 242) / 243);
    }
  } else if (const RefPart *p = g.find(PartId::Codes))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        refPut(b, 8 * (p->offset + i * p->rowBytes) + j * s.bits, s.bits,
               code(i, j));
  if (const RefPart *p = g.find(PartId::Signs))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        refPut(b, 8 * (p->offset + i * p->rowBytes) + j, 1,
               sal(i, j) ? code(i, j) >> rest : code(i, j));
  if (const RefPart *p = g.find(PartId::Mask))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        refPut(b, 8 * (p->offset + i * p->rowBytes) + j, 1, sal(i, j));
  if (const RefPart *p = g.find(PartId::ChannelMask))
    for (int64_t blk = 0; blk * s.block < out; ++blk)
      for (int64_t j = 0; j < in; ++j)
        refPut(b, 8 * (p->offset + blk * p->rowBytes) + j, 1,
               sal(blk * s.block, j));
  if (const RefPart *p = g.find(PartId::Indices)) {
    unsigned ib = refLog2(s.block);
    for (int64_t i = 0; i < out; ++i) {
      uint64_t k = 0;
      for (int64_t j = 0; j < in; ++j)
        if (sal(i, j))
          refPut(b, 8 * (p->offset + i * p->rowBytes) + ib * k++, ib,
                 uint32_t(j % s.block));
    }
  }
  if (const RefPart *p = g.find(PartId::SalientCodes)) {
    const RefPart *o = g.find(PartId::Offsets);
    uint64_t n = 0; // salient weights before this row
    for (int64_t i = 0; i < out; ++i) {
      if (s.kind == Kind::Bitmap)
        refPut(b, 8 * (o->offset + 4 * i), 32, uint32_t(n));
      if (s.kind == Kind::ChannelBlock && i % s.block == 0)
        refPut(b, 8 * (o->offset + 4 * (i / s.block)), 32, uint32_t(n));
      uint64_t k = 0; // salient weights before this one in the row
      for (int64_t j = 0; j < in; ++j)
        if (sal(i, j)) {
          uint32_t low = code(i, j) & ((1u << rest) - 1);
          uint64_t pos = s.kind == Kind::NM
                             ? 8 * (p->offset + i * p->rowBytes) + k * rest
                             : 8 * p->offset + n * rest;
          refPut(b, pos, rest, low);
          ++k;
          ++n;
        }
    }
  }
  Logical copy = w;
  auto slots = paramSlots(copy);
  uint64_t nv = slots.size();
  const RefPart *pp = g.find(PartId::Params);
  if (s.params == ParamFormat::F16) {
    for (int64_t i = 0; i < out; ++i)
      for (int64_t gi = 0; gi < groups; ++gi)
        for (uint64_t k = 0; k < nv; ++k)
          refPut(b, 8 * (pp->offset + i * pp->rowBytes + 2 * (gi * nv + k)), 16,
                 floatToHalf((*slots[k])[i * groups + gi]));
  } else {
    const RefPart *sp = g.find(PartId::SuperScales);
    for (int64_t i = 0; i < out; ++i)
      for (uint64_t k = 0; k < nv; ++k) {
        Q8Slot q = q8Slot(*slots[k], i, groups, k % 2 == 0,
                          s.params == ParamFormat::Q8T);
        refPut(b, 8 * (sp->offset + i * sp->rowBytes + 2 * k), 16, q.super);
        for (int64_t gi = 0; gi < groups; ++gi)
          refPut(b, 8 * (pp->offset + i * pp->rowBytes + gi * nv + k), 8,
                 uint32_t(uint8_t(int8_t(q.codes[gi]))));
      }
  }
  return b;
}

} // namespace s10::quant::layout::test

#endif // S10_QUANT_UNITTESTS_PACKEDTESTUTIL_H
