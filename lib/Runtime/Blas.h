//===- Blas.h - OpenBLAS, loaded at first use -------------------*- C++ -*-===//
//
// Internal to the runtime. OpenBLAS is dlopen'ed rather than linked so the
// runtime can pick its kernels before the library initializes: OpenBLAS
// 0.3.21 does not recognize recent AMD CPUs (Zen 4/5) as AVX-512 capable and
// falls back to its Haswell (AVX2) kernels, which run sgemm at ~60% of the
// SkylakeX ones there. Unless OPENBLAS_CORETYPE is set by the user, an AMD
// CPU with AVX-512 gets OPENBLAS_CORETYPE=SkylakeX for the load (the
// variable is restored afterwards). That only helps when nothing loaded
// OpenBLAS before (a library linking it gets it initialized at process
// start); s10-run sets the variable before it loads the interpreter plugin. OpenBLAS runs
// single-threaded; the runtime's pool provides the parallelism.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_RUNTIME_BLAS_H
#define S10_LIB_RUNTIME_BLAS_H

#include <cblas.h>

namespace s10::runtime {

struct Blas {
  decltype(&cblas_sgemm) sgemm;
  decltype(&cblas_dgemm) dgemm;
  /// The kernel family OpenBLAS uses ("Haswell", "SkylakeX", ...).
  const char *coreName;
};

/// The loaded library (aborts with a clear message if it cannot be found).
const Blas &blas();

} // namespace s10::runtime

#endif // S10_LIB_RUNTIME_BLAS_H
