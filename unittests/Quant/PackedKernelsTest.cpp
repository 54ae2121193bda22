//===- PackedKernelsTest.cpp - Kernels on packed weights ------------------===//
//
// decodeRow, GEMV and GEMM on the bytes of every layout against the
// dequantized logical weight (scale * code + offset) and a naive
// double-accumulated product.
//
//===----------------------------------------------------------------------===//

#include "s10/Quant/PackedKernels.h"
#include "PackedTestUtil.h"

using namespace s10::quant::layout;
using namespace s10::quant::layout::test;

namespace {

/// A packed random weight with parameters exact in its format, its dense
/// dequantized reference and the bounds used for tolerances.
struct Fixture {
  Spec spec;
  Logical w;
  std::vector<uint8_t> bytes;
  std::vector<float> dense;  // [out][in], refValue
  std::vector<float> rowMax; // per row: max |scale| * maxCode + |offset|
  PackedMatrix m;
};

void build(Fixture &f, const Spec &base, const Shape &sh, uint32_t seed,
           double frac = 0.2) {
  Spec s = base;
  s.groupSize = sh.group;
  f.w = randomLogical(s, sh.out, sh.in, seed, frac);
  roundParams(s.params, f.w);
  f.spec = specFor(s, f.w);
  Status st = pack(f.spec, f.w, f.bytes);
  ASSERT_FALSE(st.failed()) << st.message();
  st = PackedMatrix::create(f.spec, sh.out, sh.in, f.bytes.data(),
                            f.bytes.size(), true, f.m);
  ASSERT_FALSE(st.failed()) << st.message();
  f.dense.resize(size_t(sh.out * sh.in));
  f.rowMax.assign(size_t(sh.out), 0.0f);
  unsigned maxCode = (1u << std::max(s.bits, s.salientBits)) - 1;
  for (int64_t i = 0; i < sh.out; ++i) {
    for (int64_t j = 0; j < sh.in; ++j)
      f.dense[i * sh.in + j] = refValue(f.w, i, j);
    for (int64_t g = 0; g < f.w.groups(); ++g) {
      size_t k = size_t(i * f.w.groups() + g);
      float a = std::fabs(f.w.scales[k]) * maxCode + std::fabs(f.w.offsets[k]);
      if (s.mixed())
        a = std::max(a, std::fabs(f.w.salientScales[k]) * maxCode +
                            std::fabs(f.w.salientOffsets[k]));
      f.rowMax[i] = std::max(f.rowMax[i], a);
    }
  }
}

std::vector<float> randomVector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

/// Tolerance of an f32 dot product of row i with x: relative 1e-5 of the
/// magnitudes involved plus a small absolute term.
double tolerance(const Fixture &f, int64_t i, const float *x) {
  double s = 0;
  for (int64_t j = 0; j < f.w.in; ++j)
    s += std::fabs(double(x[j]));
  return 1e-5 * s * f.rowMax[size_t(i)] + 1e-5;
}

double refDot(const Fixture &f, int64_t i, const float *x) {
  double s = 0;
  for (int64_t j = 0; j < f.w.in; ++j)
    s += double(f.dense[i * f.w.in + j]) * double(x[j]);
  return s;
}

class PackedKernelTest : public ::testing::TestWithParam<Config> {};

std::string configName(const ::testing::TestParamInfo<Config> &info) {
  return info.param.name;
}

/// Kernel shapes add wider rows (whole bytes of the 1-bit planes, several
/// groups) to the ragged ones of the layout tests.
std::vector<Shape> kernelShapes(const Spec &s) {
  std::vector<Shape> v = shapesFor(s);
  if (s.kind == Kind::NM || s.kind == Kind::Ternary) {
    v.push_back({19, 512, 128});
    v.push_back({6, 1024, 64});
  } else {
    v.push_back({19, 512, 128});
    v.push_back({6, 1000, 128});
    v.push_back({5, 333, 32});
  }
  return v;
}

TEST_P(PackedKernelTest, DecodeRowMatchesDefinition) {
  uint32_t seed = 10;
  for (const Shape &sh : kernelShapes(GetParam().spec)) {
    SCOPED_TRACE(shapeName(sh));
    Fixture f;
    build(f, GetParam().spec, sh, seed++);
    if (HasFatalFailure())
      return;
    std::vector<float> row(size_t(sh.in));
    for (int64_t i = 0; i < sh.out; ++i) {
      std::fill(row.begin(), row.end(), -12345.0f);
      f.m.decodeRow(i, row.data());
      for (int64_t j = 0; j < sh.in; ++j) {
        float ref = f.dense[i * sh.in + j];
        ASSERT_NEAR(row[j], ref, 1e-6 * std::max(1.0f, std::fabs(ref)))
            << "row " << i << " col " << j;
      }
    }
  }
}

TEST_P(PackedKernelTest, GemvMatchesNaiveProduct) {
  uint32_t seed = 20;
  for (const Shape &sh : kernelShapes(GetParam().spec)) {
    SCOPED_TRACE(shapeName(sh));
    Fixture f;
    build(f, GetParam().spec, sh, seed++);
    if (HasFatalFailure())
      return;
    std::vector<float> x = randomVector(size_t(sh.in), seed);
    std::vector<float> y(size_t(sh.out), -1e30f);
    f.m.gemv(x.data(), y.data());
    for (int64_t i = 0; i < sh.out; ++i)
      ASSERT_NEAR(y[i], refDot(f, i, x.data()), tolerance(f, i, x.data()))
          << "row " << i;
    // A row range through prepare() / gemvRows(), with reused scratch.
    GemvScratch scratch;
    f.m.prepare(x.data(), scratch);
    int64_t r0 = sh.out / 3, r1 = sh.out - sh.out / 4;
    std::vector<float> part(size_t(r1 - r0) + 1, 7.0f);
    f.m.gemvRows(x.data(), scratch, part.data(), r0, r1);
    for (int64_t i = r0; i < r1; ++i)
      EXPECT_EQ(part[i - r0], y[i]) << "row " << i;
    EXPECT_EQ(part.back(), 7.0f); // nothing written past the range
    // A second input vector through the same scratch.
    std::vector<float> x2 = randomVector(size_t(sh.in), seed + 1000);
    f.m.prepare(x2.data(), scratch);
    std::vector<float> y2(size_t(sh.out));
    f.m.gemvRows(x2.data(), scratch, y2.data(), 0, sh.out);
    for (int64_t i = 0; i < sh.out; ++i)
      ASSERT_NEAR(y2[i], refDot(f, i, x2.data()), tolerance(f, i, x2.data()));
  }
}

TEST_P(PackedKernelTest, GemmMatchesNaiveProduct) {
  uint32_t seed = 30;
  for (const Shape &sh : kernelShapes(GetParam().spec)) {
    SCOPED_TRACE(shapeName(sh));
    Fixture f;
    build(f, GetParam().spec, sh, seed++);
    if (HasFatalFailure())
      return;
    for (int64_t n : {int64_t(1), int64_t(3), int64_t(17)}) {
      SCOPED_TRACE("n = " + std::to_string(n));
      std::vector<float> x = randomVector(size_t(n * sh.in), seed + n);
      std::vector<float> y(size_t(n * sh.out), -1e30f);
      f.m.gemm(x.data(), n, y.data());
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < sh.out; ++i) {
          const float *xt = x.data() + t * sh.in;
          ASSERT_NEAR(y[t * sh.out + i], refDot(f, i, xt), tolerance(f, i, xt))
              << "token " << t << " row " << i;
        }
    }
  }
}

