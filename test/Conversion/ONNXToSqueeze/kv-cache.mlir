// RUN: s10-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze{summary=false}))' --verify-diagnostics | FileCheck %s
// RUN: s10-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze{remarks=false summary=false kv-cache=false prune-inputs=false}))' | FileCheck %s --check-prefix=KEEP

// A past input only concatenated with the new keys into a returned present
// (its length read through Shape) is the runtime's cache: both go, the new
// keys flow on, and the past length reads 0. The unused mask goes too.
// CHECK-LABEL: func.func @with_past(%arg0: tensor<1x2x?x4xf32> {onnx.name = "k"}) -> (tensor<1x2x?x4xf32> {onnx.name = "out"})
// CHECK: %[[L:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK: onnx.node "Mul"(%arg0, %[[L]])
// CHECK: return
// KEEP-LABEL: func.func @with_past(%arg0: tensor<1x2x?x4xf32> {onnx.name = "k"}, %arg1: tensor<1x2x?x4xf32> {onnx.name = "past_key_values.0.key"}, %arg2: tensor<1x?xi64> {onnx.name = "attention_mask"})
// KEEP: onnx.node "Concat"
// expected-remark @below {{the KV cache inputs and outputs 'past_key_values.0.key', 'present.0.key' were removed: the runtime keeps the cache}}
// expected-remark @below {{input 'attention_mask' is unused after raising and removed}}
func.func @with_past(%k: tensor<1x2x?x4xf32> {onnx.name = "k"},
                     %past: tensor<1x2x?x4xf32> {onnx.name = "past_key_values.0.key"},
                     %mask: tensor<1x?xi64> {onnx.name = "attention_mask"})
    -> (tensor<1x2x?x4xf32> {onnx.name = "out"}, tensor<1x2x?x4xf32> {onnx.name = "present.0.key"}) {
  %two = arith.constant dense<2> : tensor<i64>
  %shape = onnx.node "Shape"(%past) : (tensor<1x2x?x4xf32>) -> tensor<4xi64>
  %len = onnx.node "Gather"(%shape, %two) attrs {axis = 0 : i64} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %lenf = onnx.node "Cast"(%len) attrs {to = 1 : i64} : (tensor<i64>) -> tensor<f32>
  %all = onnx.node "Concat"(%past, %k) attrs {axis = -2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @below {{'Mul' node 'Mul' was not raised}}
  %out = onnx.node "Mul"(%all, %lenf) : (tensor<1x2x?x4xf32>, tensor<f32>) -> tensor<1x2x?x4xf32>
  return %out, %all : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A past input read by anything else stays, with its present, and so do
// the others: the model keeps its own cache.
// CHECK-LABEL: func.func @past_used(%arg0: tensor<1x2x?x4xf32>, %arg1: tensor<1x2x?x4xf32>, %arg2: tensor<1x2x?x4xf32>, %arg3: tensor<1x2x?x4xf32>)
// CHECK: onnx.node "Concat"
// CHECK: onnx.node "Concat"
// expected-remark @below {{input '#1' is concatenated with new keys or values like a KV cache but also read otherwise: the past inputs stay, and the runtime does not keep the cache}}
func.func @past_used(%k: tensor<1x2x?x4xf32>, %past: tensor<1x2x?x4xf32>,
                     %v: tensor<1x2x?x4xf32>, %pastv: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) {
  // expected-remark @below {{'Concat' node 'Concat' was not raised}}
  %all = onnx.node "Concat"(%past, %k) attrs {axis = 2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @below {{'Concat' node 'Concat' was not raised}}
  %allv = onnx.node "Concat"(%pastv, %v) attrs {axis = 2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @below {{'Neg' node 'Neg' was not raised}}
  %n = onnx.node "Neg"(%past) : (tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %n, %all, %allv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A past passed through a one-input Concat first (how a cache's first
// update can trace) is still the cache.
// CHECK-LABEL: func.func @aliased_past(%arg0: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
// CHECK-NEXT: return %arg0
// expected-remark @below {{the KV cache inputs and outputs 'past_key_values.0.key', 'present.0.key' were removed}}
func.func @aliased_past(%k: tensor<1x2x?x4xf32>,
                        %past: tensor<1x2x?x4xf32> {onnx.name = "past_key_values.0.key"})
    -> (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> {onnx.name = "present.0.key"}) {
  %p = onnx.node "Concat"(%past) attrs {axis = -2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %all = onnx.node "Concat"(%p, %k) attrs {axis = -2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %k, %all : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A concatenation along another axis is no cache.
// CHECK-LABEL: func.func @other_axis(%arg0: tensor<1x2x3x4xf32>, %arg1: tensor<1x2x3x4xf32>)
func.func @other_axis(%k: tensor<1x2x3x4xf32>, %past: tensor<1x2x3x4xf32>)
    -> tensor<1x2x3x8xf32> {
  // expected-remark @below {{'Concat' node 'Concat' was not raised}}
  %all = onnx.node "Concat"(%past, %k) attrs {axis = 3 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x8xf32>
  return %all : tensor<1x2x3x8xf32>
}

// -----

// One input always stays, read or not.
// CHECK-LABEL: func.func @nothing_read(%arg0: tensor<2xf32>) -> tensor<2xf32>
func.func @nothing_read(%x: tensor<2xf32>) -> tensor<2xf32> {
  %c = arith.constant dense<1.0> : tensor<2xf32>
  return %c : tensor<2xf32>
}
