// RUN: s10-opt %s | FileCheck %s
// RUN: s10-opt %s | s10-opt | FileCheck %s
// RUN: s10-opt %s -mlir-print-op-generic | s10-opt | FileCheck %s

// CHECK-LABEL: func.func @weights
func.func @weights() -> tensor<384x128xf16> {
  // CHECK: squeeze.weight "val_95" {storage = #squeeze.extern<"model.onnx.data", offset = 1024, length = 98304>} : tensor<384x128xf16>
  %w = squeeze.weight "val_95" {storage = #squeeze.extern<"model.onnx.data", offset = 1024, length = 98304>} : tensor<384x128xf16>
  return %w : tensor<384x128xf16>
}

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<1x?x384xf32>, %w: tensor<384x128xf16>,
                  %wt: tensor<128x384xf32>, %b: tensor<128xf32>) -> (tensor<1x?x128xf32>, tensor<1x?x128xf32>) {
  // CHECK: squeeze.linear %{{.*}}, %{{.*}} {role = #squeeze.role<block = 0, kind = k>, weight_layout = #squeeze.weight_layout<in_out>}
  %0 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<in_out>, role = #squeeze.role<block = 0, kind = k>}
      : (tensor<1x?x384xf32>, tensor<384x128xf16>) -> tensor<1x?x128xf32>
  // CHECK: squeeze.linear %{{.*}}, %{{.*}}, %{{.*}} {weight_layout = #squeeze.weight_layout<out_in>}
  %1 = squeeze.linear %x, %wt, %b {weight_layout = #squeeze.weight_layout<out_in>}
      : (tensor<1x?x384xf32>, tensor<128x384xf32>, tensor<128xf32>) -> tensor<1x?x128xf32>
  return %0, %1 : tensor<1x?x128xf32>, tensor<1x?x128xf32>
}

// CHECK-LABEL: func.func @quantized
func.func @quantized(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  // CHECK: squeeze.quantized_weight
  // CHECK-SAME: !squeeze.qweight<4x8, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 2.500000e-01, mask = row, layout = unpacked>>
  %qw = squeeze.quantized_weight {
      codes = dense<1> : tensor<4x8xi8>,
      scales = dense<0.5> : tensor<4x2xf32>,
      offsets = dense<-0.25> : tensor<4x2xf32>,
      salient_mask = dense<[[true, false, false, false, false, false, false, true],
                            [true, false, false, false, false, false, false, true],
                            [true, false, false, false, false, false, false, true],
                            [true, false, false, false, false, false, false, true]]> : tensor<4x8xi1>,
      salient_scales = dense<0.1> : tensor<4x2xf32>,
      salient_offsets = dense<-0.8> : tensor<4x2xf32>}
      : !squeeze.qweight<4x8, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 0.25, mask = row, layout = unpacked>>
  // CHECK: squeeze.quantized_linear %{{.*}}, %{{.*}} {role = #squeeze.role<block = 2, kind = down>}
  %y = squeeze.quantized_linear %x, %qw {role = #squeeze.role<block = 2, kind = down>}
      : (tensor<2x8xf32>, !squeeze.qweight<4x8, #squeeze.scheme<bits = 1, group_size = 4, salient_bits = 4, salient_fraction = 0.25, mask = row, layout = unpacked>>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @rtn_scheme
func.func @rtn_scheme(%x: tensor<3x10xf32>) -> tensor<3x2xf32> {
  // A group size that does not divide the input dimension: the last group is short.
  // CHECK: !squeeze.qweight<2x10, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.000000e+00, mask = none, layout = unpacked>>
  %qw = squeeze.quantized_weight {codes = dense<3> : tensor<2x10xi8>,
      scales = dense<1.0> : tensor<2x3xf32>, offsets = dense<0.0> : tensor<2x3xf32>}
      : !squeeze.qweight<2x10, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
  %y = squeeze.quantized_linear %x, %qw : (tensor<3x10xf32>, !squeeze.qweight<2x10, #squeeze.scheme<bits = 4, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// CHECK-LABEL: func.func @decoder_pieces
func.func @decoder_pieces(%ids: tensor<1x?xi64>, %table: tensor<4096x384xf16>,
                          %g: tensor<384xf16>, %q: tensor<1x?x384xf32>,
                          %k: tensor<1x?x128xf32>, %v: tensor<1x?x128xf32>,
                          %a: tensor<1x?x1024xf32>, %b: tensor<1x?x1024xf32>)
    -> (tensor<1x?x384xf32>, tensor<1x?x384xf32>, tensor<1x?x384xf32>, tensor<1x?x1024xf32>) {
  // CHECK: squeeze.embedding
  %e = squeeze.embedding %ids, %table : (tensor<1x?xi64>, tensor<4096x384xf16>) -> tensor<1x?x384xf32>
  // CHECK: squeeze.rms_norm {{.*}} {epsilon = 1.000000e-05 : f64}
  %n = squeeze.rms_norm %e, %g {epsilon = 1.0e-5 : f64} : (tensor<1x?x384xf32>, tensor<384xf16>) -> tensor<1x?x384xf32>
  // CHECK: squeeze.rotary {{.*}} {head_dim = 64 : i64, num_heads = 6 : i64, theta = 1.000000e+04 : f64}
  %r = squeeze.rotary %q {num_heads = 6 : i64, head_dim = 64 : i64, theta = 10000.0 : f64} : (tensor<1x?x384xf32>) -> tensor<1x?x384xf32>
  // CHECK: squeeze.attention {{.*}} {causal, head_dim = 64 : i64, num_heads = 6 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64}
  %o = squeeze.attention %r, %k, %v {num_heads = 6 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64, scale = 0.125 : f64, causal}
      : (tensor<1x?x384xf32>, tensor<1x?x128xf32>, tensor<1x?x128xf32>) -> tensor<1x?x384xf32>
  // CHECK: squeeze.swiglu
  %s = squeeze.swiglu %a, %b : (tensor<1x?x1024xf32>, tensor<1x?x1024xf32>) -> tensor<1x?x1024xf32>
  return %e, %n, %o, %s : tensor<1x?x384xf32>, tensor<1x?x384xf32>, tensor<1x?x384xf32>, tensor<1x?x1024xf32>
}

// A packed weight: the packing attribute prints its default-valued
// parameters only when set; the blob stays a resource.
// CHECK-LABEL: func.func @packed
func.func @packed(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  // CHECK: squeeze.packed_weight {data = dense_resource<w> : tensor<128xi8>, packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4>} : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.000000e+00, mask = none, layout = packed>>
  %qw = squeeze.packed_weight {packing = #squeeze.packing<kind = kbit, bits = 2, group_size = 4, params = f16>, data = dense_resource<w> : tensor<128xi8>}
      : !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>
  %y = squeeze.quantized_linear %x, %qw : (tensor<3x8xf32>, !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = packed>>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// CHECK: #squeeze.packing<kind = nm, bits = 1, group_size = 128, salient_bits = 4, params = q8, block = 8, nm_salient = 1, salient = 4096>
func.func @packing_attr() attributes {p = #squeeze.packing<kind = nm, bits = 1, group_size = 128, salient_bits = 4, params = q8, block = 8, nm_salient = 1, salient = 4096>} {
  return
}

// CHECK: #squeeze.packing<kind = kbit, bits = 2, group_size = 192, params = q8t>
func.func @packing_attr_q8t() attributes {p = #squeeze.packing<kind = kbit, bits = 2, group_size = 192, params = q8t>} {
  return
}

{-#
  dialect_resources: { builtin: { w: "0x40000000E41B0000000000000000000000000000550000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003800BC00340000003C0038004000B4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" } }
#-}
