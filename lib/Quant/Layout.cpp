//===- Layout.cpp - Packed weight layouts ---------------------------------===//

#include "s10/Quant/Layout.h"

#include "LayoutBits.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace s10::quant::layout;
using namespace s10::quant::layout::bits;

namespace {

std::string str(int64_t v) { return std::to_string(v); }

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/// Bytes of a row holding `bits` bits, padded for 128-bit loads.
uint64_t rowBytesFor(uint64_t bits) {
  return alignUp((bits + 7) / 8, kRowAlign);
}

void putBits(uint8_t *base, uint64_t pos, unsigned n, uint32_t value) {
  for (unsigned b = 0; b < n; ++b, ++pos)
    if ((value >> b) & 1u)
      base[pos / 8] |= uint8_t(1u << (pos % 8));
}

uint32_t getBits(const uint8_t *base, uint64_t pos, unsigned n) {
  uint32_t v = 0;
  for (unsigned b = 0; b < n; ++b, ++pos)
    v |= uint32_t((base[pos / 8] >> (pos % 8)) & 1u) << b;
  return v;
}

/// True if every bit of base[0, bytes) at or after bit `from` is zero.
bool zeroFrom(const uint8_t *base, uint64_t from, uint64_t bytes) {
  uint64_t byte = from / 8;
  if (byte >= bytes)
    return true;
  if (from % 8 && (base[byte] >> (from % 8)) != 0)
    return false;
  for (uint64_t i = from % 8 ? byte + 1 : byte; i < bytes; ++i)
    if (base[i])
      return false;
  return true;
}

uint64_t popcountBits(const uint8_t *base, uint64_t bits) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < bits / 8; ++i)
    n += uint64_t(__builtin_popcount(base[i]));
  for (uint64_t b = bits / 8 * 8; b < bits; ++b)
    n += bitAt(base, b);
  return n;
}

void storeU32(uint8_t *p, uint32_t v) { std::memcpy(p, &v, 4); }
void storeU16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

/// Rows in block b of a ChannelBlock layout.
int64_t blockRows(const Spec &s, int64_t out, int64_t b) {
  return std::min<int64_t>(s.block, out - b * s.block);
}

/// Bytes of a ternary code stream: whole 8-byte words of 40 codes.
uint64_t ternaryBytes(uint64_t weights) { return (weights + 39) / 40 * 8; }

/// Salient codes of one row of an NM layout.
int64_t nmRowSalient(const Spec &s, int64_t in) {
  return in / s.block * s.nmSalient;
}

} // namespace

const char *s10::quant::layout::kindName(Kind k) {
  switch (k) {
  case Kind::KBit:
    return "kbit";
  case Kind::Bitmap:
    return "bitmap";
  case Kind::ChannelBlock:
    return "chanblock";
  case Kind::NM:
    return "nm";
  case Kind::Ternary:
    return "ternary";
  }
  return "?";
}

const char *s10::quant::layout::paramFormatName(ParamFormat f) {
  switch (f) {
  case ParamFormat::F16:
    return "f16";
  case ParamFormat::Q8:
    return "q8";
  case ParamFormat::Q8T:
    return "q8t";
  }
  return "?";
}

bool s10::quant::layout::parseKind(const std::string &name, Kind &kind) {
  for (Kind k :
       {Kind::KBit, Kind::Bitmap, Kind::ChannelBlock, Kind::NM, Kind::Ternary})
    if (name == kindName(k)) {
      kind = k;
      return true;
    }
  return false;
}

bool s10::quant::layout::parseParamFormat(const std::string &name,
                                          ParamFormat &format) {
  for (ParamFormat f : {ParamFormat::F16, ParamFormat::Q8, ParamFormat::Q8T})
    if (name == paramFormatName(f)) {
      format = f;
      return true;
    }
  return false;
}

const char *s10::quant::layout::partName(PartId id) {
  switch (id) {
  case PartId::Codes:
    return "codes";
  case PartId::Signs:
    return "signs";
  case PartId::Mask:
    return "mask";
  case PartId::ChannelMask:
    return "channel mask";
  case PartId::Indices:
    return "indices";
  case PartId::Offsets:
    return "offsets";
  case PartId::SalientCodes:
    return "salient codes";
  case PartId::SuperScales:
    return "super-scales";
  case PartId::Params:
    return "group parameters";
  }
  return "?";
}

