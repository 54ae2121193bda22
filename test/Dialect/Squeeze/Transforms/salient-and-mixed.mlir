// RUN: %python %S/Inputs/make_calib.py %t.calib
// RUN: sed "s|CALIB|%t.calib|g" %s > %t.mlir
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=false group-size=4 diag=hinv range-delta=false}))' | FileCheck %s --check-prefix=MASK
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=false group-size=4 diag=hinv range-delta=false},squeeze-gptq{mode=mixed group-size=4 quiet=true}))' | FileCheck %s --check-prefix=MIXED
// H and its factor in f32 (hessian-f32-from=1: every layer): H = I is exact
// in f32, so the mask and codes are those of the f64 run.
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=false group-size=4 diag=hinv range-delta=false hessian-f32-from=1},squeeze-gptq{mode=mixed group-size=4 quiet=true hessian-f32-from=1}))' | FileCheck %s --check-prefix=MIXED
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=true lambda=1.0 group-size=4 diag=hinv range-delta=false}))' | FileCheck %s --check-prefix=PBAR
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=true normalize=true lambda=1.0 group-size=4 diag=hinv range-delta=false}))' | FileCheck %s --check-prefix=NORM
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=true range-delta=true lambda=1.0 group-size=4 diag=hinv}))' | FileCheck %s --check-prefix=DELTA
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.5 granularity=row pbar=false group-size=4 diag=hinv range-delta=false}))' | FileCheck %s --check-prefix=ROW
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 granularity=channel pbar=false group-size=4 diag=hinv range-delta=false}))' | FileCheck %s --check-prefix=CHANNEL
// RUN: s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.5 granularity=nm nm-block=2 pbar=false group-size=4 diag=hinv range-delta=false},squeeze-gptq{mode=mixed group-size=4 quiet=true}),squeeze-pack{quiet=true})' | FileCheck %s --check-prefix=NM
// RUN: not s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.5 granularity=nm nm-block=3 pbar=false group-size=4 diag=hinv range-delta=false}))' 2>&1 | FileCheck %s --check-prefix=NM-BLOCK
// RUN: not s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.1 granularity=nm nm-block=2 pbar=false group-size=4 diag=hinv range-delta=false}))' 2>&1 | FileCheck %s --check-prefix=NM-RATIO
// RUN: not s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 granularity=nm nm-block=8 pbar=false group-size=4 diag=hinv range-delta=false}))' 2>&1 | FileCheck %s --check-prefix=NM-SHAPE
// RUN: not s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=false group-size=4 diag=hinv range-delta=false},squeeze-gptq{mode=mixed group-size=4 quiet=true}),squeeze-pack{layout=chanblock block=1 quiet=true})' 2>&1 | FileCheck %s --check-prefix=PACK-CB
// RUN: not s10-opt %t.mlir --pass-pipeline='builtin.module(func.func(squeeze-quantize-stage1{bits=4 group-size=4},squeeze-select-salient{ratio=0.25 pbar=false group-size=4 diag=hinv range-delta=false},squeeze-gptq{mode=mixed group-size=4 quiet=true}),squeeze-pack{layout=kbit quiet=true})' 2>&1 | FileCheck %s --check-prefix=PACK-KBIT
// RUN: not s10-opt %t.mlir --squeeze-pack=layout=zigzag 2>&1 | FileCheck %s --check-prefix=PACK-NAME
// RUN: not s10-opt %t.mlir --squeeze-pack=params=f8 2>&1 | FileCheck %s --check-prefix=PACK-PARAMS

// With H = I, V orders weights by magnitude: the top quarter of the layer
// (2 of 8) are -2.0 and 1.0.
// MASK: squeeze.salient_granularity = "layer"
// MASK-SAME: squeeze.salient_mask = dense<{{\[}}[false, true, false, false], [true, false, false, false]]> : tensor<2x4xi1>

// Half of each row: row 0 keeps -2.0 and 0.5, row 1 keeps 1.0 and 0.2.
// ROW: squeeze.salient_mask = dense<{{\[}}[false, true, false, true], [true, true, false, false]]>

// Whole input channels: column sums of V are 1.01, 4.04, 0.1, 0.25 (x 1.01^2);
// one of four columns, the second, is kept for every row.
// CHANNEL: squeeze.salient_granularity = "channel"
// CHANNEL-SAME: squeeze.salient_mask = dense<{{\[}}[false, true, false, false], [false, true, false, false]]>

