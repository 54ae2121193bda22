//===- PackedKernels.cpp - Reference kernels on packed weights ------------===//

#include "s10/Quant/PackedKernels.h"

#include "LayoutBits.h"

#include <algorithm>
#include <cstring>

#ifdef S10_QUANT_HAVE_CBLAS
#include <cblas.h>
#endif

using namespace s10::quant::layout;
using namespace s10::quant::layout::bits;

namespace {

/// The 8 bytes at `byte` of a stream of `limit` bytes, little-endian, zero
/// past the end.
inline uint64_t load64(const uint8_t *base, uint64_t byte, uint64_t limit) {
  uint64_t word = 0;
  if (byte + 8 <= limit) {
    std::memcpy(&word, base + byte, 8);
  } else {
    for (uint64_t b = byte; b < limit; ++b)
      word |= uint64_t(base[b]) << (8 * (b - byte));
  }
  return word;
}

/// n <= 25 bits at bit `pos` of a stream of `limit` bytes.
inline uint32_t readBits(const uint8_t *base, uint64_t pos, unsigned n,
                         uint64_t limit) {
  return uint32_t(load64(base, pos / 8, limit) >> (pos % 8)) & ((1u << n) - 1u);
}

} // namespace

Status PackedMatrix::create(const Spec &spec, int64_t out, int64_t in,
                            const uint8_t *data, size_t size,
                            bool validateContent, PackedMatrix &view) {
  Geometry g;
  if (Status st = describe(spec, out, in, g); st.failed())
    return st;
  if (size != g.totalBytes)
    return Status::error("packed weight holds " + std::to_string(size) +
                         " bytes, the layout needs " +
                         std::to_string(g.totalBytes));
  if (validateContent)
    if (Status st = validate(spec, out, in, data, size); st.failed())
      return st;
  view = PackedMatrix();
  view.s_ = spec;
  view.g_ = std::move(g);
  view.data_ = data;
  if (spec.kind == Kind::ChannelBlock) {
    const Part *m = view.g_.find(PartId::ChannelMask);
    int64_t blocks = (out + spec.block - 1) / spec.block;
    view.channels_.resize(blocks);
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t j = 0; j < in; ++j)
        if (bitAt(data + m->offset + b * m->rowBytes, j))
          view.channels_[b].push_back(uint32_t(j));
  }
  return Status::ok();
}

void PackedMatrix::rowParams(int64_t i, float *p) const {
  unsigned nv = 2 * s_.paramPairs();
  const Part *pp = g_.find(PartId::Params);
  const uint8_t *row = data_ + pp->offset + i * pp->rowBytes;
  int64_t n = g_.groups * nv;
  if (s_.params == ParamFormat::F16) {
    // halfToFloat in a loop without branches the compiler vectorizes:
    // normal values move their bits, zero and subnormals are em 2^-24
    // (exact); Inf and NaN (never in validated bytes) redo the row.
    uint32_t special = 0;
    for (int64_t k = 0; k < n; ++k) {
      uint32_t h = loadU16(row + 2 * k), em = h & 0x7fffu;
      special |= uint32_t(em >= 0x7c00u);
      float sub = float(int(em)) * 0x1p-24f;
      uint32_t subBits;
      std::memcpy(&subBits, &sub, 4);
      uint32_t isSub = 0u - uint32_t(em < 0x0400u); // all ones or zero
      uint32_t x = ((h & 0x8000u) << 16) | (subBits & isSub) |
                   (((em << 13) + 0x38000000u) & ~isSub);
      std::memcpy(p + k, &x, 4);
    }
    if (special)
      for (int64_t k = 0; k < n; ++k)
        p[k] = halfToFloat(loadU16(row + 2 * k));
    return;
  }
  const Part *sp = g_.find(PartId::SuperScales);
  float super[4];
  for (unsigned k = 0; k < nv; ++k)
    super[k] =
        halfToFloat(loadU16(data_ + sp->offset + i * sp->rowBytes + 2 * k));
  for (int64_t k = 0; k < n; ++k) {
    unsigned v = unsigned(k % nv);
    p[k] = v % 2 == 0 ? decodeQ8Scale(row[k], super[v])
                      : decodeQ8Offset(int8_t(row[k]), super[v]);
  }
}

//===----------------------------------------------------------------------===//
// Decoding codes
//===----------------------------------------------------------------------===//

