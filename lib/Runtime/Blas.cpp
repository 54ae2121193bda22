//===- Blas.cpp - OpenBLAS, loaded at first use ---------------------------===//

#include "Blas.h"

#include "s10/Runtime/Kernels.h"

#include "llvm/Support/ErrorHandling.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <string>

using namespace s10::runtime;

#ifndef S10_OPENBLAS_PATH
#define S10_OPENBLAS_PATH "libopenblas.so"
#endif

const Blas &s10::runtime::blas() {
  static Blas lib;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *core = preferredBlasCoreType();
    bool setCore = !std::getenv("OPENBLAS_CORETYPE") && core;
    if (setCore)
      setenv("OPENBLAS_CORETYPE", core, 0);
    void *handle = nullptr;
    std::string errors;
    for (const char *name : {"libopenblas.so.0", S10_OPENBLAS_PATH}) {
      handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
      if (handle)
        break;
      errors += std::string("\n  ") + dlerror();
    }
    if (setCore)
      unsetenv("OPENBLAS_CORETYPE");
    if (!handle)
      llvm::report_fatal_error(("s10 runtime: cannot load OpenBLAS "
                                "(install libopenblas0-pthread):" +
                                errors)
                                   .c_str(),
                               /*gen_crash_diag=*/false);
    auto sym = [&](const char *name) {
      void *s = dlsym(handle, name);
      if (!s)
        llvm::report_fatal_error(
            (std::string("s10 runtime: OpenBLAS lacks ") + name).c_str(),
            false);
      return s;
    };
    lib.sgemm = reinterpret_cast<decltype(&cblas_sgemm)>(sym("cblas_sgemm"));
    lib.dgemm = reinterpret_cast<decltype(&cblas_dgemm)>(sym("cblas_dgemm"));
    auto setThreads =
        reinterpret_cast<void (*)(int)>(sym("openblas_set_num_threads"));
    auto coreName =
        reinterpret_cast<char *(*)()>(dlsym(handle, "openblas_get_corename"));
    // Single-threaded: the runtime's pool parallelizes around BLAS calls.
    setThreads(1);
    lib.coreName = coreName ? coreName() : "unknown";
  });
  return lib;
}
