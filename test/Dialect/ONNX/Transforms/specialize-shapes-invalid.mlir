// RUN: s10-opt %s -split-input-file -verify-diagnostics -onnx-specialize-shapes="dims=seq=8"

// Inferred information contradicting a static dimension names the node.
func.func @conflict(%x: tensor<1x?x6xf32> {onnx.dim_params = ["", "seq", ""]}, %w: tensor<6x4xf32>) -> tensor<1x5x4xf32> {
  // expected-error @+1 {{'MatMul' node 'proj': inferred shape [1, 8, 4] conflicts with the declared type 'tensor<1x5x4xf32>'}}
  %0 = onnx.node "MatMul"(%x, %w) {name = "proj"} : (tensor<1x?x6xf32>, tensor<6x4xf32>) -> tensor<1x5x4xf32>
  return %0 : tensor<1x5x4xf32>
}

// -----

// A rank that differs from the inferred one is a conflict too.
func.func @rank_conflict(%x: tensor<1x?xf32> {onnx.dim_params = ["", "seq"]}) -> tensor<?xf32> {
  %perm = arith.constant dense<[2, 4]> : tensor<2xi64>
  // expected-error @+1 {{'Reshape' node 'Reshape': inferred shape [2, 4] conflicts with the declared type 'tensor<?xf32>'}}
  %0 = onnx.node "Reshape"(%x, %perm) : (tensor<1x?xf32>, tensor<2xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// A named dimension that is already static with another size.
// expected-error @+1 {{argument #0 dimension 1 is 4, cannot specialize it to 8}}
func.func @static_arg(%x: tensor<1x4xf32> {onnx.dim_params = ["", "seq"]}) -> tensor<1x4xf32> {
  return %x : tensor<1x4xf32>
}

// -----

// A result declared with `seq` must have that size.
func.func @result_dim(%x: tensor<1x?xf32> {onnx.dim_params = ["", "seq"]}, %y: tensor<1x3xf32>)
    -> (tensor<1x3xf32> {onnx.dim_params = ["", "seq"]}) {
  // expected-error @+1 {{result #0 dimension 1 ('seq') is 3 after specialization, expected 8}}
  return %y : tensor<1x3xf32>
}
