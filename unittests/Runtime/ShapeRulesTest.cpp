//===- ShapeRulesTest.cpp - ONNX Slice extents, worked by hand ------------===//

#include "s10/Dialect/ONNX/ShapeRules.h"

#include <gtest/gtest.h>

#include <limits>

using s10::onnx::sliceRange;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

struct Case {
  int64_t dim, start, end, step;
  int64_t first, length; // worked out by listing the indices
};

TEST(ShapeRules, SliceRange) {
  const Case cases[] = {
      {10, 0, 10, 1, 0, 10},      // everything
      {10, 2, 8, 3, 2, 2},        // 2, 5
      {10, -3, -1, 1, 7, 2},      // 7, 8
      {10, 100, -100, -1, 9, 10}, // 9 .. 0: ends clamp to -1
      {10, 5, 0, -2, 5, 3},       // 5, 3, 1
      {10, 0, 0, 1, 0, 0},        // empty
      {10, 8, 2, 1, 8, 0},        // empty: start past end
      {3, -1, -100, -1, 2, 3},    // 2, 1, 0
      {4, 0, 3, 2, 0, 2},         // ONNX's example, axis 1: 0, 2
      {2, 1, 2, 1, 1, 1},         // ONNX's example, axis 0
      {0, 0, 5, 1, 0, 0},         // empty dimension
      // Extreme values must neither overflow nor wrap.
      {4, kMax, kMin, -1, 3, 4}, // 3, 2, 1, 0
      {4, 0, kMax, kMax, 0, 1},  // 0
      {4, 3, 0, kMin, 3, 1},     // 3
      {4, kMin, kMax, 1, 0, 4},  // 0 .. 3
  };
  for (const Case &c : cases) {
    auto r = sliceRange(c.dim, c.start, c.end, c.step);
    EXPECT_EQ(r.first, c.first)
        << c.dim << " " << c.start << " " << c.end << " " << c.step;
    EXPECT_EQ(r.length, c.length)
        << c.dim << " " << c.start << " " << c.end << " " << c.step;
  }
}

} // namespace
