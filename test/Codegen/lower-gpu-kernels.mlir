// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="target=cuda" \
// RUN:   | s10-opt --s10-lower-kernels-to-nvvm="chip=sm_80 format=llvm" | FileCheck %s --check-prefix=NVVM
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="target=cuda" \
// RUN:   | s10-opt --s10-lower-kernels-to-nvvm="chip=sm_90 format=isa" | FileCheck %s --check-prefix=PTX

// The CUDA kernels lower to NVVM with bare pointers, and to PTX for the
// chip; the model's function is left alone.

!bitmap = !squeeze.qweight<2x64, #squeeze.scheme<bits = 1, group_size = 64, salient_bits = 3, salient_fraction = 0.125, mask = layer, layout = unpacked>>

func.func @layers(%x: tensor<3x64xf32>) -> (tensor<3x2xf32>, tensor<3x64xf32>) {
  %q = squeeze.quantized_weight {
      codes = dense<[[1, 0, 5, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 7, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1],
                     [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 6]]> : tensor<2x64xi8>,
      scales = dense<[[0.5], [0.25]]> : tensor<2x1xf32>,
      offsets = dense<[[-0.25], [-0.125]]> : tensor<2x1xf32>,
      salient_mask = dense<[[false, false, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false],
                            [false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true]]> : tensor<2x64xi1>,
      salient_scales = dense<[[0.125], [0.0625]]> : tensor<2x1xf32>,
      salient_offsets = dense<[[-0.5], [-0.25]]> : tensor<2x1xf32>} : !bitmap
  %y = squeeze.quantized_linear %x, %q : (tensor<3x64xf32>, !bitmap) -> tensor<3x2xf32>
  %s = squeeze.swiglu %x, %x : (tensor<3x64xf32>, tensor<3x64xf32>) -> tensor<3x64xf32>
  return %y, %s : tensor<3x2xf32>, tensor<3x64xf32>
}

// NVVM-LABEL: func.func @layers
// NVVM: squeeze.quantized_linear
// NVVM: gpu.module @s10_kernels [#nvvm.target<O = 3, chip = "sm_80">]
// NVVM: llvm.func @s10_gemv_bitmap_k1_s3_g64_f16_n3_2x64(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64) attributes {gpu.kernel, gpu.known_block_size = array<i32: 128, 1, 1>, nvvm.kernel, nvvm.maxntid = array<i32: 128, 1, 1>, nvvm.minctasm = 4 : i32}
// NVVM: nvvm.read.ptx.sreg.tid.x
// NVVM: llvm.intr.ctpop
// NVVM: nvvm.shfl.sync  up
// NVVM: nvvm.shfl.sync  bfly
// NVVM: llvm.func @s10_swiglu
// NVVM-NOT: {{ (memref|scf|vector|arith|math)\.[a-z_]+ }}
// NVVM-NOT: {{ gpu\.(thread_id|block_id|shuffle|func|return)}}

// The PTX, one line of the gpu.binary: the entry points with their block
// size, the popcounts, scans and butterfly sums, 128-bit loads of x, and
// no local memory.
// PTX: gpu.binary @s10_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90">
// PTX-SAME: .target sm_90
// PTX-SAME: .entry s10_gemv_bitmap_k1_s3_g64_f16_n3_2x64(
// PTX-SAME: .maxntid 128, 1, 1
// PTX-SAME: .minnctapersm 4
// PTX-SAME: popc.b32
// PTX-SAME: shfl.sync.up.b32
// PTX-SAME: ld.global.nc.v4.b32
// PTX-SAME: shfl.sync.bfly.b32
// PTX-SAME: .entry s10_swiglu(
// PTX-SAME: .maxntid 256, 1, 1
// PTX-SAME: .minnctapersm 2
// PTX-NOT: .local