namespace {

/// The bits of each byte value as floats 0 and 1.
struct BitFloats {
  float v[256][8];
  BitFloats() {
    for (unsigned b = 0; b < 256; ++b)
      for (unsigned t = 0; t < 8; ++t)
        v[b][t] = float((b >> t) & 1u);
  }
};
const BitFloats kBitFloats;

/// w[j] = scale * bit j + offset for j in [j0, j1) of a 1-bit plane.
void decodeBits(const uint8_t *bits, int64_t j0, int64_t j1, float scale,
                float offset, float *w) {
  int64_t j = j0;
  if (j0 % 8 == 0)
    for (; j + 8 <= j1; j += 8) {
      const float *t = kBitFloats.v[bits[j / 8]];
      for (int e = 0; e < 8; ++e)
        w[j + e] = scale * t[e] + offset;
    }
  for (; j < j1; ++j)
    w[j] = scale * float(bitAt(bits, j)) + offset;
}

/// w[j] = scale * code j + offset for j in [j0, j1), j0 a multiple of
/// 8 / K: whole bytes decoded in a loop the compiler vectorizes.
template <unsigned K>
void decodeByteCodes(const uint8_t *row, int64_t j0, int64_t j1, float scale,
                     float offset, float *w) {
  constexpr int64_t per = 8 / K;
  constexpr int mask = (1 << K) - 1;
  const uint8_t *src = row + j0 / per;
  float *dst = w + j0;
  int64_t bytes = (j1 - j0) / per;
  for (int64_t b = 0; b < bytes; ++b) {
    int v = src[b];
    for (int64_t r = 0; r < per; ++r)
      dst[per * b + r] = scale * float((v >> (r * K)) & mask) + offset;
  }
  for (int64_t j = j0 + bytes * per; j < j1; ++j)
    w[j] =
        scale * float((int(row[j / per]) >> ((j % per) * K)) & mask) + offset;
}

/// Any K, j0 a multiple of 8: eight codes from K bytes at a time.
template <unsigned K>
void decodeBlockCodes(const uint8_t *row, uint64_t rowBytes, int64_t j0,
                      int64_t j1, float scale, float offset, float *w) {
  constexpr uint64_t mask = (uint64_t(1) << K) - 1u;
  int64_t j = j0;
  for (; j + 8 <= j1; j += 8) {
    uint64_t v = load64(row, uint64_t(j) / 8 * K, rowBytes);
    for (unsigned r = 0; r < 8; ++r)
      w[j + r] = scale * float(int((v >> (r * K)) & mask)) + offset;
  }
  for (; j < j1; ++j)
    w[j] = scale * float(int(readBits(row, uint64_t(j) * K, K, rowBytes))) +
           offset;
}

} // namespace

//===----------------------------------------------------------------------===//
// GEMV
//===----------------------------------------------------------------------===//

