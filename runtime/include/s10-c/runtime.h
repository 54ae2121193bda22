/*===- s10-c/runtime.h - The s10 runtime C API ------------------*- C -*-===//
 *
 * Runs a compiled .s10 artifact: open (map and verify), create sessions
 * with a KV cache, prefill token ids, decode one token at a time, read the
 * logits. Every call that can fail returns an s10_status_t: NULL on success,
 * else an object with a code and a message the caller frees. The runtime
 * never aborts or exits on bad input.
 *
 * A model may be shared by several sessions; a session is used by one
 * thread at a time.
 *
 *===----------------------------------------------------------------------===*/

#ifndef S10_C_RUNTIME_H
#define S10_C_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define S10_API __attribute__((visibility("default")))
#else
#define S10_API
#endif

/*===--- Status -----------------------------------------------------------===*/

typedef enum s10_status_code_e {
  S10_OK = 0,
  S10_INVALID_ARGUMENT = 1,   /* a bad parameter from the caller */
  S10_NOT_FOUND = 2,          /* a file that does not exist */
  S10_DATA_LOSS = 3,          /* a corrupted or truncated artifact */
  S10_UNIMPLEMENTED = 4,      /* a version, target or feature not supported */
  S10_OUT_OF_RANGE = 5,       /* context full, token id outside the vocab */
  S10_RESOURCE_EXHAUSTED = 6, /* out of memory */
  S10_INTERNAL = 7,
  S10_IO_ERROR = 8, /* a file that cannot be read or mapped */
} s10_status_code_t;

typedef struct s10_status_s *s10_status_t;

/* The code of a status (S10_OK for NULL). */
S10_API s10_status_code_t s10_status_code(s10_status_t status);
/* Its message, owned by the status ("" for NULL). */
S10_API const char *s10_status_message(s10_status_t status);
/* Frees a status; NULL is fine. */
S10_API void s10_status_free(s10_status_t status);

/* The runtime's version, e.g. "0.1.0". */
S10_API const char *s10_runtime_version(void);

/*===--- Model ------------------------------------------------------------===*/

typedef struct s10_model_s s10_model_t;

typedef struct s10_model_options_s {
  /* Verify the payload checksum at open (default 1). */
  int verify_checksum;
} s10_model_options_t;

S10_API void s10_model_options_init(s10_model_options_t *options);

/* Maps and verifies `path`: magic, version, target, checksums, and every
 * offset and size in bounds. `options` may be NULL. */
S10_API s10_status_t s10_model_open(const char *path,
                                    const s10_model_options_t *options,
                                    s10_model_t **out_model);
S10_API void s10_model_free(s10_model_t *model);

typedef struct s10_model_info_s {
  const char *name;   /* owned by the model */
  const char *target; /* "cpu-x86_64" */
  uint32_t format_version;
  uint32_t vocab, hidden, layers, heads, kv_heads, head_dim, intermediate;
  uint32_t max_positions;
  int32_t bos_id, eos_id;    /* -1 if unknown */
  uint64_t file_bytes;       /* the artifact */
  uint64_t weight_bytes;     /* its weights */
  uint32_t steps;            /* plan steps per token chunk */
  uint32_t compiled_kernels; /* steps that call generated kernels */
} s10_model_info_t;

S10_API s10_status_t s10_model_info(const s10_model_t *model,
                                    s10_model_info_t *out_info);

/*===--- Session ----------------------------------------------------------===*/

typedef struct s10_session_s s10_session_t;

typedef struct s10_session_options_s {
  /* Longest sequence (prompt + generated); 0: the model's max_positions. */
  uint32_t max_context;
  /* Worker threads for the CPU kernels; 0: the machine's cores. */
  uint32_t threads;
  /* Longest chunk prefill runs at once (longer prompts run in chunks);
   * 0: 512. Bounds the activation memory. */
  uint32_t max_chunk;
  /* CUDA artifacts: nonzero runs prefill through the GEMVs (f32 products,
   * as decode) instead of the tensor-core GEMMs (f16 operands, f32 sums);
   * 0: the GEMMs where the artifact has them. */
  uint32_t gemv_prefill;
} s10_session_options_t;

S10_API void s10_session_options_init(s10_session_options_t *options);

S10_API s10_status_t s10_session_create(s10_model_t *model,
                                        const s10_session_options_t *options,
                                        s10_session_t **out_session);
S10_API void s10_session_free(s10_session_t *session);

/* Appends `count` tokens to the sequence and runs them. Afterwards
 * s10_session_logits gives the last token's logits. When `all_logits` is
 * not NULL it receives [count, vocab] floats, one row per token. */
S10_API s10_status_t s10_session_prefill(s10_session_t *session,
                                         const int32_t *ids, size_t count,
                                         float *all_logits);

/* Appends one token and runs it (prefill of one token). */
S10_API s10_status_t s10_session_decode(s10_session_t *session, int32_t id);

/* The logits of the last token run: `vocab` floats owned by the session,
 * valid until its next call. */
S10_API s10_status_t s10_session_logits(const s10_session_t *session,
                                        const float **out_logits,
                                        size_t *out_count);

/* Tokens in the sequence so far. */
S10_API size_t s10_session_length(const s10_session_t *session);

/* Empties the sequence and the KV cache. */
S10_API void s10_session_reset(s10_session_t *session);

#ifdef __cplusplus
}
#endif

#endif /* S10_C_RUNTIME_H */
