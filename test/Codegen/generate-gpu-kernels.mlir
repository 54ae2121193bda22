// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="target=cuda dense-out-in=true" | FileCheck %s

// CUDA kernels: gpu.func kernels in a gpu.module, one warp per GEMV row.

!kbit = !squeeze.qweight<2x64, #squeeze.scheme<bits = 2, group_size = 32, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
!bitmap = !squeeze.qweight<3x64, #squeeze.scheme<bits = 1, group_size = 32, salient_bits = 4, salient_fraction = 0.21875, mask = layer, layout = unpacked>>

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @layers
func.func @layers(%x: tensor<5x64xf32>) -> (tensor<5x2xf32>, tensor<5x3xf32>, tensor<5x4xf32>, tensor<5x64xf32>, tensor<5x64xf32>, tensor<5x64xf32>) {
  %qk = squeeze.quantized_weight {
      codes = dense<[[1, 1, 2, 3, 0, 0, 3, 2, 1, 1, 3, 3, 3, 1, 1, 1, 3, 0, 0, 1, 0, 2, 0, 2, 3, 3, 3, 3, 3, 1, 2, 0, 0, 1, 3, 1, 2, 3, 2, 3, 3, 2, 3, 1, 2, 0, 2, 1, 2, 0, 1, 2, 2, 0, 0, 3, 3, 0, 2, 0, 3, 1, 0, 2], [3, 3, 0, 0, 0, 3, 2, 2, 1, 0, 2, 0, 0, 0, 0, 1, 3, 2, 2, 1, 0, 2, 2, 2, 1, 3, 3, 3, 3, 0, 2, 3, 1, 2, 3, 2, 2, 2, 0, 3, 2, 0, 3, 1, 0, 2, 3, 2, 2, 2, 3, 0, 0, 0, 2, 2, 3, 2, 2, 1, 2, 1, 2, 2]]> : tensor<2x64xi8>,
      scales = dense<[[0.859, 0.338], [0.809, 0.194]]> : tensor<2x2xf32>,
      offsets = dense<[[0.626, 0.943], [0.367, -0.737]]> : tensor<2x2xf32>} : !kbit
  %qb = squeeze.quantized_weight {
      codes = dense<[[1, 1, 1, 0, 1, 0, 13, 0, 1, 1, 0, 1, 0, 5, 0, 1, 1, 1, 0, 4, 1, 0, 0, 1, 0, 1, 1, 8, 0, 1, 0, 1, 1, 1, 0, 0, 1, 7, 1, 15, 0, 1, 1, 0, 1, 0, 1, 2, 1, 0, 1, 0, 0, 0, 0, 1, 0, 6, 1, 4, 0, 0, 8, 0], [0, 10, 0, 13, 0, 0, 3, 0, 8, 1, 1, 11, 1, 1, 0, 0, 1, 10, 1, 12, 1, 0, 0, 15, 1, 0, 1, 0, 1, 0, 1, 0, 14, 1, 0, 1, 1, 14, 9, 1, 3, 1, 0, 1, 11, 1, 1, 0, 0, 0, 1, 1, 3, 3, 0, 1, 1, 9, 0, 1, 1, 1, 5, 0], [3, 0, 1, 1, 0, 1, 8, 1, 0, 0, 0, 1, 8, 7, 1, 1, 1, 1, 2, 1, 1, 0, 0, 1, 0, 3, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 9, 0, 1, 1, 1, 1, 9, 1, 1, 1, 0, 0, 0, 0, 0, 1, 5, 14, 0, 0, 0, 0, 1, 0]]> : tensor<3x64xi8>,
      scales = dense<[[0.609, 0.963], [0.903, 0.222], [0.813, 0.661]]> : tensor<3x2xf32>,
      offsets = dense<[[-0.899, -0.28], [-0.533, -0.844], [0.078, 0.86]]> : tensor<3x2xf32>,
      salient_mask = dense<[[false, false, false, false, false, false, true, false, false, false, false, false, false, true, false, false, false, false, false, true, false, false, false, false, false, false, false, true, false, false, false, false, false, false, false, false, false, true, false, true, false, false, false, false, false, false, false, true, false, false, false, false, false, false, false, false, false, true, false, true, false, false, true, false], [false, true, false, true, false, false, true, false, true, false, true, true, false, false, false, true, false, true, false, true, false, false, false, true, false, false, false, false, false, false, false, false, true, false, false, false, false, true, true, false, true, false, false, false, true, true, false, false, false, false, false, false, true, true, false, false, false, true, false, false, false, false, true, false], [true, false, false, false, false, false, true, false, false, false, false, false, true, true, false, false, false, false, true, false, false, false, false, false, false, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true, true, false, false, false, false, true, false, false, false, false, false, true, false, false, false, true, true, false, false, false, false, false, false]]> : tensor<3x64xi1>,
      salient_scales = dense<[[0.391, 0.883], [0.725, 0.221], [0.872, 0.641]]> : tensor<3x2xf32>,
      salient_offsets = dense<[[0.854, 0.432], [0.479, -0.313], [0.613, 0.863]]> : tensor<3x2xf32>} : !bitmap
  // CHECK: squeeze.quantized_linear {{.*}}s10.kernel = "s10_gemv_kbit_k2_g32_f16_2x64"
  %y0 = squeeze.quantized_linear %x, %qk : (tensor<5x64xf32>, !kbit) -> tensor<5x2xf32>
  // CHECK: squeeze.quantized_linear {{.*}}s10.kernel = "s10_gemv_bitmap_k1_s4_g32_f16_n42_3x64"
  %y1 = squeeze.quantized_linear %x, %qb : (tensor<5x64xf32>, !bitmap) -> tensor<5x3xf32>
  %w = arith.constant dense<0.5> : tensor<64x4xf16>
  // CHECK: squeeze.linear {{.*}}s10.kernel = "s10_gemv_dense_f16_4x64"
  %y2 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<5x64xf32>, tensor<64x4xf16>) -> tensor<5x4xf32>
  %g = arith.constant dense<1.0> : tensor<64xf16>
  // CHECK: squeeze.rms_norm {{.*}}s10.kernel = "s10_rmsnorm_f16_64_eps1em05"
  %n = squeeze.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : (tensor<5x64xf32>, tensor<64xf16>) -> tensor<5x64xf32>
  // CHECK: squeeze.swiglu {{.*}}s10.kernel = "s10_swiglu"
  %s = squeeze.swiglu %n, %x : (tensor<5x64xf32>, tensor<5x64xf32>) -> tensor<5x64xf32>
  // CHECK: onnx.node "Add"{{.*}}s10.kernel = "s10_add"
  %a = onnx.node "Add"(%x, %s) : (tensor<5x64xf32>, tensor<5x64xf32>) -> tensor<5x64xf32>
  return %y0, %y1, %y2, %n, %s, %a : tensor<5x2xf32>, tensor<5x3xf32>, tensor<5x4xf32>, tensor<5x64xf32>, tensor<5x64xf32>, tensor<5x64xf32>
}

