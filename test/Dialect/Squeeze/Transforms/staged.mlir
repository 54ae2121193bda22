// RUN: %python %S/Inputs/make_calib.py %t.calib
// RUN: sed "s|CALIB|%t.calib|g" %s > %t.mlir
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=2 group-size=4},squeeze-select-salient{ratio=0.375 pbar=false group-size=4 diag=hinv range-delta=false}))' | FileCheck %s --check-prefix=STAGED
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=2 group-size=4},squeeze-select-salient{ratio=0.375 pbar=false staged=false group-size=4 diag=hinv range-delta=false}))' | FileCheck %s --check-prefix=DIRECT

// Salience is scored on the stage-1 weight unless staged=false. With H = I,
// V orders weights by magnitude. Row 0 = [0, 3, 1.4, 0] has s = 1, so 1.4
// becomes 1; row 1 = [0, 1.3, 1.2, 0] has s = 1.3/3, so 1.2 becomes 1.3.
// The top 3 of 8: staged {3, 1.3, 1.3}, direct {3, 1.4, 1.3}.
// STAGED: squeeze.salient_mask = dense<{{\[}}[false, true, false, false], [false, true, true, false]]>
// DIRECT: squeeze.salient_mask = dense<{{\[}}[false, true, true, false], [false, true, false, false]]>

func.func @layer(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 3.0, 1.4, 0.0], [0.0, 1.3, 1.2, 0.0]]> : tensor<2x4xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = q>,
      weight_layout = #squeeze.weight_layout<out_in>,
      squeeze.hessian = #squeeze.extern<"CALIB", offset = 0, length = 128>,
      squeeze.samples = #squeeze.extern<"CALIB", offset = 128, length = 32>,
      squeeze.calib_tokens = 2 : i64}
      : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
