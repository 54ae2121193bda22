// RUN: s10-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze{summary=false}))' --verify-diagnostics | FileCheck %s

// Gemm with transB: the weight is stored [out, in]; its bias is kept.
// CHECK-LABEL: func.func @gemm
// CHECK: squeeze.linear %{{.*}}, %{{.*}}, %{{.*}} {role = #squeeze.role<block = -1, kind = lm_head>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<5x6xf32>, tensor<3x6xf32>, tensor<3xf32>) -> tensor<5x3xf32>
func.func @gemm(%x: tensor<5x6xf32>) -> tensor<5x3xf32> {
  %w = arith.constant dense<0.5> : tensor<3x6xf32>
  %b = arith.constant dense<0.25> : tensor<3xf32>
  %0 = onnx.node "Gemm"(%x, %w, %b) attrs {transB = 1 : i64} : (tensor<5x6xf32>, tensor<3x6xf32>, tensor<3xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

// Gemm without transB, weights held in an external file.
// CHECK-LABEL: func.func @gemm_in_out
// CHECK: squeeze.linear %{{.*}}, %{{.*}} {{{.*}}weight_layout = #squeeze.weight_layout<in_out>} : (tensor<5x6xf32>, tensor<6x3xf32>) -> tensor<5x3xf32>
func.func @gemm_in_out(%x: tensor<5x6xf32>) -> tensor<5x3xf32> {
  %w = squeeze.weight "w" {storage = #squeeze.extern<"w.bin", offset = 0, length = 72>} : tensor<6x3xf32>
  %none = onnx.none
  %0 = onnx.node "Gemm"(%x, %w, %none) : (tensor<5x6xf32>, tensor<6x3xf32>, none) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

// A scaled Gemm is not a plain linear layer: it stays, with a remark.
// CHECK-LABEL: func.func @gemm_scaled
// CHECK: onnx.node "Gemm"
func.func @gemm_scaled(%x: tensor<5x6xf32>) -> tensor<5x3xf32> {
  %w = arith.constant dense<0.5> : tensor<6x3xf32>
  // expected-remark @+1 {{'Gemm' node 'g' was not raised; it runs as an ONNX node}}
  %0 = onnx.node "Gemm"(%x, %w) attrs {alpha = 2.0 : f32} {name = "g"} : (tensor<5x6xf32>, tensor<6x3xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

// A product of two activations is not a linear layer.
// CHECK-LABEL: func.func @matmul_activations
// CHECK: onnx.node "MatMul"
func.func @matmul_activations(%x: tensor<5x6xf32>, %y: tensor<6x3xf32>) -> tensor<5x3xf32> {
  // expected-remark @+1 {{'MatMul' node 'mm' was not raised}}
  %0 = onnx.node "MatMul"(%x, %y) {name = "mm"} : (tensor<5x6xf32>, tensor<6x3xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

// Multi-head attention without GQA, without rotary, scaled by division and
// with no mask (so not causal); dims that are not powers of two.
// CHECK-LABEL: func.func @mha
// CHECK: %[[Q:.*]] = squeeze.linear
// CHECK: %[[K:.*]] = squeeze.linear
// CHECK: %[[V:.*]] = squeeze.linear
// CHECK-NOT: squeeze.rotary
// CHECK: squeeze.attention %[[Q]], %[[K]], %[[V]] {head_dim = 6 : i64, num_heads = 3 : i64, num_kv_heads = 3 : i64, scale = 0.4082483{{[0-9]*}} : f64} : (tensor<1x?x18xf32>, tensor<1x?x18xf32>, tensor<1x?x18xf32>) -> tensor<1x?x18xf32>
func.func @mha(%x: tensor<1x?x18xf32>) -> tensor<1x?x18xf32> {
  %wq = arith.constant dense<0.1> : tensor<18x18xf32>
  %wk = arith.constant dense<0.2> : tensor<18x18xf32>
  %wv = arith.constant dense<0.3> : tensor<18x18xf32>
  %split = arith.constant dense<[1, -1, 3, 6]> : tensor<4xi64>
  %merge = arith.constant dense<[1, -1, 18]> : tensor<3xi64>
  %sqrt_d = arith.constant dense<2.4494897> : tensor<f32>
  %q = onnx.node "MatMul"(%x, %wq) : (tensor<1x?x18xf32>, tensor<18x18xf32>) -> tensor<1x?x18xf32>
  %k = onnx.node "MatMul"(%x, %wk) : (tensor<1x?x18xf32>, tensor<18x18xf32>) -> tensor<1x?x18xf32>
  %v = onnx.node "MatMul"(%x, %wv) : (tensor<1x?x18xf32>, tensor<18x18xf32>) -> tensor<1x?x18xf32>
  %q4 = onnx.node "Reshape"(%q, %split) : (tensor<1x?x18xf32>, tensor<4xi64>) -> tensor<1x?x3x6xf32>
  %k4 = onnx.node "Reshape"(%k, %split) : (tensor<1x?x18xf32>, tensor<4xi64>) -> tensor<1x?x3x6xf32>
  %v4 = onnx.node "Reshape"(%v, %split) : (tensor<1x?x18xf32>, tensor<4xi64>) -> tensor<1x?x3x6xf32>
  %qt = onnx.node "Transpose"(%q4) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x3x6xf32>) -> tensor<1x3x?x6xf32>
  %kt = onnx.node "Transpose"(%k4) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x3x6xf32>) -> tensor<1x3x?x6xf32>
  %vt = onnx.node "Transpose"(%v4) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x3x6xf32>) -> tensor<1x3x?x6xf32>
  %kT = onnx.node "Transpose"(%kt) attrs {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x3x?x6xf32>) -> tensor<1x3x6x?xf32>
  %s = onnx.node "MatMul"(%qt, %kT) : (tensor<1x3x?x6xf32>, tensor<1x3x6x?xf32>) -> tensor<1x3x?x?xf32>
  %ss = onnx.node "Div"(%s, %sqrt_d) : (tensor<1x3x?x?xf32>, tensor<f32>) -> tensor<1x3x?x?xf32>
  %p = onnx.node "Softmax"(%ss) attrs {axis = 3 : i64} : (tensor<1x3x?x?xf32>) -> tensor<1x3x?x?xf32>
  %o = onnx.node "MatMul"(%p, %vt) : (tensor<1x3x?x?xf32>, tensor<1x3x?x6xf32>) -> tensor<1x3x?x6xf32>
  %ot = onnx.node "Transpose"(%o) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x3x?x6xf32>) -> tensor<1x?x3x6xf32>
  %om = onnx.node "Reshape"(%ot, %merge) : (tensor<1x?x3x6xf32>, tensor<3xi64>) -> tensor<1x?x18xf32>
  return %om : tensor<1x?x18xf32>
}

// -----

// An additive mask that is not derived from positions is not causal: the
// attention stays as ONNX nodes.
// CHECK-LABEL: func.func @arbitrary_mask
// CHECK-NOT: squeeze.attention
// CHECK: onnx.node "Softmax"
func.func @arbitrary_mask(%x: tensor<1x4x6xf32>, %mask: tensor<4x4xf32>) -> tensor<1x4x6xf32> {
  %split = arith.constant dense<[1, -1, 1, 6]> : tensor<4xi64>
  %merge = arith.constant dense<[1, -1, 6]> : tensor<3xi64>
  %scale = arith.constant dense<0.5> : tensor<f32>
  // expected-remark @+1 {{'Reshape' node 'Reshape' was not raised}}
  %x4 = onnx.node "Reshape"(%x, %split) : (tensor<1x4x6xf32>, tensor<4xi64>) -> tensor<1x4x1x6xf32>
  // expected-remark @+1 {{'Transpose' node 'Transpose' was not raised}}
  %xt = onnx.node "Transpose"(%x4) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x1x6xf32>) -> tensor<1x1x4x6xf32>
  // expected-remark @+1 {{'Transpose' node 'Transpose' was not raised}}
  %kT = onnx.node "Transpose"(%xt) attrs {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x1x4x6xf32>) -> tensor<1x1x6x4xf32>
  // expected-remark @+1 {{'MatMul' node 'MatMul' was not raised}}
  %s = onnx.node "MatMul"(%xt, %kT) : (tensor<1x1x4x6xf32>, tensor<1x1x6x4xf32>) -> tensor<1x1x4x4xf32>
  // expected-remark @+1 {{'Mul' node 'Mul' was not raised}}
  %ss = onnx.node "Mul"(%s, %scale) : (tensor<1x1x4x4xf32>, tensor<f32>) -> tensor<1x1x4x4xf32>
  // expected-remark @+1 {{'Add' node 'Add' was not raised}}
  %sm = onnx.node "Add"(%ss, %mask) : (tensor<1x1x4x4xf32>, tensor<4x4xf32>) -> tensor<1x1x4x4xf32>
  // expected-remark @+1 {{'Softmax' node 'Softmax' was not raised}}
  %p = onnx.node "Softmax"(%sm) attrs {axis = -1 : i64} : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  // expected-remark @+1 {{'MatMul' node 'MatMul' was not raised}}
  %o = onnx.node "MatMul"(%p, %xt) : (tensor<1x1x4x4xf32>, tensor<1x1x4x6xf32>) -> tensor<1x1x4x6xf32>
  // expected-remark @+1 {{'Transpose' node 'Transpose' was not raised}}
  %ot = onnx.node "Transpose"(%o) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x1x4x6xf32>) -> tensor<1x4x1x6xf32>
  // expected-remark @+1 {{'Reshape' node 'Reshape' was not raised}}
  %om = onnx.node "Reshape"(%ot, %merge) : (tensor<1x4x1x6xf32>, tensor<3xi64>) -> tensor<1x4x6xf32>
  return %om : tensor<1x4x6xf32>
}

// -----

// RMSNorm spelled with Div and x*x, in f32 throughout; SiLU as sigmoid(g)*g.
// CHECK-LABEL: func.func @norm_and_glu
// CHECK: %[[N:.*]] = squeeze.rms_norm %{{.*}}, %{{.*}} {epsilon = 9.9999999999999995E-7 : f64} : (tensor<2x6xf32>, tensor<6xf32>) -> tensor<2x6xf32>
// CHECK: squeeze.swiglu %[[N]], %{{.*}} : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
func.func @norm_and_glu(%x: tensor<2x6xf32>, %u: tensor<2x6xf32>) -> tensor<2x6xf32> {
  %w = arith.constant dense<1.5> : tensor<6xf32>
  %eps = arith.constant dense<1.0e-6> : tensor<f32>
  %sq = onnx.node "Mul"(%x, %x) : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  %m = onnx.node "ReduceMean"(%sq) attrs {axes = array<i64: 1>, keepdims = 1 : i64} : (tensor<2x6xf32>) -> tensor<2x1xf32>
  %a = onnx.node "Add"(%eps, %m) : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %sd = onnx.node "Sqrt"(%a) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = onnx.node "Div"(%x, %sd) : (tensor<2x6xf32>, tensor<2x1xf32>) -> tensor<2x6xf32>
  %y = onnx.node "Mul"(%n, %w) : (tensor<2x6xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  %sg = onnx.node "Sigmoid"(%y) : (tensor<2x6xf32>) -> tensor<2x6xf32>
  %silu = onnx.node "Mul"(%sg, %y) : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  %out = onnx.node "Mul"(%u, %silu) : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  return %out : tensor<2x6xf32>
}

// -----

// A mean over another axis is not an RMSNorm.
// CHECK-LABEL: func.func @not_norm
// CHECK-NOT: squeeze.rms_norm
func.func @not_norm(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  %w = arith.constant dense<1.5> : tensor<6xf32>
  %eps = arith.constant dense<1.0e-6> : tensor<f32>
  // expected-remark @+1 {{'Mul' node 'Mul' was not raised}}
  %sq = onnx.node "Mul"(%x, %x) : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  // expected-remark @+1 {{'ReduceMean' node 'ReduceMean' was not raised}}
  %m = onnx.node "ReduceMean"(%sq) attrs {axes = array<i64: 0>, keepdims = 1 : i64} : (tensor<2x6xf32>) -> tensor<1x6xf32>
  // expected-remark @+1 {{'Add' node 'Add' was not raised}}
  %a = onnx.node "Add"(%eps, %m) : (tensor<f32>, tensor<1x6xf32>) -> tensor<1x6xf32>
  // expected-remark @+1 {{'Sqrt' node 'Sqrt' was not raised}}
  %sd = onnx.node "Sqrt"(%a) : (tensor<1x6xf32>) -> tensor<1x6xf32>
  // expected-remark @+1 {{'Div' node 'Div' was not raised}}
  %n = onnx.node "Div"(%x, %sd) : (tensor<2x6xf32>, tensor<1x6xf32>) -> tensor<2x6xf32>
  // expected-remark @+1 {{'Mul' node 'Mul' was not raised}}
  %y = onnx.node "Mul"(%n, %w) : (tensor<2x6xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  return %y : tensor<2x6xf32>
}
