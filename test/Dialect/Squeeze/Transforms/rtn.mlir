// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn bits=2 group-size=2 quiet=true}))' | FileCheck %s

// Round to nearest needs no calibration (values as in stage1.mlir). Offsets
// are -scale * zero.
// CHECK-LABEL: func.func @rtn
// CHECK: %[[QW:.*]] = squeeze.quantized_weight {codes = dense<{{\[}}[0, 3, 0, 2], [1, 1, 1, 1]]> : tensor<2x4xi8>, offsets = dense<{{\[}}[0.000000e+00, -0.666666686], [-0.000000e+00, -0.000000e+00]]> : tensor<2x2xf32>, scales = dense<{{\[}}[1.000000e+00, 0.666666686], [2.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>} : !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 2, salient_bits = 0, salient_fraction = 0.000000e+00, mask = none, layout = unpacked>>
// CHECK: squeeze.quantized_linear %{{.*}}, %[[QW]] {role = #squeeze.role<block = 0, kind = up>, squeeze.quant_report = {mode = "rtn", payload_bpw = 2.000000e+00 : f64, salient_fraction = 0.000000e+00 : f64, seconds = {{.*}} : f64}}
// CHECK-NOT: squeeze.linear %{{.*}} {role = #squeeze.role<block = 0
func.func @rtn(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 3.0, -1.0, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=binary group-size=4 quiet=true}))' | FileCheck %s --check-prefix=BIN
// Binarization of row 0 = {0, 3, -1, 1}: mu = 0.75, alpha = mean of
// {0.75, 2.25, 1.75, 0.25} = 1.25, codes 0 1 0 1 (w >= mu), scale
// 2 alpha = 2.5, offset mu - alpha = -0.5.
// Row 1 is constant: alpha = 0, every code 1, scale 0, offset 2.
// BIN: squeeze.quantized_weight {codes = dense<{{\[}}[0, 1, 0, 1], [1, 1, 1, 1]]> : tensor<2x4xi8>, offsets = dense<{{\[}}[-5.000000e-01], [2.000000e+00]]> : tensor<2x1xf32>, scales = dense<{{\[}}[2.500000e+00], [0.000000e+00]]> : tensor<2x1xf32>} : !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 0

// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn bits=2 ternary=true group-size=2 quiet=true}))' | FileCheck %s --check-prefix=TERN
// Three levels per group: group {0, 3} gets scale 1.5, zero 0 (codes 0 2);
// {-1, 1} scale 1, zero 1 (codes 0 2); the constant row scale 2, code 1.
// TERN: squeeze.quantized_weight {codes = dense<{{\[}}[0, 2, 0, 2], [1, 1, 1, 1]]> : tensor<2x4xi8>, offsets = dense<{{\[}}[0.000000e+00, -1.000000e+00], [-0.000000e+00, -0.000000e+00]]> : tensor<2x2xf32>, scales = dense<{{\[}}[1.500000e+00, 1.000000e+00], [2.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>} : !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 2, salient_bits = 0, salient_fraction = 0.000000e+00, mask = none, layout = unpacked, levels = 3>>
// TERN: squeeze.quant_report = {mode = "rtn", payload_bpw = 1.600000e+00 : f64
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=mixed ternary=true}))' 2>&1 | FileCheck %s --check-prefix=TERN-MIXED
// TERN-MIXED: error: squeeze-gptq: ternary applies to modes kbit and rtn, got mode mixed
// RUN: not s10-opt %s --squeeze10-quantize="method=squeeze10 ternary=true calib=x.txt" 2>&1 | FileCheck %s --check-prefix=TERN-S10
// TERN-S10: error: squeeze10-quantize: option 'ternary' has no effect with method=squeeze10 (it applies to methods gptq and rtn)
// RUN: not s10-opt %s --squeeze10-quantize="method=rtn bits=2 layout=ternary" 2>&1 | FileCheck %s --check-prefix=TERN-LAYOUT
// TERN-LAYOUT: error: squeeze10-quantize: layout=ternary needs ternary=true
// RUN: not s10-opt %s --pass-pipeline='builtin.module(func.func(squeeze-gptq{mode=rtn bits=2 quiet=true}),squeeze-pack{layout=ternary quiet=true})' 2>&1 | FileCheck %s --check-prefix=PACK-ROWS
// PACK-ROWS: error: squeeze-pack: b0.up: ternary layout: ternary needs the input size 4 to be a multiple of 8
