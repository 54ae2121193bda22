// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=2 group-size=2}))' | FileCheck %s

// Row 0, group [0, 3]: s = 1, z = 0, codes 0 3. Group [-1, 1]: s = 2/3 in
// f32 is 0.666666686, so -min / s = 1.49999997 and z = 1; codes
// round(-1.49999997) + 1 = 0 and round(1.49999997) + 1 = 2. Row 1 is the
// constant 2, stored exactly: s = 2, z = 0, code 1.
// CHECK-LABEL: func.func @stage1
// CHECK: squeeze.linear
// The codes (0 3 0 2 and 1 1 1 1) follow from the weight and these
// parameters; later passes recompute them rather than keep a byte per
// weight in the IR.
// CHECK-SAME: squeeze.stage1 = {bits = 2 : i64, group_size = 2 : i64, scales = dense<{{\[}}[1.000000e+00, 0.666666686], [2.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>, zeros = dense<{{\[}}[-0.000000e+00, 1.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>}
// A layer outside the decoder blocks is left alone.
// CHECK: squeeze.linear
// CHECK-NOT: squeeze.stage1
func.func @stage1(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[0.0, 3.0, -1.0, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %1 = squeeze.linear %x, %w {role = #squeeze.role<block = -1, kind = lm_head>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0, %1 : tensor<3x2xf32>, tensor<3x2xf32>
}
