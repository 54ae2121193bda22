// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels -verify-diagnostics -o /dev/null

// The kernels stage x on the stack, so inputs wider than 2^18 get no kernel.
!wide = !squeeze.qweight<1x262145, #squeeze.scheme<bits = 1, group_size = 262145, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>

func.func @wide(%x: tensor<1x262145xf32>) -> tensor<1x1xf32> {
  %q = squeeze.quantized_weight {
      codes = dense<1> : tensor<1x262145xi8>,
      scales = dense<1.0> : tensor<1x1xf32>,
      offsets = dense<0.0> : tensor<1x1xf32>} : !wide
  // expected-warning @+1 {{no kernel for this packed weight: input size 262145 exceeds 262144 (the kernels stage x on the stack)}}
  %y = squeeze.quantized_linear %x, %q : (tensor<1x262145xf32>, !wide) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
