//===- CApi.cpp - The C API of the runtime --------------------------------===//
//
// The only exported symbols. Every entry point catches everything: Error
// carries its own code, std::bad_alloc (and std::length_error) become
// S10_RESOURCE_EXHAUSTED, anything else S10_INTERNAL.
//
//===----------------------------------------------------------------------===//

#include "s10-c/runtime.h"

#include "Error.h"
#include "Model.h"
#include "Session.h"
#include "cuda/CudaSession.h"

#include <new>
#include <stdexcept>

using namespace s10rt;

struct s10_status_s {
  s10_status_code_t code;
  std::string message;
};

struct s10_model_s {
  std::shared_ptr<const Model> model;
};

struct s10_session_s {
  std::unique_ptr<SessionBase> session;
};

namespace {

/// Returned when even a status cannot be allocated; never freed.
s10_status_s kOutOfMemory{S10_RESOURCE_EXHAUSTED, "out of memory"};

s10_status_t makeStatus(s10_status_code_t code, const char *message) {
  try {
    return new s10_status_s{code, message};
  } catch (...) {
    return &kOutOfMemory;
  }
}

template <typename F> s10_status_t guard(F &&body) {
  try {
    body();
    return nullptr;
  } catch (const Error &e) {
    return makeStatus(e.code(), e.what());
  } catch (const std::bad_alloc &) {
    return makeStatus(S10_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::length_error &) {
    return makeStatus(S10_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::exception &e) {
    return makeStatus(S10_INTERNAL, e.what());
  } catch (...) {
    return makeStatus(S10_INTERNAL, "unknown internal error");
  }
}

[[noreturn]] void invalid(const char *message) {
  throw Error(S10_INVALID_ARGUMENT, message);
}

} // namespace

extern "C" {

s10_status_code_t s10_status_code(s10_status_t status) {
  return status ? status->code : S10_OK;
}

const char *s10_status_message(s10_status_t status) {
  return status ? status->message.c_str() : "";
}

void s10_status_free(s10_status_t status) {
  if (status && status != &kOutOfMemory)
    delete status;
}

const char *s10_runtime_version(void) { return "0.1.0"; }

void s10_model_options_init(s10_model_options_t *options) {
  if (options)
    options->verify_checksum = 1;
}

s10_status_t s10_model_open(const char *path,
                            const s10_model_options_t *options,
                            s10_model_t **out_model) {
  if (out_model)
    *out_model = nullptr;
  return guard([&] {
    if (!path || !out_model)
      invalid("s10_model_open: path and out_model must not be null");
    bool verify = options ? options->verify_checksum != 0 : true;
    auto handle = std::make_unique<s10_model_s>();
    handle->model = Model::open(path, verify);
    *out_model = handle.release();
  });
}

void s10_model_free(s10_model_t *model) { delete model; }

s10_status_t s10_model_info(const s10_model_t *model,
                            s10_model_info_t *out_info) {
  return guard([&] {
    if (!model || !out_info)
      invalid("s10_model_info: model and out_info must not be null");
    const Model &m = *model->model;
    const format::ModelConfig &c = m.config;
    s10_model_info_t info{};
    info.name = m.name;
    info.target = m.cuda ? "cuda" : "cpu-x86_64";
    info.format_version = format::kVersion;
    info.vocab = c.vocab;
    info.hidden = c.hidden;
    info.layers = c.layers;
    info.heads = c.heads;
    info.kv_heads = c.kvHeads;
    info.head_dim = c.headDim;
    info.intermediate = c.intermediate;
    info.max_positions = c.maxPositions;
    info.bos_id = c.bosId == format::kNone ? -1 : int32_t(c.bosId);
    info.eos_id = c.eosId == format::kNone ? -1 : int32_t(c.eosId);
    info.file_bytes = m.fileBytes;
    info.weight_bytes = c.weightBytes;
    info.steps = uint32_t(m.steps.size());
    info.compiled_kernels = m.compiledSteps;
    *out_info = info;
  });
}

void s10_session_options_init(s10_session_options_t *options) {
  if (options) {
    options->max_context = 0;
    options->threads = 0;
    options->max_chunk = 0;
    options->gemv_prefill = 0;
  }
}

s10_status_t s10_session_create(s10_model_t *model,
                                const s10_session_options_t *options,
                                s10_session_t **out_session) {
  if (out_session)
    *out_session = nullptr;
  return guard([&] {
    if (!model || !out_session)
      invalid("s10_session_create: model and out_session must not be null");
    s10_session_options_t o;
    s10_session_options_init(&o);
    if (options)
      o = *options;
    auto handle = std::make_unique<s10_session_s>();
    if (model->model->cuda)
      handle->session = std::make_unique<cuda::CudaSession>(
          model->model, o, cuda::openCudaDevice(0));
    else
      handle->session = std::make_unique<Session>(model->model, o);
    *out_session = handle.release();
  });
}

void s10_session_free(s10_session_t *session) { delete session; }

s10_status_t s10_session_prefill(s10_session_t *session, const int32_t *ids,
                                 size_t count, float *all_logits) {
  return guard([&] {
    if (!session)
      invalid("s10_session_prefill: session must not be null");
    if (!ids && count > 0)
      invalid("s10_session_prefill: ids must not be null");
    session->session->prefill(ids, count, all_logits);
  });
}

s10_status_t s10_session_decode(s10_session_t *session, int32_t id) {
  return guard([&] {
    if (!session)
      invalid("s10_session_decode: session must not be null");
    session->session->prefill(&id, 1, nullptr);
  });
}

s10_status_t s10_session_logits(const s10_session_t *session,
                                const float **out_logits, size_t *out_count) {
  return guard([&] {
    if (!session || !out_logits || !out_count)
      invalid("s10_session_logits: session, out_logits and out_count must "
              "not be null");
    const float *logits = session->session->logits();
    if (!logits)
      invalid("s10_session_logits: no token has run yet");
    *out_logits = logits;
    *out_count = session->session->vocab();
  });
}

size_t s10_session_length(const s10_session_t *session) {
  return session ? session->session->length() : 0;
}

void s10_session_reset(s10_session_t *session) {
  if (session)
    session->session->reset();
}

} // extern "C"
