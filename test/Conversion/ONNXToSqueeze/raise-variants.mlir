// RUN: s10-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze{remarks=false summary=false}))' | FileCheck %s

// ScalarChainToConstant: 1/sqrt(head_dim) computed from Shape, the way
// torch's scaled_dot_product_attention symbolic writes it.
// CHECK-LABEL: func.func @scale_from_shape
// CHECK: %[[C:.*]] = arith.constant dense<2.500000e-01> : tensor<1xf32>
// CHECK: onnx.node "Mul"(%arg0, %[[C]])
// CHECK-NOT: "Shape"
func.func @scale_from_shape(%q: tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32> {
  %start = arith.constant dense<-1> : tensor<1xi64>
  %end = arith.constant dense<9223372036854775807> : tensor<1xi64>
  %one = arith.constant dense<1.0> : tensor<1xf32>
  %shape = onnx.node "Shape"(%q) : (tensor<1x4x?x16xf32>) -> tensor<4xi64>
  %d = onnx.node "Slice"(%shape, %start, %end) : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %df = onnx.node "Cast"(%d) attrs {to = 1 : i64} : (tensor<1xi64>) -> tensor<1xf32>
  %sd = onnx.node "Sqrt"(%df) : (tensor<1xf32>) -> tensor<1xf32>
  %s = onnx.node "Div"(%one, %sd) : (tensor<1xf32>, tensor<1xf32>) -> tensor<1xf32>
  %y = onnx.node "Mul"(%q, %s) : (tensor<1x4x?x16xf32>, tensor<1xf32>) -> tensor<1x4x?x16xf32>
  return %y : tensor<1x4x?x16xf32>
}

// -----

// A dynamic dimension is no constant.
// CHECK-LABEL: func.func @dynamic_dim
// CHECK: onnx.node "Gather"
func.func @dynamic_dim(%q: tensor<1x?xf32>) -> tensor<i64> {
  %i = arith.constant dense<1> : tensor<i64>
  %shape = onnx.node "Shape"(%q) : (tensor<1x?xf32>) -> tensor<2xi64>
  %d = onnx.node "Gather"(%shape, %i) attrs {axis = 0 : i64} : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  return %d : tensor<i64>
}

// -----

// IdentityCast: a cast to the type it already has goes, and so does an
// Identity; a narrowing cast stays.
// CHECK-LABEL: func.func @casts
// CHECK-NOT: "Cast"(%arg0) attrs {to = 1
// CHECK-NOT: "Identity"
// CHECK: %[[H:.*]] = onnx.node "Cast"(%arg0) attrs {to = 10 : i64}
// CHECK: return %arg0, %[[H]], %arg0
func.func @casts(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf16>, tensor<2x3xf32>) {
  %a = onnx.node "Cast"(%x) attrs {to = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %b = onnx.node "Cast"(%x) attrs {to = 10 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf16>
  %c = onnx.node "Identity"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %a, %b, %c : tensor<2x3xf32>, tensor<2x3xf16>, tensor<2x3xf32>
}

// -----

// DivOneToReciprocal: rsqrt as torch exports it; Div(2, x) is no reciprocal.
// CHECK-LABEL: func.func @div_one
// CHECK: onnx.node "Reciprocal"(%arg0) {name = "rsqrt"}
// CHECK: onnx.node "Div"(%{{.*}}, %arg0)
func.func @div_one(%x: tensor<2x1xf32>) -> (tensor<2x1xf32>, tensor<2x1xf32>) {
  %one = arith.constant dense<1.0> : tensor<1xf32>
  %two = arith.constant dense<2.0> : tensor<1xf32>
  %a = onnx.node "Div"(%one, %x) {name = "rsqrt"} : (tensor<1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %b = onnx.node "Div"(%two, %x) : (tensor<1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  return %a, %b : tensor<2x1xf32>, tensor<2x1xf32>
}

// -----

// ScaledOperandsToScaledScores: Q and K^T scaled by sqrt(scale) each become
// one scale of the product.
// CHECK-LABEL: func.func @sdpa_scale
// CHECK-DAG: %[[C:.*]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK-DAG: %[[S:.*]] = onnx.node "MatMul"(%arg0, %arg1) {name = "qk"}
// CHECK: onnx.node "Mul"(%[[S]], %[[C]])
func.func @sdpa_scale(%q: tensor<1x4x5x16xf32>, %kt: tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32> {
  %c = arith.constant dense<0.5> : tensor<1xf32>
  %qs = onnx.node "Mul"(%q, %c) : (tensor<1x4x5x16xf32>, tensor<1xf32>) -> tensor<1x4x5x16xf32>
  %ks = onnx.node "Mul"(%kt, %c) : (tensor<1x4x16x5xf32>, tensor<1xf32>) -> tensor<1x4x16x5xf32>
  %s = onnx.node "MatMul"(%qs, %ks) {name = "qk"} : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  return %s : tensor<1x4x5x5xf32>
}

// -----

// A product with a weight is a linear layer, whatever scales its input.
// CHECK-LABEL: func.func @scaled_linear
// CHECK: onnx.node "Mul"
// CHECK: squeeze.linear
func.func @scaled_linear(%x: tensor<1x5x16xf32>) -> tensor<1x5x8xf32> {
  %c = arith.constant dense<0.5> : tensor<1xf32>
  %w = arith.constant dense<0.1> : tensor<16x8xf32>
  %xs = onnx.node "Mul"(%x, %c) : (tensor<1x5x16xf32>, tensor<1xf32>) -> tensor<1x5x16xf32>
  %y = onnx.node "MatMul"(%xs, %w) : (tensor<1x5x16xf32>, tensor<16x8xf32>) -> tensor<1x5x8xf32>
  return %y : tensor<1x5x8xf32>
}

// -----

// WhereMaskToAdditive: masked_fill by Where becomes an additive mask.
// CHECK-LABEL: func.func @where_mask
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[M:.*]] = onnx.node "Where"(%arg1, %[[Z]], %{{.*}}) {{.*}} -> tensor<1x1x5x5xf32>
// CHECK: onnx.node "Add"(%arg0, %[[M]])
func.func @where_mask(%s: tensor<1x4x5x5xf32>, %allowed: tensor<1x1x5x5xi1>) -> tensor<1x4x5x5xf32> {
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = onnx.node "Where"(%allowed, %s, %min) : (tensor<1x1x5x5xi1>, tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  return %m : tensor<1x4x5x5xf32>
}

// -----

// A Where that fills with anything but a large negative is no mask.
// CHECK-LABEL: func.func @where_select
// CHECK: onnx.node "Where"(%arg1, %arg0, %{{.*}}) : (tensor<1x4x5x5xi1>
// CHECK-NOT: "Add"
func.func @where_select(%s: tensor<1x4x5x5xf32>, %c: tensor<1x4x5x5xi1>) -> tensor<1x4x5x5xf32> {
  %zero = arith.constant dense<0.0> : tensor<f32>
  %m = onnx.node "Where"(%c, %s, %zero) : (tensor<1x4x5x5xi1>, tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  return %m : tensor<1x4x5x5xf32>
}

// -----

// SoftmaxNaNGuard: the guard newer torch puts after the softmax goes.
// CHECK-LABEL: func.func @nan_guard
// CHECK: %[[P:.*]] = onnx.node "Softmax"
// CHECK-NEXT: return %[[P]]
func.func @nan_guard(%s: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %zero = arith.constant dense<0.0> : tensor<f32>
  %p = onnx.node "Softmax"(%s) attrs {axis = -1 : i64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  %nan = onnx.node "IsNaN"(%p) : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xi1>
  %g = onnx.node "Where"(%nan, %zero, %p) : (tensor<1x4x5x5xi1>, tensor<f32>, tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  return %g : tensor<1x4x5x5xf32>
}

// -----

// The same guard on anything but a softmax stays.
// CHECK-LABEL: func.func @nan_guard_other
// CHECK: onnx.node "Where"
func.func @nan_guard_other(%s: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %zero = arith.constant dense<0.0> : tensor<f32>
  %nan = onnx.node "IsNaN"(%s) : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xi1>
  %g = onnx.node "Where"(%nan, %zero, %s) : (tensor<1x4x5x5xi1>, tensor<f32>, tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  return %g : tensor<1x4x5x5xf32>
}
