// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels | FileCheck %s
// Running the pass again reuses the kernels it built.
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels --squeeze-generate-kernels | FileCheck %s --check-prefix=TWICE
// For a consumer that stores every dense matrix [out, in] (the .s10
// artifact transposes ONNX MatMul weights), in_out weights get the plain
// kernel.
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="dense-out-in=true" | FileCheck %s --check-prefix=OUTIN
// OUTIN: squeeze.linear {{.*}}s10.kernel = "s10_gemv_dense_f16_4x8"
// OUTIN-NOT: s10_gemv_dense_f16t
// Without AVX2 the k-bit GEMV masks and converts its codes.
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="cpu=x86-64" | FileCheck %s --check-prefix=NOAVX2
// For an AVX-512 CPU the mixed layouts get the masked-sum GEMV (its own
// name); the others are the same kernels.
// RUN: s10-opt %s --squeeze-pack="quiet=true" --squeeze-generate-kernels="cpu=x86-64-v4" | FileCheck %s --check-prefix=AVX512
// GEMM blocks of 4 vectors of 16 floats, k blocks of 128.
// AVX512: module attributes {s10.gemm_kernels = {kc = 128 : i64, kernels = [{{.*}}, "s10_gemm_6x4_v16_tail"], mr = 6 : i64, nv = 4 : i64, vec = 16 : i64}}
// AVX512: squeeze.quantized_linear {{.*}}s10.kernel = "s10_gemv_kbit_k2_g8_f16_tbl_2x8"
// AVX512: squeeze.quantized_linear {{.*}}s10.kernel = "s10_gemv_bitmap_k1_s4_g8_f16_n1_m16_1x8"
// Kernels run 256-bit vectors (passthrough function attributes for LLVM's
// x86 backend) but for the masked-sum GEMVs and the GEMM blocks, which
// gain from 512 bits.
// AVX512: func.func @s10_gemv_kbit_k2_g8_f16_tbl_2x8({{.*}}) attributes {passthrough = {{\[\[}}"prefer-vector-width", "256"], ["min-legal-vector-width", "256"]]}
// AVX512-LABEL: func.func @s10_gemv_bitmap_k1_s4_g8_f16_n1_m16_1x8
// AVX512-SAME: i64) {
// AVX512: vector.bitcast {{.*}} : vector<1xi16> to vector<16xi1>
// AVX512: vector.expandload {{.*}} into vector<16xf32>
// AVX512-NOT: s10_gemvlut
// AVX512: func.func @s10_gemm_6x4_v16_tail(
// AVX512-SAME: i64) {
// AVX512: vector.fma {{.*}} : vector<16xf32>
// An unknown CPU is an error before anything is built.
// RUN: not s10-opt %s --squeeze-generate-kernels="cpu=pentium-9" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADCPU
// BADCPU: squeeze-generate-kernels: unknown x86-64 CPU 'pentium-9'

// The table of GEMM micro-kernels prefill runs linears and attention
// through, for the CPU (x86-64-v3: blocks of up to 6 rows and 2 vectors of
// 8 floats, k blocks of 256), in the module's s10.gemm_kernels.
// CHECK: module attributes {s10.gemm_kernels = {kc = 256 : i64, kernels = ["s10_gemm_1x1_v8", "s10_gemm_1x1_v8_tail", "s10_gemm_1x2_v8", {{.*}}, "s10_gemm_6x2_v8", "s10_gemm_6x2_v8_tail"], mr = 6 : i64, nv = 2 : i64, vec = 8 : i64}}

!kbit = !squeeze.qweight<2x8, #squeeze.scheme<bits = 2, group_size = 8, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
!bitmap = !squeeze.qweight<1x8, #squeeze.scheme<bits = 1, group_size = 8, salient_bits = 4, salient_fraction = 0.125, mask = layer, layout = unpacked>>

