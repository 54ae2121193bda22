// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="target=cuda" \
// RUN:   | s10-opt --s10-lower-kernels-to-nvvm="chip=sm_90 format=isa" \
// RUN:   | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' \
// RUN:   | FileCheck %s --implicit-check-not=.local --implicit-check-not=ld.global.b8 --implicit-check-not=ld.global.u8 --implicit-check-not=ld.global.nc.b8

// Rows of 4096 inputs give each lane of a warp a tile of 128 columns: the
// packed planes are read in 16-byte loads in the order they are stored
// (the warp reads 512 consecutive bytes of each), never 32 bits at a
// time. Narrower rows give a lane one 32-bit word of each plane; 3-bit
// codes, 12 bytes a word, are read as whole words, never as bytes.

!kbit = !squeeze.qweight<2x4096, #squeeze.scheme<bits = 2, group_size = 128, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
!bitmap = !squeeze.qweight<2x4096, #squeeze.scheme<bits = 1, group_size = 128, salient_bits = 4, salient_fraction = 0.0, mask = layer, layout = unpacked>>
!k3 = !squeeze.qweight<2x1024, #squeeze.scheme<bits = 3, group_size = 128, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>

func.func @layers(%x: tensor<1x4096xf32>, %x3: tensor<1x1024xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) {
  %k = squeeze.quantized_weight {
      codes = dense<1> : tensor<2x4096xi8>,
      scales = dense<0.5> : tensor<2x32xf32>,
      offsets = dense<-0.25> : tensor<2x32xf32>} : !kbit
  %b = squeeze.quantized_weight {
      codes = dense<1> : tensor<2x4096xi8>,
      scales = dense<0.5> : tensor<2x32xf32>,
      offsets = dense<-0.25> : tensor<2x32xf32>,
      salient_mask = dense<false> : tensor<2x4096xi1>,
      salient_scales = dense<0.125> : tensor<2x32xf32>,
      salient_offsets = dense<-0.5> : tensor<2x32xf32>} : !bitmap
  %c = squeeze.quantized_weight {
      codes = dense<5> : tensor<2x1024xi8>,
      scales = dense<0.5> : tensor<2x8xf32>,
      offsets = dense<-0.25> : tensor<2x8xf32>} : !k3
  %y = squeeze.quantized_linear %x, %k : (tensor<1x4096xf32>, !kbit) -> tensor<1x2xf32>
  %z = squeeze.quantized_linear %x, %b : (tensor<1x4096xf32>, !bitmap) -> tensor<1x2xf32>
  %w = squeeze.quantized_linear %x3, %c : (tensor<1x1024xf32>, !k3) -> tensor<1x2xf32>
  return %y, %z, %w : tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>
}

// Two 16-byte loads of the 2-bit codes (32 bytes: 128 columns), before
// the loop over the tile's four words and its 16-byte loads of x.
// CHECK-LABEL: .entry s10_gemv_kbit_k2_g128_f16_2x4096(
// CHECK-NOT: ld.global.b32
// CHECK: ld.global.v4.b32 {{.*}}, {{\[}}[[CODES:%rd[0-9]+]]{{\]}};
// CHECK-NEXT: ld.global.v4.b32 {{.*}}, {{\[}}[[CODES]]+16{{\]}};
// CHECK-NOT: ld.global.b32
// CHECK: ld.global.v4.b32
// CHECK-NOT: ld.global.b32
// CHECK: shfl.sync.bfly.b32
// CHECK: ret;

// The sign and mask planes, each one 16-byte load (the mask plane 1024
// bytes after the signs); the one 32-bit load is the row's salient offset.
// CHECK-LABEL: .entry s10_gemv_bitmap_k1_s4_g128_f16_n0_2x4096(
// CHECK: ld.global.b32
// CHECK-NOT: ld.global.b32
// CHECK: ld.global.v4.b32 {{.*}}, {{\[}}[[PLANE:%rd[0-9]+]]{{\]}};
// CHECK-NEXT: ld.global.v4.b32 {{.*}}, {{\[}}[[PLANE]]+1024{{\]}};
// CHECK: popc.b32
// CHECK: shfl.sync.up.b32
// CHECK-NOT: ld.global.b32
// CHECK: ret;

// CHECK-LABEL: .entry s10_gemv_kbit_k3_g128_f16_2x1024(
// CHECK: ld.global.b32 {{.*}}, {{\[}}[[WORD:%rd[0-9]+]]{{\]}};
// CHECK-NEXT: ld.global.b32 {{.*}}, {{\[}}[[WORD]]+4{{\]}};
// CHECK: ld.global.b32 {{.*}}, {{\[}}[[WORD]]+8{{\]}};
// CHECK: ret;
