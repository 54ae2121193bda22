//===- SentencePieceShim.cpp - C interface to libsentencepiece ------------===//
//
// Built as a loadable module, opened by SpTokenizer.cpp in a link namespace
// of its own (dlmopen). Debian's libsentencepiece exports the protobuf-lite
// it bundles; linked into a process that also has libprotobuf (the ONNX
// importer), those symbols interpose on libprotobuf's and the process
// crashes during static initialization. Loading it privately keeps both
// worlds apart. Only plain C types cross this boundary, and memory is never
// freed on the other side (each namespace has its own allocator).
//
//===----------------------------------------------------------------------===//

#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {

typedef void (*s10_sp_ids_fn)(void *ctx, const int *ids, size_t n);
typedef void (*s10_sp_text_fn)(void *ctx, const char *text, size_t n);

__attribute__((visibility("default"))) void *s10_sp_create(void) {
  return new sentencepiece::SentencePieceProcessor();
}

__attribute__((visibility("default"))) void s10_sp_destroy(void *sp) {
  delete static_cast<sentencepiece::SentencePieceProcessor *>(sp);
}

/// Returns 0 on success, else writes a message into `err`.
__attribute__((visibility("default"))) int
s10_sp_load(void *sp, const char *path, char *err, size_t errLen) {
  auto status =
      static_cast<sentencepiece::SentencePieceProcessor *>(sp)->Load(path);
  if (status.ok())
    return 0;
  std::string msg = status.ToString();
  if (errLen) {
    std::strncpy(err, msg.c_str(), errLen - 1);
    err[errLen - 1] = 0;
  }
  return 1;
}

__attribute__((visibility("default"))) int
s10_sp_encode(void *sp, const char *text, size_t len, s10_sp_ids_fn emit,
              void *ctx) {
  std::vector<int> ids;
  auto status =
      static_cast<sentencepiece::SentencePieceProcessor *>(sp)->Encode(
          std::string_view(text, len), &ids);
  if (!status.ok())
    return 1;
  emit(ctx, ids.data(), ids.size());
  return 0;
}

__attribute__((visibility("default"))) int
s10_sp_decode(void *sp, const int *ids, size_t n, s10_sp_text_fn emit,
              void *ctx) {
  std::vector<int> v(ids, ids + n);
  std::string text;
  auto status =
      static_cast<sentencepiece::SentencePieceProcessor *>(sp)->Decode(v,
                                                                       &text);
  if (!status.ok())
    return 1;
  emit(ctx, text.data(), text.size());
  return 0;
}

__attribute__((visibility("default"))) int s10_sp_bos_id(void *sp) {
  return static_cast<sentencepiece::SentencePieceProcessor *>(sp)->bos_id();
}

__attribute__((visibility("default"))) int s10_sp_eos_id(void *sp) {
  return static_cast<sentencepiece::SentencePieceProcessor *>(sp)->eos_id();
}

__attribute__((visibility("default"))) int s10_sp_piece_size(void *sp) {
  return static_cast<sentencepiece::SentencePieceProcessor *>(sp)
      ->GetPieceSize();
}

} // extern "C"
