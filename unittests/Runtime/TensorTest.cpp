//===- TensorTest.cpp - Tensor storage and dtype conversions --------------===//

#include "s10/Runtime/Tensor.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace s10::runtime;

namespace {

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

/// Reference f32 -> f16 rounding through exhaustive search of the two
/// neighbours: the nearest representable half, ties to even.
uint16_t slowFloatToHalf(float f) {
  if (std::isnan(f))
    return 0x7e00 | (std::signbit(f) ? 0x8000 : 0);
  // Enumerate all finite halves of the same sign and pick the nearest.
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  double a = std::fabs(double(f));
  if (a >= 65520.0)
    return sign | 0x7c00;
  uint16_t best = 0;
  double bestErr = INFINITY;
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    double v = halfToFloat(uint16_t(h));
    double err = std::fabs(v - a);
    if (err < bestErr || (err == bestErr && (h & 1) == 0 && (best & 1))) {
      best = uint16_t(h);
      bestErr = err;
    }
  }
  return sign | best;
}

TEST(TensorTest, HalfRoundTripAllValues) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(uint16_t(h));
    uint16_t back = floatToHalf(f);
    bool isNan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    if (isNan) {
      EXPECT_TRUE(std::isnan(f)) << h;
      EXPECT_TRUE((back & 0x7c00) == 0x7c00 && (back & 0x3ff)) << h;
      EXPECT_EQ(back & 0x8000, h & 0x8000);
    } else {
      EXPECT_EQ(back, h) << "half 0x" << std::hex << h;
    }
    // The bulk (fast) conversion agrees.
    uint16_t bulk;
    floatToHalfN(&f, &bulk, 1);
    if (!isNan) {
      EXPECT_EQ(bulk, h);
    }
  }
}

TEST(TensorTest, BulkHalfConversionsMatchScalar) {
  // The bulk paths may use F16C; they must agree with the scalar code on
  // every half (NaNs: NaN-ness and sign) and on rounding.
  std::vector<uint16_t> all(0x10000);
  for (uint32_t h = 0; h < 0x10000; ++h)
    all[h] = uint16_t(h);
  std::vector<float> f(all.size());
  halfToFloatN(all.data(), f.data(), all.size());
  std::vector<uint16_t> back(all.size());
  floatToHalfN(f.data(), back.data(), f.size());
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float ref = halfToFloat(uint16_t(h));
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(f[h]));
      EXPECT_EQ(back[h] & 0x8000, h & 0x8000);
      continue;
    }
    EXPECT_EQ(bitsOf(f[h]), bitsOf(ref)) << h;
    EXPECT_EQ(back[h], h);
  }
  auto r = std::vector<float>(1000);
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  for (float &x : r)
    x = dist(gen) * (gen() % 2 ? 1.0f : 1e-6f);
  std::vector<uint16_t> hr(r.size());
  floatToHalfN(r.data(), hr.data(), r.size());
  for (size_t i = 0; i < r.size(); ++i)
    EXPECT_EQ(hr[i], floatToHalf(r[i])) << r[i];
}

TEST(TensorTest, HalfSpecialValues) {
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24)); // min subnormal
  EXPECT_EQ(halfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14)); // min normal
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(halfToFloat(0x7c00)));
  EXPECT_TRUE(std::isinf(halfToFloat(0xfc00)) && halfToFloat(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_EQ(bitsOf(halfToFloat(0x8000)), 0x80000000u); // -0

  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65519.99f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00); // rounds to inf
  EXPECT_EQ(floatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(floatToHalf(-1e10f), 0xfc00);
  EXPECT_EQ(floatToHalf(INFINITY), 0x7c00);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000); // tie -> even (0)
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002); // tie -> even (2)
  EXPECT_EQ(floatToHalf(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -26)), 0x0000);
  // Largest subnormal + half ulp rounds up into the smallest normal.
  EXPECT_EQ(floatToHalf(std::ldexp(1023.5f, -24)), 0x0400);
  // Ties between normals: 1 + 2^-11 -> 1 (even), 1 + 3 * 2^-11 -> up.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
  // f64 -> f16 rounds once: a double just above a tie rounds up even though
  // its f32 rounding would land exactly on the tie.
  double justAbove = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  EXPECT_EQ(doubleToHalf(justAbove), 0x3c01);
}

