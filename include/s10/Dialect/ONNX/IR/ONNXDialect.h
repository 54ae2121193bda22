//===- ONNXDialect.h - ONNX import dialect ----------------------*- C++ -*-===//

#ifndef S10_DIALECT_ONNX_IR_ONNXDIALECT_H
#define S10_DIALECT_ONNX_IR_ONNXDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "s10/Dialect/ONNX/IR/ONNXOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "s10/Dialect/ONNX/IR/ONNXOps.h.inc"

#endif // S10_DIALECT_ONNX_IR_ONNXDIALECT_H
