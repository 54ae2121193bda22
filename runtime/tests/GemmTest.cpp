//===- GemmTest.cpp - The SIMD product and panel packing ------------------===//
//
// Checked against plain double sums over shapes that hit every block size
// and partial vector. Operands end exactly where the named elements end, so
// the sanitizer build catches any read past them. ctest runs this once per
// kernel set (S10RT_GEMM).
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"
#include "Kernels.h"

#include "s10/Quant/Layout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace s10rt;

namespace {

struct Shape {
  int64_t rows, cols, depth;
};

float uniform(std::mt19937 &rng) {
  return std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
}

TEST(GemmTest, MatchesPlainSums) {
  std::mt19937 rng(5);
  const Shape shapes[] = {{1, 1, 1},    {1, 64, 384}, {3, 260, 64},
                          {6, 64, 128}, {7, 17, 129}, {13, 80, 300},
                          {32, 8, 8},   {2, 33, 0},   {5, 15, 257}};
  for (const Shape &sh : shapes) {
    for (bool accumulate : {false, true}) {
      // Leading dimensions wider than the rows, so strides are exercised;
      // each operand ends at its last element.
      const int64_t ldx = sh.depth + 3, ldp = sh.cols + 5, ldy = sh.cols + 2;
      std::vector<float> x(size_t((sh.rows - 1) * ldx + sh.depth + 1));
      std::vector<float> p(
          size_t(sh.depth ? (sh.depth - 1) * ldp + sh.cols : 1));
      std::vector<float> y(size_t((sh.rows - 1) * ldy + sh.cols));
      for (float &v : x)
        v = uniform(rng);
      for (float &v : p)
        v = uniform(rng);
      for (float &v : y)
        v = uniform(rng);
      std::vector<float> before = y;
      gemm::multiply(x.data(), ldx, p.data(), ldp, y.data(), ldy, sh.rows,
                     sh.cols, sh.depth, accumulate);
      for (int64_t r = 0; r < sh.rows; ++r)
        for (int64_t c = 0; c < sh.cols; ++c) {
          double want = accumulate ? before[size_t(r * ldy + c)] : 0.0;
          double mag = std::abs(want);
          for (int64_t k = 0; k < sh.depth; ++k) {
            double t = double(x[size_t(r * ldx + k)]) * p[size_t(k * ldp + c)];
            want += t;
            mag += std::abs(t);
          }
          EXPECT_NEAR(y[size_t(r * ldy + c)], want, 1e-6 * (mag + 1))
              << gemm::isa() << " " << sh.rows << "x" << sh.cols << "x"
              << sh.depth << " at " << r << ", " << c;
        }
      // Between the rows of Y nothing is written.
      for (int64_t r = 0; r + 1 < sh.rows; ++r)
        for (int64_t c = sh.cols; c < ldy; ++c)
          EXPECT_EQ(y[size_t(r * ldy + c)], before[size_t(r * ldy + c)]);
    }
  }
}

TEST(GemmTest, SplitsDoNotChangeResults) {
  // Every element is one chain over k: any block of rows or columns gives
  // the same bits.
  std::mt19937 rng(9);
  const int64_t rows = 23, cols = 70, depth = 301;
  std::vector<float> x(size_t(rows * depth)), p(size_t(depth * cols));
  for (float &v : x)
    v = uniform(rng);
  for (float &v : p)
    v = uniform(rng);
  std::vector<float> whole(size_t(rows * cols)), parts(size_t(rows * cols));
  gemm::multiply(x.data(), depth, p.data(), cols, whole.data(), cols, rows,
                 cols, depth, false);
  for (int64_t r = 0; r < rows; r += 5)
    for (int64_t c = 0; c < cols; c += 19)
      gemm::multiply(x.data() + r * depth, depth, p.data() + c, cols,
                     parts.data() + r * cols + c, cols,
                     std::min<int64_t>(5, rows - r),
                     std::min<int64_t>(19, cols - c), depth, false);
  EXPECT_EQ(whole, parts);
}

TEST(GemmTest, PacksColumns) {
  std::mt19937 rng(3);
  for (int64_t rows : {1, 15, 16, 33, 64})
    for (int64_t depth : {1, 16, 40, 384}) {
      const int64_t ldw = depth + 7, ldp = 64;
      std::vector<float> w(size_t((rows - 1) * ldw + depth));
      std::vector<uint16_t> h(w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        h[i] = s10::quant::layout::floatToHalf(uniform(rng));
        w[i] = s10::quant::layout::halfToFloat(h[i]);
      }
      // Subnormal, infinite and zero halves convert exactly too.
      h[0] = 0x0001;
      w[0] = s10::quant::layout::halfToFloat(h[0]);
      h.back() = 0xfc00;
      w.back() = s10::quant::layout::halfToFloat(h.back());
      std::vector<float> a(size_t((depth - 1) * ldp + rows), -7.0f), b = a;
      gemm::packColumns(w.data(), ldw, rows, depth, a.data(), ldp);
      gemm::packColumnsHalf(h.data(), ldw, rows, depth, b.data(), ldp);
      for (int64_t k = 0; k < depth; ++k)
        for (int64_t r = 0; r < rows; ++r) {
          float want = w[size_t(r * ldw + k)];
          ASSERT_EQ(a[size_t(k * ldp + r)], want) << rows << " " << depth;
          ASSERT_EQ(b[size_t(k * ldp + r)], want) << rows << " " << depth;
        }
    }
}

} // namespace
