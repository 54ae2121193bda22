//===- FuzzArtifact.cpp - libFuzzer target: the artifact loader -----------===//
//
// Input: an artifact file. The harness rewrites the file size and both
// checksums so mutations reach the structural checks behind them, opens it
// as libs10rt does (without mapping the generated code, which is machine
// code and not the loader's to judge), and runs two tokens through what
// opens: every offset, size and plan entry the loader accepts must be safe
// to execute.
//
//===----------------------------------------------------------------------===//

#include "Error.h"
#include "Model.h"
#include "Session.h"

#include "s10rt/Format.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace s10rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = memfd_create("s10-fuzz-artifact", 0);
  if (fd < 0)
    std::abort();
  std::vector<uint8_t> file(data, data + size);
  if (size >= sizeof(format::Header)) {
    format::Header h;
    std::memcpy(&h, file.data(), sizeof(h));
    h.fileSize = size;
    h.payloadChecksum =
        format::checksum(file.data() + sizeof(h), size - sizeof(h));
    std::memcpy(file.data(), &h, sizeof(h));
    h.headerChecksum = format::checksum(file.data(), 48);
    std::memcpy(file.data(), &h, sizeof(h));
  }
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, file.data(), file.size(), 0) != ssize_t(file.size()))
    std::abort();
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto model = Model::open(path.c_str(), /*verifyChecksum=*/true,
                             /*loadCode=*/false);
    s10_session_options_t opts;
    s10_session_options_init(&opts);
    opts.max_context = 4;
    opts.threads = 1;
    Session session(model, opts);
    int32_t ids[2] = {0, int32_t(model->config.vocab - 1)};
    session.prefill(ids, 2, nullptr);
  } catch (const Error &) {
  } catch (const std::bad_alloc &) {
    // As the C API does: a model too large for this machine is an error.
    // (fuzz.sh runs with allocator_may_return_null=1 so that ASan throws
    // rather than aborts; libFuzzer's -malloc_limit_mb still flags any
    // single allocation over its limit.)
  }
  return 0;
}
