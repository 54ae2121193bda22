//===- LayoutTest.cpp - Packed weight layout tests ------------------------===//
//
// Geometry, byte-exact packing against an encoder written from the format
// documentation, pack/unpack round trips for every layout kind and
// parameter format, fp16 conversions, and the rejection of malformed specs,
// weights and bytes.
//
//===----------------------------------------------------------------------===//

#include "PackedTestUtil.h"
#include "s10/Quant/PackedKernels.h"

#include <cfloat>
#include <limits>

using namespace s10::quant::layout;
using namespace s10::quant::layout::test;

namespace {

float bitsToFloat(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
uint32_t floatToBits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}

/// Value of a binary16 pattern, from the IEEE definition (in double).
double refHalf(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v;
  if (exp == 0)
    v = std::ldexp(double(mant), -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN()
             : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(double(1024 + mant), exp - 25);
  return sign ? -v : v;
}

//===----------------------------------------------------------------------===//
// fp16
//===----------------------------------------------------------------------===//

TEST(LayoutBits, PayloadAndTrueBitsPerWeight) {
  // 20 of 100 weights at 4 bits, the rest at 1: 1.6 payload bits.
  EXPECT_DOUBLE_EQ(payloadBitsPerWeight(1, 4, 20, 100), 1.6);
  EXPECT_DOUBLE_EQ(payloadBitsPerWeight(3, 3, 0, 64), 3.0);
  EXPECT_DOUBLE_EQ(payloadBitsPerWeight(1, 8, 100, 100), 8.0);
  EXPECT_EQ(payloadBitsPerWeight(2, 2, 0, 0), 0.0);
  // 384 x 384 weights in 58,368 bytes: 3.1666... true bits.
  EXPECT_DOUBLE_EQ(trueBitsPerWeight(58368, 384 * 384), 58368 * 8.0 / 147456);
  EXPECT_DOUBLE_EQ(trueBitsPerWeight(2, 4), 4.0);
  EXPECT_EQ(trueBitsPerWeight(10, 0), 0.0);
}

TEST(LayoutFp16, KnownPatterns) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(0.5f), 0x3800);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  EXPECT_EQ(floatToHalf(std::ldexp(1023.0f, -24)), 0x03ff);
  EXPECT_EQ(floatToHalf(0.1f), 0x2e66);
  EXPECT_EQ(floatToHalf(3.140625f), 0x4248);
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(floatToBits(halfToFloat(0x8000)), 0x80000000u);
}

TEST(LayoutFp16, RoundHalfToEven) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to the even 0x3c00.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3 * 2^-11 lies between 0x3c01 and 0x3c02: ties to even 0x3c02.
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Just above the tie rounds up.
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)),
            0x3c01);
  // Just below the tie rounds down.
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + 3 * std::ldexp(1.0f, -11), 0.0f)),
            0x3c01);
  // Subnormal ties: 2^-25 is half the smallest subnormal -> 0 (even);
  // 3 * 2^-25 -> 2 * 2^-24 (even); 5 * 2^-25 -> 2 * 2^-24.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(floatToHalf(3 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(floatToHalf(5 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(floatToHalf(-3 * std::ldexp(1.0f, -25)), 0x8002);
  // Rounding carries into the exponent: just below 2 -> 2.
  EXPECT_EQ(floatToHalf(std::nextafter(2.0f, 0.0f)), 0x4000);
  // The largest subnormal rounds up to the smallest normal.
  EXPECT_EQ(floatToHalf(std::ldexp(1023.75f, -24)), 0x0400);
  EXPECT_EQ(floatToHalf(FLT_MIN), 0x0000);
}

TEST(LayoutFp16, InfNaNAndOverflow) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToHalf(inf), 0x7c00);
  EXPECT_EQ(floatToHalf(-inf), 0xfc00);
  uint16_t n = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(n & 0x7c00, 0x7c00);
  EXPECT_NE(n & 0x03ff, 0);
  // A signalling NaN whose payload sits in the low bits stays a NaN.
  uint16_t sn = floatToHalf(bitsToFloat(0x7f800001u));
  EXPECT_EQ(sn & 0x7c00, 0x7c00);
  EXPECT_NE(sn & 0x03ff, 0);
  EXPECT_TRUE(std::isinf(halfToFloat(0x7c00)));
  EXPECT_TRUE(std::isinf(halfToFloat(0xfc00)));
  EXPECT_LT(halfToFloat(0xfc00), 0);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7c01)));
  EXPECT_TRUE(std::isnan(halfToFloat(0xfe00)));
  // 65519.99 rounds to 65504; the tie 65520 rounds to even, which is Inf.
  EXPECT_EQ(floatToHalf(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);
  EXPECT_EQ(floatToHalf(-65520.0f), 0xfc00);
  EXPECT_EQ(floatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(floatToHalf(FLT_MAX), 0x7c00);
}

TEST(LayoutFp16, ExhaustiveHalfValues) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    double ref = refHalf(uint16_t(h));
    float f = halfToFloat(uint16_t(h));
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << h;
      EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(double(f), ref) << std::hex << h;
    ASSERT_EQ(std::signbit(f), bool(h & 0x8000)) << std::hex << h;
    // Every half value survives float and back, bit for bit (-0 included).
    ASSERT_EQ(floatToHalf(f), h) << std::hex << h;
    ASSERT_EQ(floatToBits(halfToFloat(floatToHalf(f))), floatToBits(f));
  }
}

