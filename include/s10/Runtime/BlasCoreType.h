//===- BlasCoreType.h - The OpenBLAS kernel family to force -----*- C++ -*-===//
//
// Plain C++ (no LLVM): the interpreter's BLAS loader and the MLIR-free
// s10-run driver both need it.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_BLASCORETYPE_H
#define S10_RUNTIME_BLASCORETYPE_H

#include <cstdlib>

#ifdef __linux__
#include <dlfcn.h>
#include <unistd.h>
#endif

namespace s10::runtime {

/// The OPENBLAS_CORETYPE this CPU should use, or null. OpenBLAS 0.3.21
/// names its kernel family from the CPU model: it does not know recent AMD
/// CPUs with AVX-512 (and uses Haswell kernels there), and on a virtual
/// machine that reports a generic model ("Intel Xeon Processor") it falls
/// back to its SSE3 Prescott kernels, 3 to 5 times slower than the AVX2 or
/// AVX-512 ones the CPU supports. The family follows the features instead.
/// OpenBLAS reads the variable when it loads.
inline const char *preferredBlasCoreType() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
#endif
  return nullptr;
}

/// Sets OPENBLAS_CORETYPE to preferredBlasCoreType() unless the user set
/// it. Tools call it first thing in main. A tool that links OpenBLAS has
/// loaded it before main, with the family it chose itself: given its
/// `argv`, such a process starts again (execv, same pid, same arguments)
/// with the variable set.
inline void setPreferredBlasCoreType(char **argv = nullptr) {
  const char *core = preferredBlasCoreType();
  if (!core || std::getenv("OPENBLAS_CORETYPE"))
    return;
  setenv("OPENBLAS_CORETYPE", core, 0);
#ifdef __linux__
  if (argv && dlsym(RTLD_DEFAULT, "openblas_get_corename")) {
    // The file itself, not /proc/self/exe: the process keeps its name.
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n > 0) {
      path[n] = 0;
      execv(path, argv); // returns only on failure: go on as is
    }
  }
#endif
}

} // namespace s10::runtime

#endif // S10_RUNTIME_BLASCORETYPE_H
