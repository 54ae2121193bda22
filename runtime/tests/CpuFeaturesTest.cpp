//===- CpuFeaturesTest.cpp - The CPU features a code object may need ------===//
//
// hostCpuFeatures() reads cpuid itself (the loader refuses code for
// features it does not report); the compiler's own __builtin_cpu_supports
// is the independent reference for every feature it names.
//
//===----------------------------------------------------------------------===//

#include "Model.h"

#include "s10-c/runtime.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace s10rt;
using namespace s10rt::format;

namespace {

uint64_t bitOf(const char *name) {
  for (unsigned i = 0; i < kCpuFeatureCount; ++i)
    if (!std::strcmp(kCpuFeatures[i].name, name))
      return uint64_t(1) << i;
  ADD_FAILURE() << "no feature " << name;
  return 0;
}

TEST(CpuFeatures, AgreeWithTheCompiler) {
  uint64_t host = hostCpuFeatures();
#define CHECK_FEATURE(name)                                                    \
  EXPECT_EQ((host & bitOf(name)) != 0, __builtin_cpu_supports(name) != 0)      \
      << name
  CHECK_FEATURE("sse3");
  CHECK_FEATURE("ssse3");
  CHECK_FEATURE("sse4.1");
  CHECK_FEATURE("sse4.2");
  CHECK_FEATURE("popcnt");
  CHECK_FEATURE("avx");
  CHECK_FEATURE("avx2");
  CHECK_FEATURE("fma");
  CHECK_FEATURE("bmi");
  CHECK_FEATURE("bmi2");
  CHECK_FEATURE("avx512f");
  CHECK_FEATURE("avx512dq");
  CHECK_FEATURE("avx512cd");
  CHECK_FEATURE("avx512bw");
  CHECK_FEATURE("avx512vl");
  CHECK_FEATURE("avx512vbmi");
  CHECK_FEATURE("avx512vbmi2");
  CHECK_FEATURE("avx512vnni");
  CHECK_FEATURE("avx512bitalg");
  CHECK_FEATURE("avx512vpopcntdq");
  CHECK_FEATURE("avx512ifma");
  CHECK_FEATURE("gfni");
  CHECK_FEATURE("vpclmulqdq");
#undef CHECK_FEATURE
}

TEST(CpuFeatures, Names) {
  EXPECT_EQ(cpuFeatureNames(0), "");
  EXPECT_EQ(cpuFeatureNames(bitOf("avx2") | bitOf("avx512f") | bitOf("fma")),
            "fma, avx2, avx512f");
}

} // namespace