/// Every float in and around the half range rounds to a nearest half value,
/// ties to the even pattern, checked against the exact neighbours.
TEST(LayoutFp16, RandomFloatsRoundToNearest) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits(0x30000000u, 0x47800000u);
  std::bernoulli_distribution neg(0.5);
  for (int t = 0; t < 200000; ++t) {
    uint32_t x = bits(rng) | (neg(rng) ? 0x80000000u : 0u);
    float f = bitsToFloat(x);
    uint16_t h = floatToHalf(f);
    double a = std::fabs(double(f));
    uint16_t mag = h & 0x7fff;
    ASSERT_EQ(bool(h & 0x8000), std::signbit(f));
    if (mag == 0x7c00) { // overflow: only from >= 65520
      ASSERT_GE(a, 65520.0) << f;
      continue;
    }
    ASSERT_LT(mag, 0x7c00);
    double v = refHalf(mag);
    double err = std::fabs(v - a);
    if (mag > 0) {
      ASSERT_LE(err, std::fabs(refHalf(uint16_t(mag - 1)) - a)) << f;
    }
    double up = mag + 1 < 0x7c00 ? refHalf(uint16_t(mag + 1)) : 65536.0;
    double errUp = std::fabs(up - a);
    ASSERT_LE(err, errUp) << f;
    if (mag > 0 && err == std::fabs(refHalf(uint16_t(mag - 1)) - a)) {
      ASSERT_EQ(mag % 2, 0) << "tie not to even: " << f;
    }
    if (err == errUp) {
      ASSERT_EQ(mag % 2, 0) << "tie not to even: " << f;
    }
  }
}

//===----------------------------------------------------------------------===//
// Geometry
//===----------------------------------------------------------------------===//

class LayoutConfigTest : public ::testing::TestWithParam<Config> {};

std::string configName(const ::testing::TestParamInfo<Config> &info) {
  return info.param.name;
}