// N:M, one of every two inputs by |stage-1 weight| (H = I): row 0 keeps -2
// and 1/2, row 1 keeps 1.0267 and, of the tie -0.0733 / 0.0733, the lower
// index. Packed as nm with M = 2: four salient weights.
// NM: squeeze.packed_weight {data = dense_resource<b0.q> : tensor<{{[0-9]+}}xi8>, packing = #squeeze.packing<kind = nm, bits = 1, group_size = 4, salient_bits = 4, block = 2, nm_salient = 1, salient = 4>} : !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 5.000000e-01, mask = nm, layout = packed>>
// NM-BLOCK: squeeze-select-salient: nm-block must be a power of two in [2, 256], got 3
// NM-RATIO: squeeze-select-salient: ratio {{.*}} keeps 0 of every 2 inputs; nm needs between 1 and 1
// NM-SHAPE: error: b0.q: nm salience needs the input size 4 to be a multiple of nm-block 8
// PACK-CB: error: squeeze-pack: b0.q: the chanblock layout needs mask = channel, the weight's is layer
// PACK-KBIT: error: squeeze-pack: b0.q: the weight has salient weights; kbit cannot hold them
// PACK-NAME: squeeze-pack: unknown layout 'zigzag' (expected auto, kbit, ternary, bitmap, chanblock or nm)
// PACK-PARAMS: squeeze-pack: unknown params 'f8' (expected f16, q8 or q8t)

// With the range term (Eq. 7, worked by hand): the stage-1 rows are
// [1/6, -2, 1/3, 1/2] and [1.0267, 0.22, -0.0733, 0.0733]; binarizing one
// weight at a time over the two sampled tokens gives B row 0 =
// [7.27, 4.40, 6.44, 6.96] and row 1 = [0.71, 1.91, 1.23, 0.89], so
// M = V + B ranks (0, 1) = 8.48 and (0, 0) = 7.30 first.
// PBAR: squeeze.salient_mask = dense<{{\[}}[true, true, false, false], [false, false, false, false]]>

// Scale-free: V / mean(V) (mean 0.70) + B / mean(B) (mean 3.73) gives
// row 0 = [1.99, 7.00, 1.89, 2.23] and row 1 = [1.72, 0.58, 0.34, 0.25].
// NORM: squeeze.salient_mask = dense<{{\[}}[false, true, false, true], [false, false, false, false]]>

// Range change: the unperturbed ranges of Y are 6.58 (row 0) and 1.25
// (row 1), so |B - range| is [0.69, 2.19, 0.15, 0.38] and
// [0.54, 0.66, 0.02, 0.36]; M = V + that ranks (0, 1) = 6.27 and
// (1, 0) = 1.61 first.
// DELTA: squeeze.salient_mask = dense<{{\[}}[false, true, false, false], [true, false, false, false]]>

// H = I leaves GPTQ nothing to propagate, so every entry goes straight to
// its target. Row 0: salient -2.0 keeps its 4-bit code (s = 2.5/15,
// z = 12: code 0); the rest {0.1, 0.3, 0.5} has mu = 0.3, alpha = 2/15,
// giving codes 0, 1, 1 (sign(0) = +1), scale 2 alpha, offset mu - alpha.
// Row 1: salient 1.0 gets code 15 (s = 1.1/15, z = 1); {0.2, -0.1, 0.05}
// has mu = 0.05, alpha = 0.1: codes 1, 0, 1, scale 0.2, offset -0.05.
// MIXED: squeeze.quantized_weight {codes = dense<{{\[}}[0, 0, 1, 1], [15, 1, 0, 1]]> : tensor<2x4xi8>,
// MIXED-SAME: offsets = dense<{{\[}}[0.16666{{[0-9]*}}], [-5.000000e-02]]>
// MIXED-SAME: salient_mask = dense<{{\[}}[false, true, false, false], [true, false, false, false]]>
// MIXED-SAME: salient_offsets = dense<{{\[}}[-2.000000e+00], [-0.07333{{[0-9]*}}]]>
// MIXED-SAME: salient_scales = dense<{{\[}}[0.16666{{[0-9]*}}], [0.07333{{[0-9]*}}]]>
// MIXED-SAME: scales = dense<{{\[}}[0.26666{{[0-9]*}}], [2.000000e-01]]>
// MIXED-SAME: !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 2.500000e-01, mask = layer, layout = unpacked>>
// MIXED: squeeze.quantized_linear

func.func @layer(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.1, -2.0, 0.3, 0.5], [1.0, 0.2, -0.1, 0.05]]> : tensor<2x4xf32>
  %0 = squeeze.linear %x, %w {role = #squeeze.role<block = 0, kind = q>,
      weight_layout = #squeeze.weight_layout<out_in>,
      squeeze.hessian = #squeeze.extern<"CALIB", offset = 0, length = 128>,
      squeeze.samples = #squeeze.extern<"CALIB", offset = 128, length = 32>,
      squeeze.calib_tokens = 2 : i64}
      : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