namespace {

/// Independent accumulators of the vectorizable dot products.
constexpr int64_t kLanes = 16;

/// kbit: codes of one byte that go to separate planes of x (2, 4, 8 bits);
/// other widths keep x in input order (one plane).
unsigned codesPerPlaneByte(unsigned bits) {
  return bits == 2 || bits == 4 || bits == 8 ? 8 / bits : 1;
}

/// Stride of the de-interleaved planes of x for `per` codes per byte.
int64_t planeStride(int64_t in, unsigned per) {
  int64_t n = (in + per - 1) / per;
  return (n + kLanes - 1) / kLanes * kLanes;
}

/// Sum over the bytes [b0, b1) of a 1-bit plane of lut[b][bits[b]]: the sum
/// of x over the set bits.
inline float lutDot(const uint8_t *bits, const float *lut, int64_t b0,
                    int64_t b1) {
  float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t b = b0;
  for (; b + 4 <= b1; b += 4) {
    a0 += lut[(b + 0) * 256 + bits[b + 0]];
    a1 += lut[(b + 1) * 256 + bits[b + 1]];
    a2 += lut[(b + 2) * 256 + bits[b + 2]];
    a3 += lut[(b + 3) * 256 + bits[b + 3]];
  }
  for (; b < b1; ++b)
    a0 += lut[b * 256 + bits[b]];
  return (a0 + a1) + (a2 + a3);
}

/// The sum of x_j over the set bits j in [j0, j1), bit by bit (groups that
/// do not start on a byte).
inline float bitSum(const uint8_t *bits, const float *x, int64_t j0,
                    int64_t j1) {
  float a = 0;
  for (int64_t j = j0; j < j1; ++j)
    if (bitAt(bits, j))
      a += x[j];
  return a;
}

/// K = 2, 4, 8: the codes of bytes [0, n) of `row` times `scale`,
/// de-interleaved like the planes of x: out[r * ld + b] = scale * code r of
/// byte b. One pass over the bytes, a loop the compiler vectorizes.
template <unsigned K>
void decodeBytes(const uint8_t *row, int64_t n, float scale, float *out,
                 int64_t ld) {
  // Signed int: SSE2 converts int32, not uint32, to float.
  constexpr int mask = (1 << K) - 1;
  float *o0 = out, *o1 = out + ld, *o2 = out + 2 * ld, *o3 = out + 3 * ld;
  for (int64_t b = 0; b < n; ++b) {
    int v = row[b];
    if (K == 8) {
      o0[b] = scale * float(v);
    } else if (K == 4) {
      o0[b] = scale * float(v & mask);
      o1[b] = scale * float(v >> 4);
    } else {
      o0[b] = scale * float(v & mask);
      o1[b] = scale * float((v >> 2) & mask);
      o2[b] = scale * float((v >> 4) & mask);
      o3[b] = scale * float(v >> 6);
    }
  }
}

/// sum a[k] b[k] over k < n, n a multiple of kLanes: kLanes independent
/// accumulators, so the compiler vectorizes the loop without reassociating.
inline float laneDot(const float *a, const float *b, int64_t n) {
  float acc[kLanes] = {};
  for (int64_t k = 0; k < n; k += kLanes)
    for (int64_t l = 0; l < kLanes; ++l)
      acc[l] += a[k + l] * b[k + l];
  for (int64_t w = kLanes / 2; w >= 1; w /= 2)
    for (int64_t l = 0; l < w; ++l)
      acc[l] += acc[l + w];
  return acc[0];
}

/// W[i] . x for 2-, 4- and 8-bit codes whose groups start on bytes: the
/// row's codes times their group's scale are decoded in the planes' order
/// into `buf` (the planes' shape, zero padding), then one long dot product
/// with the planes of x; the offsets come in through the group sums of x.
template <unsigned K>
float planarRowDot(const uint8_t *row, int64_t rowCodeBytes,
                   const float *planes, int64_t stride, int64_t groupBytes,
                   int64_t groups, const float *p, const float *xsum,
                   float *buf) {
  constexpr unsigned per = 8 / K;
  float off = 0;
  for (int64_t g = 0; g < groups; ++g) {
    int64_t b0 = g * groupBytes;
    int64_t n = std::min(rowCodeBytes, b0 + groupBytes) - b0;
    decodeBytes<K>(row + b0, n, p[2 * g], buf + b0, stride);
    off += p[2 * g + 1] * xsum[g];
  }
  return off + laneDot(buf, planes, per * stride);
}

/// Any K, any range: bit by bit.
float codeDot(const uint8_t *row, uint64_t rowBytes, unsigned k, const float *x,
              int64_t j0, int64_t j1) {
  float acc[4] = {0, 0, 0, 0};
  for (int64_t j = j0; j < j1; ++j)
    acc[j & 3] += float(readBits(row, uint64_t(j) * k, k, rowBytes)) * x[j];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

} // namespace

void PackedMatrix::prepare(const float *x, GemvScratch &s) const {
  int64_t in = g_.in, G = s_.groupSize;
  s.xsum.assign(size_t(g_.groups), 0.0f);
  for (int64_t g = 0; g < g_.groups; ++g) {
    float a = 0;
    for (int64_t j = g * G, e = std::min(in, j + G); j < e; ++j)
      a += x[j];
    s.xsum[g] = a;
  }
  if (s_.mixed() || s_.bits == 1) {
    int64_t bytes = (in + 7) / 8;
    s.lut.resize(size_t(bytes) * 256);
    for (int64_t b = 0; b < bytes; ++b) {
      float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t k = 0; k < 8 && 8 * b + k < in; ++k)
        v[k] = x[8 * b + k];
      float *t = &s.lut[size_t(b) * 256];
      t[0] = 0.0f;
      for (unsigned m = 1; m < 256; ++m)
        t[m] = t[m & (m - 1)] + v[__builtin_ctz(m)];
    }
  } else {
    s.lut.clear();
  }
  unsigned k = s_.bits;
  if (!s_.mixed() && k >= 2) {
    unsigned per = codesPerPlaneByte(k);
    int64_t stride = planeStride(in, per);
    s.planes.assign(size_t(per * stride), 0.0f);
    for (int64_t j = 0; j < in; ++j)
      s.planes[(j % per) * stride + j / per] = x[j];
  } else {
    s.planes.clear();
  }
}

