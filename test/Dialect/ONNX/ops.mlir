// RUN: s10-opt %s | FileCheck %s
// RUN: s10-opt %s | s10-opt | FileCheck %s

// CHECK-LABEL: func.func @graph
func.func @graph(%x: tensor<1x?x6xf32>, %w: tensor<6x4xf32>) -> (tensor<1x6x?xf32>, tensor<1x?x4xf32>, tensor<2x3xf32>) {
  // CHECK: onnx.node "Transpose"(%{{.*}}) attrs {perm = array<i64: 0, 2, 1>} {name = "t0"} : (tensor<1x?x6xf32>) -> tensor<1x6x?xf32>
  %0 = onnx.node "Transpose"(%x) attrs {perm = array<i64: 0, 2, 1>} {name = "t0"} : (tensor<1x?x6xf32>) -> tensor<1x6x?xf32>
  // CHECK: onnx.node "MatMul"(%{{.*}}, %{{.*}}) : (tensor<1x?x6xf32>, tensor<6x4xf32>) -> tensor<1x?x4xf32>
  %1 = onnx.node "MatMul"(%x, %w) : (tensor<1x?x6xf32>, tensor<6x4xf32>) -> tensor<1x?x4xf32>
  // CHECK: %[[NONE:.*]] = onnx.none
  %none = onnx.none
  %c = arith.constant dense<1.0> : tensor<2x3xf32>
  // CHECK: onnx.node "Clip"(%{{.*}}, %[[NONE]], %[[NONE]]) {domain = "ai.onnx"} : (tensor<2x3xf32>, none, none) -> tensor<2x3xf32>
  %2 = onnx.node "Clip"(%c, %none, %none) {domain = "ai.onnx"} : (tensor<2x3xf32>, none, none) -> tensor<2x3xf32>
  return %0, %1, %2 : tensor<1x6x?xf32>, tensor<1x?x4xf32>, tensor<2x3xf32>
}
