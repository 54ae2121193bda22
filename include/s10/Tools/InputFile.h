//===- InputFile.h - Reading model files for the tools ---------*- C++ -*-===//
//
// Bytecode resource sections (packed weights) are aligned to 64 bytes in the
// file, and the bytecode reader needs the buffer itself aligned as much.
// MemoryBuffer only guarantees that for mmapped files: a file whose size is
// a multiple of the page size, or stdin, lands in a heap buffer aligned to
// 16. Such buffers are copied into an aligned one.
//
//===----------------------------------------------------------------------===//

#ifndef S10_TOOLS_INPUTFILE_H
#define S10_TOOLS_INPUTFILE_H

#include "llvm/Support/MemoryBuffer.h"

#include <cstring>
#include <memory>

namespace s10 {

/// The alignment the bytecode of packed weights needs.
constexpr uint64_t kModelBufferAlign = 64;

/// Reads `path` ("-": stdin) into a null-terminated buffer aligned to
/// kModelBufferAlign.
inline llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>>
readModelFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (!buffer)
    return buffer.getError();
  llvm::StringRef data = (*buffer)->getBuffer();
  if (reinterpret_cast<uintptr_t>(data.data()) % kModelBufferAlign == 0)
    return std::move(*buffer);
  auto copy = llvm::WritableMemoryBuffer::getNewUninitMemBuffer(
      data.size(), (*buffer)->getBufferIdentifier(),
      llvm::Align(kModelBufferAlign));
  if (!copy)
    return std::make_error_code(std::errc::not_enough_memory);
  std::memcpy(copy->getBufferStart(), data.data(), data.size());
  return std::unique_ptr<llvm::MemoryBuffer>(std::move(copy));
}

} // namespace s10

#endif // S10_TOOLS_INPUTFILE_H