namespace {
/// W[i] . x for 3, 5, 6 or 7 bits, groups a multiple of 8: the row's codes
/// times their group's scale, eight codes per K bytes, then one long dot
/// product with x (zero-padded to `stride`).
template <unsigned K>
float blockRowDot(const uint8_t *row, uint64_t rowBytes, int64_t in, int64_t G,
                  int64_t groups, const float *xpad, int64_t stride,
                  const float *p, const float *xsum, float *buf) {
  float off = 0;
  for (int64_t g = 0; g < groups; ++g) {
    int64_t j0 = g * G, j1 = std::min(in, j0 + G);
    decodeBlockCodes<K>(row, rowBytes, j0, j1, p[2 * g], 0.0f, buf);
    off += p[2 * g + 1] * xsum[g];
  }
  return off + laneDot(buf, xpad, stride);
}
} // namespace

void PackedMatrix::gemvKBit(const float *x, const GemvScratch &s, float *y,
                            int64_t r0, int64_t r1) const {
  int64_t in = g_.in, G = s_.groupSize, groups = g_.groups;
  unsigned k = s_.bits, per = codesPerPlaneByte(k);
  const Part *cp = g_.find(PartId::Codes);
  uint64_t rowBytes = cp->rowBytes;
  bool byteGroups = G % 8 == 0;
  bool planar = (k == 2 || k == 4 || k == 8) && G % per == 0;
  // 3, 5, 6, 7 bits: decoded eight codes at a time, input order.
  bool blocks = (k == 3 || k == 5 || k == 6 || k == 7) && byteGroups;
  int64_t stride = planar || blocks ? planeStride(in, per) : 0;
  int64_t groupBytes = G / per, rowCodeBytes = (in + per - 1) / per;
  std::vector<float> buf(size_t(per * stride));
  const float *lut = s.lut.data(), *planes = s.planes.data();
  std::vector<float> p(size_t(groups) * 2);
  if (s_.kind == Kind::Ternary) {
    const uint8_t *codes = data_ + cp->offset;
    for (int64_t i = r0; i < r1; ++i) {
      rowParams(i, p.data());
      float acc = 0;
      for (int64_t g = 0; g < groups; ++g) {
        float d[4] = {0, 0, 0, 0};
        for (int64_t j = g * G, e = std::min(in, j + G); j < e; ++j)
          d[j & 3] += float(ternaryCode(codes, in, i, j)) * x[j];
        acc += p[2 * g] * ((d[0] + d[1]) + (d[2] + d[3])) +
               p[2 * g + 1] * s.xsum[g];
      }
      y[i - r0] = acc;
    }
    return;
  }
  for (int64_t i = r0; i < r1; ++i) {
    rowParams(i, p.data());
    const uint8_t *row = data_ + cp->offset + i * rowBytes;
    if (planar) {
      y[i - r0] =
          k == 2
              ? planarRowDot<2>(row, rowCodeBytes, planes, stride, groupBytes,
                                groups, p.data(), s.xsum.data(), buf.data())
          : k == 4
              ? planarRowDot<4>(row, rowCodeBytes, planes, stride, groupBytes,
                                groups, p.data(), s.xsum.data(), buf.data())
              : planarRowDot<8>(row, rowCodeBytes, planes, stride, groupBytes,
                                groups, p.data(), s.xsum.data(), buf.data());
      continue;
    }
    if (blocks) {
      auto dot = k == 3   ? blockRowDot<3>
                 : k == 5 ? blockRowDot<5>
                 : k == 6 ? blockRowDot<6>
                          : blockRowDot<7>;
      y[i - r0] = dot(row, rowBytes, in, G, groups, planes, stride, p.data(),
                      s.xsum.data(), buf.data());
      continue;
    }
    float acc = 0;
    for (int64_t g = 0; g < groups; ++g) {
      int64_t j0 = g * G, j1 = std::min(in, j0 + G);
      float d;
      if (k == 1)
        d = byteGroups ? lutDot(row, lut, j0 / 8, (j1 + 7) / 8)
                       : bitSum(row, x, j0, j1);
      else
        d = codeDot(row, rowBytes, k, x, j0, j1);
      acc += p[2 * g] * d + p[2 * g + 1] * s.xsum[g];
    }
    y[i - r0] = acc;
  }
}

