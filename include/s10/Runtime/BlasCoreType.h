//===- BlasCoreType.h - The OpenBLAS kernel family to force -----*- C++ -*-===//
//
// Plain C++ (no LLVM): the interpreter's BLAS loader and the MLIR-free
// s10-run driver both need it.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_BLASCORETYPE_H
#define S10_RUNTIME_BLASCORETYPE_H

namespace s10::runtime {

/// The OPENBLAS_CORETYPE this CPU should use when OpenBLAS 0.3.21 picks a
/// slower family itself (AMD CPUs with AVX-512 get "SkylakeX"), or null.
/// OpenBLAS reads the variable when it loads: s10-run sets it before it
/// loads the interpreter plugin, which links OpenBLAS.
inline const char *preferredBlasCoreType() {
#if defined(__x86_64__) && defined(__GNUC__)
  // An AMD CPU with the AVX-512 subsets the SkylakeX kernels use; OpenBLAS
  // detects Intel ones itself.
  __builtin_cpu_init();
  if (__builtin_cpu_is("amd") && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
#endif
  return nullptr;
}

} // namespace s10::runtime

#endif // S10_RUNTIME_BLASCORETYPE_H
