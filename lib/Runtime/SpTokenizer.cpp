//===- SpTokenizer.cpp - SentencePiece, plain C++ -------------------------===//

#include "s10/Runtime/SpTokenizer.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define S10_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S10_ADDRESS_SANITIZER 1
#endif
#endif

using namespace s10::runtime;

namespace {
using IdsFn = void (*)(void *, const int *, size_t);
using TextFn = void (*)(void *, const char *, size_t);

struct Shim {
  void *(*create)() = nullptr;
  void (*destroy)(void *) = nullptr;
  int (*load)(void *, const char *, char *, size_t) = nullptr;
  int (*encode)(void *, const char *, size_t, IdsFn, void *) = nullptr;
  int (*decode)(void *, const int *, size_t, TextFn, void *) = nullptr;
  int (*bosId)(void *) = nullptr;
  int (*eosId)(void *) = nullptr;
  int (*pieceSize)(void *) = nullptr;
};

bool exists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dirOf(const std::string &p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

/// Directories to look for the shim in: the binary holding this code (a
/// tool or a plugin) and the executable.
std::vector<std::string> searchDirs() {
  std::vector<std::string> dirs;
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&dirOf), &info) && info.dli_fname)
    dirs.push_back(dirOf(info.dli_fname));
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0)
    dirs.push_back(dirOf(std::string(buf, size_t(n))));
  return dirs;
}

const Shim *getShim(std::string &error) {
  static Shim shim;
  static std::string loadError;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> paths;
    if (const char *env = std::getenv("S10_SENTENCEPIECE_SHIM"))
      paths.push_back(env);
    const char *name = "libS10SentencePieceShim.so";
    for (const std::string &dir : searchDirs()) {
      if (dir.empty())
        continue;
      paths.push_back(dir + "/" + name);
      paths.push_back(dir + "/../lib/" + name);
    }
#ifdef S10_SP_SHIM_PATH
    paths.push_back(S10_SP_SHIM_PATH);
#endif
    void *handle = nullptr;
    std::string tried;
    for (const std::string &p : paths) {
      if (!exists(p))
        continue;
      // A namespace of its own keeps libsentencepiece's protobuf-lite apart
      // from libprotobuf, and works under AddressSanitizer, which refuses
      // RTLD_DEEPBIND. Where dlmopen fails (no namespace or static TLS
      // left), DEEPBIND gives the same isolation.
      handle = dlmopen(LM_ID_NEWLM, p.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle)
        break;
      tried += "\n  " + p + ": " + dlerror();
#ifndef S10_ADDRESS_SANITIZER
      handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle)
        break;
      tried += "\n  " + p + ": " + dlerror();
#endif
    }
    if (!handle) {
      loadError = std::string("cannot load the SentencePiece shim (") + name +
                  "); set S10_SENTENCEPIECE_SHIM" + tried;
      return;
    }
    auto sym = [&](const char *s) {
      void *f = dlsym(handle, s);
      if (!f && loadError.empty())
        loadError = std::string("SentencePiece shim lacks ") + s;
      return f;
    };
    shim.create = reinterpret_cast<void *(*)()>(sym("s10_sp_create"));
    shim.destroy = reinterpret_cast<void (*)(void *)>(sym("s10_sp_destroy"));
    shim.load = reinterpret_cast<int (*)(void *, const char *, char *, size_t)>(
        sym("s10_sp_load"));
    shim.encode =
        reinterpret_cast<int (*)(void *, const char *, size_t, IdsFn, void *)>(
            sym("s10_sp_encode"));
    shim.decode =
        reinterpret_cast<int (*)(void *, const int *, size_t, TextFn, void *)>(
            sym("s10_sp_decode"));
    shim.bosId = reinterpret_cast<int (*)(void *)>(sym("s10_sp_bos_id"));
    shim.eosId = reinterpret_cast<int (*)(void *)>(sym("s10_sp_eos_id"));
    shim.pieceSize =
        reinterpret_cast<int (*)(void *)>(sym("s10_sp_piece_size"));
  });
  error = loadError;
  return loadError.empty() ? &shim : nullptr;
}

const Shim &shim() {
  std::string unused;
  return *getShim(unused);
}

void appendIds(void *ctx, const int *ids, size_t n) {
  auto *out = static_cast<std::vector<int32_t> *>(ctx);
  out->insert(out->end(), ids, ids + n);
}

void setText(void *ctx, const char *text, size_t n) {
  static_cast<std::string *>(ctx)->assign(text, n);
}
} // namespace

std::unique_ptr<SpTokenizer> SpTokenizer::load(const std::string &path,
                                               std::string &error) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    error = "tokenizer file '" + path + "' does not exist";
    return nullptr;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "tokenizer path '" + path + "' is a directory";
    return nullptr;
  }
  const Shim *s = getShim(error);
  if (!s)
    return nullptr;
  void *sp = s->create();
  char err[512] = {0};
  if (s->load(sp, path.c_str(), err, sizeof(err))) {
    s->destroy(sp);
    error = "cannot load tokenizer '" + path + "': " + err;
    return nullptr;
  }
  return std::unique_ptr<SpTokenizer>(new SpTokenizer(sp));
}

SpTokenizer::~SpTokenizer() { shim().destroy(sp); }

void SpTokenizer::encodeInto(const std::string &text,
                             std::vector<int32_t> &ids) const {
  (void)shim().encode(sp, text.data(), text.size(), appendIds, &ids);
}

std::vector<int32_t> SpTokenizer::encode(const std::string &text) const {
  std::vector<int32_t> ids;
  encodeInto(text, ids);
  return ids;
}

std::vector<int32_t> SpTokenizer::encodePrompt(const std::string &text) const {
  std::vector<int32_t> ids{bosId()};
  encodeInto(text, ids);
  return ids;
}

std::vector<int32_t> SpTokenizer::encodeDocument(const std::string &raw) const {
  std::string text;
  text.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      text += '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n')
        ++i;
      continue;
    }
    text += raw[i];
  }
  std::vector<int32_t> ids;
  size_t start = 0;
  while (true) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(
        start, nl == std::string::npos ? std::string::npos : nl - start);
    line += '\n';
    encodeInto(line, ids);
    if (nl == std::string::npos)
      break;
    start = nl + 1;
  }
  return ids;
}

std::string SpTokenizer::decode(const std::vector<int32_t> &ids) const {
  std::vector<int> v(ids.begin(), ids.end());
  std::string text;
  (void)shim().decode(sp, v.data(), v.size(), setText, &text);
  return text;
}

int32_t SpTokenizer::bosId() const { return shim().bosId(sp); }
int32_t SpTokenizer::eosId() const { return shim().eosId(sp); }
int32_t SpTokenizer::vocabSize() const { return shim().pieceSize(sp); }
