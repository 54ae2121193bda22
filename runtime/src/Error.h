//===- Error.h - Errors inside the runtime ----------------------*- C++ -*-===//
//
// Internal functions throw Error; the C API catches it (and std::bad_alloc)
// at the boundary and turns it into a status, so no exception escapes.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_ERROR_H
#define S10RT_SRC_ERROR_H

#include "s10-c/runtime.h"

#include <exception>
#include <string>

namespace s10rt {

class Error : public std::exception {
public:
  Error(s10_status_code_t code, std::string message)
      : code_(code), message_(std::move(message)) {}
  s10_status_code_t code() const { return code_; }
  const std::string &message() const { return message_; }
  const char *what() const noexcept override { return message_.c_str(); }

private:
  s10_status_code_t code_;
  std::string message_;
};

} // namespace s10rt

#endif // S10RT_SRC_ERROR_H