namespace {

/// Sum over the bytes [b0, b1) of lut[b][a[b] & m[b]]: the sum of x over the
/// bits set in both planes.
inline float lutDotAnd(const uint8_t *a, const uint8_t *m, const float *lut,
                       int64_t b0, int64_t b1) {
  float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t b = b0;
  for (; b + 4 <= b1; b += 4) {
    a0 += lut[(b + 0) * 256 + (a[b + 0] & m[b + 0])];
    a1 += lut[(b + 1) * 256 + (a[b + 1] & m[b + 1])];
    a2 += lut[(b + 2) * 256 + (a[b + 2] & m[b + 2])];
    a3 += lut[(b + 3) * 256 + (a[b + 3] & m[b + 3])];
  }
  for (; b < b1; ++b)
    a0 += lut[b * 256 + (a[b] & m[b])];
  return (a0 + a1) + (a2 + a3);
}

/// For each byte value, the positions of its set bits (lowest first, then
/// zeros) and their count.
struct BitPositions {
  int32_t pos[256][8];
  int32_t count[256];
  BitPositions() {
    for (unsigned v = 0; v < 256; ++v) {
      int32_t n = 0;
      for (int32_t b = 0; b < 8; ++b)
        if ((v >> b) & 1u)
          pos[v][n++] = b;
      for (int32_t b = n; b < 8; ++b)
        pos[v][b] = 0;
      count[v] = n;
    }
  }
};
const BitPositions kBitPositions;

/// The inputs of the set bits of a 1-bit plane row of `in` bits, in
/// increasing order; `js` holds in + 8 entries. No branch on the bits: each
/// byte writes eight positions and advances by its count.
int64_t setBits(const uint8_t *bits, int64_t in, int32_t *js) {
  int64_t n = 0;
  for (int64_t b = 0; b < (in + 7) / 8; ++b) {
    unsigned v = bits[b];
    int32_t pos[8]; // a local copy: the stores cannot alias the table
    std::memcpy(pos, kBitPositions.pos[v], sizeof(pos));
    for (int t = 0; t < 8; ++t)
      pos[t] += int32_t(8 * b);
    std::memcpy(js + n, pos, sizeof(pos));
    n += kBitPositions.count[v];
  }
  return n;
}

/// The salient weights js[0, n) of a row (increasing inputs) replace their
/// binary value q0 msb + q1, already counted, by q2 (msb 2^rest + low) + q3.
/// Per group that adds
///   q2 (2^rest C + D) + (q3 - q1) B - q0 C
/// with B = sum x, C = sum msb x and D = sum low x over its salient weights.
/// Salient k's low bits are at bit pos + k rest of `codes` (`limit` bytes);
/// `c` holds C per group.
float salientCorrection(const float *x, const int32_t *js, int64_t n,
                        const uint8_t *codes, uint64_t pos, uint64_t limit,
                        unsigned rest, int64_t G, int64_t groups,
                        const float *p, const float *c) {
  float top = float(1u << rest), corr = 0;
  const uint64_t mask = (uint64_t(1) << rest) - 1u;
  int64_t k = 0, gEnd = 0;
  for (int64_t g = 0; g < groups && k < n; ++g) {
    gEnd += G;
    // Eight low codes at a time (8 rest <= 56 bits of one 64-bit load) while
    // eight salient weights remain in the group, then one at a time.
    float b0 = 0, b1 = 0, d0 = 0, d1 = 0;
    for (; k + 8 <= n && js[k + 7] < gEnd; k += 8) {
      uint64_t at = pos + uint64_t(k) * rest;
      uint64_t w = load64(codes, at / 8, limit) >> (at % 8);
      for (int t = 0; t < 8; t += 2) {
        float xa = x[js[k + t]], xb = x[js[k + t + 1]];
        b0 += xa;
        b1 += xb;
        d0 += float(int((w >> (t * rest)) & mask)) * xa;
        d1 += float(int((w >> ((t + 1) * rest)) & mask)) * xb;
      }
    }
    for (; k < n && js[k] < gEnd; ++k) {
      float xa = x[js[k]];
      b0 += xa;
      d0 += float(int(readBits(codes, pos + uint64_t(k) * rest, rest, limit))) *
            xa;
    }
    const float *q = p + 4 * g;
    float b = b0 + b1, d = d0 + d1;
    corr += q[2] * (top * c[g] + d) + (q[3] - q[1]) * b - q[0] * c[g];
  }
  return corr;
}

/// The inputs of the salient weights of an N:M row: `blocks` blocks of M
/// inputs, N log2(M)-bit indices each, eight indices per 64-bit load.
int64_t nmSalientInputs(const uint8_t *idx, uint64_t rowBytes, int64_t blocks,
                        int64_t M, int64_t N, int32_t *js) {
  unsigned ib = log2Ceil(M);
  const uint64_t mask = (uint64_t(1) << ib) - 1u;
  int64_t total = blocks * N, k = 0, b = 0, t = 0;
  for (; k < total; k += 8) {
    uint64_t at = uint64_t(k) * ib;
    uint64_t w = load64(idx, at / 8, rowBytes) >> (at % 8);
    for (int64_t e = 0; e < 8 && k + e < total; ++e) {
      js[k + e] = int32_t(b * M + int64_t((w >> (e * ib)) & mask));
      if (++t == N) {
        t = 0;
        ++b;
      }
    }
  }
  return total;
}

/// C of salientCorrection(), per group, from the sign bits of js[0, n).
void salientSignSums(const float *x, const uint8_t *signs, const int32_t *js,
                     int64_t n, int64_t G, int64_t groups, float *c) {
  int64_t k = 0, gEnd = 0;
  for (int64_t g = 0; g < groups; ++g) {
    gEnd += G;
    float c0 = 0, c1 = 0;
    for (; k + 1 < n && js[k + 1] < gEnd; k += 2) {
      int32_t ja = js[k], jb = js[k + 1];
      c0 += float(int((signs[ja >> 3] >> (ja & 7)) & 1)) * x[ja];
      c1 += float(int((signs[jb >> 3] >> (jb & 7)) & 1)) * x[jb];
    }
    if (k < n && js[k] < gEnd) {
      int32_t ja = js[k++];
      c0 += float(int((signs[ja >> 3] >> (ja & 7)) & 1)) * x[ja];
    }
    c[g] = c0 + c1;
  }
}

} // namespace

