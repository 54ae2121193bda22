//===- SqueezeDialect.h - Squeeze dialect -----------------------*- C++ -*-===//

#ifndef S10_DIALECT_SQUEEZE_IR_SQUEEZEDIALECT_H
#define S10_DIALECT_SQUEEZE_IR_SQUEEZEDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "s10/Quant/Layout.h"

#include "s10/Dialect/Squeeze/IR/SqueezeEnums.h.inc"

// The attributes come first: the dialect's discardable-attribute helpers
// name their types.
#define GET_ATTRDEF_CLASSES
#include "s10/Dialect/Squeeze/IR/SqueezeAttrs.h.inc"

#include "s10/Dialect/Squeeze/IR/SqueezeOpsDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "s10/Dialect/Squeeze/IR/SqueezeOpsTypes.h.inc"

#endif // S10_DIALECT_SQUEEZE_IR_SQUEEZEDIALECT_H
