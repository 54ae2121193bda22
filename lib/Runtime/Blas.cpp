//===- Blas.cpp - OpenBLAS, loaded at first use ---------------------------===//

#include "Blas.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/ErrorHandling.h"

#include <dlfcn.h>
#include <mutex>
#include <string>

using namespace s10::runtime;

#ifndef S10_OPENBLAS_PATH
#define S10_OPENBLAS_PATH "libopenblas.so"
#endif

namespace {
struct Loaded {
  Blas lib{};
  std::string error; // empty once loaded
};

const Loaded &load() {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    Blas &lib = loaded.lib;
    void *handle = nullptr;
    std::string errors;
    for (const char *name : {"libopenblas.so.0", S10_OPENBLAS_PATH}) {
      handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
      if (handle)
        break;
      errors += std::string("\n  ") + dlerror();
    }
    if (!handle) {
      loaded.error =
          "cannot load OpenBLAS (install libopenblas0-pthread):" + errors;
      return;
    }
    auto sym = [&](const char *name) {
      void *s = dlsym(handle, name);
      if (!s && loaded.error.empty())
        loaded.error = std::string("OpenBLAS lacks ") + name;
      return s;
    };
    lib.sgemm = reinterpret_cast<decltype(&cblas_sgemm)>(sym("cblas_sgemm"));
    lib.dgemm = reinterpret_cast<decltype(&cblas_dgemm)>(sym("cblas_dgemm"));
    auto setThreads =
        reinterpret_cast<void (*)(int)>(sym("openblas_set_num_threads"));
    if (!loaded.error.empty())
      return;
    auto coreName =
        reinterpret_cast<char *(*)()>(dlsym(handle, "openblas_get_corename"));
    // Single-threaded: the runtime's pool parallelizes around BLAS calls.
    setThreads(1);
    lib.coreName = coreName ? coreName() : "unknown";
  });
  return loaded;
}
} // namespace

llvm::Error s10::runtime::loadBlas() {
  const Loaded &l = load();
  if (l.error.empty())
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), l.error);
}

const Blas &s10::runtime::blas() {
  const Loaded &l = load();
  // Kernels run after Executor::create, which returned the load error.
  if (!l.error.empty())
    llvm::report_fatal_error(("s10 runtime: " + l.error).c_str(),
                             /*gen_crash_diag=*/false);
  return l.lib;
}
