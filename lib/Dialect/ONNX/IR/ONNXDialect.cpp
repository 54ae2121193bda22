//===- ONNXDialect.cpp - ONNX import dialect ------------------------------===//

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace s10::onnx;

#include "s10/Dialect/ONNX/IR/ONNXOpsDialect.cpp.inc"

void ONNXDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "s10/Dialect/ONNX/IR/ONNXOps.cpp.inc"
      >();
}

LogicalResult NodeOp::verify() {
  if (getOpType().empty())
    return emitOpError("needs a non-empty op_type");
  return success();
}

int64_t NodeOp::getIntAttr(StringRef key, int64_t fallback) {
  if (auto attr = dyn_cast_or_null<IntegerAttr>(getOnnxAttr(key)))
    return attr.getInt();
  return fallback;
}

double NodeOp::getFloatAttr(StringRef key, double fallback) {
  if (auto attr = dyn_cast_or_null<FloatAttr>(getOnnxAttr(key)))
    return attr.getValueAsDouble();
  return fallback;
}

#define GET_OP_CLASSES
#include "s10/Dialect/ONNX/IR/ONNXOps.cpp.inc"
