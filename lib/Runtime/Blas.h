//===- Blas.h - OpenBLAS, loaded at first use -------------------*- C++ -*-===//
//
// Internal to the runtime. OpenBLAS is dlopen'ed rather than linked, at
// first use, so that a tool can choose its kernel family first: OpenBLAS
// 0.3.21 does not recognize recent AMD CPUs (Zen 4/5) as AVX-512 capable and
// falls back to its Haswell (AVX2) kernels, which run sgemm at ~60% of the
// SkylakeX ones there. The tools set OPENBLAS_CORETYPE for such CPUs at
// startup (preferredBlasCoreType); the library never edits the environment.
// OpenBLAS runs single-threaded; the runtime's pool provides the
// parallelism.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_RUNTIME_BLAS_H
#define S10_LIB_RUNTIME_BLAS_H

#include "llvm/Support/Error.h"

#include <cblas.h>

namespace s10::runtime {

struct Blas {
  decltype(&cblas_sgemm) sgemm;
  decltype(&cblas_dgemm) dgemm;
  /// The kernel family OpenBLAS uses ("Haswell", "SkylakeX", ...).
  const char *coreName;
};

/// Loads the library once per process; the error names what is missing.
llvm::Error loadBlas();
/// The loaded library. Callers run after loadBlas() succeeded (the executor
/// loads it when it is created).
const Blas &blas();

} // namespace s10::runtime

#endif // S10_LIB_RUNTIME_BLAS_H