TEST(TensorTest, HalfRandomAgainstSlowReference) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 300; ++i) {
    // Random f32 bit patterns restricted to the half range.
    uint32_t b = bits(gen);
    float f;
    std::memcpy(&f, &b, 4);
    if (!std::isfinite(f) || std::fabs(f) > 70000.0f || std::fabs(f) < 1e-9f)
      f = std::ldexp(float(int(b % 2000) - 1000), int(b % 40) - 30);
    uint16_t h;
    floatToHalfN(&f, &h, 1);
    EXPECT_EQ(h, slowFloatToHalf(f)) << f;
    EXPECT_EQ(floatToHalf(f), slowFloatToHalf(f)) << f;
  }
}

TEST(TensorTest, BFloat16) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even -> 1.
  EXPECT_EQ(floatToBF16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBF16(1.0f + std::ldexp(3.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBF16(NAN))));
  EXPECT_EQ(floatToBF16(INFINITY), 0x7f80);
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::max()), 0x7f80);
  for (uint32_t b = 0; b < 0x10000; b += 7) {
    float f = bf16ToFloat(uint16_t(b));
    if (std::isnan(f))
      continue;
    uint16_t back;
    floatToBF16N(&f, &back, 1);
    EXPECT_EQ(back, b);
    EXPECT_EQ(floatToBF16(f), b);
  }
}

TEST(TensorTest, CastSemantics) {
  Tensor f = Tensor::f32({5}, {-2.7f, -0.5f, 0.0f, 1.9f, 3.0f});
  Tensor i = f.castTo(DType::I64);
  EXPECT_EQ(i.toInt64Vector(), (llvm::SmallVector<int64_t, 8>{-2, 0, 0, 1, 3}));
  Tensor b = f.castTo(DType::Bool);
  EXPECT_EQ(b.data_as<bool>()[0], true);
  EXPECT_EQ(b.data_as<bool>()[2], false);
  Tensor u8 = Tensor::i64({3}, {255, 256, -1}).castTo(DType::U8);
  EXPECT_EQ(u8.data_as<uint8_t>()[0], 255);
  EXPECT_EQ(u8.data_as<uint8_t>()[1], 0); // wraps like C
  EXPECT_EQ(u8.data_as<uint8_t>()[2], 255);
  Tensor h = Tensor::f32({2}, {0.1f, 70000.0f}).castTo(DType::F16);
  EXPECT_EQ(h.data_as<uint16_t>()[0], floatToHalf(0.1f));
  EXPECT_EQ(h.data_as<uint16_t>()[1], 0x7c00);
  Tensor d = Tensor::fromData<double>(DType::F64, {1}, {1.0 / 3.0});
  EXPECT_EQ(d.castTo(DType::F32).f32()[0], float(1.0 / 3.0));
}

TEST(TensorTest, ViewsShareStorage) {
  Tensor t = Tensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(t.isUniqueWritable());
  Tensor v = t.reshaped({3, 2});
  EXPECT_FALSE(t.isUniqueWritable());
  EXPECT_EQ(v.raw(), t.raw());
  EXPECT_EQ(v.dim(-1), 2);
  Tensor c = t.clone();
  EXPECT_NE(c.raw(), t.raw());
  static const float data[2] = {1, 2};
  Tensor b = Tensor::borrowed(DType::F32, {2}, data, nullptr);
  EXPECT_TRUE(b.isReadOnly());
  EXPECT_FALSE(b.isUniqueWritable());
  EXPECT_EQ(Tensor().isNull(), true);
  EXPECT_EQ(t.describe(), "f32[2, 3]");
}

} // namespace
