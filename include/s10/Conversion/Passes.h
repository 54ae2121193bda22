//===- Passes.h - s10 conversion passes -------------------------*- C++ -*-===//

#ifndef S10_CONVERSION_PASSES_H
#define S10_CONVERSION_PASSES_H

#include "s10/Conversion/ONNXToSqueeze/ONNXToSqueeze.h"

namespace s10 {

#define GEN_PASS_REGISTRATION
#include "s10/Conversion/Passes.h.inc"

} // namespace s10

#endif // S10_CONVERSION_PASSES_H
