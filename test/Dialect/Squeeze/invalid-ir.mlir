// Verifier messages reach the user through s10-opt with a non-zero exit.
// RUN: not s10-opt %s 2>&1 | FileCheck %s

// CHECK: error: 'squeeze.linear' op input feature dimension 8 does not match the weight's input dimension 6
func.func @f(%x: tensor<2x8xf32>, %w: tensor<6x4xf32>) -> tensor<2x4xf32> {
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<2x8xf32>, tensor<6x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
