//===- OutputFile.h - Writing tool outputs all or nothing ------*- C++ -*-===//
//
// Tools write results through a temporary file and a rename, so a failed
// or interrupted run never leaves a partial output behind.
//
//===----------------------------------------------------------------------===//

#ifndef S10_TOOLS_OUTPUTFILE_H
#define S10_TOOLS_OUTPUTFILE_H

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace s10 {

/// Writes `bytes` to `path` (through `path`.tmp and a rename).
inline llvm::Error writeFileAtomically(llvm::StringRef path,
                                       llvm::StringRef bytes) {
  llvm::SmallString<256> tmp(path);
  tmp += ".tmp";
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(tmp, ec);
    if (ec)
      return llvm::createStringError(ec, "cannot write '" + tmp +
                                             "': " + ec.message());
    out << bytes;
    out.close();
    if (out.has_error()) {
      out.clear_error();
      llvm::sys::fs::remove(tmp);
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "cannot write '" + tmp + "'");
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return llvm::createStringError(ec, "cannot write '" + path +
                                           "': " + ec.message());
  }
  return llvm::Error::success();
}

} // namespace s10

#endif // S10_TOOLS_OUTPUTFILE_H