void PackedMatrix::gemvMixed(const float *x, const GemvScratch &s, float *y,
                             int64_t r0, int64_t r1) const {
  int64_t in = g_.in, G = s_.groupSize, groups = g_.groups;
  bool byteGroups = G % 8 == 0;
  const float *lut = s.lut.data();
  unsigned rest = s_.salientBits - 1;
  const Part *sg = g_.find(PartId::Signs);
  std::vector<float> p(size_t(groups) * 4), c(static_cast<size_t>(groups));
  std::vector<int32_t> js(size_t(in) + 8);
  std::vector<uint8_t> nmMask(size_t(in + 7) / 8);
  for (int64_t i = r0; i < r1; ++i) {
    rowParams(i, p.data());
    const uint8_t *signs = data_ + sg->offset + i * sg->rowBytes;
    // Binary part: scale * (sum of x over set sign bits) + offset * sum x.
    float acc = 0;
    for (int64_t g = 0; g < groups; ++g) {
      int64_t j0 = g * G, j1 = std::min(in, j0 + G);
      float d = byteGroups ? lutDot(signs, lut, j0 / 8, (j1 + 7) / 8)
                           : bitSum(signs, x, j0, j1);
      acc += p[4 * g] * d + p[4 * g + 1] * s.xsum[g];
    }
    SalientRow sr = salientRow(i, js.data(), nmMask.data());
    // C: the sum of x over salient weights whose sign-plane bit is set.
    if (byteGroups)
      for (int64_t g = 0; g < groups; ++g)
        c[g] = lutDotAnd(signs, sr.mask, lut, g * G / 8,
                         (std::min(in, (g + 1) * G) + 7) / 8);
    else
      salientSignSums(x, signs, sr.inputs, sr.count, G, groups, c.data());
    acc += salientCorrection(x, sr.inputs, sr.count, sr.codes, sr.pos, sr.limit,
                             rest, G, groups, p.data(), c.data());
    y[i - r0] = acc;
  }
}

