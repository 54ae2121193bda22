//===- FastMath.h - Vectorizable elementary functions -----------*- C++ -*-===//
//
// Internal to the interpreter: the f32 exp and the multiversioning macro it
// shares with libs10rt (runtime/include/s10rt/FastMath.h), so compiled
// artifacts and the interpreter compute the same softmax and SiLU.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_RUNTIME_FASTMATH_H
#define S10_LIB_RUNTIME_FASTMATH_H

#include "s10rt/FastMath.h"

namespace s10::runtime {
using s10rt::fastExp;
} // namespace s10::runtime

#endif // S10_LIB_RUNTIME_FASTMATH_H