/// gemmRows with strided X and Y and a row range leaves the rest of Y alone.
TEST_P(PackedKernelTest, GemmRowsHonoursStridesAndRange) {
  const Spec &base = GetParam().spec;
  Shape sh = base.kind == Kind::NM        ? Shape{45, 64, 32}
             : base.kind == Kind::Ternary ? Shape{45, 72, 32}
                                          : Shape{45, 70, 32};
  Fixture f;
  build(f, base, sh, 40);
  if (HasFatalFailure())
    return;
  int64_t n = 5, ldx = sh.in + 3, ldy = sh.out + 11;
  std::vector<float> x = randomVector(size_t(n * ldx), 41);
  std::vector<float> y(size_t(n * ldy), 99.0f);
  std::vector<float> tile;
  int64_t r0 = 3, r1 = 41; // spans a 32-row tile boundary
  f.m.gemmRows(x.data(), n, ldx, y.data(), ldy, r0, r1, tile);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < ldy; ++i) {
      float got = y[t * ldy + i];
      if (i < r0 || i >= r1) {
        EXPECT_EQ(got, 99.0f) << t << " " << i;
        continue;
      }
      const float *xt = x.data() + t * ldx;
      EXPECT_NEAR(got, refDot(f, i, xt), tolerance(f, i, xt)) << t << " " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Packed, PackedKernelTest,
                         ::testing::ValuesIn(allConfigs()), configName);

TEST(PackedKernels, ExtremeSalience) {
  // No salient weight, and every weight salient, in each mixed kind.
  for (double frac : {0.0, 1.0})
    for (Kind k : {Kind::Bitmap, Kind::ChannelBlock}) {
      SCOPED_TRACE(std::string(kindName(k)) + " " + std::to_string(frac));
      Fixture f;
      build(
          f,
          mixedSpec(k, 5, 0, ParamFormat::F16, k == Kind::ChannelBlock ? 3 : 0),
          Shape{7, 77, 32}, 50, frac);
      if (HasFatalFailure())
        return;
      std::vector<float> x = randomVector(77, 51), y(7);
      f.m.gemv(x.data(), y.data());
      for (int64_t i = 0; i < 7; ++i)
        EXPECT_NEAR(y[i], refDot(f, i, x.data()), tolerance(f, i, x.data()));
    }
}

TEST(PackedKernels, CreateChecksBytes) {
  Fixture f;
  build(f, mixedSpec(Kind::Bitmap, 4, 0, ParamFormat::F16), Shape{4, 40, 8},
        60);
  if (HasFatalFailure())
    return;
  PackedMatrix m;
  EXPECT_TRUE(PackedMatrix::create(f.spec, 4, 40, f.bytes.data(),
                                   f.bytes.size() - 1, false, m)
                  .failed());
  EXPECT_TRUE(PackedMatrix::create(f.spec, 4, 200, f.bytes.data(),
                                   f.bytes.size(), false, m)
                  .failed());
  std::vector<uint8_t> bad = f.bytes;
  const Part *off = f.m.geometry().find(PartId::Offsets);
  bad[off->offset + 4] ^= 1;
  EXPECT_TRUE(
      PackedMatrix::create(f.spec, 4, 40, bad.data(), bad.size(), true, m)
          .failed());
  ASSERT_FALSE(PackedMatrix::create(f.spec, 4, 40, f.bytes.data(),
                                    f.bytes.size(), true, m)
                   .failed());
  EXPECT_EQ(m.out(), 4);
  EXPECT_EQ(m.in(), 40);
  EXPECT_EQ(m.bytes(), f.bytes.size());
}

} // namespace
