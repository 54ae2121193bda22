// RUN: s10-opt %s -split-input-file -onnx-specialize-shapes="dims=seq=8" | FileCheck %s

// The importer's format: per-argument names, plus the flat list on the
// function. `seq` propagates through an attention-like chain whose reshape
// target is computed from Shape.

// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[IDS:.*]]: tensor<1x8xi64> {onnx.dim_params = ["batch", ""]}, %{{.*}}: tensor<32x16xf32>)
// CHECK-SAME: -> (tensor<1x4x8x8xf32>, tensor<1x8x20xf32>, tensor<1x3x16xf32>)
// CHECK-SAME: attributes {onnx.dim_params = ["batch"], onnx.specialized_dims = {seq = 8 : i64}}
func.func @chain(%ids: tensor<1x?xi64> {onnx.dim_params = ["batch", "seq"]},
                 %emb: tensor<32x16xf32>)
    -> (tensor<*xf32>, tensor<1x?x?xf32>, tensor<1x?x16xf32>)
    attributes {onnx.dim_params = ["batch", "seq"]} {
  // CHECK: onnx.node "Gather"{{.*}} -> tensor<1x8x16xf32>
  %x = onnx.node "Gather"(%emb, %ids) : (tensor<32x16xf32>, tensor<1x?xi64>) -> tensor<1x?x16xf32>
  // CHECK: onnx.node "Shape"{{.*}} -> tensor<3xi64>
  %s = onnx.node "Shape"(%x) : (tensor<1x?x16xf32>) -> tensor<?xi64>
  %i1 = arith.constant dense<1> : tensor<i64>
  // CHECK: onnx.node "Gather"{{.*}} -> tensor<i64>
  %seq = onnx.node "Gather"(%s, %i1) attrs {axis = 0 : i64} : (tensor<?xi64>, tensor<i64>) -> tensor<*xi64>
  %ax = arith.constant dense<0> : tensor<1xi64>
  // CHECK: onnx.node "Unsqueeze"{{.*}} -> tensor<1xi64>
  %sequ = onnx.node "Unsqueeze"(%seq, %ax) : (tensor<*xi64>, tensor<1xi64>) -> tensor<?xi64>
  %c1 = arith.constant dense<1> : tensor<1xi64>
  %c4 = arith.constant dense<4> : tensor<1xi64>
  %cm1 = arith.constant dense<-1> : tensor<1xi64>
  // CHECK: onnx.node "Concat"{{.*}} -> tensor<4xi64>
  %shape = onnx.node "Concat"(%c1, %sequ, %c4, %cm1) attrs {axis = 0 : i64} : (tensor<1xi64>, tensor<?xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xi64>
  // CHECK: onnx.node "Reshape"{{.*}} -> tensor<1x8x4x4xf32>
  %r = onnx.node "Reshape"(%x, %shape) : (tensor<1x?x16xf32>, tensor<?xi64>) -> tensor<?x?x?x?xf32>
  // CHECK: onnx.node "Transpose"{{.*}} -> tensor<1x4x8x4xf32>
  %q = onnx.node "Transpose"(%r) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  // CHECK: onnx.node "Transpose"{{.*}} -> tensor<1x4x4x8xf32>
  %kt = onnx.node "Transpose"(%r) attrs {perm = array<i64: 0, 2, 3, 1>} : (tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  // CHECK: onnx.node "MatMul"{{.*}} -> tensor<1x4x8x8xf32>
  %sc = onnx.node "MatMul"(%q, %kt) : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  // An unranked result becomes ranked.
  // CHECK: onnx.node "Softmax"{{.*}} -> tensor<1x4x8x8xf32>
  %p = onnx.node "Softmax"(%sc) attrs {axis = -1 : i64} : (tensor<?x?x?x?xf32>) -> tensor<*xf32>
  %pad = arith.constant dense<0.0> : tensor<1x1x4xf32>
  // CHECK: onnx.node "Concat"{{.*}} -> tensor<1x8x20xf32>
  %cat = onnx.node "Concat"(%x, %pad) attrs {axis = -1 : i64} : (tensor<1x?x16xf32>, tensor<1x1x4xf32>) -> tensor<1x?x?xf32>
  %st = arith.constant dense<[1]> : tensor<1xi64>
  %en = arith.constant dense<[9223372036854775807]> : tensor<1xi64>
  %axs = arith.constant dense<[1]> : tensor<1xi64>
  %stp = arith.constant dense<[3]> : tensor<1xi64>
  // Elements 1, 4 and 7 of 8.
  // CHECK: onnx.node "Slice"{{.*}} -> tensor<1x3x16xf32>
  %sl = onnx.node "Slice"(%x, %st, %en, %axs, %stp) : (tensor<1x?x16xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x?x16xf32>
  // CHECK: return {{.*}} : tensor<1x4x8x8xf32>, tensor<1x8x20xf32>, tensor<1x3x16xf32>
  return %p, %cat, %sl : tensor<*xf32>, tensor<1x?x?xf32>, tensor<1x?x16xf32>
}

// -----

// Names on the results are cleared too; an alternative function attribute
// with one array per argument is read when arguments carry none.

// CHECK-LABEL: func.func @per_arg_attr
// CHECK-SAME: (%{{.*}}: tensor<2x8xf32>, %{{.*}}: tensor<8x3xf32>)
// CHECK-SAME: -> (tensor<2x3xf32> {onnx.dim_params = ["b", ""]})
// CHECK-SAME: attributes {onnx.dim_params = {{\[}}["b", ""], []], onnx.specialized_dims = {seq = 8 : i64}}
func.func @per_arg_attr(%a: tensor<2x?xf32>, %b: tensor<?x3xf32>)
    -> (tensor<?x3xf32> {onnx.dim_params = ["b", ""]})
    attributes {onnx.dim_params = [["b", "seq"], ["seq", ""]]} {
  // CHECK: onnx.node "MatMul"{{.*}} -> tensor<2x3xf32>
  %0 = onnx.node "MatMul"(%a, %b) : (tensor<2x?xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// Broadcasting, reductions, Range and Expand with computed shapes.

// CHECK-LABEL: func.func @mask
// CHECK-SAME: (%{{.*}}: tensor<1x8x6xf32>)
// CHECK-SAME: -> (tensor<8x8xi1>, tensor<1x8x1xf32>, tensor<2x8xf32>, tensor<5xf32>, tensor<2x8xi64>)
// CHECK-SAME: attributes {onnx.specialized_dims = {seq = 8 : i64}}
func.func @mask(%x: tensor<1x?x6xf32> {onnx.dim_params = ["", "seq", ""]})
    -> (tensor<?x?xi1>, tensor<1x?x1xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<*xi64>) {
  %s = onnx.node "Shape"(%x) attrs {start = 1 : i64, end = 2 : i64} : (tensor<1x?x6xf32>) -> tensor<?xi64>
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %ax0 = arith.constant dense<0> : tensor<1xi64>
  // CHECK: onnx.node "Squeeze"{{.*}} -> tensor<i64>
  %n = onnx.node "Squeeze"(%s, %ax0) : (tensor<?xi64>, tensor<1xi64>) -> tensor<*xi64>
  // CHECK: onnx.node "Range"{{.*}} -> tensor<8xi64>
  %r = onnx.node "Range"(%zero, %n, %one) : (tensor<i64>, tensor<*xi64>, tensor<i64>) -> tensor<?xi64>
  %ax1 = arith.constant dense<1> : tensor<1xi64>
  // CHECK: onnx.node "Unsqueeze"{{.*}} -> tensor<8x1xi64>
  %col = onnx.node "Unsqueeze"(%r, %ax1) : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x?xi64>
  // CHECK: onnx.node "LessOrEqual"{{.*}} -> tensor<8x8xi1>
  %m = onnx.node "LessOrEqual"(%r, %col) : (tensor<?xi64>, tensor<?x?xi64>) -> tensor<?x?xi1>
  // CHECK: onnx.node "ReduceMean"{{.*}} -> tensor<1x8x1xf32>
  %mean = onnx.node "ReduceMean"(%x) attrs {axes = array<i64: -1>} : (tensor<1x?x6xf32>) -> tensor<1x?x1xf32>
  %two = arith.constant dense<2> : tensor<1xi64>
  // CHECK: onnx.node "Concat"{{.*}} -> tensor<2xi64>
  %eshape = onnx.node "Concat"(%two, %s) attrs {axis = 0 : i64} : (tensor<1xi64>, tensor<?xi64>) -> tensor<?xi64>
  %c = arith.constant dense<1.0> : tensor<1x1xf32>
  // CHECK: onnx.node "Expand"{{.*}} -> tensor<2x8xf32>
  %e = onnx.node "Expand"(%c, %eshape) : (tensor<1x1xf32>, tensor<?xi64>) -> tensor<?x?xf32>
  %f0 = arith.constant dense<0.0> : tensor<f32>
  %f5 = arith.constant dense<2.5> : tensor<f32>
  %fd = arith.constant dense<0.5> : tensor<f32>
  // CHECK: onnx.node "Range"{{.*}} -> tensor<5xf32>
  %fr = onnx.node "Range"(%f0, %f5, %fd) : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<?xf32>
  // CHECK: onnx.node "ConstantOfShape"{{.*}} -> tensor<2x8xi64>
  %cos = onnx.node "ConstantOfShape"(%eshape) attrs {value = dense<0> : tensor<1xi64>} : (tensor<?xi64>) -> tensor<*xi64>
  return %m, %mean, %e, %fr, %cos : tensor<?x?xi1>, tensor<1x?x1xf32>, tensor<?x?xf32>, tensor<?xf32>, tensor<*xi64>
}


// -----

// Reshape's 0 (copy) and -1 (inferred), and a target only partly known;
// the exporter's Expand target Where(Equal(s, -1), 1, s); GatherND and
// unknown operators.

// CHECK-LABEL: func.func @reshape_forms
func.func @reshape_forms(%x: tensor<1x?x12xf32> {onnx.dim_params = ["", "seq", ""]}, %t: tensor<?xi64>)
    -> (tensor<?x?x?xf32>, tensor<?x?xf32>, tensor<?x?x?x?xf32>, tensor<?xi64>, tensor<?x?xf32>, tensor<?x?xf32>) {
  %z = arith.constant dense<[0, 0, 3, -1]> : tensor<4xi64>
  // CHECK: onnx.node "Reshape"{{.*}} -> tensor<1x8x3x4xf32>
  %r0 = onnx.node "Reshape"(%x, %z) : (tensor<1x?x12xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %s = onnx.node "Shape"(%x) : (tensor<1x?x12xf32>) -> tensor<3xi64>
  %ax = arith.constant dense<[0]> : tensor<1xi64>
  %st = arith.constant dense<[0]> : tensor<1xi64>
  %en = arith.constant dense<[2]> : tensor<1xi64>
  // CHECK: onnx.node "Slice"{{.*}} -> tensor<2xi64>
  %head = onnx.node "Slice"(%s, %st, %en, %ax) : (tensor<3xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xi64>
  %m1 = arith.constant dense<[-1]> : tensor<1xi64>
  %tgt = onnx.node "Concat"(%head, %m1) attrs {axis = 0 : i64} : (tensor<?xi64>, tensor<1xi64>) -> tensor<?xi64>
  // CHECK: onnx.node "Reshape"{{.*}} -> tensor<1x8x12xf32>
  %r1 = onnx.node "Reshape"(%x, %tgt) : (tensor<1x?x12xf32>, tensor<?xi64>) -> tensor<?x?x?xf32>
  // Only the element count fixes the unknown entry.
  %two = arith.constant dense<[2]> : tensor<1xi64>
  %part = onnx.node "Concat"(%two, %t) attrs {axis = 0 : i64} : (tensor<1xi64>, tensor<?xi64>) -> tensor<2xi64>
  // CHECK: onnx.node "Reshape"{{.*}} -> tensor<2x48xf32>
  %r2 = onnx.node "Reshape"(%x, %part) : (tensor<1x?x12xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  // CHECK: onnx.node "Unsqueeze"{{.*}} -> tensor<1x8x1x12xf32>
  %ax2 = arith.constant dense<[2]> : tensor<1xi64>
  %u = onnx.node "Unsqueeze"(%x, %ax2) : (tensor<1x?x12xf32>, tensor<1xi64>) -> tensor<?x?x?x?xf32>
  %four = arith.constant dense<[1, -1, 2, -1]> : tensor<4xi64>
  %neg = arith.constant dense<-1> : tensor<i64>
  %ones = arith.constant dense<1> : tensor<4xi64>
  %eq = onnx.node "Equal"(%four, %neg) : (tensor<4xi64>, tensor<i64>) -> tensor<4xi1>
  %shape = onnx.node "Where"(%eq, %ones, %four) : (tensor<4xi1>, tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  // CHECK: onnx.node "Expand"{{.*}} -> tensor<1x8x2x12xf32>
  %e = onnx.node "Expand"(%u, %shape) : (tensor<?x?x?x?xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %idx = arith.constant dense<[[0, 1], [0, 2]]> : tensor<2x2xi64>
  %ids = arith.constant dense<0> : tensor<1x6xi64>
  // CHECK: onnx.node "GatherND"{{.*}} -> tensor<2xi64>
  %g = onnx.node "GatherND"(%ids, %idx) : (tensor<1x6xi64>, tensor<2x2xi64>) -> tensor<?xi64>
  // Operators the inference does not know keep their types.
  // CHECK: onnx.node "Einsum"{{.*}} -> tensor<?x?xf32>
  %ein = onnx.node "Einsum"(%x) attrs {equation = "bij->ij"} : (tensor<1x?x12xf32>) -> tensor<?x?xf32>
  // CHECK: onnx.node "Relu"{{.*}} {domain = "com.example"} : (tensor<2x48xf32>) -> tensor<?x?xf32>
  %dom = onnx.node "Relu"(%r2) {domain = "com.example"} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r1, %r2, %e, %g, %ein, %dom : tensor<?x?x?xf32>, tensor<?x?xf32>, tensor<?x?x?x?xf32>, tensor<?xi64>, tensor<?x?xf32>, tensor<?x?xf32>
}
