// RUN: s10-opt %s --squeeze-pack="quiet=true" | FileCheck %s
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-unpack | FileCheck %s --check-prefix=UNPACK
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-unpack --squeeze-pack="quiet=true" | FileCheck %s
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-verify-weights -o /dev/null

// The expected bytes follow docs/packed-layouts.md by hand. A blob prints
// as its alignment (u32, 64) followed by its bytes.

// kbit, 2 bits, groups of 4. Codes LSB-first, code j at bits [2j, 2j+2):
// row 0 = 0 1 2 3 | 3 2 1 0 -> E4 1B, row 1 = 1 1 1 1 | 0 0 0 0 -> 55 00;
// rows padded to 16 bytes, the parameters at the next 64-byte boundary:
// (scale, offset) fp16 per group: (0.5, -1) (0.25, 0) | (1, 0.5) (2, -0.25).
// CHECK-LABEL: func.func @kbit
// CHECK: squeeze.packed_weight {data = dense_resource<b0.up{{(_[0-9]+)?}}> : tensor<128xi8>, packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.000000e+00, mask = none, layout = packed>>
// UNPACK-LABEL: func.func @kbit
// UNPACK: squeeze.quantized_weight {codes = dense<{{\[}}[0, 1, 2, 3, 3, 2, 1, 0], [1, 1, 1, 1, 0, 0, 0, 0]]> : tensor<2x8xi8>, offsets = dense<{{\[}}[-1.000000e+00, 0.000000e+00], [5.000000e-01, -2.500000e-01]]> : tensor<2x2xf32>, scales = dense<{{\[}}[5.000000e-01, 2.500000e-01], [1.000000e+00, 2.000000e+00]]> : tensor<2x2xf32>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.000000e+00, mask = none, layout = unpacked>>
func.func @kbit(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %qw = squeeze.quantized_weight {
      codes = dense<[[0, 1, 2, 3, 3, 2, 1, 0], [1, 1, 1, 1, 0, 0, 0, 0]]> : tensor<2x8xi8>,
      scales = dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>,
      offsets = dense<[[-1.0, 0.0], [0.5, -0.25]]> : tensor<2x2xf32>}
      : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  %y = squeeze.quantized_linear %x, %qw {role = #squeeze.role<block = 0, kind = up>} : (tensor<3x8xf32>, !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// bitmap, one salient weight (j = 2, 4-bit code 13 = 0b1101). Signs: binary
// codes 1 0 . 1 1 0 0 1 with the salient code's top bit (1) at j = 2 ->
// 0x9D; mask 0x04 at offset 64; row offsets u32 [0] at 128; the salient
// code's low 3 bits (0b101) at 192; parameters at 256: binary (1, -0.5),
// salient (0.125, -1).
// CHECK-LABEL: func.func @bitmap
// CHECK: squeeze.packed_weight {data = dense_resource<b1.down{{(_[0-9]+)?}}> : tensor<320xi8>, packing = #squeeze.packing<kind = bitmap, bits = 1, group_size = 8, salient_bits = 4, salient = 1>}
// UNPACK-LABEL: func.func @bitmap
// UNPACK: codes = dense<{{\[}}[1, 0, 13, 1, 1, 0, 0, 1]]> : tensor<1x8xi8>
// UNPACK-SAME: salient_mask = dense<{{\[}}[false, false, true, false, false, false, false, false]]> : tensor<1x8xi1>
func.func @bitmap(%x: tensor<3x8xf32>) -> tensor<3x1xf32> {
  %qw = squeeze.quantized_weight {
      codes = dense<[[1, 0, 13, 1, 1, 0, 0, 1]]> : tensor<1x8xi8>,
      scales = dense<1.0> : tensor<1x1xf32>,
      offsets = dense<-0.5> : tensor<1x1xf32>,
      salient_mask = dense<[[false, false, true, false, false, false, false, false]]> : tensor<1x8xi1>,
      salient_scales = dense<0.125> : tensor<1x1xf32>,
      salient_offsets = dense<-1.0> : tensor<1x1xf32>}
      : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = unpacked>>
  %y = squeeze.quantized_linear %x, %qw {role = #squeeze.role<block = 1, kind = down>} : (tensor<3x8xf32>, !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = unpacked>>) -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

// ternary (levels = 3), groups of 8. The 16 codes are one stream, five per
// byte as ceil(256 v / 243), v their base-3 value, first code most
// significant: 0 1 2 2 1 -> v 52 -> 0x37; 0 0 1 | 2 2 -> v 17 -> 0x12;
// 2 2 2 0 0 -> v 234 -> 0xF7; 0 and four padding codes -> 0x00; padded to
// an 8-byte word. Parameters at 64: (0.5, -1) (1, 0.5).
// CHECK-LABEL: func.func @ternary
// CHECK: squeeze.packed_weight {data = dense_resource<b2.gate{{(_[0-9]+)?}}> : tensor<128xi8>, packing = #squeeze.packing<kind = ternary, bits = 2, group_size = 8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 8, salient_bits = 0, salient_fraction = 0.000000e+00, mask = none, layout = packed, levels = 3>>
// UNPACK-LABEL: func.func @ternary
// UNPACK: codes = dense<{{\[}}[0, 1, 2, 2, 1, 0, 0, 1], [2, 2, 2, 2, 2, 0, 0, 0]]> : tensor<2x8xi8>
// UNPACK-SAME: layout = unpacked, levels = 3>>
func.func @ternary(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %qw = squeeze.quantized_weight {
      codes = dense<[[0, 1, 2, 2, 1, 0, 0, 1], [2, 2, 2, 2, 2, 0, 0, 0]]> : tensor<2x8xi8>,
      scales = dense<[[0.5], [1.0]]> : tensor<2x1xf32>,
      offsets = dense<[[-1.0], [0.5]]> : tensor<2x1xf32>}
      : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 8, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked, levels = 3>>
  %y = squeeze.quantized_linear %x, %qw {role = #squeeze.role<block = 2, kind = gate>} : (tensor<3x8xf32>, !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 8, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked, levels = 3>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// CHECK: b0.up{{(_[0-9]+)?}}: "0x40000000E41B0000000000000000000000000000550000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
// CHECK: b1.down{{(_[0-9]+)?}}: "0x400000009D000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003C00B8003000BC0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
// CHECK: b2.gate{{(_[0-9]+)?}}: "0x400000003712F700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC003C00380000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
