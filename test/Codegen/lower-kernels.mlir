// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels \
// RUN:   | s10-opt --pass-pipeline='builtin.module(builtin.module(s10-lower-kernels-to-llvm))' \
// RUN:   | FileCheck %s

// The kernels lower to plain C functions: every memref argument becomes a
// bare pointer, sizes stay i64; the model's function is left alone.

!kbit = !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 8, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>

// CHECK-LABEL: func.func @layers
// CHECK: squeeze.quantized_linear
func.func @layers(%x: tensor<3x8xf32>) -> (tensor<3x2xf32>, tensor<3x8xf32>) {
  %qk = squeeze.quantized_weight {
      codes = dense<[[0, 1, 2, 3, 3, 2, 1, 0], [1, 1, 1, 1, 0, 0, 0, 0]]> : tensor<2x8xi8>,
      scales = dense<[[0.5], [1.0]]> : tensor<2x1xf32>,
      offsets = dense<[[-1.0], [0.5]]> : tensor<2x1xf32>} : !kbit
  %y = squeeze.quantized_linear %x, %qk : (tensor<3x8xf32>, !kbit) -> tensor<3x2xf32>
  %s = squeeze.swiglu %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y, %s : tensor<3x2xf32>, tensor<3x8xf32>
}

// CHECK-LABEL: module @s10_kernels
// CHECK: llvm.func @s10_gemv_kbit_k2_g8_f16_tbl_2x8(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-NOT: memref.
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.permps"
// CHECK-NOT: memref.
// CHECK: llvm.return
// CHECK: llvm.func @s10_swiglu(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK-NOT: {{(memref|scf|vector|arith|math)\.}}
// CHECK: llvm.return