// CHECK-LABEL: gpu.module @s10_kernels
// The salient lane table lives in the gpu.module.
// CHECK: memref.global "private" constant @s10_salient_shifts_r3 : memref<2048xi32>
// One warp per row, four rows per block; token rows by block y.
// CHECK: gpu.func @s10_gemv_kbit_k2_g32_f16_2x64(%{{.*}}: memref<128xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64) kernel attributes {known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 4 : i32}
// CHECK: gpu.thread_id  x
// CHECK: gpu.block_id  x
// CHECK: gpu.block_id  y
// CHECK: scf.for
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<64xf32, strided<[1], offset: ?>>, vector<8xf32>
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: gpu.return
// The bitmap rows scan the salient counts of the lanes' words (up, then
// the total from lane 31) before the butterfly sum.
// CHECK: gpu.func @s10_gemv_bitmap_k1_s4_g32_f16_n42_3x64
// CHECK: math.ctpop
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: gpu.shuffle  idx
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: gpu.func @s10_gemv_dense_f16_4x64(%{{.*}}: memref<256xi16>
// CHECK: gpu.func @s10_rmsnorm_f16_64_eps1em05
// CHECK: llvm.inline_asm asm_dialect = att "sqrt.rn.f64 $0, $1;", "=d,d"
// CHECK: gpu.func @s10_swiglu({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 2 : i32}
// CHECK: gpu.func @s10_add
