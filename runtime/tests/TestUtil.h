//===- TestUtil.h - Helpers of the runtime tests ----------------*- C++ -*-===//

#ifndef S10RT_TESTS_TESTUTIL_H
#define S10RT_TESTS_TESTUTIL_H

#include "ArtifactWriter.h"

#include "s10-c/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <unistd.h>

namespace s10rt::test {

/// A status taken over from the C API (and freed).
struct Result {
  s10_status_code_t code = S10_OK;
  std::string message;
  explicit Result(s10_status_t s)
      : code(s10_status_code(s)), message(s10_status_message(s)) {
    s10_status_free(s);
  }
  bool ok() const { return code == S10_OK; }
};

inline std::ostream &operator<<(std::ostream &os, const Result &r) {
  return os << "code " << int(r.code) << ": " << r.message;
}

struct ModelDeleter {
  void operator()(s10_model_t *m) const { s10_model_free(m); }
};
struct SessionDeleter {
  void operator()(s10_session_t *s) const { s10_session_free(s); }
};
using ModelPtr = std::unique_ptr<s10_model_t, ModelDeleter>;
using SessionPtr = std::unique_ptr<s10_session_t, SessionDeleter>;

/// A private directory for the artifacts of one test, removed after it.
class TempDir {
public:
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base && *base ? base : "/tmp") + "/s10rt-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back(0);
    if (!::mkdtemp(buf.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    for (const std::string &f : files_)
      ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  std::string file(const std::string &name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::vector<std::string> files_;
};

/// Opens `path`; the model in `model` on success.
inline Result openModel(const std::string &path, ModelPtr &model,
                        bool verify = true) {
  s10_model_options_t o;
  s10_model_options_init(&o);
  o.verify_checksum = verify;
  s10_model_t *m = nullptr;
  Result r(s10_model_open(path.c_str(), &o, &m));
  model.reset(m);
  return r;
}

inline SessionPtr newSession(s10_model_t *model, uint32_t threads = 2,
                             uint32_t maxChunk = 0, uint32_t maxContext = 0) {
  s10_session_options_t o;
  s10_session_options_init(&o);
  o.threads = threads;
  o.max_chunk = maxChunk;
  o.max_context = maxContext;
  s10_session_t *s = nullptr;
  Result r(s10_session_create(model, &o, &s));
  EXPECT_TRUE(r.ok()) << r;
  return SessionPtr(s);
}

/// Rows of `vocab` logits agree to `tol` relative to each row's largest
/// reference magnitude.
inline void expectClose(const float *got, const float *ref, size_t rows,
                        size_t vocab, double tol = 1e-5) {
  for (size_t r = 0; r < rows; ++r) {
    double scale = 1e-6, err = 0;
    for (size_t i = 0; i < vocab; ++i)
      scale = std::max(scale, double(std::abs(ref[r * vocab + i])));
    size_t worst = 0;
    for (size_t i = 0; i < vocab; ++i) {
      double e = std::abs(double(got[r * vocab + i]) - ref[r * vocab + i]);
      if (!(e <= err)) {
        err = e;
        worst = i;
      }
    }
    EXPECT_LE(err, tol * scale)
        << "row " << r << " logit " << worst << ": got "
        << got[r * vocab + worst] << ", expected " << ref[r * vocab + worst];
  }
}

} // namespace s10rt::test

#endif // S10RT_TESTS_TESTUTIL_H
