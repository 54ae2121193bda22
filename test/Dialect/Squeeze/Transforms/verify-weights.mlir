// RUN: s10-opt %s -split-input-file -verify-diagnostics --squeeze-verify-weights

// The contents of quantized and packed weights (blobs as in pack.mlir, with
// one byte altered).

// A padding bit set in row 0 of the codes (byte 2).
func.func @row_padding() -> !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>> {
  // expected-error @+1 {{weight: nonzero padding bits in row 0 of the codes}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return %w : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
}
{-#
  dialect_resources: { builtin: { b: "0x40000000E41B0100000000000000000000000000550000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

// A byte between two parts.
func.func @gap() -> !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>> {
  // expected-error @+1 {{weight: nonzero padding before the group parameters}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return %w : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
}
{-#
  dialect_resources: { builtin: { b: "0x40000000E41B0000000000000000000000000000550000000000000000000000000000000000000000000000800000000000000000000000000000000000000000000000003800BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

// The first scale is a NaN (fp16 0x7E00).
func.func @nan_scale() -> !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>> {
  // expected-error @+1 {{weight: group parameter of row 0 is not finite}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return %w : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
}
{-#
  dialect_resources: { builtin: { b: "0x40000000E41B0000000000000000000000000000550000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007E00BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

// Two mask bits where the layout declares one salient weight.
func.func @mask_count() -> !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>> {
  // expected-error @+1 {{weight: the salient mask marks 2 weights, the layout declares 1}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = bitmap, bits = 1, group_size = 8, salient_bits = 4, salient = 1>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
  return %w : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
}
{-#
  dialect_resources: { builtin: { b: "0x400000009D000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003C00B8003000BC0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

// A row offset that disagrees with the mask.
func.func @row_offset() -> !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>> {
  // expected-error @+1 {{weight: salient offset of row 0 is 1, the mask gives 0}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = bitmap, bits = 1, group_size = 8, salient_bits = 4, salient = 1>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
  return %w : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
}
{-#
  dialect_resources: { builtin: { b: "0x400000009D000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003C00B8003000BC0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

// Salient code bits past the last salient code.
func.func @code_padding() -> !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>> {
  // expected-error @+1 {{weight: nonzero padding bits after the salient codes}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = bitmap, bits = 1, group_size = 8, salient_bits = 4, salient = 1>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
  return %w : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
}
{-#
  dialect_resources: { builtin: { b: "0x400000009D00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000D000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003C00B8003000BC0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

// One salient weight of eight where the type declares half.
func.func @fraction() -> !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.5, mask = layer, layout = packed>> {
  // expected-error @+1 {{weight: the salient mask marks 1 of 8 weights (0.1250), the type declares salient_fraction 0.5000}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = bitmap, bits = 1, group_size = 8, salient_bits = 4, salient = 1>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.5, mask = layer, layout = packed>>
  return %w : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.5, mask = layer, layout = packed>>
}
{-#
  dialect_resources: { builtin: { b: "0x400000009D000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003C00B8003000BC0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

// Unpacked codes out of range for their width.
func.func @code_range() -> !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>> {
  // expected-error @+1 {{weight: code 5 of weight (0, 1) is out of range for 2 bits}}
  %w = squeeze.quantized_weight {codes = dense<[[0, 5, 1, 1], [0, 0, 0, 0]]> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>} : !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return %w : !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
}

// -----

// An infinite offset.
func.func @inf_offset() -> !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>> {
  // expected-error @+1 {{weight: offset 1 is not finite}}
  %w = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<[[0.0], [0x7F800000]]> : tensor<2x1xf32>} : !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return %w : !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
}