TEST_P(LayoutConfigTest, GeometryMatchesFormulas) {
  for (const Shape &sh : shapesFor(GetParam().spec)) {
    SCOPED_TRACE(shapeName(sh));
    Spec s = GetParam().spec;
    s.groupSize = sh.group;
    for (int64_t count :
         {int64_t(0), int64_t(1), sh.out * sh.in / 3, sh.out * sh.in}) {
      if (!s.mixed())
        count = 0;
      else if (s.kind == Kind::NM)
        count = sh.in / s.block * s.nmSalient * sh.out;
      s.salientCount = count;
      Geometry g;
      Status st = describe(s, sh.out, sh.in, g);
      ASSERT_FALSE(st.failed()) << st.message();
      RefGeometry r = refGeometry(s, sh.out, sh.in);
      EXPECT_EQ(g.out, sh.out);
      EXPECT_EQ(g.in, sh.in);
      EXPECT_EQ(g.groups, (sh.in + sh.group - 1) / sh.group);
      EXPECT_EQ(g.totalBytes, r.total);
      EXPECT_EQ(g.totalBytes % kPartAlign, 0u);
      ASSERT_EQ(g.parts.size(), r.parts.size());
      for (size_t k = 0; k < r.parts.size(); ++k) {
        SCOPED_TRACE(partName(r.parts[k].id));
        EXPECT_EQ(g.parts[k].id, r.parts[k].id);
        EXPECT_EQ(g.parts[k].offset, r.parts[k].offset);
        EXPECT_EQ(g.parts[k].size, r.parts[k].size);
        EXPECT_EQ(g.parts[k].rowBytes, r.parts[k].rowBytes);
        EXPECT_EQ(g.parts[k].offset % kPartAlign, 0u);
        if (k > 0) {
          EXPECT_GE(g.parts[k].offset,
                    g.parts[k - 1].offset + g.parts[k - 1].size);
        }
        EXPECT_EQ(g.find(r.parts[k].id), &g.parts[k]);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

TEST_P(LayoutConfigTest, PackMatchesDocumentedBytes) {
  uint32_t seed = 1;
  for (const Shape &sh : shapesFor(GetParam().spec)) {
    SCOPED_TRACE(shapeName(sh));
    Spec base = GetParam().spec;
    base.groupSize = sh.group;
    Logical w = randomLogical(base, sh.out, sh.in, seed++);
    Spec s = specFor(base, w);
    Spec fitted = base;
    Status st = fit(fitted, w);
    ASSERT_FALSE(st.failed()) << st.message();
    EXPECT_EQ(fitted.salientCount, s.salientCount);
    std::vector<uint8_t> bytes;
    st = pack(fitted, w, bytes);
    ASSERT_FALSE(st.failed()) << st.message();
    std::vector<uint8_t> ref = refPack(s, w);
    ASSERT_EQ(bytes.size(), ref.size());
    for (size_t k = 0; k < ref.size(); ++k)
      ASSERT_EQ(int(bytes[k]), int(ref[k])) << "byte " << k;
    st = validate(s, sh.out, sh.in, bytes.data(), bytes.size());
    EXPECT_FALSE(st.failed()) << st.message();
  }
}

TEST_P(LayoutConfigTest, RoundTripIsIdentity) {
  uint32_t seed = 100;
  for (const Shape &sh : shapesFor(GetParam().spec)) {
    SCOPED_TRACE(shapeName(sh));
    Spec base = GetParam().spec;
    base.groupSize = sh.group;
    Logical w = randomLogical(base, sh.out, sh.in, seed++);
    // Parameters exactly representable in the format: lossless round trip.
    roundParams(base.params, w);
    Spec s = specFor(base, w);
    std::vector<uint8_t> bytes;
    Status st = pack(s, w, bytes);
    ASSERT_FALSE(st.failed()) << st.message();
    Logical u;
    st = unpack(s, sh.out, sh.in, bytes.data(), bytes.size(), u);
    ASSERT_FALSE(st.failed()) << st.message();
    EXPECT_EQ(u.out, w.out);
    EXPECT_EQ(u.in, w.in);
    EXPECT_EQ(u.groupSize, w.groupSize);
    EXPECT_EQ(u.codes, w.codes);
    if (s.mixed())
      EXPECT_EQ(u.salient, w.salient);
    else
      EXPECT_TRUE(std::none_of(u.salient.begin(), u.salient.end(),
                               [](uint8_t m) { return m != 0; }));
    EXPECT_EQ(u.scales, w.scales);
    EXPECT_EQ(u.offsets, w.offsets);
    EXPECT_EQ(u.salientScales, w.salientScales);
    EXPECT_EQ(u.salientOffsets, w.salientOffsets);
    for (int64_t i = 0; i < w.out; ++i)
      for (int64_t j = 0; j < w.in; ++j)
        ASSERT_EQ(u.value(i, j), refValue(w, i, j)) << i << "," << j;
    // Packing the unpacked weight gives the same bytes.
    std::vector<uint8_t> again;
    st = pack(s, u, again);
    ASSERT_FALSE(st.failed()) << st.message();
    EXPECT_EQ(again, bytes);
  }
}

/// Unrounded parameters: f16 rounds each to nearest; q8 is lossy, but a
/// second pack of the unpacked weight reproduces the bytes, and unpacking
/// gives the documented decode S * c / 255, O * c / 127.
TEST_P(LayoutConfigTest, ParameterRoundingIsStable) {
  uint32_t seed = 200;
  for (const Shape &sh : shapesFor(GetParam().spec)) {
    SCOPED_TRACE(shapeName(sh));
    Spec base = GetParam().spec;
    base.groupSize = sh.group;
    Logical w = randomLogical(base, sh.out, sh.in, seed++);
    Spec s = specFor(base, w);
    std::vector<uint8_t> bytes;
    Status st = pack(s, w, bytes);
    ASSERT_FALSE(st.failed()) << st.message();
    Logical u;
    st = unpack(s, sh.out, sh.in, bytes.data(), bytes.size(), u);
    ASSERT_FALSE(st.failed()) << st.message();
    EXPECT_EQ(u.codes, w.codes);
    Logical expect = w;
    roundParams(s.params, expect);
    auto got = paramSlots(u), want = paramSlots(expect);
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k]->size(), want[k]->size());
      for (size_t g = 0; g < got[k]->size(); ++g)
        ASSERT_EQ((*got[k])[g], (*want[k])[g]) << "slot " << k << " " << g;
    }
    if (s.params != ParamFormat::F16) {
      // Within half a code step of the original value; the step is set by
      // the row's largest magnitude (q8) or the tensor's (q8t).
      for (size_t k = 0; k < got.size(); ++k) {
        std::vector<float> &orig = *paramSlots(w)[k];
        float tensorMax = 0;
        for (float v : orig)
          tensorMax = std::max(tensorMax, std::fabs(v));
        for (int64_t i = 0; i < w.out; ++i) {
          float mx = 0;
          for (int64_t g = 0; g < w.groups(); ++g)
            mx = std::max(mx, std::fabs(orig[i * w.groups() + g]));
          if (s.params == ParamFormat::Q8T)
            mx = tensorMax;
          double step = mx / (k % 2 == 0 ? 255.0 : 127.0);
          for (int64_t g = 0; g < w.groups(); ++g)
            EXPECT_LE(std::fabs((*got[k])[i * w.groups() + g] -
                                orig[i * w.groups() + g]),
                      0.5 * step * 1.01 + 1e-3 * mx);
        }
      }
    }
    std::vector<uint8_t> again;
    st = pack(s, u, again);
    ASSERT_FALSE(st.failed()) << st.message();
    EXPECT_EQ(again, bytes);
  }
}

TEST_P(LayoutConfigTest, RandomBytesNeverCrash) {
  Spec base = GetParam().spec;
  Shape sh = base.kind == Kind::NM        ? Shape{5, 48, 16}
             : base.kind == Kind::Ternary ? Shape{7, 40, 8}
                                          : Shape{7, 37, 8};
  base.groupSize = sh.group;
  Logical w = randomLogical(base, sh.out, sh.in, 31);
  roundParams(base.params, w);
  Spec s = specFor(base, w);
  std::vector<uint8_t> valid;
  ASSERT_FALSE(pack(s, w, valid).failed());
  std::mt19937 rng(5);
  int accepted = 0;
  for (int t = 0; t < 200; ++t) {
    std::vector<uint8_t> b = valid;
    int flips = 1 + t % 3;
    for (int f = 0; f < flips; ++f)
      b[rng() % b.size()] ^= uint8_t(1 + rng() % 255);
    if (validate(s, sh.out, sh.in, b.data(), b.size()).failed()) {
      Logical u;
      EXPECT_TRUE(unpack(s, sh.out, sh.in, b.data(), b.size(), u).failed());
      continue;
    }
    ++accepted;
    Logical u;
    Status st = unpack(s, sh.out, sh.in, b.data(), b.size(), u);
    ASSERT_FALSE(st.failed()) << st.message();
    // Accepted bytes are canonical: packing them again reproduces them (q8
    // super-scales are recomputed from the values, so only for f16).
    if (s.params == ParamFormat::F16) {
      std::vector<uint8_t> again;
      st = pack(s, u, again);
      ASSERT_FALSE(st.failed()) << st.message();
      ASSERT_EQ(again.size(), b.size());
      for (size_t k = 0; k < b.size(); ++k)
        ASSERT_EQ(int(again[k]), int(b[k])) << "byte " << k << " of flip " << t;
    }
    PackedMatrix m;
    st = PackedMatrix::create(s, sh.out, sh.in, b.data(), b.size(), true, m);
    ASSERT_FALSE(st.failed()) << st.message();
    std::vector<float> x(size_t(sh.in), 0.5f), y(size_t(sh.out));
    std::vector<float> row(size_t(sh.in));
    m.gemv(x.data(), y.data());
    for (int64_t i = 0; i < sh.out; ++i)
      m.decodeRow(i, row.data());
  }
  // Flips in codes and parameters are valid bytes.
  EXPECT_GT(accepted, 0);
}

INSTANTIATE_TEST_SUITE_P(Layout, LayoutConfigTest,
                         ::testing::ValuesIn(allConfigs()), configName);

TEST(LayoutTernary, EveryByteDecodesAndOnlyEncodingsValidate) {
  // The 243 encodings: digits of v in base 3, most significant first.
  std::vector<bool> isCode(256, false);
  for (unsigned v = 0; v < 243; ++v) {
    uint8_t t[5];
    for (int k = 4, r = int(v); k >= 0; --k, r /= 3)
      t[k] = uint8_t(r % 3);
    uint8_t q = encodeTrits(t);
    EXPECT_EQ(q, uint8_t((256 * v + 242) / 243));
    isCode[q] = true;
    for (unsigned k = 0; k < 5; ++k)
      ASSERT_EQ(decodeTrit(q, k), t[k]) << "v " << v << " digit " << k;
  }
  EXPECT_EQ(std::count(isCode.begin(), isCode.end(), true), 243);
  // A 1x8 weight: byte 0 holds codes 0..4, byte 1 codes 5..7 and two zero
  // padding codes; every other byte value of byte 0 is refused.
  Spec s = kbitSpec(2, 8, ParamFormat::F16);
  s.kind = Kind::Ternary;
  Logical w = randomLogical(s, 1, 8, 3);
  std::vector<uint8_t> bytes;
  ASSERT_FALSE(pack(s, w, bytes).failed());
  Geometry g;
  ASSERT_FALSE(describe(s, 1, 8, g).failed());
  uint64_t at = g.find(PartId::Codes)->offset;
  for (unsigned q = 0; q < 256; ++q) {
    std::vector<uint8_t> b = bytes;
    b[at] = uint8_t(q);
    EXPECT_EQ(validate(s, 1, 8, b.data(), b.size()).failed(), !isCode[q]) << q;
  }
  // Padding codes after the last weight must be zero.
  std::vector<uint8_t> b = bytes;
  uint8_t t[5] = {w.codes[5], w.codes[6], w.codes[7], 0, 1};
  b[at + 1] = encodeTrits(t);
  Status st = validate(s, 1, 8, b.data(), b.size());
  EXPECT_NE(st.message().find("padding codes"), std::string::npos)
      << st.message();
  // Padding bytes of the last word too.
  b = bytes;
  b[at + 7] = 1;
  EXPECT_TRUE(validate(s, 1, 8, b.data(), b.size()).failed());
}

TEST(LayoutTernary, RejectsBadSpecsAndCodes) {
  Spec s = kbitSpec(2, 8, ParamFormat::F16);
  s.kind = Kind::Ternary;
  Geometry g;
  Status st = describe(s, 4, 12, g);
  EXPECT_NE(st.message().find("multiple of 8"), std::string::npos)
      << st.message();
  s.bits = 1;
  st = describe(s, 4, 16, g);
  EXPECT_NE(st.message().find("bits must be 2"), std::string::npos)
      << st.message();
  s.bits = 2;
  // 1.6 bits per weight: 4096 x 4096 codes in ceil(2^24 / 40) = 419,431
  // words of 8 bytes.
  ASSERT_FALSE(describe(s, 4096, 4096, g).failed());
  EXPECT_EQ(g.find(PartId::Codes)->size, 3355448u);
  Logical w = randomLogical(s, 2, 16, 9);
  w.codes[17] = 3;
  st = fit(s, w);
  EXPECT_NE(st.message().find("code 3 of weight (1, 1)"), std::string::npos)
      << st.message();
}

TEST(LayoutPack, BitmapWithoutAndWithOnlySalientWeights) {
  for (double frac : {0.0, 1.0})
    for (ParamFormat f : {ParamFormat::F16, ParamFormat::Q8}) {
      Spec base = mixedSpec(Kind::Bitmap, 4, 8, f);
      Logical w = randomLogical(base, 5, 19, 3, frac);
      roundParams(f, w);
      Spec s = specFor(base, w);
      EXPECT_EQ(s.salientCount, frac == 0 ? 0 : 5 * 19);
      std::vector<uint8_t> bytes;
      ASSERT_FALSE(pack(s, w, bytes).failed());
      EXPECT_EQ(bytes, refPack(s, w));
      Logical u;
      ASSERT_FALSE(unpack(s, 5, 19, bytes.data(), bytes.size(), u).failed());
      EXPECT_EQ(u.codes, w.codes);
      EXPECT_EQ(u.salient, w.salient);
    }
}

TEST(LayoutPack, MixedWeightWithoutMaskIsAllBinary) {
  Spec s = mixedSpec(Kind::Bitmap, 3, 4, ParamFormat::F16);
  Logical w = randomLogical(s, 3, 10, 9, 0.0);
  roundParamsF16(w);
  w.salient.clear();
  Spec fitted = s;
  ASSERT_FALSE(fit(fitted, w).failed());
  EXPECT_EQ(fitted.salientCount, 0);
  std::vector<uint8_t> bytes;
  ASSERT_FALSE(pack(fitted, w, bytes).failed());
  Logical u;
  ASSERT_FALSE(unpack(fitted, 3, 10, bytes.data(), bytes.size(), u).failed());
  EXPECT_EQ(u.codes, w.codes);
  EXPECT_EQ(u.salient, std::vector<uint8_t>(30, 0));
}

TEST(LayoutPack, RejectsSalientCountMismatchAndNegativeQ8Scale) {
  Spec s = mixedSpec(Kind::Bitmap, 4, 8, ParamFormat::F16);
  Logical w = randomLogical(s, 4, 16, 2);
  Spec fitted = s;
  ASSERT_FALSE(fit(fitted, w).failed());
  std::vector<uint8_t> bytes;
  Spec wrong = fitted;
  wrong.salientCount += 1;
  EXPECT_TRUE(pack(wrong, w, bytes).failed());
  Spec q8 = fitted;
  q8.params = ParamFormat::Q8;
  Logical neg = w;
  neg.scales[3] = -0.5f;
  EXPECT_TRUE(pack(q8, neg, bytes).failed());
  EXPECT_FALSE(pack(q8, w, bytes).failed());
  // f16 stores a negative scale as it is.
  EXPECT_FALSE(pack(fitted, neg, bytes).failed());
  // A parameter beyond the fp16 range cannot be stored.
  Logical big = w;
  big.offsets[0] = 1e6f;
  EXPECT_TRUE(pack(fitted, big, bytes).failed());
  EXPECT_TRUE(pack(q8, big, bytes).failed());
}

//===----------------------------------------------------------------------===//
// describe() and fit() rejections
//===----------------------------------------------------------------------===//

TEST(LayoutDescribe, RejectsBadSpecs) {
  Geometry g;
  auto bad = [&](const Spec &s, int64_t out, int64_t in) {
    Status st = describe(s, out, in, g);
    return st.failed() && !st.message().empty();
  };
  Spec k = kbitSpec(4, 8, ParamFormat::F16);
  EXPECT_FALSE(bad(k, 4, 16));
  EXPECT_TRUE(bad(k, 0, 16));
  EXPECT_TRUE(bad(k, 4, 0));
  EXPECT_TRUE(bad(k, -1, 16));
  EXPECT_TRUE(bad(k, 4, (int64_t(1) << 31) + 1));
  EXPECT_TRUE(bad(k, 4, 7)); // group larger than in
  for (int64_t gs : {int64_t(0), int64_t(-3)}) {
    Spec s = k;
    s.groupSize = gs;
    EXPECT_TRUE(bad(s, 4, 16));
  }
  for (unsigned b : {0u, 9u, 16u}) {
    Spec s = k;
    s.bits = b;
    EXPECT_TRUE(bad(s, 4, 16));
  }
  {
    Spec s = k;
    s.salientBits = 4;
    EXPECT_TRUE(bad(s, 4, 16));
    s = k;
    s.salientCount = 1;
    EXPECT_TRUE(bad(s, 4, 16));
    s = k;
    s.block = 4;
    EXPECT_TRUE(bad(s, 4, 16));
    s = k;
    s.params = ParamFormat(7);
    EXPECT_TRUE(bad(s, 4, 16));
    s = k;
    s.kind = Kind(9);
    EXPECT_TRUE(bad(s, 4, 16));
  }
  Spec b = mixedSpec(Kind::Bitmap, 4, 8, ParamFormat::F16);
  EXPECT_FALSE(bad(b, 4, 16));
  {
    Spec s = b;
    s.kind = Kind(9); // unknown, with otherwise valid mixed fields
    EXPECT_TRUE(bad(s, 4, 16));
    s = b;
    s.bits = 2;
    EXPECT_TRUE(bad(s, 4, 16));
    for (unsigned sb : {0u, 1u, 9u}) {
      s = b;
      s.salientBits = sb;
      EXPECT_TRUE(bad(s, 4, 16));
    }
    s = b;
    s.salientCount = -1;
    EXPECT_TRUE(bad(s, 4, 16));
    s.salientCount = 65;
    EXPECT_TRUE(bad(s, 4, 16));
    s.salientCount = 64;
    EXPECT_FALSE(bad(s, 4, 16));
  }
  Spec c = mixedSpec(Kind::ChannelBlock, 4, 8, ParamFormat::Q8, 4);
  EXPECT_FALSE(bad(c, 5, 16));
  {
    Spec s = c;
    s.block = 0;
    EXPECT_TRUE(bad(s, 5, 16));
    s.block = -2;
    EXPECT_TRUE(bad(s, 5, 16));
    s = c;
    s.salientCount = 81;
    EXPECT_TRUE(bad(s, 5, 16));
  }
  Spec n = mixedSpec(Kind::NM, 4, 8, ParamFormat::F16, 8, 1);
  n.salientCount = 4 * 2;
  EXPECT_FALSE(bad(n, 4, 16));
  {
    Spec s = n;
    s.salientCount = 7;
    EXPECT_TRUE(bad(s, 4, 16));
    EXPECT_TRUE(bad(n, 4, 20)); // in not a multiple of M
    for (int64_t m : {int64_t(0), int64_t(1), int64_t(6), int64_t(512)}) {
      s = n;
      s.block = m;
      EXPECT_TRUE(bad(s, 4, 16)) << m;
    }
    s = n;
    s.nmSalient = 0;
    s.salientCount = 0;
    EXPECT_TRUE(bad(s, 4, 16));
    s = n;
    s.nmSalient = 8;
    s.salientCount = 4 * 16;
    EXPECT_TRUE(bad(s, 4, 16));
  }
}

TEST(LayoutFit, RejectsOutOfRangeCodes) {
  for (unsigned bits = 1; bits <= 7; ++bits) {
    Spec s = kbitSpec(bits, 4, ParamFormat::F16);
    Logical w = randomLogical(s, 3, 9, bits);
    Spec f = s;
    EXPECT_FALSE(fit(f, w).failed());
    w.codes[13] = uint8_t(1u << bits);
    f = s;
    EXPECT_TRUE(fit(f, w).failed()) << bits;
    std::vector<uint8_t> bytes;
    EXPECT_TRUE(pack(s, w, bytes).failed());
  }
  for (unsigned sb = 2; sb <= 7; ++sb) {
    Spec s = mixedSpec(Kind::Bitmap, sb, 4, ParamFormat::F16);
    Logical w = randomLogical(s, 3, 9, sb, 0.5);
    size_t sal = size_t(std::find(w.salient.begin(), w.salient.end(), 1) -
                        w.salient.begin());
    size_t bin = size_t(std::find(w.salient.begin(), w.salient.end(), 0) -
                        w.salient.begin());
    ASSERT_LT(sal, w.salient.size());
    ASSERT_LT(bin, w.salient.size());
    Spec f = s;
    EXPECT_FALSE(fit(f, w).failed());
    Logical bad = w;
    bad.codes[sal] = uint8_t(1u << sb);
    f = s;
    EXPECT_TRUE(fit(f, bad).failed()) << sb;
    bad = w;
    bad.codes[bin] = 2; // binary weights are 0 or 1
    f = s;
    EXPECT_TRUE(fit(f, bad).failed()) << sb;
  }
}

TEST(LayoutFit, RejectsStructureViolations) {
  // kbit with salient weights.
  {
    Spec s = kbitSpec(4, 4, ParamFormat::F16);
    Logical w = randomLogical(s, 3, 8, 1);
    w.salient.assign(24, 0);
    Spec f = s;
    EXPECT_FALSE(fit(f, w).failed());
    w.salient[5] = 1;
    EXPECT_TRUE(fit(f, w).failed());
  }
  // chanblock: rows of one block must share their salient channels.
  {
    Spec s = mixedSpec(Kind::ChannelBlock, 4, 4, ParamFormat::F16, 4);
    Logical w = randomLogical(s, 10, 12, 2, 0.4);
    Spec f = s;
    ASSERT_FALSE(fit(f, w).failed());
    // Last (partial) block, last row.
    Logical bad = w;
    bad.salient[9 * 12 + 3] ^= 1;
    bad.codes[9 * 12 + 3] &= 1;
    f = s;
    EXPECT_TRUE(fit(f, bad).failed());
    bad = w;
    bad.salient[5 * 12 + 0] ^= 1;
    bad.codes[5 * 12 + 0] &= 1;
    f = s;
    EXPECT_TRUE(fit(f, bad).failed());
    // The same rows with block 1 fit.
    Spec one = s;
    one.block = 1;
    EXPECT_FALSE(fit(one, bad).failed());
  }
  // nm: exactly N salient per block of M.
  {
    Spec s = mixedSpec(Kind::NM, 3, 8, ParamFormat::F16, 8, 2);
    Logical w = randomLogical(s, 3, 24, 3);
    Spec f = s;
    ASSERT_FALSE(fit(f, w).failed());
    EXPECT_EQ(f.salientCount, 3 * 3 * 2);
    // One more salient weight in block 1 of row 2.
    Logical bad = w;
    for (int64_t j = 8; j < 16; ++j)
      if (!bad.salient[2 * 24 + j]) {
        bad.salient[2 * 24 + j] = 1;
        break;
      }
    f = s;
    EXPECT_TRUE(fit(f, bad).failed());
    // One fewer.
    bad = w;
    for (int64_t j = 16; j < 24; ++j)
      if (bad.salient[0 * 24 + j]) {
        bad.salient[0 * 24 + j] = 0;
        bad.codes[j] &= 1;
        break;
      }
    f = s;
    EXPECT_TRUE(fit(f, bad).failed());
    // An empty mask has no salient weights at all.
    bad = w;
    bad.salient.clear();
    for (auto &c : bad.codes)
      c &= 1;
    f = s;
    EXPECT_TRUE(fit(f, bad).failed());
  }
  // Shapes of the vectors.
  {
    Spec s = mixedSpec(Kind::Bitmap, 4, 4, ParamFormat::F16);
    Logical w = randomLogical(s, 3, 8, 4);
    Spec f = s;
    ASSERT_FALSE(fit(f, w).failed());
    Logical bad = w;
    bad.codes.pop_back();
    EXPECT_TRUE(fit(f, bad).failed());
    bad = w;
    bad.scales.pop_back();
    EXPECT_TRUE(fit(f, bad).failed());
    bad = w;
    bad.salientOffsets.clear();
    EXPECT_TRUE(fit(f, bad).failed());
    bad = w;
    bad.salient.pop_back();
    EXPECT_TRUE(fit(f, bad).failed());
    bad = w;
    bad.groupSize = 8;
    EXPECT_TRUE(fit(f, bad).failed());
  }
}

TEST(LayoutFit, RejectsNonFiniteParameters) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  Spec s = mixedSpec(Kind::Bitmap, 4, 4, ParamFormat::F16);
  Logical w = randomLogical(s, 3, 8, 5);
  for (int slot = 0; slot < 4; ++slot)
    for (float v : {nan, inf, -inf}) {
      Logical bad = w;
      (*paramSlots(bad)[slot])[2] = v;
      Spec f = s;
      EXPECT_TRUE(fit(f, bad).failed()) << slot << " " << v;
      std::vector<uint8_t> bytes;
      EXPECT_TRUE(pack(s, bad, bytes).failed());
    }
  Spec k = kbitSpec(2, 4, ParamFormat::Q8);
  Logical kw = randomLogical(k, 2, 8, 6);
  kw.offsets[1] = nan;
  EXPECT_TRUE(fit(k, kw).failed());
}

