// RUN: s10-opt %s -split-input-file -verify-diagnostics

// Packed weights: the verifier checks the layout against the type and the
// blob's byte count against the layout.

// A blob whose size does not match the layout.
func.func @short() {
  // expected-error @+1 {{data has 100 bytes but the kbit layout of 2x8 needs 128}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<short> : tensor<100xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}
{-#
  dialect_resources: { builtin: { short: "0x4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

func.func @bytes_differ() {
  // expected-error @+1 {{data blob 'blob' holds 100 bytes, expected 128}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<blob> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}
{-#
  dialect_resources: { builtin: { blob: "0x4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

func.func @no_blob() {
  // expected-error @+1 {{data blob 'nothing' has no bytes}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<nothing> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}

// -----

func.func @not_a_blob() {
  // expected-error @+1 {{data must be a dense_resource blob}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense<0> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}

// -----

func.func @wide_elements() {
  // expected-error @+1 {{data must be a 1-D i8 blob}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<b> : tensor<32xi32>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}
{-#
  dialect_resources: { builtin: { b: "0x40000000E41B0000000000000000000000000000550000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

func.func @bits_mismatch() {
  // expected-error @+1 {{does not match the type's scheme: bits}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 3, group_size = 4>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}
{-#
  dialect_resources: { builtin: { b: "0x40000000E41B0000000000000000000000000000550000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

func.func @group_mismatch() {
  // expected-error @+1 {{does not match the type's scheme: group size}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 8>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}
{-#
  dialect_resources: { builtin: { b: "0x40000000E41B0000000000000000000000000000550000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

func.func @kind_mismatch() {
  // expected-error @+1 {{chanblock needs mask = channel}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = chanblock, bits = 1, group_size = 8, salient_bits = 4, block = 1, salient = 1>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
  return
}

// -----

func.func @salient_in_kbit() {
  // expected-error @+1 {{does not match the type's scheme: salient bits}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 1, group_size = 8>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
  return
}

// -----

func.func @unpacked_type() {
  // expected-error @+1 {{result type must have layout = packed, got unpacked}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @bad_salient_count() {
  // expected-error @+1 {{invalid packing for 1x8: salient count 9 out of range for 1x8}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = bitmap, bits = 1, group_size = 8, salient_bits = 4, salient = 9>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = packed>>
  return
}

// -----

func.func @nm_not_multiple() {
  // expected-error @+1 {{nm needs the input size 12 to be a multiple of M = 8}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = nm, bits = 1, group_size = 4, salient_bits = 4, block = 8, nm_salient = 1, salient = 1>, data = dense_resource<b> : tensor<320xi8>} : !squeeze.qweight<1x12, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 0.125, mask = nm, layout = packed>>
  return
}

// -----

func.func @ternary_without_levels() {
  // expected-error @+1 {{does not match the type's scheme: ternary holds codes of levels = 3 and no salient weights}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = ternary, bits = 2, group_size = 8>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 8, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}
{-#
  dialect_resources: { builtin: { b: "0x400000003712F700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC003C00380000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}

// -----

func.func @ternary_ragged_rows() {
  // expected-error @+1 {{invalid packing for 2x12: ternary needs the input size 12 to be a multiple of 8}}
  %w = squeeze.packed_weight {packing = #squeeze.packing<kind = ternary, bits = 2, group_size = 12>, data = dense_resource<b> : tensor<128xi8>} : !squeeze.qweight<2x12, #squeeze.scheme<bits = 2, group_size = 12, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed, levels = 3>>
  return
}
{-#
  dialect_resources: { builtin: { b: "0x400000003712F700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC003C00380000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}
