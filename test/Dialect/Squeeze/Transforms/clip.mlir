// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn bits=2 group-size=4 clip-norm=2.4 quiet=true}))' | FileCheck %s
// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn bits=2 group-size=4 quiet=true}))' | FileCheck %s --check-prefix=MINMAX

// Row {-1, 0, 1, 6} at 2 bits. Min-max: scale 7/3, zero 0, codes 0 0 0 3
// (values 0 0 0 7). Clipped (the least sum of |w - q|^2.4 over the ranges
// [-f, 6f], f = 1, 0.99, ..., 0.21): f = 0.8, scale 5.6/3, zero
// round(0.8 / (5.6/3)) = 0, codes 0 0 1 3 (values 0 0 1.867 5.6): error
// 1 + 0.86^2.4 + 0.4^2.4 = 1.82 against 1 + 1 + 1 = 3. The constant row
// keeps its exact fit.
// CHECK-LABEL: func.func @clip
// CHECK: squeeze.quantized_weight {codes = dense<{{\[}}[0, 0, 1, 3], [1, 1, 1, 1]]> : tensor<2x4xi8>, offsets = dense<-0.000000e+00> : tensor<2x1xf32>, scales = dense<{{\[}}[1.86666667], [2.000000e+00]]> : tensor<2x1xf32>}
// MINMAX: squeeze.quantized_weight {codes = dense<{{\[}}[0, 0, 0, 3], [1, 1, 1, 1]]> : tensor<2x4xi8>, offsets = dense<-0.000000e+00> : tensor<2x1xf32>, scales = dense<{{\[}}[2.33333325], [2.000000e+00]]> : tensor<2x1xf32>}
// Stage 1 of the mixed methods clips the same way (its ranges are the
// salient codes' ranges).
// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=2 group-size=4 clip-norm=2.4}))' | FileCheck %s --check-prefix=STAGE1-CLIP
// STAGE1-CLIP: squeeze.stage1 = {bits = 2 : i64, group_size = 4 : i64, scales = dense<{{\[}}[1.86666667], [2.000000e+00]]> : tensor<2x1xf32>, zeros = dense<0.000000e+00> : tensor<2x1xf32>}
func.func @clip(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[-1.0, 0.0, 1.0, 6.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// Diagnostics.
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=mixed clip-norm=2.4}))' 2>&1 | FileCheck %s --check-prefix=MIXED
// MIXED: error: squeeze-gptq: clip-norm applies to modes kbit and rtn, got mode mixed
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn clip-norm=-1}))' 2>&1 | FileCheck %s --check-prefix=NEG
// NEG: error: squeeze-gptq: clip-norm: clip norm must be 0 (min-max ranges) or a finite positive number, got -1.000000
// RUN: not s10-opt %s --squeeze10-quantize="method=binary clip-norm=2.4" 2>&1 | FileCheck %s --check-prefix=BINARY
// BINARY: error: squeeze10-quantize: option 'clip-norm' has no effect with method=binary (it applies to every method but binary)
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{clip-norm=-2}))' 2>&1 | FileCheck %s --check-prefix=STAGE1
// STAGE1: error: squeeze-quantize-stage1: clip-norm: clip norm must be 0 (min-max ranges) or a finite positive number, got -2.000000
// RUN: not s10-opt %s --squeeze10-quantize="budget=2.5 clip-norm=2.4 calib=%s" 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: error: squeeze10-quantize: option 'clip-norm' conflicts with budget=2.5
