// RUN: s10-opt %s -onnx-specialize-shapes="arg-dims=0:0=8,1:1=8" | FileCheck %s

// Positional binding; Gemm, Cast, Where, Split and squeeze ops refine too.

// CHECK-LABEL: func.func @positional
// CHECK-SAME: (%{{.*}}: tensor<8x4xf32>, %{{.*}}: tensor<1x8x4xf32>,
// CHECK-SAME: -> (tensor<8x6xf32>, tensor<8x6xf16>, tensor<8x6xf32>, tensor<8x3xf32>, tensor<8x3xf32>, tensor<1x8x6xf32>, tensor<1x8x4xf32>)
func.func @positional(%a: tensor<?x4xf32>, %h: tensor<1x?x4xf32>, %w: tensor<4x6xf32>, %g: tensor<4xf32>)
    -> (tensor<?x6xf32>, tensor<?x?xf16>, tensor<?x?xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<1x?x6xf32>, tensor<1x?x4xf32>) {
  // CHECK: onnx.node "Gemm"{{.*}} -> tensor<8x6xf32>
  %y = onnx.node "Gemm"(%a, %w) : (tensor<?x4xf32>, tensor<4x6xf32>) -> tensor<?x6xf32>
  // CHECK: onnx.node "Cast"{{.*}} -> tensor<8x6xf16>
  %c = onnx.node "Cast"(%y) attrs {to = 10 : i64} : (tensor<?x6xf32>) -> tensor<?x?xf16>
  %cond = arith.constant dense<true> : tensor<1x6xi1>
  %z = arith.constant dense<0.0> : tensor<f32>
  // CHECK: onnx.node "Where"{{.*}} -> tensor<8x6xf32>
  %wh = onnx.node "Where"(%cond, %y, %z) : (tensor<1x6xi1>, tensor<?x6xf32>, tensor<f32>) -> tensor<?x?xf32>
  // CHECK: onnx.node "Split"{{.*}} -> (tensor<8x3xf32>, tensor<8x3xf32>)
  %s0, %s1 = onnx.node "Split"(%y) attrs {axis = 1 : i64} : (tensor<?x6xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>)
  // CHECK: squeeze.linear {{.*}} -> tensor<1x8x6xf32>
  %l = squeeze.linear %h, %w {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x4xf32>, tensor<4x6xf32>) -> tensor<1x?x6xf32>
  // CHECK: squeeze.rms_norm {{.*}} -> tensor<1x8x4xf32>
  %n = squeeze.rms_norm %h, %g {epsilon = 1.0e-05 : f64} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %y, %c, %wh, %s0, %s1, %l, %n : tensor<?x6xf32>, tensor<?x?xf16>, tensor<?x?xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<1x?x6xf32>, tensor<1x?x4xf32>
}
