//===- Tokenizer.cpp - SentencePiece tokenizer wrapper --------------------===//

#include "s10/Runtime/Tokenizer.h"

#include "s10/Runtime/Tensor.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

using namespace llvm;
using namespace s10::runtime;

#ifndef S10_SP_SHIM_NAME
#define S10_SP_SHIM_NAME "libS10SentencePieceShim.so"
#endif

namespace {
using IdsFn = void (*)(void *, const int *, size_t);
using TextFn = void (*)(void *, const char *, size_t);

/// The shim's entry points, resolved once per process.
struct Shim {
  void *(*create)();
  void (*destroy)(void *);
  int (*load)(void *, const char *, char *, size_t);
  int (*encode)(void *, const char *, size_t, IdsFn, void *);
  int (*decode)(void *, const int *, size_t, TextFn, void *);
  int (*bosId)(void *);
  int (*eosId)(void *);
  int (*pieceSize)(void *);
};

std::vector<std::string> shimCandidates() {
  std::vector<std::string> paths;
  if (const char *env = std::getenv("S10_SENTENCEPIECE_SHIM"))
    paths.push_back(env);
  // Next to the binary holding this code: <dir>/ and <dir>/../lib/.
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&shimCandidates), &info) &&
      info.dli_fname) {
    SmallString<256> dir(info.dli_fname);
    sys::path::remove_filename(dir);
    SmallString<256> p(dir);
    sys::path::append(p, S10_SP_SHIM_NAME);
    paths.push_back(std::string(p));
    p = dir;
    sys::path::append(p, "..", "lib", S10_SP_SHIM_NAME);
    paths.push_back(std::string(p));
  }
#ifdef S10_SP_SHIM_PATH
  paths.push_back(S10_SP_SHIM_PATH);
#endif
  return paths;
}

Expected<const Shim *> getShim() {
  static Shim shim;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void *handle = nullptr;
    std::string tried;
    for (const std::string &p : shimCandidates()) {
      if (!sys::fs::exists(p))
        continue;
      // Private namespace, own symbols first: see SentencePieceShim.cpp.
      handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle)
        break;
      tried += "\n  " + p + ": " + dlerror();
    }
    if (!handle) {
      error = "cannot load the SentencePiece shim (" S10_SP_SHIM_NAME
              "); set S10_SENTENCEPIECE_SHIM" +
              tried;
      return;
    }
    auto sym = [&](const char *name) {
      void *s = dlsym(handle, name);
      if (!s && error.empty())
        error = std::string("SentencePiece shim lacks ") + name;
      return s;
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
  if (!error.empty())
    return makeError(error);
  return &shim;
}

const Shim &shim() {
  // Only called on a loaded tokenizer, which implies the shim loaded.
  return **getShim();
}

void appendIds(void *ctx, const int *ids, size_t n) {
  auto *out = static_cast<std::vector<int64_t> *>(ctx);
  out->insert(out->end(), ids, ids + n);
}

void setText(void *ctx, const char *text, size_t n) {
  static_cast<std::string *>(ctx)->assign(text, n);
}
} // namespace

Tokenizer::Tokenizer(void *sp) : sp(sp) {}
Tokenizer::~Tokenizer() { shim().destroy(sp); }

Expected<std::unique_ptr<Tokenizer>> Tokenizer::load(StringRef path) {
  if (!sys::fs::exists(path))
    return makeError("tokenizer file '" + path + "' does not exist");
  if (sys::fs::is_directory(path))
    return makeError("tokenizer path '" + path + "' is a directory");
  auto s = getShim();
  if (!s)
    return s.takeError();
  void *sp = (*s)->create();
  char err[512] = {0};
  if ((*s)->load(sp, path.str().c_str(), err, sizeof(err))) {
    (*s)->destroy(sp);
    return makeError("cannot load tokenizer '" + path + "': " + err);
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(sp));
}

std::vector<int64_t> Tokenizer::encode(StringRef text) const {
  std::vector<int64_t> ids;
  // Encoding only fails on an unloaded model.
  (void)shim().encode(sp, text.data(), text.size(), appendIds, &ids);
  return ids;
}

std::vector<int64_t> Tokenizer::encodePrompt(StringRef prompt) const {
  std::vector<int64_t> ids{bosId()};
  (void)shim().encode(sp, prompt.data(), prompt.size(), appendIds, &ids);
  return ids;
}

std::vector<int64_t> Tokenizer::encodeDocument(StringRef text) const {
  std::string normalized;
  if (text.contains('\r')) {
    normalized.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\r') {
        normalized += '\n';
        if (i + 1 < text.size() && text[i + 1] == '\n')
          ++i;
        continue;
      }
      normalized += text[i];
    }
    text = normalized;
  }
  std::vector<int64_t> ids;
  std::string line;
  size_t start = 0;
  while (true) {
    size_t nl = text.find('\n', start);
    StringRef l = text.slice(start, nl == StringRef::npos ? text.size() : nl);
    line.assign(l.data(), l.size());
    line += '\n';
    (void)shim().encode(sp, line.data(), line.size(), appendIds, &ids);
    if (nl == StringRef::npos)
      break;
    start = nl + 1;
  }
  return ids;
}

std::string Tokenizer::decode(ArrayRef<int64_t> ids) const {
  std::vector<int> v(ids.begin(), ids.end());
  std::string text;
  (void)shim().decode(sp, v.data(), v.size(), setText, &text);
  return text;
}

int64_t Tokenizer::bosId() const { return shim().bosId(sp); }
int64_t Tokenizer::eosId() const { return shim().eosId(sp); }
int64_t Tokenizer::vocabSize() const { return shim().pieceSize(sp); }