//===----------------------------------------------------------------------===//
// validate() rejections
//===----------------------------------------------------------------------===//

struct Packed {
  Spec spec;
  int64_t out, in;
  std::vector<uint8_t> bytes;
  Geometry g;
  const Part &part(PartId id) const { return *g.find(id); }
  Status check() const {
    return validate(spec, out, in, bytes.data(), bytes.size());
  }
};

Packed packRandom(Spec base, int64_t out, int64_t in, int64_t group,
                  uint32_t seed, double frac = 0.3) {
  base.groupSize = group;
  Logical w = randomLogical(base, out, in, seed, frac);
  roundParams(base.params, w);
  Packed p;
  p.spec = specFor(base, w);
  p.out = out;
  p.in = in;
  Status st = pack(p.spec, w, p.bytes);
  EXPECT_FALSE(st.failed()) << st.message();
  EXPECT_FALSE(describe(p.spec, out, in, p.g).failed());
  EXPECT_FALSE(p.check().failed());
  return p;
}

TEST(LayoutValidate, RejectsWrongSizes) {
  for (const Config &c : allConfigs()) {
    SCOPED_TRACE(c.name);
    Packed p = packRandom(c.spec, 3, 32, 16, 1);
    std::vector<uint8_t> b = p.bytes;
    for (size_t n : {size_t(0), b.size() - 1, b.size() - 64, b.size() + 1,
                     b.size() + 64}) {
      std::vector<uint8_t> t = b;
      t.resize(n);
      EXPECT_TRUE(validate(p.spec, 3, 32, t.data(), t.size()).failed()) << n;
      Logical u;
      EXPECT_TRUE(unpack(p.spec, 3, 32, t.data(), t.size(), u).failed());
      PackedMatrix m;
      EXPECT_TRUE(
          PackedMatrix::create(p.spec, 3, 32, t.data(), t.size(), false, m)
              .failed());
    }
  }
}

