// RUN: s10-opt %s -split-input-file -verify-diagnostics

func.func @weight_length() {
  // expected-error @+1 {{storage holds 100 bytes but 'tensor<8x8xf16>' needs 128}}
  %w = squeeze.weight "w" {storage = #squeeze.extern<"w.bin", offset = 0, length = 100>} : tensor<8x8xf16>
  return
}

// -----

func.func @weight_path() {
  // expected-error @+1 {{external storage needs a file path}}
  %w = squeeze.weight "w" {storage = #squeeze.extern<"", offset = 0, length = 4>} : tensor<1xf32>
  return
}

// -----

func.func @linear_in_mismatch(%x: tensor<2x8xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{input feature dimension 8 does not match the weight's input dimension 6}}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<2x8xf32>, tensor<6x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_out_mismatch(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result feature dimension is 5, expected 4}}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @linear_batch_mismatch(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result dimension 0 is 3 but the input's is 2}}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @linear_rank(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result rank 3 differs from input rank 2}}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<1x2x4xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{bias must be 1-D of size 4}}
  %0 = squeeze.linear %x, %w, %b {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<5xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_int_weight(%x: tensor<2x8xf32>, %w: tensor<4x8xi8>) {
  // expected-error @+1 {{operand #1 must be 2D tensor of floating-point values}}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<2x8xf32>, tensor<4x8xi8>) -> tensor<2x4xf32>
  return
}

// -----

func.func @bits_range() {
  // expected-error @+2 {{bits must be in [1, 8], got 9}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi16>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 9, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @group_size() {
  // expected-error @+2 {{group_size must be positive, got 0}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 0, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @salient_bits_not_wider() {
  // expected-error @+2 {{salient_bits must be in (bits, 16], got 2 with bits = 4}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 2, salient_fraction = 0.1, mask = layer, layout = unpacked>>
  return
}

// -----

func.func @salient_fraction_range() {
  // expected-error @+2 {{salient_fraction must be in [0, 1), got 1.500000e+00}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 1.5, mask = layer, layout = unpacked>>
  return
}

// -----

func.func @salient_without_bits() {
  // expected-error @+2 {{a scheme with salient_bits = 0 must have salient_fraction = 0 and mask = none}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 0, salient_fraction = 0.2, mask = layer, layout = unpacked>>
  return
}

// -----

func.func @salient_without_mask() {
  // expected-error @+2 {{salient weights need a mask granularity}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 0.2, mask = none, layout = unpacked>>
  return
}

// -----

func.func @qweight_dims() {
  // expected-error @+2 {{quantized weight dimensions must be positive, got 0x4}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<0x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @qweight_rank() {
  // expected-error @+2 {{quantized weight must be 2-D [out x in], got 3 dimensions}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @codes_shape() {
  // expected-error @+1 {{codes must have shape 2x4, got 'tensor<2x5xi8>'}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x5xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @codes_too_narrow() {
  // expected-error @+1 {{codes must have integer (wide enough for the scheme's bits) elements, got 'i2'}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi2>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @scales_groups() {
  // A group size of 3 over 4 input channels makes two groups (the last short).
  // expected-error @+1 {{scales must have shape 2x2, got 'tensor<2x1xf32>'}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 3, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @offsets_type() {
  // expected-error @+1 {{offsets must have float elements, got 'i32'}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0> : tensor<2x1xi32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @salient_missing() {
  // expected-error @+1 {{scheme has salient weights: salient_mask, salient_scales and salient_offsets are required}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 0.25, mask = row, layout = unpacked>>
  return
}

// -----

func.func @salient_unexpected() {
  // expected-error @+1 {{salient attributes given but the scheme has no salient weights}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>, salient_mask = dense<false> : tensor<2x4xi1>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  return
}

// -----

func.func @salient_mask_type() {
  // expected-error @+1 {{salient_mask must have i1 elements, got 'i8'}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>,
      salient_mask = dense<0> : tensor<2x4xi8>, salient_scales = dense<1.0> : tensor<2x1xf32>, salient_offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 0.25, mask = row, layout = unpacked>>
  return
}

// -----

func.func @packed_not_materialized() {
  // expected-error @+1 {{only the unpacked layout is materialized by this op, got packed}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  return
}

// -----

func.func @qlinear_mismatch(%x: tensor<2x6xf32>, %qw: !squeeze.qweight<4x8, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>) {
  // expected-error @+1 {{input feature dimension 6 does not match the weight's input dimension 8}}
  %0 = squeeze.quantized_linear %x, %qw : (tensor<2x6xf32>, !squeeze.qweight<4x8, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>) -> tensor<2x4xf32>
  return
}

// -----

func.func @role_block(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{a 'q' projection needs a block index >= 0}}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<out_in>, role = #squeeze.role<block = -1, kind = q>} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @role_block_range(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{block index must be >= -1, got -2}}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<out_in>, role = #squeeze.role<block = -2, kind = lm_head>} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @embedding_hidden(%ids: tensor<1x?xi64>, %t: tensor<10x8xf32>) {
  // expected-error @+1 {{result hidden size 4 does not match the table's 8}}
  %0 = squeeze.embedding %ids, %t : (tensor<1x?xi64>, tensor<10x8xf32>) -> tensor<1x?x4xf32>
  return
}

// -----