PackedMatrix::SalientRow PackedMatrix::salientRow(int64_t i, int32_t *js,
                                                  uint8_t *nmMask) const {
  int64_t in = g_.in;
  unsigned rest = s_.salientBits - 1;
  const Part *sc = g_.find(PartId::SalientCodes);
  const Part *op = g_.find(PartId::Offsets);
  SalientRow r;
  r.inputs = js;
  r.codes = data_ + sc->offset;
  r.limit = sc->size;
  switch (s_.kind) {
  case Kind::Bitmap: {
    const Part *m = g_.find(PartId::Mask);
    r.mask = data_ + m->offset + i * m->rowBytes;
    r.count = setBits(r.mask, in, js);
    r.pos = uint64_t(loadU32(data_ + op->offset + 4 * i)) * rest;
    break;
  }
  case Kind::ChannelBlock: {
    int64_t b = i / s_.block;
    const Part *m = g_.find(PartId::ChannelMask);
    r.mask = data_ + m->offset + b * m->rowBytes;
    const auto &ch = channels_[b];
    r.inputs = reinterpret_cast<const int32_t *>(ch.data());
    r.count = int64_t(ch.size());
    r.pos = (uint64_t(loadU32(data_ + op->offset + 4 * b)) +
             uint64_t(i - b * s_.block) * ch.size()) *
            rest;
    break;
  }
  case Kind::NM: {
    const Part *ip = g_.find(PartId::Indices);
    r.count =
        nmSalientInputs(data_ + ip->offset + i * ip->rowBytes, ip->rowBytes,
                        in / s_.block, s_.block, s_.nmSalient, js);
    std::fill(nmMask, nmMask + (in + 7) / 8, uint8_t(0));
    for (int64_t k = 0; k < r.count; ++k)
      nmMask[js[k] >> 3] |= uint8_t(1u << (js[k] & 7));
    r.mask = nmMask;
    r.codes = data_ + sc->offset + i * sc->rowBytes;
    r.limit = sc->rowBytes;
    break;
  }
  case Kind::KBit:
  case Kind::Ternary:
    break;
  }
  return r;
}

void PackedMatrix::gemvRows(const float *x, const GemvScratch &s, float *y,
                            int64_t r0, int64_t r1) const {
  if (s_.mixed())
    gemvMixed(x, s, y, r0, r1);
  else
    gemvKBit(x, s, y, r0, r1);
}

void PackedMatrix::gemv(const float *x, float *y) const {
  GemvScratch s;
  prepare(x, s);
  gemvRows(x, s, y, 0, g_.out);
}

//===----------------------------------------------------------------------===//
// Row decoding
//===----------------------------------------------------------------------===//

