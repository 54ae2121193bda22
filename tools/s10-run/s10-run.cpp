//===- s10-run.cpp - Run an s10 model on the CPU --------------------------===//
//
// Generation:  s10-run MODEL --tokenizer T --prompt TEXT [--max-new-tokens N]
// Perplexity:  s10-run MODEL --tokenizer T --perplexity FILE [--seqlen N]
// Testing:     s10-run MODEL --ids 1,343,... [--dump-logits FILE]
//
// MODEL is a compiled artifact (.s10), run through libs10rt, or an .onnx /
// .mlir / .mlirbc model at any level, run by the interpreter. This driver
// links neither MLIR nor LLVM: the interpreter is a plugin
// (libS10RunIR.so) loaded only for models that are not artifacts.
//
//===----------------------------------------------------------------------===//

#include "ArtifactRunner.h"
#include "s10/Runtime/BlasCoreType.h"
#include "s10rt/Format.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

bool isFile(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool hasArtifactMagic(const char *path) {
  FILE *f = std::fopen(path, "rb");
  if (!f)
    return false;
  char magic[sizeof(s10rt::format::kMagic)];
  bool ok = std::fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
            std::memcmp(magic, s10rt::format::kMagic, sizeof(magic)) == 0;
  std::fclose(f);
  return ok;
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string exeDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return "";
  std::string p(buf, size_t(n));
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

int runInterpreter(int argc, char **argv) {
  // The plugin links OpenBLAS, which reads this variable when it loads.
  s10::runtime::setPreferredBlasCoreType();
  std::vector<std::string> paths;
  if (const char *env = std::getenv("S10_RUN_IR_PLUGIN"))
    paths.push_back(env);
  std::string dir = exeDir();
  if (!dir.empty()) {
    paths.push_back(dir + "/../lib/libS10RunIR.so");
    paths.push_back(dir + "/libS10RunIR.so");
  }
#ifdef S10_RUN_IR_PATH
  paths.push_back(S10_RUN_IR_PATH);
#endif
  std::string tried;
  for (const std::string &p : paths) {
    if (!isFile(p))
      continue;
    void *h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      tried += "\n  " + p + ": " + dlerror();
      continue;
    }
    using MainFn = int (*)(int, char **);
    auto fn = reinterpret_cast<MainFn>(dlsym(h, "s10_run_ir_main"));
    if (!fn) {
      tried += "\n  " + p + ": no s10_run_ir_main";
      continue;
    }
    return fn(argc, argv);
  }
  std::fprintf(stderr,
               "s10-run: error: this model is not a compiled artifact and the "
               "interpreter plugin (libS10RunIR.so) cannot be loaded; set "
               "S10_RUN_IR_PLUGIN%s\n",
               tried.c_str());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  // An artifact is any argument that is a file starting with the magic, or
  // any *.s10 argument (so that a damaged one reaches the loader's checks).
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a[0] == '-')
      continue;
    if (endsWith(a, ".s10") || (isFile(a) && hasArtifactMagic(argv[i])))
      return s10::tools::runArtifact(argc, argv, a);
  }
  return runInterpreter(argc, argv);
}
