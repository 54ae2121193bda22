// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=2 group-size=2}))' | FileCheck %s

// The same weight stored [in, out] as exporters emit it: stage 1 works on
// the [out, in] view, so the parameters match the out_in case.
// CHECK: squeeze.stage1 = {bits = 2 : i64, group_size = 2 : i64, scales = dense<{{\[}}[1.000000e+00, 0.666666686], [2.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>, zeros = dense<{{\[}}[-0.000000e+00, 1.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>}
func.func @in_out(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 2.0], [3.0, 2.0], [-1.0, 2.0], [1.0, 2.0]]> : tensor<4x2xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