TEST(LayoutValidate, RejectsNonzeroPadding) {
  for (const Config &c : allConfigs()) {
    SCOPED_TRACE(c.name);
    // Ternary codes have no rows (LayoutTernary checks their padding).
    if (c.spec.kind == Kind::Ternary)
      continue;
    // in = 21: rows use 21 * bits bits of 16 or 32 bytes.
    int64_t in = c.spec.kind == Kind::NM ? 48 : 21;
    Packed p = packRandom(c.spec, 5, in, 8, 2);
    uint64_t used =
        c.spec.kind == Kind::KBit ? uint64_t(in) * c.spec.bits : uint64_t(in);
    const Part &rows =
        p.part(c.spec.kind == Kind::KBit ? PartId::Codes : PartId::Signs);
    // The first padding bit of row 3, and the last byte of row 4.
    for (uint64_t bit : {8 * (rows.offset + 3 * rows.rowBytes) + used,
                         8 * (rows.offset + 5 * rows.rowBytes) - 1}) {
      Packed t = p;
      t.bytes[bit / 8] ^= uint8_t(1u << (bit % 8));
      EXPECT_TRUE(t.check().failed()) << bit;
    }
    // Gaps between parts and after the last one.
    for (size_t k = 1; k < p.g.parts.size(); ++k) {
      uint64_t end = p.g.parts[k - 1].offset + p.g.parts[k - 1].size;
      if (end < p.g.parts[k].offset) {
        Packed t = p;
        t.bytes[end] = 1;
        EXPECT_TRUE(t.check().failed()) << partName(p.g.parts[k].id);
      }
    }
    const Part &last = p.g.parts.back();
    if (last.offset + last.size < p.g.totalBytes) {
      Packed t = p;
      t.bytes.back() = 0x80;
      EXPECT_TRUE(t.check().failed());
    }
    if (c.spec.kind == Kind::Bitmap) {
      Packed t = p;
      const Part &m = t.part(PartId::Mask);
      t.bytes[m.offset + 2 * m.rowBytes + 15] = 0x40;
      EXPECT_TRUE(t.check().failed());
    }
    if (c.spec.kind == Kind::ChannelBlock) {
      Packed t = p;
      const Part &m = t.part(PartId::ChannelMask);
      uint64_t bit = 8 * m.offset + uint64_t(in);
      t.bytes[bit / 8] |= uint8_t(1u << (bit % 8));
      EXPECT_TRUE(t.check().failed());
    }
    if (c.spec.mixed()) {
      // Bits after the last salient code.
      const Part &sc = p.part(PartId::SalientCodes);
      if (c.spec.kind == Kind::NM) {
        // Rows of whole bytes: padding bits only where the bits of a row
        // do not fill its last byte.
        uint64_t per = uint64_t(in / c.spec.block * c.spec.nmSalient);
        uint64_t codeBits = per * (c.spec.salientBits - 1);
        if (codeBits < 8 * sc.rowBytes) {
          Packed t = p;
          uint64_t bit = 8 * (sc.offset + sc.rowBytes) + codeBits;
          t.bytes[bit / 8] ^= uint8_t(1u << (bit % 8));
          EXPECT_TRUE(t.check().failed());
        }
        const Part &ix = p.part(PartId::Indices);
        uint64_t indexBits = per * refLog2(c.spec.block);
        if (indexBits < 8 * ix.rowBytes) {
          Packed u = p;
          u.bytes[ix.offset + 2 * ix.rowBytes + ix.rowBytes - 1] ^= 0x80;
          EXPECT_TRUE(u.check().failed());
        }
      } else if (sc.size > 0) {
        uint64_t bit = uint64_t(p.spec.salientCount) * (c.spec.salientBits - 1);
        if (bit < 8 * sc.size) {
          Packed t = p;
          t.bytes[sc.offset + bit / 8] ^= uint8_t(1u << (bit % 8));
          EXPECT_TRUE(t.check().failed());
        }
      }
    }
  }
}