// CHECK-LABEL: func.func @layers
func.func @layers(%x: tensor<3x8xf32>, %h: tensor<3x8xf16>) -> (tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x8xf16>, tensor<3x8xf16>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x4xf32>) {
  %qk = squeeze.quantized_weight {
      codes = dense<[[0, 1, 2, 3, 3, 2, 1, 0], [1, 1, 1, 1, 0, 0, 0, 0]]> : tensor<2x8xi8>,
      scales = dense<[[0.5], [1.0]]> : tensor<2x1xf32>,
      offsets = dense<[[-1.0], [0.5]]> : tensor<2x1xf32>} : !kbit
  // Packed weights also get the decode kernel of their prefill panels.
  // CHECK: squeeze.quantized_linear {{.*}}s10.decode_kernel = "s10_decode_kbit_k2_g8_f16_2x8", s10.kernel = "s10_gemv_kbit_k2_g8_f16_tbl_2x8"
  %y0 = squeeze.quantized_linear %x, %qk : (tensor<3x8xf32>, !kbit) -> tensor<3x2xf32>
  %qb = squeeze.quantized_weight {
      codes = dense<[[1, 0, 13, 1, 1, 0, 0, 1]]> : tensor<1x8xi8>,
      scales = dense<1.0> : tensor<1x1xf32>,
      offsets = dense<-0.5> : tensor<1x1xf32>,
      salient_mask = dense<[[false, false, true, false, false, false, false, false]]> : tensor<1x8xi1>,
      salient_scales = dense<0.125> : tensor<1x1xf32>,
      salient_offsets = dense<-1.0> : tensor<1x1xf32>} : !bitmap
  // CHECK: squeeze.quantized_linear {{.*}}s10.decode_kernel = "s10_decode_bitmap_k1_s4_g8_f16_n1_1x8", s10.kernel = "s10_gemv_bitmap_k1_s4_g8_f16_n1_1x8"
  %y1 = squeeze.quantized_linear %x, %qb : (tensor<3x8xf32>, !bitmap) -> tensor<3x1xf32>
  // Dense weights in either storage order.
  %w = arith.constant dense<0.5> : tensor<4x8xf32>
  // CHECK: squeeze.linear {{.*}}s10.kernel = "s10_gemv_dense_f32_4x8"
  %y2 = squeeze.linear %x, %w {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  %wt = arith.constant dense<0.25> : tensor<8x4xf16>
  // CHECK: squeeze.linear {{.*}}s10.kernel = "s10_gemv_dense_f16t_4x8"
  %y3 = squeeze.linear %x, %wt {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<3x8xf32>, tensor<8x4xf16>) -> tensor<3x4xf32>
  %g = arith.constant dense<1.0> : tensor<8xf16>
  // CHECK: squeeze.rms_norm {{.*}}s10.kernel = "s10_rmsnorm_f16_8_eps1em05"
  %n = squeeze.rms_norm %h, %g {epsilon = 1.0e-5 : f64} : (tensor<3x8xf16>, tensor<8xf16>) -> tensor<3x8xf16>
  // CHECK: squeeze.swiglu {{.*}}s10.kernel = "s10_swiglu"
  %s = squeeze.swiglu %n, %h : (tensor<3x8xf16>, tensor<3x8xf16>) -> tensor<3x8xf16>
  // CHECK: onnx.node "Add"{{.*}}s10.kernel = "s10_add"
  %a = onnx.node "Add"(%x, %x) : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  // Broadcasting is not elementwise: no kernel.
  %row = arith.constant dense<1.0> : tensor<8xf32>
  // CHECK: onnx.node "Add"
  // CHECK-NOT: s10.kernel
  // CHECK-SAME: -> tensor<3x8xf32>
  %ab = onnx.node "Add"(%x, %row) : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  // A bias is not part of the GEMV: no kernel.
  %bias = arith.constant dense<1.0> : tensor<4xf32>
  // CHECK: squeeze.linear
  // CHECK-NOT: s10.kernel
  // CHECK-SAME: -> tensor<3x4xf32>
  %y4 = squeeze.linear %x, %w, %bias {weight_layout = #squeeze.weight_layout<out_in>} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %y0, %y1, %y2, %y3, %n, %s, %a, %ab, %y4 : tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x8xf16>, tensor<3x8xf16>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x4xf32>
}

// CHECK-LABEL: func.func @gather_rotate
func.func @gather_rotate(%ids: tensor<1x?xi64>, %x: tensor<1x?x12xf16>, %kv: tensor<1x?x4xf16>) -> (tensor<1x?x8xf16>, tensor<1x?x12xf16>, tensor<1x?x12xf16>) {
  %t = arith.constant dense<0.5> : tensor<10x8xf16>
  // CHECK: squeeze.embedding {{.*}}s10.kernel = "s10_embedding_f16_10x8"
  %e = squeeze.embedding %ids, %t : (tensor<1x?xi64>, tensor<10x8xf16>) -> tensor<1x?x8xf16>
  // CHECK: squeeze.rotary {{.*}}s10.kernel = "s10_rotary_h3_d4"
  %r = squeeze.rotary %x {num_heads = 3 : i64, head_dim = 4 : i64, theta = 10000.0 : f64} : (tensor<1x?x12xf16>) -> tensor<1x?x12xf16>
  // CHECK: squeeze.attention {{.*}}s10.kernel = "s10_attend_d4_kv4_s0p5"
  %a = squeeze.attention %r, %kv, %kv {causal, head_dim = 4 : i64, num_heads = 3 : i64, num_kv_heads = 1 : i64, scale = 0.5 : f64} : (tensor<1x?x12xf16>, tensor<1x?x4xf16>, tensor<1x?x4xf16>) -> tensor<1x?x12xf16>
  return %e, %r, %a : tensor<1x?x8xf16>, tensor<1x?x12xf16>, tensor<1x?x12xf16>
}

// The kernels, one per distinct (ABI, shape, layout), with the signatures
// the bare-pointer lowering turns into the C ABI.
// CHECK-LABEL: module @s10_kernels
// With AVX2 (x86-64-v3, the default cpu) 2- and 3-bit codes become floats
// through one vpermps of a constant table: no mask, no int-to-float.
// CHECK: func.func @s10_gemv_kbit_k2_g8_f16_tbl_2x8(%{{.*}}: memref<128xi8>, %{{.*}}: memref<8xf32>, %{{.*}}: memref<2xf32>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-NOT: arith.sitofp {{.*}} : vector<8xi32>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.permps"(%{{.*}}, %{{.*}}) : (vector<8xf32>, vector<8xi32>) -> vector<8xf32>
// CHECK: func.func @s10_decode_kbit_k2_g8_f16_2x8(%{{.*}}: memref<128xi8>, %{{.*}}: memref<8xf32>, %{{.*}}: i64)
// NOAVX2: s10.kernel = "s10_gemv_kbit_k2_g8_f16_2x8"
// NOAVX2-LABEL: func.func @s10_gemv_kbit_k2_g8_f16_2x8(
// NOAVX2-NOT: llvm.call_intrinsic
// NOAVX2: arith.sitofp {{.*}} : vector<8xi32> to vector<8xf32>
// NOAVX2-NOT: llvm.call_intrinsic
// NOAVX2: func.func @s10_decode_kbit_k2_g8_f16_2x8(
// CHECK: func.func @s10_gemv_bitmap_k1_s4_g8_f16_n1_1x8(%{{.*}}: memref<320xi8>, %{{.*}}: memref<8xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64, %{{.*}}: i64)
// A bitmap GEMV builds its tables of partial sums of x (256 per chunk of
// eight inputs, x padded to 32, one sum per group) and runs its rows on them.
// CHECK: memref.alloca() : memref<1057xf32>
// CHECK: call @s10_gemvlut_prepare_in8_g8(
// CHECK: call @s10_gemvlut_bitmap_k1_s4_g8_f16_n1_1x8(
// CHECK: func.func @s10_gemvlut_prepare_in8_g8(%{{.*}}: memref<8xf32>, %{{.*}}: memref<1057xf32>)
// CHECK: func.func @s10_gemvlut_bitmap_k1_s4_g8_f16_n1_1x8(%{{.*}}: memref<320xi8>, %{{.*}}: memref<1057xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64, %{{.*}}: i64) attributes {no_inline, passthrough = {{.*}}}
// CHECK: func.func @s10_decode_bitmap_k1_s4_g8_f16_n1_1x8(%{{.*}}: memref<320xi8>, %{{.*}}: memref<8xf32>, %{{.*}}: i64)
// CHECK: func.func @s10_gemv_dense_f32_4x8(%{{.*}}: memref<32xf32>, %{{.*}}: memref<8xf32>, %{{.*}}: memref<4xf32>, %{{.*}}: i64, %{{.*}}: i64)
// CHECK: func.func @s10_gemv_dense_f16t_4x8(%{{.*}}: memref<32xi16>,
// CHECK: func.func @s10_rmsnorm_f16_8_eps1em05(%{{.*}}: memref<8xf32>, %{{.*}}: memref<8xi16>, %{{.*}}: memref<8xf32>)
// CHECK: func.func @s10_swiglu(%{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64)
// CHECK: memref.reinterpret_cast {{.*}} to memref<?xf32>
// CHECK: func.func @s10_add(
// CHECK: func.func @s10_embedding_f16_10x8(%{{.*}}: memref<80xi16>, %{{.*}}: memref<1xi32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64)
// CHECK: func.func @s10_rotary_h3_d4(%{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64)
// CHECK: func.func @s10_attend_d4_kv4_s0p5(%{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64)
// The GEMM blocks: (x, ldx, p, ldp, y, ldy, depth, accumulate, tail); per
// k one load per vector of P's row, a broadcast of x[i][k] per row and
// one vector.fma per accumulator; a tail kernel masks its last vector.
// CHECK: func.func @s10_gemm_1x1_v8(%{{.*}}: memref<1xf32>, %{{.*}}: i64, %{{.*}}: memref<1xf32>, %{{.*}}: i64, %{{.*}}: memref<1xf32>, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-LABEL: func.func @s10_gemm_2x2_v8_tail(
// CHECK: %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK: scf.if
// CHECK: vector.load
// CHECK: vector.maskedload {{.*}}, %[[MASK]]
// CHECK: scf.for
// CHECK-COUNT-1: vector.load
// CHECK-NEXT: arith.constant
// CHECK-NEXT: arith.addi
// CHECK-NEXT: vector.maskedload {{.*}}, %[[MASK]]
// CHECK-COUNT-2: vector.fma
// CHECK: vector.broadcast
// CHECK-COUNT-2: vector.fma
// CHECK-NEXT: scf.yield
// CHECK: vector.maskedstore {{.*}}, %[[MASK]]
// CHECK: func.func @s10_gemm_6x2_v8_tail(
// CHECK-NOT: func.func

// TWICE-COUNT-1: module @s10_kernels
// TWICE-COUNT-38: func.func @s10_
// TWICE-NOT: func.func @s10_