func.func @embedding_rank(%ids: tensor<1x?xi64>, %t: tensor<10x8xf32>) {
  // expected-error @+1 {{result rank must be the ids rank plus one, got 2}}
  %0 = squeeze.embedding %ids, %t : (tensor<1x?xi64>, tensor<10x8xf32>) -> tensor<1x8xf32>
  return
}

// -----

func.func @rms_norm_weight(%x: tensor<1x?x8xf32>, %w: tensor<6xf32>) {
  // expected-error @+1 {{weight size 6 does not match the normalized dimension 8}}
  %0 = squeeze.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : (tensor<1x?x8xf32>, tensor<6xf32>) -> tensor<1x?x8xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<1x?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{epsilon must be positive}}
  %0 = squeeze.rms_norm %x, %w {epsilon = 0.0 : f64} : (tensor<1x?x8xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  return
}

// -----

func.func @rotary_odd(%x: tensor<1x?x12xf32>) {
  // expected-error @+1 {{needs num_heads > 0 and an even head_dim > 0}}
  %0 = squeeze.rotary %x {num_heads = 4 : i64, head_dim = 3 : i64, theta = 10000.0 : f64} : (tensor<1x?x12xf32>) -> tensor<1x?x12xf32>
  return
}

// -----

func.func @rotary_features(%x: tensor<1x?x12xf32>) {
  // expected-error @+1 {{input feature dimension 12 is not 4 heads x 4}}
  %0 = squeeze.rotary %x {num_heads = 4 : i64, head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<1x?x12xf32>) -> tensor<1x?x12xf32>
  return
}

// -----

func.func @rotary_theta(%x: tensor<1x?x16xf32>) {
  // expected-error @+1 {{theta must be positive}}
  %0 = squeeze.rotary %x {num_heads = 4 : i64, head_dim = 4 : i64, theta = -1.0 : f64} : (tensor<1x?x16xf32>) -> tensor<1x?x16xf32>
  return
}

// -----

func.func @attention_gqa(%q: tensor<1x?x24xf32>, %k: tensor<1x?x16xf32>) {
  // expected-error @+1 {{num_heads (6) must be a multiple of num_kv_heads (4)}}
  %0 = squeeze.attention %q, %k, %k {num_heads = 6 : i64, num_kv_heads = 4 : i64, head_dim = 4 : i64, scale = 0.5 : f64, causal} : (tensor<1x?x24xf32>, tensor<1x?x16xf32>, tensor<1x?x16xf32>) -> tensor<1x?x24xf32>
  return
}

// -----

func.func @attention_kv_features(%q: tensor<1x?x24xf32>, %k: tensor<1x?x12xf32>) {
  // expected-error @+1 {{key feature dimension 12 is not 2 heads x 4}}
  %0 = squeeze.attention %q, %k, %k {num_heads = 6 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : (tensor<1x?x24xf32>, tensor<1x?x12xf32>, tensor<1x?x12xf32>) -> tensor<1x?x24xf32>
  return
}

// -----

func.func @attention_kv_seq(%q: tensor<1x5x24xf32>, %k: tensor<1x5x8xf32>, %v: tensor<1x4x8xf32>) {
  // expected-error @+1 {{key and value sequence lengths differ}}
  %0 = squeeze.attention %q, %k, %v {num_heads = 6 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : (tensor<1x5x24xf32>, tensor<1x5x8xf32>, tensor<1x4x8xf32>) -> tensor<1x5x24xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<1x?x24xf32>, %k: tensor<1x?x8xf32>) {
  // expected-error @+1 {{scale must be positive}}
  %0 = squeeze.attention %q, %k, %k {num_heads = 6 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.0 : f64} : (tensor<1x?x24xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x?x24xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<1x1x?x24xf32>, %k: tensor<1x?x8xf32>) {
  // expected-error @+1 {{query must be [batch, seq, heads * head_dim] or [seq, heads * head_dim]}}
  %0 = squeeze.attention %q, %k, %k {num_heads = 6 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : (tensor<1x1x?x24xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x1x?x24xf32>
  return
}

// -----

func.func @attention_mixed_rank(%q: tensor<?x24xf32>, %k: tensor<1x?x8xf32>) {
  // expected-error @+1 {{query, key and value must have the same rank}}
  %0 = squeeze.attention %q, %k, %k {num_heads = 6 : i64, num_kv_heads = 2 : i64, head_dim = 4 : i64, scale = 0.5 : f64} : (tensor<?x24xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<?x24xf32>
  return
}

// -----

func.func @swiglu_shapes(%a: tensor<1x4x8xf32>, %b: tensor<1x4x6xf32>) {
  // expected-error @+1 {{gate and up shapes differ at dimension 2}}
  %0 = squeeze.swiglu %a, %b : (tensor<1x4x8xf32>, tensor<1x4x6xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @levels_not_ternary() {
  // expected-error @+2 {{levels must be 0, or 3 with bits = 2 and no salient weights, got levels = 3 with bits = 3}}
  %qw = squeeze.quantized_weight {codes = dense<0> : tensor<2x4xi8>, scales = dense<1.0> : tensor<2x1xf32>, offsets = dense<0.0> : tensor<2x1xf32>}
      : !squeeze.qweight<2x4, #squeeze.scheme<bits = 3, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked, levels = 3>>
  return
}