TEST(LayoutValidate, RejectsInconsistentBitmap) {
  for (ParamFormat f : {ParamFormat::F16, ParamFormat::Q8}) {
    Packed p = packRandom(mixedSpec(Kind::Bitmap, 4, 0, f), 6, 40, 8, 3, 0.3);
    const Part &mask = p.part(PartId::Mask);
    const Part &off = p.part(PartId::Offsets);
    // One more or one fewer salient weight in the last row: the offsets
    // still agree, the count does not.
    for (int64_t j : {int64_t(0), int64_t(17), int64_t(39)}) {
      Packed t = p;
      t.bytes[mask.offset + 5 * mask.rowBytes + j / 8] ^=
          uint8_t(1u << (j % 8));
      Status st = t.check();
      EXPECT_TRUE(st.failed()) << j;
      EXPECT_NE(st.message().find("salient"), std::string::npos);
    }
    // The declared count is off by one.
    {
      Packed t = p;
      t.spec.salientCount += 1;
      EXPECT_TRUE(
          validate(t.spec, 6, 40, t.bytes.data(), t.bytes.size()).failed());
    }
    // A mask bit of row 2: later offsets disagree.
    {
      Packed t = p;
      t.bytes[mask.offset + 2 * mask.rowBytes] ^= 1;
      EXPECT_TRUE(t.check().failed());
    }
    // A wrong row offset.
    for (int64_t row : {int64_t(0), int64_t(1), int64_t(5)})
      for (int delta : {1, -1}) {
        Packed t = p;
        uint32_t v;
        std::memcpy(&v, &t.bytes[off.offset + 4 * row], 4);
        v += uint32_t(delta);
        std::memcpy(&t.bytes[off.offset + 4 * row], &v, 4);
        EXPECT_TRUE(t.check().failed()) << row << " " << delta;
      }
  }
}

