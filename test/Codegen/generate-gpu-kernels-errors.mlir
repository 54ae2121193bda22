// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="target=cuda" -verify-diagnostics -split-input-file -o /dev/null
// RUN: not s10-opt %s --squeeze-generate-kernels="target=rocm" -split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: error: squeeze-generate-kernels: target must be 'cpu' or 'cuda', got 'rocm'

// A warp reads whole 32-column words, so other input sizes get no CUDA
// kernel (the CPU target serves them).
!narrow = !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>

func.func @narrow(%x: tensor<1x8xf32>) -> tensor<1x2xf32> {
  %q = squeeze.quantized_weight {
      codes = dense<[[0, 1, 2, 3, 3, 2, 1, 0], [1, 1, 1, 1, 0, 0, 0, 0]]> : tensor<2x8xi8>,
      scales = dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>,
      offsets = dense<[[-1.0, 0.0], [0.5, -0.25]]> : tensor<2x2xf32>} : !narrow
  // expected-warning @+1 {{no kernel for this packed weight: CUDA kernels need an input size that is a multiple of 32, got 8}}
  %y = squeeze.quantized_linear %x, %q : (tensor<1x8xf32>, !narrow) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Groups must hold whole words too.
!g16 = !squeeze.qweight<1x64, #squeeze.scheme<bits = 1, group_size = 16, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>

func.func @g16(%x: tensor<1x64xf32>) -> tensor<1x1xf32> {
  %q = squeeze.quantized_weight {
      codes = dense<1> : tensor<1x64xi8>,
      scales = dense<1.0> : tensor<1x4xf32>,
      offsets = dense<0.0> : tensor<1x4xf32>} : !g16
  // expected-warning @+1 {{no kernel for this packed weight: CUDA kernels need groups of a multiple of 32 inputs, got 16}}
  %y = squeeze.quantized_linear %x, %q : (tensor<1x64xf32>, !g16) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// CPU kernels already hold the name.
// expected-error @+1 {{s10_kernels holds kernels of the other target}}
module @s10_kernels {
}
func.func @add(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %a = onnx.node "Add"(%x, %x) : (tensor<2x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return %a : tensor<2x64xf32>
}
