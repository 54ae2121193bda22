// RUN: s10-opt %s --pass-pipeline="builtin.module(func.func(onnx-specialize-shapes{dims=seq=8},onnx-fold-shapes,canonicalize))" | FileCheck %s

// Specialization makes the shape sub-graph constant, folding removes it and
// the Reshape gets a static type and a constant target. The batch stays
// dynamic: Gather and Slice read the static entries of a partial Shape.

// CHECK-LABEL: func.func @decoder_piece
// CHECK-SAME: (%[[IDS:.*]]: tensor<?x8xi64> {onnx.dim_params = ["batch", ""]}, %[[EMB:.*]]: tensor<32x16xf32>)
// CHECK-SAME: -> (tensor<1x4x8x4xf32>, tensor<1x8xi64>)
// CHECK-DAG: %[[POS:.*]] = arith.constant dense<{{\[\[}}0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<1x8xi64>
// CHECK-DAG: %[[SHAPE:.*]] = arith.constant dense<[1, 8, 4, 4]> : tensor<4xi64>
// CHECK-NOT: onnx.node
// CHECK: %[[X:.*]] = onnx.node "Gather"(%[[EMB]], %[[IDS]]) : (tensor<32x16xf32>, tensor<?x8xi64>) -> tensor<?x8x16xf32>
// CHECK-NOT: onnx.node
// CHECK: %[[R:.*]] = onnx.node "Reshape"(%[[X]], %[[SHAPE]]) : (tensor<?x8x16xf32>, tensor<4xi64>) -> tensor<1x8x4x4xf32>
// CHECK: %[[T:.*]] = onnx.node "Transpose"(%[[R]]) {{.*}} -> tensor<1x4x8x4xf32>
// CHECK-NOT: onnx.node
// CHECK: return %[[T]], %[[POS]] : tensor<1x4x8x4xf32>, tensor<1x8xi64>
func.func @decoder_piece(%ids: tensor<?x?xi64> {onnx.dim_params = ["batch", "seq"]},
                         %emb: tensor<32x16xf32>) -> (tensor<?x4x?x4xf32>, tensor<?x?xi64>)
    attributes {onnx.dim_params = ["batch", "seq"]} {
  %one_b = arith.constant dense<1> : tensor<1xi64>
  // The exporter's head split hard-codes batch 1.
  %x = onnx.node "Gather"(%emb, %ids) : (tensor<32x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32>
  %s = onnx.node "Shape"(%x) : (tensor<?x?x16xf32>) -> tensor<3xi64>
  %i1 = arith.constant dense<1> : tensor<i64>
  %seq = onnx.node "Gather"(%s, %i1) attrs {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %ax0 = arith.constant dense<0> : tensor<1xi64>
  %sequ = onnx.node "Unsqueeze"(%seq, %ax0) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %c4 = arith.constant dense<4> : tensor<1xi64>
  %shape = onnx.node "Concat"(%one_b, %sequ, %c4, %c4) attrs {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %r = onnx.node "Reshape"(%x, %shape) : (tensor<?x?x16xf32>, tensor<4xi64>) -> tensor<?x?x4x4xf32>
  %t = onnx.node "Transpose"(%r) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x4x4xf32>) -> tensor<?x4x?x4xf32>
  // Position ids: Range over the sequence length.
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %pos = onnx.node "Range"(%zero, %seq, %one) : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %posu = onnx.node "Unsqueeze"(%pos, %ax0) : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x?xi64>
  return %t, %posu : tensor<?x4x?x4xf32>, tensor<?x?xi64>
}