TEST(LayoutValidate, RejectsInconsistentChannelBlock) {
  Packed p =
      packRandom(mixedSpec(Kind::ChannelBlock, 3, 0, ParamFormat::F16, 4), 10,
                 24, 8, 4, 0.4);
  const Part &off = p.part(PartId::Offsets);
  const Part &mask = p.part(PartId::ChannelMask);
  for (int64_t b : {int64_t(0), int64_t(1), int64_t(2)}) {
    Packed t = p;
    t.bytes[off.offset + 4 * b] ^= 1;
    EXPECT_TRUE(t.check().failed()) << b;
  }
  {
    // Block offsets swapped between blocks 1 and 2.
    Packed t = p;
    std::swap_ranges(t.bytes.begin() + off.offset + 4,
                     t.bytes.begin() + off.offset + 8,
                     t.bytes.begin() + off.offset + 8);
    bool same = std::equal(t.bytes.begin(), t.bytes.end(), p.bytes.begin());
    if (!same) {
      EXPECT_TRUE(t.check().failed());
    }
  }
  // A channel bit of the last (two-row) block changes the count by 2.
  {
    Packed t = p;
    t.bytes[mask.offset + 2 * mask.rowBytes] ^= 1;
    EXPECT_TRUE(t.check().failed());
  }
  {
    Packed t = p;
    t.spec.salientCount -= 2;
    EXPECT_TRUE(
        validate(t.spec, 10, 24, t.bytes.data(), t.bytes.size()).failed());
  }
}

