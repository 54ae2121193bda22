// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=2 group-size=2}))' | FileCheck %s

// The same weight stored [in, out] as exporters emit it: stage 1 works on
// the [out, in] view, so the codes match the out_in case.
// CHECK: codes = dense<{{\[}}[0, 3, 0, 2], [1, 1, 1, 1]]> : tensor<2x4xi8>
func.func @in_out(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 2.0], [3.0, 2.0], [-1.0, 2.0], [1.0, 2.0]]> : tensor<4x2xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