const Part *Geometry::find(PartId id) const {
  for (const Part &p : parts)
    if (p.id == id)
      return &p;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// fp16 and Q8
//===----------------------------------------------------------------------===//

uint16_t s10::quant::layout::floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // Inf or NaN
    return uint16_t(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
  if (absx >= 0x477ff000u) // rounds to >= 65520: overflow to Inf
    return uint16_t(sign | 0x7c00u);
  if (absx < 0x38800000u) { // below the smallest normal half: subnormal
    if (absx < 0x33000000u) // below half the smallest subnormal
      return uint16_t(sign);
    uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    int shift = 126 - int(absx >> 23); // 14 .. 24
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u)))
      ++half;
    return uint16_t(sign | half);
  }
  uint32_t h = ((absx - 0x38000000u) >> 13);
  uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    ++h;
  return uint16_t(sign | h);
}

float s10::quant::layout::halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else { // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400u));
      x = sign | (uint32_t(112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint8_t s10::quant::layout::encodeQ8Scale(float value, float super) {
  if (!(super > 0.0f))
    return 0;
  float c = std::nearbyint(value / super * 255.0f);
  return uint8_t(std::clamp(c, 0.0f, 255.0f));
}

int8_t s10::quant::layout::encodeQ8Offset(float value, float super) {
  if (!(super > 0.0f))
    return 0;
  float c = std::nearbyint(value / super * 127.0f);
  return int8_t(std::clamp(c, -127.0f, 127.0f));
}

float s10::quant::layout::roundParam(ParamFormat f, bool isScale, float v,
                                     float super) {
  if (f == ParamFormat::F16)
    return halfToFloat(floatToHalf(v));
  return isScale ? decodeQ8Scale(encodeQ8Scale(v, super), super)
                 : decodeQ8Offset(encodeQ8Offset(v, super), super);
}

//===----------------------------------------------------------------------===//
// Geometry
//===----------------------------------------------------------------------===//

Status s10::quant::layout::describe(const Spec &s, int64_t out, int64_t in,
                                    Geometry &g) {
  if (out <= 0 || in <= 0)
    return Status::error("weight dimensions must be positive, got " + str(out) +
                         "x" + str(in));
  if (out > (int64_t(1) << 31) || in > (int64_t(1) << 31))
    return Status::error("weight dimensions exceed 2^31");
  if (s.groupSize < 1 || s.groupSize > in)
    return Status::error("group size " + str(s.groupSize) + " must be in [1, " +
                         str(in) + "]");
  if (s.bits < 1 || s.bits > 8)
    return Status::error("bits must be in [1, 8], got " + str(s.bits));
  if (s.params != ParamFormat::F16 && s.params != ParamFormat::Q8 &&
      s.params != ParamFormat::Q8T)
    return Status::error("unknown parameter format");
  if (s.kind != Kind::KBit && s.kind != Kind::Bitmap &&
      s.kind != Kind::ChannelBlock && s.kind != Kind::NM &&
      s.kind != Kind::Ternary)
    return Status::error("unknown layout kind");
  if (!s.mixed()) {
    if (s.salientBits != 0 || s.salientCount != 0 || s.block != 0 ||
        s.nmSalient != 0)
      return Status::error(std::string("the ") + kindName(s.kind) +
                           " layout has no salient weights");
    if (s.kind == Kind::Ternary && s.bits != 2)
      return Status::error("the ternary layout holds codes 0..2: bits must "
                           "be 2, got " +
                           str(s.bits));
    if (s.kind == Kind::Ternary && in % 8)
      return Status::error("ternary needs the input size " + str(in) +
                           " to be a multiple of 8");
  } else {
    if (s.bits != 1)
      return Status::error(std::string("the ") + kindName(s.kind) +
                           " layout binarizes the non-salient weights: bits "
                           "must be 1, got " +
                           str(s.bits));
    if (s.salientBits < 2 || s.salientBits > 8)
      return Status::error("salient bits must be in [2, 8], got " +
                           str(s.salientBits));
  }
  g = Geometry();
  g.out = out;
  g.in = in;
  g.groups = (in + s.groupSize - 1) / s.groupSize;
  uint64_t weights = uint64_t(out) * uint64_t(in);
  uint64_t pos = 0;
  auto add = [&](PartId id, uint64_t size, uint64_t rowBytes) {
    pos = alignUp(pos, kPartAlign);
    g.parts.push_back(Part{id, pos, size, rowBytes});
    pos += size;
  };
  unsigned restBits = s.salientBits > 0 ? s.salientBits - 1 : 0;
  switch (s.kind) {
  case Kind::KBit: {
    uint64_t rb = rowBytesFor(uint64_t(in) * s.bits);
    add(PartId::Codes, rb * out, rb);
    break;
  }
  case Kind::Ternary:
    // Whole 8-byte words of five chunks (40 codes) each.
    add(PartId::Codes, ternaryBytes(weights), 0);
    break;
  case Kind::Bitmap: {
    if (s.salientCount < 0 || uint64_t(s.salientCount) > weights ||
        s.salientCount > int64_t(UINT32_MAX))
      return Status::error("salient count " + str(s.salientCount) +
                           " out of range for " + str(out) + "x" + str(in));
    uint64_t rb = rowBytesFor(in);
    add(PartId::Signs, rb * out, rb);
    add(PartId::Mask, rb * out, rb);
    add(PartId::Offsets, 4 * uint64_t(out), 0);
    add(PartId::SalientCodes,
        alignUp((uint64_t(s.salientCount) * restBits + 7) / 8, kRowAlign), 0);
    break;
  }
  case Kind::ChannelBlock: {
    if (s.block < 1)
      return Status::error("chanblock needs block >= 1 rows, got " +
                           str(s.block));
    if (s.salientCount < 0 || uint64_t(s.salientCount) > weights ||
        s.salientCount > int64_t(UINT32_MAX))
      return Status::error("salient count " + str(s.salientCount) +
                           " out of range for " + str(out) + "x" + str(in));
    int64_t blocks = (out + s.block - 1) / s.block;
    uint64_t rb = rowBytesFor(in);
    add(PartId::Signs, rb * out, rb);
    add(PartId::ChannelMask, rb * blocks, rb);
    add(PartId::Offsets, 4 * uint64_t(blocks), 0);
    add(PartId::SalientCodes,
        alignUp((uint64_t(s.salientCount) * restBits + 7) / 8, kRowAlign), 0);
    break;
  }
  case Kind::NM: {
    if (s.block < 2 || s.block > 256 || (s.block & (s.block - 1)))
      return Status::error("nm needs a power-of-two block M in [2, 256], got " +
                           str(s.block));
    if (s.nmSalient < 1 || s.nmSalient >= s.block)
      return Status::error("nm needs 1 <= salient per block < M, got " +
                           str(s.nmSalient));
    if (in % s.block)
      return Status::error("nm needs the input size " + str(in) +
                           " to be a multiple of M = " + str(s.block));
    if (s.salientCount != nmRowSalient(s, in) * out)
      return Status::error("salient count " + str(s.salientCount) +
                           " does not match " + str(s.nmSalient) + ":" +
                           str(s.block));
    uint64_t rb = rowBytesFor(in);
    uint64_t perRow = uint64_t(nmRowSalient(s, in));
    // Index and code rows are only byte-aligned: their per-row size is
    // fixed, so 16-byte padding would only add bytes (a third for in = 384).
    uint64_t ib = (perRow * log2Ceil(s.block) + 7) / 8;
    uint64_t cb = (perRow * restBits + 7) / 8;
    add(PartId::Signs, rb * out, rb);
    add(PartId::Indices, ib * out, ib);
    add(PartId::SalientCodes, cb * out, cb);
    break;
  }
  }
  uint64_t values = 2ull * s.paramPairs();
  if (s.params == ParamFormat::Q8)
    add(PartId::SuperScales, 2 * values * out, 2 * values);
  else if (s.params == ParamFormat::Q8T)
    add(PartId::SuperScales, 2 * values, 0); // every row reads the same pair
  uint64_t perGroup = s.params == ParamFormat::F16 ? 2 * values : values;
  add(PartId::Params, perGroup * uint64_t(g.groups) * out,
      perGroup * uint64_t(g.groups));
  g.totalBytes = alignUp(pos, kPartAlign);
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Logical weights
//===----------------------------------------------------------------------===//

float Logical::value(int64_t i, int64_t j) const {
  int64_t idx = i * in + j, g = i * groups() + j / groupSize;
  float c = float(codes[idx]);
  if (!salient.empty() && salient[idx])
    return salientScales[g] * c + salientOffsets[g];
  return scales[g] * c + offsets[g];
}

static Status checkShape(const Spec &s, const Logical &w) {
  size_t n = size_t(w.out) * size_t(w.in);
  size_t ng = size_t(w.out) * size_t(w.groups());
  if (w.groupSize != s.groupSize)
    return Status::error("group size " + str(w.groupSize) +
                         " differs from the layout's " + str(s.groupSize));
  if (w.codes.size() != n || w.scales.size() != ng || w.offsets.size() != ng)
    return Status::error("codes or parameters do not match the shape " +
                         str(w.out) + "x" + str(w.in));
  if (s.mixed()) {
    if (w.salientScales.size() != ng || w.salientOffsets.size() != ng)
      return Status::error("salient parameters do not match the shape");
    if (!w.salient.empty() && w.salient.size() != n)
      return Status::error("salient mask does not match the shape");
  } else if (!w.salient.empty() &&
             std::any_of(w.salient.begin(), w.salient.end(),
                         [](uint8_t m) { return m != 0; })) {
    return Status::error(std::string("the ") + kindName(s.kind) +
                         " layout has no salient weights");
  }
  return Status::ok();
}

Status s10::quant::layout::fit(Spec &s, const Logical &w) {
  Geometry g;
  Spec probe = s;
  probe.salientCount = 0;
  if (s.kind == Kind::NM && s.block > 0 && w.in % s.block == 0)
    probe.salientCount = nmRowSalient(s, w.in) * w.out;
  if (Status st = describe(probe, w.out, w.in, g); st.failed())
    return st;
  if (Status st = checkShape(s, w); st.failed())
    return st;
  auto isSal = [&](int64_t i, int64_t j) {
    return !w.salient.empty() && w.salient[i * w.in + j] != 0;
  };
  uint32_t lowMax = s.kind == Kind::Ternary ? 2u : (1u << s.bits) - 1u;
  uint32_t salMax = s.mixed() ? (1u << s.salientBits) - 1u : 0u;
  int64_t count = 0;
  for (int64_t i = 0; i < w.out; ++i)
    for (int64_t j = 0; j < w.in; ++j) {
      bool sal = isSal(i, j);
      count += sal;
      uint32_t c = w.codes[i * w.in + j];
      if (c > (sal ? salMax : lowMax))
        return Status::error(
            "code " + str(c) + " of weight (" + str(i) + ", " + str(j) +
            ") is out of range for " +
            (s.kind == Kind::Ternary
                 ? std::string("the ternary layout")
                 : str(sal ? s.salientBits : s.bits) + " bits"));
    }
  auto finite = [](const std::vector<float> &v, const char *what) {
    for (size_t k = 0; k < v.size(); ++k)
      if (!std::isfinite(v[k]))
        return Status::error(std::string(what) + " " + str(int64_t(k)) +
                             " is not finite");
    return Status::ok();
  };
  for (auto [v, what] :
       {std::pair{&w.scales, "scale"}, std::pair{&w.offsets, "offset"},
        std::pair{&w.salientScales, "salient scale"},
        std::pair{&w.salientOffsets, "salient offset"}})
    if (Status st = finite(*v, what); st.failed())
      return st;
  switch (s.kind) {
  case Kind::KBit:
  case Kind::Ternary:
    break;
  case Kind::Bitmap:
    s.salientCount = count;
    break;
  case Kind::ChannelBlock:
    for (int64_t i = 0; i < w.out; ++i) {
      int64_t first = i / s.block * s.block;
      for (int64_t j = 0; j < w.in; ++j)
        if (isSal(i, j) != isSal(first, j))
          return Status::error(
              "salience is not shared by the rows of a block of " +
              str(s.block) + ": row " + str(i) + " differs from row " +
              str(first) + " at input " + str(j));
    }
    s.salientCount = count;
    break;
  case Kind::NM:
    for (int64_t i = 0; i < w.out; ++i)
      for (int64_t b = 0; b < w.in / s.block; ++b) {
        int64_t n = 0;
        for (int64_t j = b * s.block; j < (b + 1) * s.block; ++j)
          n += isSal(i, j);
        if (n != s.nmSalient)
          return Status::error("row " + str(i) + " has " + str(n) +
                               " salient weights in inputs [" +
                               str(b * s.block) + ", " +
                               str((b + 1) * s.block) + "), the layout needs " +
                               str(s.nmSalient));
      }
    s.salientCount = count;
    break;
  }
  return describe(s, w.out, w.in, g);
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

namespace {
/// Per row: the parameter values in storage order for group gi.
void groupValues(const Spec &s, const Logical &w, int64_t row, int64_t gi,
                 float *v) {
  int64_t k = row * w.groups() + gi;
  v[0] = w.scales[k];
  v[1] = w.offsets[k];
  if (s.mixed()) {
    v[2] = w.salientScales[k];
    v[3] = w.salientOffsets[k];
  }
}
} // namespace

Status s10::quant::layout::pack(const Spec &spec, const Logical &w,
                                std::vector<uint8_t> &bytes) {
  const Spec &s = spec;
  Spec fitted = spec;
  if (Status st = fit(fitted, w); st.failed())
    return st;
  if (s.mixed() && s.salientCount != fitted.salientCount)
    return Status::error("salient count " + str(s.salientCount) +
                         " differs from the mask's " +
                         str(fitted.salientCount));
  Geometry g;
  if (Status st = describe(s, w.out, w.in, g); st.failed())
    return st;
  bytes.assign(g.totalBytes, 0);
  uint8_t *base = bytes.data();
  int64_t in = w.in, out = w.out;
  unsigned rest = s.mixed() ? s.salientBits - 1 : 0;
  auto isSal = [&](int64_t i, int64_t j) {
    return !w.salient.empty() && w.salient[i * in + j] != 0;
  };
  if (const Part *p = g.find(PartId::Codes); p && s.kind == Kind::Ternary) {
    uint64_t n = uint64_t(out) * uint64_t(in);
    for (uint64_t f = 0; f < n; f += 5) {
      uint8_t t[5] = {0, 0, 0, 0, 0};
      for (uint64_t k = 0; k < 5 && f + k < n; ++k)
        t[k] = w.codes[f + k];
      base[p->offset + f / 5] = encodeTrits(t);
    }
  } else if (p) {
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        putBits(base + p->offset + i * p->rowBytes, uint64_t(j) * s.bits,
                s.bits, w.codes[i * in + j]);
  }
  if (const Part *p = g.find(PartId::Signs))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j) {
        uint32_t c = w.codes[i * in + j];
        putBits(base + p->offset + i * p->rowBytes, j, 1,
                isSal(i, j) ? c >> rest : c);
      }
  if (const Part *p = g.find(PartId::Mask))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        putBits(base + p->offset + i * p->rowBytes, j, 1, isSal(i, j));
  if (const Part *p = g.find(PartId::ChannelMask))
    for (int64_t b = 0; b * s.block < out; ++b)
      for (int64_t j = 0; j < in; ++j)
        putBits(base + p->offset + b * p->rowBytes, j, 1,
                isSal(b * s.block, j));
  // Salient codes (their low bits) in row-major order, and offsets.
  const Part *sc = g.find(PartId::SalientCodes);
  const Part *off = g.find(PartId::Offsets);
  uint64_t n = 0;
  for (int64_t i = 0; i < out && sc; ++i) {
    if (s.kind == Kind::Bitmap)
      storeU32(base + off->offset + 4 * i, uint32_t(n));
    if (s.kind == Kind::ChannelBlock && i % s.block == 0)
      storeU32(base + off->offset + 4 * (i / s.block), uint32_t(n));
    uint64_t rowBase = s.kind == Kind::NM ? sc->offset + i * sc->rowBytes : 0;
    uint64_t k = 0;
    for (int64_t j = 0; j < in; ++j) {
      if (!isSal(i, j))
        continue;
      uint32_t low = w.codes[i * in + j] & ((1u << rest) - 1u);
      if (s.kind == Kind::NM)
        putBits(base + rowBase, k * rest, rest, low);
      else
        putBits(base + sc->offset, n * rest, rest, low);
      ++k;
      ++n;
    }
  }
  if (const Part *p = g.find(PartId::Indices)) {
    unsigned ib = log2Ceil(s.block);
    for (int64_t i = 0; i < out; ++i) {
      uint64_t k = 0;
      for (int64_t j = 0; j < in; ++j)
        if (isSal(i, j))
          putBits(base + p->offset + i * p->rowBytes, k++ * ib, ib,
                  uint32_t(j % s.block));
    }
  }
  // Group parameters.
  const Part *pp = g.find(PartId::Params);
  const Part *sp = g.find(PartId::SuperScales);
  unsigned nv = 2 * s.paramPairs();
  // The super-scales of rows [r0, r1): the largest magnitude of each value,
  // fp16-rounded, stored at row r0's slot.
  auto superOf = [&](int64_t r0, int64_t r1, float super[4]) -> Status {
    for (unsigned k = 0; k < 4; ++k)
      super[k] = 0;
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t gi = 0; gi < g.groups; ++gi) {
        float v[4];
        groupValues(s, w, i, gi, v);
        for (unsigned k = 0; k < nv; ++k)
          super[k] = std::max(super[k], std::fabs(v[k]));
      }
    for (unsigned k = 0; k < nv; ++k) {
      uint16_t h = floatToHalf(super[k]);
      if (std::isinf(halfToFloat(h)))
        return Status::error("parameter magnitude " + std::to_string(super[k]) +
                             (r1 - r0 == 1 ? " of row " + str(r0)
                                           : std::string(" of the tensor")) +
                             " overflows fp16");
      storeU16(base + sp->offset + r0 * sp->rowBytes + 2 * k, h);
      super[k] = halfToFloat(h);
    }
    return Status::ok();
  };
  // q8t: one pair for every row, computed once; q8: each row's own.
  float super[4] = {0, 0, 0, 0};
  if (s.params == ParamFormat::Q8T)
    if (Status st = superOf(0, out, super); st.failed())
      return st;
  for (int64_t i = 0; i < out; ++i) {
    if (s.params == ParamFormat::Q8)
      if (Status st = superOf(i, i + 1, super); st.failed())
        return st;
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      float v[4];
      groupValues(s, w, i, gi, v);
      uint8_t *dst = base + pp->offset + i * pp->rowBytes +
                     gi * (s.params == ParamFormat::F16 ? 2 * nv : nv);
      for (unsigned k = 0; k < nv; ++k) {
        bool isScale = k % 2 == 0;
        if (s.params == ParamFormat::F16) {
          uint16_t h = floatToHalf(v[k]);
          if (std::isinf(halfToFloat(h)))
            return Status::error("parameter " + std::to_string(v[k]) +
                                 " of row " + str(i) + " overflows fp16");
          storeU16(dst + 2 * k, h);
        } else if (isScale) {
          if (v[k] < 0)
            return Status::error("negative scale in row " + str(i) +
                                 " cannot be stored in the " +
                                 paramFormatName(s.params) + " format");
          dst[k] = encodeQ8Scale(v[k], super[k]);
        } else {
          dst[k] = uint8_t(encodeQ8Offset(v[k], super[k]));
        }
      }
    }
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Validation and unpacking
//===----------------------------------------------------------------------===//

Status s10::quant::layout::validate(const Spec &s, int64_t out, int64_t in,
                                    const uint8_t *data, size_t size) {
  Geometry g;
  if (Status st = describe(s, out, in, g); st.failed())
    return st;
  if (size != g.totalBytes)
    return Status::error("packed weight holds " + str(int64_t(size)) +
                         " bytes, the " + kindName(s.kind) + " layout of " +
                         str(out) + "x" + str(in) + " needs " +
                         str(int64_t(g.totalBytes)));
  // Gaps between parts are zero.
  uint64_t pos = 0;
  for (const Part &p : g.parts) {
    for (uint64_t b = pos; b < p.offset; ++b)
      if (data[b])
        return Status::error("nonzero padding before the " +
                             std::string(partName(p.id)));
    pos = p.offset + p.size;
  }
  for (uint64_t b = pos; b < g.totalBytes; ++b)
    if (data[b])
      return Status::error("nonzero padding after the last part");
  auto rowPadding = [&](PartId id, int64_t rows, uint64_t usedBits) {
    const Part *p = g.find(id);
    for (int64_t r = 0; r < rows; ++r)
      if (!zeroFrom(data + p->offset + r * p->rowBytes, usedBits, p->rowBytes))
        return Status::error(std::string("nonzero padding bits in row ") +
                             str(r) + " of the " + partName(id));
    return Status::ok();
  };
  unsigned rest = s.mixed() ? s.salientBits - 1 : 0;
  int64_t blocks =
      s.kind == Kind::ChannelBlock ? (out + s.block - 1) / s.block : 0;
  Status st;
  switch (s.kind) {
  case Kind::KBit:
    st = rowPadding(PartId::Codes, out, uint64_t(in) * s.bits);
    break;
  case Kind::Ternary: {
    const Part *p = g.find(PartId::Codes);
    uint64_t n = uint64_t(out) * uint64_t(in), used = (n + 4) / 5;
    for (uint64_t b = 0; b < used; ++b) {
      uint8_t q = data[p->offset + b], t[5];
      for (unsigned k = 0; k < 5; ++k)
        t[k] = uint8_t(decodeTrit(q, k));
      if (encodeTrits(t) != q)
        return Status::error("byte " + str(int64_t(b)) +
                             " of the ternary codes is not an encoding of "
                             "five codes");
      for (uint64_t k = n - 5 * b; k < 5 && 5 * b + k >= n; ++k)
        if (t[k])
          return Status::error("nonzero padding codes after the last weight");
    }
    if (!zeroFrom(data + p->offset, used * 8, p->size))
      return Status::error("nonzero padding after the ternary codes");
    break;
  }
  case Kind::Bitmap: {
    if ((st = rowPadding(PartId::Signs, out, in)).failed() ||
        (st = rowPadding(PartId::Mask, out, in)).failed())
      return st;
    const Part *m = g.find(PartId::Mask), *o = g.find(PartId::Offsets);
    uint64_t n = 0;
    for (int64_t i = 0; i < out; ++i) {
      if (loadU32(data + o->offset + 4 * i) != n)
        return Status::error("salient offset of row " + str(i) + " is " +
                             str(loadU32(data + o->offset + 4 * i)) +
                             ", the mask gives " + str(int64_t(n)));
      n += popcountBits(data + m->offset + i * m->rowBytes, in);
    }
    if (n != uint64_t(s.salientCount))
      return Status::error("the salient mask marks " + str(int64_t(n)) +
                           " weights, the layout declares " +
                           str(s.salientCount));
    break;
  }
  case Kind::ChannelBlock: {
    if ((st = rowPadding(PartId::Signs, out, in)).failed() ||
        (st = rowPadding(PartId::ChannelMask, blocks, in)).failed())
      return st;
    const Part *m = g.find(PartId::ChannelMask), *o = g.find(PartId::Offsets);
    uint64_t n = 0;
    for (int64_t b = 0; b < blocks; ++b) {
      if (loadU32(data + o->offset + 4 * b) != n)
        return Status::error("salient offset of row block " + str(b) +
                             " is inconsistent with the channel mask");
      n += popcountBits(data + m->offset + b * m->rowBytes, in) *
           uint64_t(blockRows(s, out, b));
    }
    if (n != uint64_t(s.salientCount))
      return Status::error("the channel mask marks " + str(int64_t(n)) +
                           " weights, the layout declares " +
                           str(s.salientCount));
    break;
  }
  case Kind::NM: {
    if ((st = rowPadding(PartId::Signs, out, in)).failed())
      return st;
    int64_t per = nmRowSalient(s, in);
    unsigned ib = log2Ceil(s.block);
    if ((st = rowPadding(PartId::Indices, out, uint64_t(per) * ib)).failed() ||
        (st = rowPadding(PartId::SalientCodes, out, uint64_t(per) * rest))
            .failed())
      return st;
    const Part *p = g.find(PartId::Indices);
    for (int64_t i = 0; i < out; ++i) {
      const uint8_t *row = data + p->offset + i * p->rowBytes;
      for (int64_t b = 0; b < in / s.block; ++b)
        for (int64_t k = 1; k < s.nmSalient; ++k) {
          uint64_t at = uint64_t(b * s.nmSalient + k) * ib;
          if (getBits(row, at, ib) <= getBits(row, at - ib, ib))
            return Status::error("salient indices of row " + str(i) +
                                 ", block " + str(b) +
                                 " are not strictly increasing");
        }
    }
    break;
  }
  }
  if (st.failed())
    return st;
  if (const Part *sc = g.find(PartId::SalientCodes);
      sc && s.kind != Kind::NM &&
      !zeroFrom(data + sc->offset, uint64_t(s.salientCount) * rest, sc->size))
    return Status::error("nonzero padding bits after the salient codes");
  // Parameters.
  unsigned nv = 2 * s.paramPairs();
  const Part *pp = g.find(PartId::Params);
  if (s.params == ParamFormat::F16) {
    for (uint64_t k = 0; k < pp->size / 2; ++k) {
      float v = halfToFloat(loadU16(data + pp->offset + 2 * k));
      if (!std::isfinite(v))
        return Status::error("group parameter of row " +
                             str(int64_t(k / (nv * g.groups))) +
                             " is not finite");
    }
  } else {
    const Part *sp = g.find(PartId::SuperScales);
    for (uint64_t k = 0; k < sp->size / 2; ++k) {
      float v = halfToFloat(loadU16(data + sp->offset + 2 * k));
      if (!std::isfinite(v) || v < 0)
        return Status::error(
            (s.params == ParamFormat::Q8T
                 ? std::string("tensor super-scale")
                 : "super-scale of row " + str(int64_t(k / nv))) +
            " is not a finite non-negative number");
    }
    for (uint64_t k = 0; k < pp->size; ++k)
      if (k % 2 == 1 && data[pp->offset + k] == 0x80)
        return Status::error(
            "offset code -128 in row " + str(int64_t(k / (nv * g.groups))) +
            " (the " + paramFormatName(s.params) + " format uses [-127, 127])");
  }
  return Status::ok();
}

Status s10::quant::layout::unpack(const Spec &s, int64_t out, int64_t in,
                                  const uint8_t *data, size_t size,
                                  Logical &w) {
  if (Status st = validate(s, out, in, data, size); st.failed())
    return st;
  Geometry g;
  describe(s, out, in, g);
  w = Logical();
  w.out = out;
  w.in = in;
  w.groupSize = s.groupSize;
  size_t n = size_t(out) * size_t(in), ng = size_t(out) * size_t(g.groups);
  w.codes.assign(n, 0);
  w.scales.assign(ng, 0);
  w.offsets.assign(ng, 0);
  unsigned rest = s.mixed() ? s.salientBits - 1 : 0;
  if (s.mixed()) {
    w.salient.assign(n, 0);
    w.salientScales.assign(ng, 0);
    w.salientOffsets.assign(ng, 0);
  }
  if (const Part *p = g.find(PartId::Codes); p && s.kind == Kind::Ternary) {
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        w.codes[i * in + j] = uint8_t(ternaryCode(data + p->offset, in, i, j));
  } else if (p) {
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        w.codes[i * in + j] = uint8_t(getBits(
            data + p->offset + i * p->rowBytes, uint64_t(j) * s.bits, s.bits));
  }
  if (const Part *p = g.find(PartId::Signs))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        w.codes[i * in + j] = bitAt(data + p->offset + i * p->rowBytes, j);
  if (const Part *p = g.find(PartId::Mask))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        w.salient[i * in + j] = bitAt(data + p->offset + i * p->rowBytes, j);
  if (const Part *p = g.find(PartId::ChannelMask))
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        w.salient[i * in + j] =
            bitAt(data + p->offset + (i / s.block) * p->rowBytes, j);
  if (const Part *p = g.find(PartId::Indices)) {
    unsigned ib = log2Ceil(s.block);
    for (int64_t i = 0; i < out; ++i)
      for (int64_t b = 0; b < in / s.block; ++b)
        for (int64_t k = 0; k < s.nmSalient; ++k) {
          uint32_t idx = getBits(data + p->offset + i * p->rowBytes,
                                 uint64_t(b * s.nmSalient + k) * ib, ib);
          w.salient[i * in + b * s.block + idx] = 1;
        }
  }
  if (const Part *sc = g.find(PartId::SalientCodes)) {
    uint64_t n2 = 0;
    for (int64_t i = 0; i < out; ++i) {
      uint64_t k = 0;
      for (int64_t j = 0; j < in; ++j) {
        if (!w.salient[i * in + j])
          continue;
        uint32_t low =
            s.kind == Kind::NM
                ? getBits(data + sc->offset + i * sc->rowBytes, k * rest, rest)
                : getBits(data + sc->offset, n2 * rest, rest);
        uint8_t &c = w.codes[i * in + j];
        c = uint8_t((uint32_t(c) << rest) | low);
        ++k;
        ++n2;
      }
    }
  }
  const Part *pp = g.find(PartId::Params);
  const Part *sp = g.find(PartId::SuperScales);
  unsigned nv = 2 * s.paramPairs();
  std::vector<float> *dst[4] = {&w.scales, &w.offsets, &w.salientScales,
                                &w.salientOffsets};
  for (int64_t i = 0; i < out; ++i)
    for (int64_t gi = 0; gi < g.groups; ++gi)
      for (unsigned k = 0; k < nv; ++k) {
        float v;
        if (s.params == ParamFormat::F16) {
          v = halfToFloat(loadU16(data + pp->offset + i * pp->rowBytes +
                                  (gi * nv + k) * 2));
        } else {
          float super = halfToFloat(
              loadU16(data + sp->offset + i * sp->rowBytes + 2 * k));
          uint8_t c = data[pp->offset + i * pp->rowBytes + gi * nv + k];
          v = k % 2 == 0 ? decodeQ8Scale(c, super)
                         : decodeQ8Offset(int8_t(c), super);
        }
        (*dst[k])[i * g.groups + gi] = v;
      }
  return Status::ok();
}