TEST(LayoutValidate, RejectsUnorderedNMIndices) {
  Packed p = packRandom(mixedSpec(Kind::NM, 4, 0, ParamFormat::F16, 16, 2), 3,
                        48, 16, 5);
  const Part &ix = p.part(PartId::Indices);
  // Each index is 4 bits: byte k of a row holds indices 2k (low) and 2k + 1.
  for (int64_t row = 0; row < 3; ++row)
    for (int64_t blk = 0; blk < 3; ++blk) {
      uint8_t &byte = p.bytes[ix.offset + row * ix.rowBytes + blk];
      uint8_t lo = byte & 15, hi = byte >> 4;
      ASSERT_LT(lo, hi);
      Packed t = p;
      uint8_t &tb = t.bytes[ix.offset + row * ix.rowBytes + blk];
      tb = uint8_t(lo << 4 | hi); // decreasing
      EXPECT_TRUE(t.check().failed()) << row << " " << blk;
      tb = uint8_t(lo << 4 | lo); // equal
      EXPECT_TRUE(t.check().failed()) << row << " " << blk;
    }
}

TEST(LayoutValidate, RejectsNonFiniteF16Parameters) {
  for (const Config &c : allConfigs()) {
    if (c.spec.params != ParamFormat::F16)
      continue;
    SCOPED_TRACE(c.name);
    Packed p = packRandom(c.spec, 3, 32, 16, 6);
    const Part &pp = p.part(PartId::Params);
    uint64_t values = pp.size / 2;
    for (uint16_t h : {uint16_t(0x7c00), uint16_t(0xfc00), uint16_t(0x7e00),
                       uint16_t(0x7c01), uint16_t(0xffff)})
      for (uint64_t k : {uint64_t(0), values / 2 + 1, values - 1}) {
        Packed t = p;
        std::memcpy(&t.bytes[pp.offset + 2 * k], &h, 2);
        EXPECT_TRUE(t.check().failed()) << std::hex << h << " at " << k;
      }
  }
}

TEST(LayoutGeometry, TensorSuperScalesCostOnePairPerTensor) {
  // 2-bit codes in groups of 128 over 384 inputs: q8 adds a row's two fp16
  // super-scales (32 / 384 bits per weight), q8t one pair for the tensor.
  Geometry q8, q8t;
  ASSERT_FALSE(
      describe(kbitSpec(2, 128, ParamFormat::Q8), 384, 384, q8).failed());
  ASSERT_FALSE(
      describe(kbitSpec(2, 128, ParamFormat::Q8T), 384, 384, q8t).failed());
  const Part *s8 = q8.find(PartId::SuperScales),
             *st = q8t.find(PartId::SuperScales);
  ASSERT_TRUE(s8 && st);
  EXPECT_EQ(s8->size, 384u * 4);
  EXPECT_EQ(st->size, 4u);
  EXPECT_EQ(st->rowBytes, 0u);
  // codes 384 * 96, one 64-byte slot for the super-scales, params 384 * 6.
  EXPECT_EQ(q8t.totalBytes, 384u * 96 + 64 + 384u * 6);
  EXPECT_EQ(q8.totalBytes, 384u * 96 + 384u * 4 + 384u * 6);
  EXPECT_NEAR(8.0 * double(q8t.totalBytes) / (384.0 * 384), 2.1285, 1e-4);
}

TEST(LayoutValidate, RejectsBadQ8Parameters) {
  for (const Config &c : allConfigs()) {
    if (c.spec.params == ParamFormat::F16)
      continue;
    SCOPED_TRACE(c.name);
    Packed p = packRandom(c.spec, 3, 32, 8, 7);
    const Part &sp = p.part(PartId::SuperScales);
    const Part &pp = p.part(PartId::Params);
    for (uint16_t h : {uint16_t(0x7c00), uint16_t(0x7e00), uint16_t(0xbc00)})
      for (uint64_t k : {uint64_t(0), sp.size / 2 - 1}) {
        Packed t = p;
        std::memcpy(&t.bytes[sp.offset + 2 * k], &h, 2);
        EXPECT_TRUE(t.check().failed()) << std::hex << h << " at " << k;
      }
    // Offset code -128 (0x80) is outside the format; scale code 0x80 is fine.
    unsigned nv = 2 * p.spec.paramPairs();
    for (uint64_t k = 0; k < pp.size; ++k) {
      Packed t = p;
      t.bytes[pp.offset + k] = 0x80;
      bool isOffset = (k % nv) % 2 == 1;
      EXPECT_EQ(t.check().failed(), isOffset) << k;
    }
    // Offset code -127 and scale code 255 are valid.
    Packed t = p;
    t.bytes[pp.offset] = 0xff;
    t.bytes[pp.offset + 1] = 0x81;
    EXPECT_FALSE(t.check().failed());
  }
}

} // namespace
