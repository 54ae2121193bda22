//===- CodegenTestUtil.h - Random packed weights for kernel tests -*- C++
//-*-===//

#ifndef S10_UNITTESTS_CODEGEN_CODEGENTESTUTIL_H
#define S10_UNITTESTS_CODEGEN_CODEGENTESTUTIL_H

#include "s10/Quant/PackedKernels.h"

#include "PackedTestUtil.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace s10::quant::layout::test {

/// Normal(0, 1) floats.
inline std::vector<float> randomVector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

/// A random packed matrix and its reference view.
struct Packed {
  std::string name;
  Spec spec;
  int64_t out = 0, in = 0;
  std::vector<uint8_t> bytes;
  PackedMatrix m;
};

struct Case {
  std::string name;
  Spec spec;
  Shape shape;
  double salientFrac = 0.2; // bitmap: the share of salient weights
};

inline void makePacked(const Case &c, uint32_t seed, Packed &p) {
  Spec s = c.spec;
  s.groupSize = c.shape.group;
  Logical w = randomLogical(s, c.shape.out, c.shape.in, seed, c.salientFrac);
  p.name = c.name;
  p.spec = specFor(s, w);
  p.out = c.shape.out;
  p.in = c.shape.in;
  Status st = pack(p.spec, w, p.bytes);
  ASSERT_FALSE(st.failed()) << c.name << ": " << st.message();
  st = PackedMatrix::create(p.spec, p.out, p.in, p.bytes.data(), p.bytes.size(),
                            true, p.m);
  ASSERT_FALSE(st.failed()) << c.name << ": " << st.message();
}

} // namespace s10::quant::layout::test

#endif // S10_UNITTESTS_CODEGEN_CODEGENTESTUTIL_H