void PackedMatrix::decodeRowWith(int64_t i, float *w, float *p, int32_t *js,
                                 uint8_t *nmMask) const {
  int64_t in = g_.in, G = s_.groupSize, groups = g_.groups;
  rowParams(i, p);
  if (s_.kind == Kind::Ternary) {
    const uint8_t *codes = data_ + g_.find(PartId::Codes)->offset;
    for (int64_t j = 0; j < in; ++j) {
      int64_t g = j / G;
      w[j] = p[2 * g] * float(ternaryCode(codes, in, i, j)) + p[2 * g + 1];
    }
    return;
  }
  if (!s_.mixed()) {
    const Part *cp = g_.find(PartId::Codes);
    const uint8_t *row = data_ + cp->offset + i * cp->rowBytes;
    unsigned k = s_.bits;
    for (int64_t g = 0; g < groups; ++g) {
      int64_t j0 = g * G, j1 = std::min(in, j0 + G);
      float sc = p[2 * g], of = p[2 * g + 1];
      if (k == 1)
        decodeBits(row, j0, j1, sc, of, w);
      else if (k == 2 && j0 % 4 == 0)
        decodeByteCodes<2>(row, j0, j1, sc, of, w);
      else if (k == 4 && j0 % 2 == 0)
        decodeByteCodes<4>(row, j0, j1, sc, of, w);
      else if (k == 8)
        decodeByteCodes<8>(row, j0, j1, sc, of, w);
      else if (j0 % 8 == 0 && k == 3)
        decodeBlockCodes<3>(row, cp->rowBytes, j0, j1, sc, of, w);
      else if (j0 % 8 == 0 && k == 5)
        decodeBlockCodes<5>(row, cp->rowBytes, j0, j1, sc, of, w);
      else if (j0 % 8 == 0 && k == 6)
        decodeBlockCodes<6>(row, cp->rowBytes, j0, j1, sc, of, w);
      else if (j0 % 8 == 0 && k == 7)
        decodeBlockCodes<7>(row, cp->rowBytes, j0, j1, sc, of, w);
      else
        for (int64_t j = j0; j < j1; ++j)
          w[j] =
              sc * float(readBits(row, uint64_t(j) * k, k, cp->rowBytes)) + of;
    }
    return;
  }
  // Binary values from the sign plane, then the salient weights over them.
  const Part *sg = g_.find(PartId::Signs);
  const uint8_t *signs = data_ + sg->offset + i * sg->rowBytes;
  for (int64_t g = 0; g < groups; ++g)
    decodeBits(signs, g * G, std::min(in, (g + 1) * G), p[4 * g], p[4 * g + 1],
               w);
  SalientRow sr = salientRow(i, js, nmMask);
  unsigned rest = s_.salientBits - 1;
  const uint64_t mask = (uint64_t(1) << rest) - 1u;
  int64_t k = 0, gEnd = 0;
  for (int64_t g = 0; g < groups && k < sr.count; ++g) {
    gEnd += G;
    float sc = p[4 * g + 2], of = p[4 * g + 3];
    auto put = [&](int32_t j, uint64_t low) {
      uint32_t c =
          (uint32_t((signs[j >> 3] >> (j & 7)) & 1u) << rest) | uint32_t(low);
      w[j] = sc * float(int(c)) + of;
    };
    for (; k + 8 <= sr.count && sr.inputs[k + 7] < gEnd; k += 8) {
      uint64_t at = sr.pos + uint64_t(k) * rest;
      uint64_t v = load64(sr.codes, at / 8, sr.limit) >> (at % 8);
      for (int t = 0; t < 8; ++t)
        put(sr.inputs[k + t], (v >> (t * rest)) & mask);
    }
    for (; k < sr.count && sr.inputs[k] < gEnd; ++k)
      put(sr.inputs[k],
          readBits(sr.codes, sr.pos + uint64_t(k) * rest, rest, sr.limit));
  }
}

void PackedMatrix::decodeRow(int64_t i, float *w) const {
  std::vector<float> p(size_t(g_.groups) * 2 * s_.paramPairs());
  std::vector<int32_t> js(s_.mixed() ? size_t(g_.in) + 8 : 0);
  std::vector<uint8_t> nmMask(s_.kind == Kind::NM ? size_t(g_.in + 7) / 8 : 0);
  decodeRowWith(i, w, p.data(), js.data(), nmMask.data());
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

void PackedMatrix::gemmRows(const float *x, int64_t n, int64_t ldx, float *y,
                            int64_t ldy, int64_t r0, int64_t r1,
                            std::vector<float> &tile) const {
  constexpr int64_t kTile = 32;
  int64_t in = g_.in;
  tile.resize(size_t(kTile * in));
  std::vector<float> p(size_t(g_.groups) * 2 * s_.paramPairs());
  std::vector<int32_t> js(s_.mixed() ? size_t(in) + 8 : 0);
  std::vector<uint8_t> nmMask(s_.kind == Kind::NM ? size_t(in + 7) / 8 : 0);
  for (int64_t t0 = r0; t0 < r1; t0 += kTile) {
    int64_t rows = std::min(kTile, r1 - t0);
    for (int64_t r = 0; r < rows; ++r)
      decodeRowWith(t0 + r, tile.data() + r * in, p.data(), js.data(),
                    nmMask.data());
#ifdef S10_QUANT_HAVE_CBLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(rows),
                int(in), 1.0f, x, int(ldx), tile.data(), int(in), 0.0f, y + t0,
                int(ldy));
#else
    for (int64_t t = 0; t < n; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        const float *a = x + t * ldx, *w = tile.data() + r * in;
        float acc = 0;
        for (int64_t j = 0; j < in; ++j)
          acc += a[j] * w[j];
        y[t * ldy + t0 + r] = acc;
      }
#endif
  }
}

void PackedMatrix::gemm(const float *x, int64_t n, float *y) const {
  std::vector<float> tile;
  gemmRows(x, n, g_.in, y, g_.out, 0, g_.out, tile);
}
