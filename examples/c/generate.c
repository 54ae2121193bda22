/* generate.c - greedy generation with libs10rt.
 *
 *   generate model.s10 N id1 id2 ...
 *
 * Opens the artifact, prefills the prompt ids, then decodes N tokens,
 * printing each id. Any failure prints the runtime's message and exits 1. */

#include <s10-c/runtime.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Prints and frees a failed status; returns nonzero if it failed. */
static int failed(s10_status_t status, const char *what) {
  if (!status)
    return 0;
  fprintf(stderr, "generate: %s: %s\n", what, s10_status_message(status));
  s10_status_free(status);
  return 1;
}

static int parse(const char *text, long min, long max, long *out) {
  char *end;
  errno = 0;
  *out = strtol(text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && *out >= min &&
         *out <= max;
}

static int32_t argmax(const float *logits, size_t count) {
  size_t best = 0;
  for (size_t i = 1; i < count; ++i)
    if (logits[i] > logits[best])
      best = i;
  return (int32_t)best;
}

int main(int argc, char **argv) {
  s10_model_t *model = NULL;
  s10_session_t *session = NULL;
  int32_t *ids = NULL;
  int rc = 1;
  long steps, value;
  if (argc < 4 || !parse(argv[2], 0, 1000000, &steps)) {
    fprintf(stderr, "usage: %s model.s10 N id1 [id2 ...]\n", argv[0]);
    return 1;
  }
  size_t count = (size_t)(argc - 3);
  ids = malloc(count * sizeof(int32_t));
  if (!ids) {
    fprintf(stderr, "generate: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < count; ++i) {
    if (!parse(argv[3 + i], 0, INT32_MAX, &value)) {
      fprintf(stderr, "generate: '%s' is not a token id\n", argv[3 + i]);
      goto done;
    }
    ids[i] = (int32_t)value;
  }
  if (failed(s10_model_open(argv[1], NULL, &model), "open") ||
      failed(s10_session_create(model, NULL, &session), "session") ||
      failed(s10_session_prefill(session, ids, count, NULL), "prefill"))
    goto done;
  for (long n = 0; n < steps; ++n) {
    const float *logits;
    size_t vocab;
    if (failed(s10_session_logits(session, &logits, &vocab), "logits"))
      goto done;
    int32_t next = argmax(logits, vocab);
    printf("%d\n", (int)next);
    fflush(stdout);
    if (n + 1 < steps && failed(s10_session_decode(session, next), "decode"))
      goto done;
  }
  rc = 0;
done:
  s10_session_free(session);
  s10_model_free(model);
  free(ids);
  return rc;
}
