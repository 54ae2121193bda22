// RUN: s10-opt %s -split-input-file -onnx-fold-shapes | FileCheck %s
// RUN: s10-opt %s -split-input-file -onnx-fold-shapes="max-elements=4" | FileCheck %s --check-prefix=SMALL
// RUN: s10-opt %s -split-input-file -onnx-fold-shapes="fold-masks=true" | FileCheck %s --check-prefix=MASKS

// An exporter-style shape computation: position ids from the sequence
// length, and a head-split Reshape target from Shape.

// CHECK-LABEL: func.func @exporter_shapes
// CHECK-SAME: -> (tensor<1x8xi64>, tensor<1x8x4x4xf32>)
// CHECK-DAG: %[[IDS:.*]] = arith.constant dense<{{\[\[}}0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<1x8xi64>
// CHECK-DAG: %[[SHAPE:.*]] = arith.constant dense<[1, 8, 4, -1]> : tensor<4xi64>
// CHECK-NOT: onnx.node "Shape"
// CHECK-NOT: onnx.node "Squeeze"
// CHECK-NOT: onnx.node "Range"
// CHECK-NOT: onnx.node "Unsqueeze"
// CHECK-NOT: onnx.node "Concat"
// CHECK: %[[R:.*]] = onnx.node "Reshape"(%{{.*}}, %[[SHAPE]]) : (tensor<1x8x16xf32>, tensor<4xi64>) -> tensor<1x8x4x4xf32>
// CHECK: return %[[IDS]], %[[R]]
// The position ids have 8 elements: more than 4.
// SMALL-LABEL: func.func @exporter_shapes
// SMALL: onnx.node "Range"
// SMALL: onnx.node "Reshape"(%{{.*}}, %{{.*}}) : (tensor<1x8x16xf32>, tensor<4xi64>)
func.func @exporter_shapes(%x: tensor<1x8x16xf32>) -> (tensor<?x?xi64>, tensor<1x8x4x4xf32>) {
  %s = onnx.node "Shape"(%x) attrs {start = 1 : i64, end = 2 : i64} : (tensor<1x8x16xf32>) -> tensor<1xi64>
  %ax0 = arith.constant dense<0> : tensor<1xi64>
  %n = onnx.node "Squeeze"(%s, %ax0) : (tensor<1xi64>, tensor<1xi64>) -> tensor<i64>
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %r = onnx.node "Range"(%zero, %n, %one) : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %ids = onnx.node "Unsqueeze"(%r, %ax0) : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x?xi64>
  %full = onnx.node "Shape"(%x) : (tensor<1x8x16xf32>) -> tensor<3xi64>
  %b = onnx.node "Gather"(%full, %zero) attrs {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %bu = onnx.node "Unsqueeze"(%b, %ax0) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %heads = arith.constant dense<4> : tensor<1xi64>
  %dim = arith.constant dense<-1> : tensor<1xi64>
  %shape = onnx.node "Concat"(%bu, %s, %heads, %dim) attrs {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %y = onnx.node "Reshape"(%x, %shape) : (tensor<1x8x16xf32>, tensor<4xi64>) -> tensor<1x8x4x4xf32>
  // Dead shape arithmetic goes away.
  %dead = onnx.node "Mul"(%b, %b) : (tensor<i64>, tensor<i64>) -> tensor<i64>
  return %ids, %y : tensor<?x?xi64>, tensor<1x8x4x4xf32>
}

// -----

// A causal mask: the positions fold, the boolean mask stays for the raising
// patterns (which recognize it by its LessOrEqual) unless `fold-masks`.

// CHECK-LABEL: func.func @causal_mask
// CHECK: %[[POS:.*]] = arith.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
// CHECK: %[[COL:.*]] = arith.constant dense<{{\[\[}}0], [1], [2], [3]]> : tensor<4x1xi64>
// CHECK: %[[M:.*]] = onnx.node "LessOrEqual"(%[[POS]], %[[COL]]) : (tensor<4xi64>, tensor<4x1xi64>) -> tensor<4x4xi1>
// CHECK: onnx.node "Where"(%[[M]]
// MASKS-LABEL: func.func @causal_mask
// MASKS-NOT: onnx.node
// MASKS: %[[MASK:.*]] = arith.constant dense<{{\[\[}}0.000000e+00, 0xFF800000, 0xFF800000, 0xFF800000], [0.000000e+00, 0.000000e+00, 0xFF800000, 0xFF800000], {{.*}}]]> : tensor<4x4xf32>
// MASKS-NOT: onnx.node
// MASKS: return %[[MASK]]
func.func @causal_mask(%x: tensor<1x4x16xf32>) -> tensor<4x4xf32> {
  %s = onnx.node "Shape"(%x) attrs {start = 1 : i64, end = 2 : i64} : (tensor<1x4x16xf32>) -> tensor<1xi64>
  %ax0 = arith.constant dense<0> : tensor<1xi64>
  %ax1 = arith.constant dense<1> : tensor<1xi64>
  %n = onnx.node "Squeeze"(%s, %ax0) : (tensor<1xi64>, tensor<1xi64>) -> tensor<i64>
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %r = onnx.node "Range"(%zero, %n, %one) : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<4xi64>
  %col = onnx.node "Unsqueeze"(%r, %ax1) : (tensor<4xi64>, tensor<1xi64>) -> tensor<4x1xi64>
  %m = onnx.node "LessOrEqual"(%r, %col) : (tensor<4xi64>, tensor<4x1xi64>) -> tensor<4x4xi1>
  %z = arith.constant dense<0.0> : tensor<f32>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %mask = onnx.node "Where"(%m, %z, %ninf) : (tensor<4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<4x4xf32>
  return %mask : tensor<4x4xf32>
}

// -----

// Nothing larger than max-elements (64 by default) is created.

// CHECK-LABEL: func.func @max_elements
// CHECK-DAG: arith.constant dense<7> : tensor<8x8xi64>
// CHECK-DAG: onnx.node "Expand"{{.*}} -> tensor<9x8xi64>
// CHECK-DAG: onnx.node "Range"{{.*}} -> tensor<100xi64>
func.func @max_elements() -> (tensor<8x8xi64>, tensor<9x8xi64>, tensor<100xi64>) {
  %seven = arith.constant dense<7> : tensor<i64>
  %s64 = arith.constant dense<[8, 8]> : tensor<2xi64>
  %s72 = arith.constant dense<[9, 8]> : tensor<2xi64>
  %e64 = onnx.node "Expand"(%seven, %s64) : (tensor<i64>, tensor<2xi64>) -> tensor<8x8xi64>
  %e72 = onnx.node "Expand"(%seven, %s72) : (tensor<i64>, tensor<2xi64>) -> tensor<9x8xi64>
  %zero = arith.constant dense<0> : tensor<i64>
  %hundred = arith.constant dense<100> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %r = onnx.node "Range"(%zero, %hundred, %one) : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<100xi64>
  return %e64, %e72, %r : tensor<8x8xi64>, tensor<9x8xi64>, tensor<100xi64>
}

// -----

// ONNX semantics of the evaluated operators.

// CHECK-LABEL: func.func @semantics
// Div truncates toward zero.
// CHECK-DAG: arith.constant dense<[-3, -3, 3, 0]> : tensor<4xi64>
// Where(Equal(s, -1), 1, s), as exporters spell Expand targets.
// CHECK-DAG: arith.constant dense<[1, 4, 1, 8]> : tensor<4xi64>
// Slice with a negative step.
// CHECK-DAG: arith.constant dense<[5, 3, 1]> : tensor<3xi64>
// Gather with a negative index along axis 1.
// CHECK-DAG: arith.constant dense<{{\[\[}}2], [5]]> : tensor<2x1xi32>
// Exclusive reverse CumSum.
// CHECK-DAG: arith.constant dense<[5, 3, 0]> : tensor<3xi64>
// Casts: float to int truncates, int to float, int to bool.
// CHECK-DAG: arith.constant dense<-2> : tensor<i64>
// CHECK-DAG: arith.constant dense<3.000000e+00> : tensor<f16>
// CHECK-DAG: arith.constant dense<[true, true, true, false]> : tensor<4xi1>
// ConstantOfShape defaults to a float32 zero.
// CHECK-DAG: arith.constant dense<0.000000e+00> : tensor<2x3xf32>
// Expand, Max, Min, Not, And, Less, Neg.
// CHECK-DAG: arith.constant dense<7> : tensor<2x2xi64>
// CHECK-DAG: arith.constant dense<[5, 9]> : tensor<2xi64>
// CHECK-DAG: arith.constant dense<[2, -1]> : tensor<2xi64>
// CHECK-DAG: arith.constant dense<[false, true]> : tensor<2xi1>
// CHECK-DAG: arith.constant dense<[-2, 1]> : tensor<2xi64>
// Integer arithmetic wraps to the result type.
// CHECK-DAG: arith.constant dense<-128> : tensor<i8>
// CHECK-NOT: onnx.node
// CHECK: return
func.func @semantics() -> (tensor<4xi64>, tensor<4xi64>, tensor<3xi64>, tensor<2x1xi32>, tensor<3xi64>,
                           tensor<i64>, tensor<f16>, tensor<4xi1>, tensor<2x3xf32>, tensor<2x2xi64>,
                           tensor<2xi64>, tensor<2xi64>, tensor<2xi1>, tensor<2xi64>, tensor<i8>) {
  %a = arith.constant dense<[-7, 7, 7, 0]> : tensor<4xi64>
  %b = arith.constant dense<[2, -2, 2, 5]> : tensor<4xi64>
  %div = onnx.node "Div"(%a, %b) : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>

  %s = arith.constant dense<[-1, 4, -1, 8]> : tensor<4xi64>
  %m1 = arith.constant dense<-1> : tensor<i64>
  %ones = arith.constant dense<1> : tensor<4xi64>
  %eq = onnx.node "Equal"(%s, %m1) : (tensor<4xi64>, tensor<i64>) -> tensor<4xi1>
  %where = onnx.node "Where"(%eq, %ones, %s) : (tensor<4xi1>, tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>

  %seq = arith.constant dense<[0, 1, 2, 3, 4, 5]> : tensor<6xi64>
  %st = arith.constant dense<[-1]> : tensor<1xi64>
  %en = arith.constant dense<[-100]> : tensor<1xi64>
  %stp = arith.constant dense<[-2]> : tensor<1xi64>
  %none = onnx.none
  %slice = onnx.node "Slice"(%seq, %st, %en, %none, %stp) : (tensor<6xi64>, tensor<1xi64>, tensor<1xi64>, none, tensor<1xi64>) -> tensor<3xi64>

  %data = arith.constant dense<[[0, 1, 2], [3, 4, 5]]> : tensor<2x3xi32>
  %idx = arith.constant dense<[-1]> : tensor<1xi64>
  %gather = onnx.node "Gather"(%data, %idx) attrs {axis = 1 : i64} : (tensor<2x3xi32>, tensor<1xi64>) -> tensor<2x1xi32>

  %cs = arith.constant dense<[1, 2, 3]> : tensor<3xi64>
  %zero = arith.constant dense<0> : tensor<i64>
  %cumsum = onnx.node "CumSum"(%cs, %zero) attrs {exclusive = 1 : i64, reverse = 1 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<3xi64>

  %f = arith.constant dense<-2.7> : tensor<f32>
  %fi = onnx.node "Cast"(%f) attrs {to = 7 : i64} : (tensor<f32>) -> tensor<i64>
  %three = arith.constant dense<3> : tensor<i64>
  %if = onnx.node "Cast"(%three) attrs {to = 10 : i64} : (tensor<i64>) -> tensor<f16>
  %ib = onnx.node "Cast"(%a) attrs {to = 9 : i64} : (tensor<4xi64>) -> tensor<4xi1>

  %shape23 = arith.constant dense<[2, 3]> : tensor<2xi64>
  %cos = onnx.node "ConstantOfShape"(%shape23) : (tensor<2xi64>) -> tensor<2x3xf32>

  %seven = arith.constant dense<7> : tensor<i64>
  %shape22 = arith.constant dense<[2, 2]> : tensor<2xi64>
  %expand = onnx.node "Expand"(%seven, %shape22) : (tensor<i64>, tensor<2xi64>) -> tensor<2x2xi64>
  %p = arith.constant dense<[5, -1]> : tensor<2xi64>
  %q = arith.constant dense<[2, 9]> : tensor<2xi64>
  %max = onnx.node "Max"(%p, %q, %zero) : (tensor<2xi64>, tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %min = onnx.node "Min"(%p, %q) : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %lt = onnx.node "Less"(%p, %q) : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi1>
  %nlt = onnx.node "Not"(%lt) : (tensor<2xi1>) -> tensor<2xi1>
  %and = onnx.node "And"(%nlt, %lt) : (tensor<2xi1>, tensor<2xi1>) -> tensor<2xi1>
  %or = onnx.node "Or"(%and, %lt) : (tensor<2xi1>, tensor<2xi1>) -> tensor<2xi1>
  %neg = onnx.node "Neg"(%min) : (tensor<2xi64>) -> tensor<2xi64>

  %big = arith.constant dense<127> : tensor<i8>
  %i8one = arith.constant dense<1> : tensor<i8>
  %wrap = onnx.node "Add"(%big, %i8one) : (tensor<i8>, tensor<i8>) -> tensor<i8>
  return %div, %where, %slice, %gather, %cumsum, %fi, %if, %ib, %cos, %expand, %max, %min, %or, %neg, %wrap
      : tensor<4xi64>, tensor<4xi64>, tensor<3xi64>, tensor<2x1xi32>, tensor<3xi64>,
        tensor<i64>, tensor<f16>, tensor<4xi1>, tensor<2x3xf32>, tensor<2x2xi64>,
        tensor<2xi64>, tensor<2xi64>, tensor<2xi1>, tensor<2xi64>, tensor<i8>
}

// -----

// Left alone: dynamic dimensions, values computed at run time, float
// tensors and division by zero.

// CHECK-LABEL: func.func @not_folded
// CHECK: onnx.node "Shape"
// CHECK: onnx.node "Add"
// CHECK: onnx.node "Mul"
// CHECK: onnx.node "Div"
func.func @not_folded(%x: tensor<1x?xf32>, %i: tensor<2xi64>) -> (tensor<2xi64>, tensor<2xi64>, tensor<2xf32>, tensor<i64>) {
  %s = onnx.node "Shape"(%x) : (tensor<1x?xf32>) -> tensor<2xi64>
  %c = arith.constant dense<[1, 2]> : tensor<2xi64>
  %add = onnx.node "Add"(%i, %c) : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %f = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %mul = onnx.node "Mul"(%f, %f) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %one = arith.constant dense<1> : tensor<i64>
  %zero = arith.constant dense<0> : tensor<i64>
  %div = onnx.node "Div"(%one, %zero) : (tensor<i64>, tensor<i64>) -> tensor<i64>
  return %s, %add, %mul, %div : tensor<2xi64>, tensor<2xi64>, tensor<2xf32>, tensor<i64>
}

// -----

// Gather and Slice read the static entries of a partly dynamic Shape.

// CHECK-LABEL: func.func @partial_shape
// CHECK-DAG: %[[SEQ:.*]] = arith.constant dense<8> : tensor<i64>
// CHECK-DAG: %[[TAIL:.*]] = arith.constant dense<[8, 16]> : tensor<2xi64>
// CHECK-DAG: %[[S:.*]] = onnx.node "Shape"
// CHECK-DAG: %[[B:.*]] = onnx.node "Gather"(%[[S]]
// CHECK: return %[[SEQ]], %[[TAIL]], %[[B]]
func.func @partial_shape(%x: tensor<?x8x16xf32>) -> (tensor<i64>, tensor<2xi64>, tensor<i64>) {
  %s = onnx.node "Shape"(%x) : (tensor<?x8x16xf32>) -> tensor<3xi64>
  %i0 = arith.constant dense<0> : tensor<i64>
  %i1 = arith.constant dense<1> : tensor<i64>
  %seq = onnx.node "Gather"(%s, %i1) attrs {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %st = arith.constant dense<[1]> : tensor<1xi64>
  %en = arith.constant dense<[3]> : tensor<1xi64>
  %tail = onnx.node "Slice"(%s, %st, %en) : (tensor<3xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %batch = onnx.node "Gather"(%s, %i0) attrs {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  return %seq, %tail, %batch : tensor<i64>, tensor<2xi64>, tensor<i64>
}
