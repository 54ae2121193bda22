//===- SqueezeOps.h - Squeeze operations ------------------------*- C++ -*-===//

#ifndef S10_DIALECT_SQUEEZE_IR_SQUEEZEOPS_H
#define S10_DIALECT_SQUEEZE_IR_SQUEEZEOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "s10/Interfaces/ShapeRefinableOpInterface.h"
#include "s10/Dialect/Squeeze/IR/SqueezeDialect.h"

#define GET_OP_CLASSES
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h.inc"

#endif // S10_DIALECT_SQUEEZE_IR_SQUEEZEOPS_H
