// RUN: s10-opt %s --squeeze-generate-kernels="target=cuda dense-out-in=true" | FileCheck %s
// RUN: s10-opt %s --squeeze-generate-kernels="target=cuda dense-out-in=true fuse=false" | FileCheck %s --check-prefix=NOFUSE
// RUN: s10-opt %s --squeeze-generate-kernels="target=cuda dense-out-in=true gemm=false" | FileCheck %s --check-prefix=NOGEMM --implicit-check-not=s10.gemm_kernel --implicit-check-not=s10_gemm_

// target=cuda fuses residual adds and gate/up/SwiGLU into their GEMVs;
// each GEMV (plain or fused) gets its prefill GEMM twin (s10.gemm_kernel),
// with gemm=false none.
// NOGEMM: s10.kernel = "s10_gemv_dense_f16_64x64_add"

// CHECK-LABEL: func.func @block
func.func @block(%h: tensor<1x3x64xf32>, %n: tensor<1x3x64xf32>) -> (tensor<1x3x64xf32>, tensor<1x3x96xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x96xf32>) {
  %wo = arith.constant dense<0.5> : tensor<64x64xf16>
  %wg = arith.constant dense<0.25> : tensor<64x96xf16>
  %wu = arith.constant dense<0.75> : tensor<64x96xf32>
  // The o projection's only use is the residual add: no kernel of its own.
  // CHECK: %[[O:.*]] = squeeze.linear %{{.*}} {weight_layout = #squeeze.weight_layout<in_out>}
  // CHECK-NOT: s10.kernel
  // CHECK-SAME: -> tensor<1x3x64xf32>
  %o = squeeze.linear %n, %wo {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x64xf16>) -> tensor<1x3x64xf32>
  // CHECK: onnx.node "Add"(%{{.*}}, %[[O]]) {s10.fused_linear = 1 : i64, s10.gemm_kernel = "s10_gemm_dense_f16_64x64_add", s10.kernel = "s10_gemv_dense_f16_64x64_add"}
  %r = onnx.node "Add"(%h, %o) : (tensor<1x3x64xf32>, tensor<1x3x64xf32>) -> tensor<1x3x64xf32>
  // Gate and up (f16 and f32 weights) of one input, then SwiGLU: one kernel.
  // CHECK: squeeze.linear
  // CHECK-NOT: s10.kernel
  // CHECK-SAME: tensor<64x96xf16>
  %g = squeeze.linear %r, %wg {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x96xf16>) -> tensor<1x3x96xf32>
  %u = squeeze.linear %r, %wu {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x96xf32>) -> tensor<1x3x96xf32>
  // CHECK: squeeze.swiglu {{.*}} {s10.fused_linears, s10.gemm_kernel = "s10_gemm_dense_f16_96x64_swiglu_dense_f32_96x64", s10.kernel = "s10_gemv_dense_f16_96x64_swiglu_dense_f32_96x64"}
  %s = squeeze.swiglu %g, %u : (tensor<1x3x96xf32>, tensor<1x3x96xf32>) -> tensor<1x3x96xf32>
  // A linear whose result has another use keeps its kernel; the add stays
  // elementwise.
  // CHECK: %[[O2:.*]] = squeeze.linear {{.*}}s10.gemm_kernel = "s10_gemm_dense_f16_64x64", s10.kernel = "s10_gemv_dense_f16_64x64"
  %o2 = squeeze.linear %r, %wo {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x64xf16>) -> tensor<1x3x64xf32>
  // CHECK: onnx.node "Add"(%{{.*}}, %[[O2]]) {s10.kernel = "s10_add"}
  %r2 = onnx.node "Add"(%r, %o2) : (tensor<1x3x64xf32>, tensor<1x3x64xf32>) -> tensor<1x3x64xf32>
  // Gate and up of different inputs: three kernels.
  // CHECK: squeeze.linear {{.*}}s10.gemm_kernel = "s10_gemm_dense_f16_96x64", s10.kernel = "s10_gemv_dense_f16_96x64"
  // CHECK: squeeze.linear {{.*}}s10.gemm_kernel = "s10_gemm_dense_f32_96x64", s10.kernel = "s10_gemv_dense_f32_96x64"
  // CHECK: squeeze.swiglu {{.*}} {s10.kernel = "s10_swiglu"}
  %g2 = squeeze.linear %h, %wg {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x96xf16>) -> tensor<1x3x96xf32>
  %u2 = squeeze.linear %n, %wu {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x96xf32>) -> tensor<1x3x96xf32>
  %s2 = squeeze.swiglu %g2, %u2 : (tensor<1x3x96xf32>, tensor<1x3x96xf32>) -> tensor<1x3x96xf32>
  return %r, %s, %o2, %r2, %s2 : tensor<1x3x64xf32>, tensor<1x3x96xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x96xf32>
}

// An RMSNorm read only by GEMVs runs inside each of them; one with another
// user keeps its own kernel.
// CHECK-LABEL: func.func @normed
func.func @normed(%h: tensor<1x3x64xf32>) -> (tensor<1x3x64xf32>, tensor<1x3x96xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>) {
  %g1 = arith.constant dense<1.5> : tensor<64xf16>
  %wq = arith.constant dense<0.5> : tensor<64x64xf16>
  %wg = arith.constant dense<0.25> : tensor<64x96xf16>
  %wu = arith.constant dense<0.75> : tensor<64x96xf32>
  // CHECK: squeeze.rms_norm
  // CHECK-NOT: s10.kernel
  // CHECK-SAME: -> tensor<1x3x64xf32>
  %n = squeeze.rms_norm %h, %g1 {epsilon = 1.0e-5 : f64} : (tensor<1x3x64xf32>, tensor<64xf16>) -> tensor<1x3x64xf32>
  // CHECK: squeeze.linear {{.*}}s10.fused_norm, s10.gemm_kernel = "s10_gemm_dense_f16_64x64_rmsnorm_f16_eps1em05", s10.kernel = "s10_gemv_dense_f16_64x64_rmsnorm_f16_eps1em05"
  %q = squeeze.linear %n, %wq {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x64xf16>) -> tensor<1x3x64xf32>
  %g = squeeze.linear %n, %wg {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x96xf16>) -> tensor<1x3x96xf32>
  %u = squeeze.linear %n, %wu {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x96xf32>) -> tensor<1x3x96xf32>
  // CHECK: squeeze.swiglu {{.*}} {s10.fused_linears, s10.fused_norm, s10.gemm_kernel = "s10_gemm_dense_f16_96x64_swiglu_dense_f32_96x64_rmsnorm_f16_eps1em05", s10.kernel = "s10_gemv_dense_f16_96x64_swiglu_dense_f32_96x64_rmsnorm_f16_eps1em05"}
  %s = squeeze.swiglu %g, %u : (tensor<1x3x96xf32>, tensor<1x3x96xf32>) -> tensor<1x3x96xf32>
  // CHECK: squeeze.rms_norm {{.*}}s10.kernel = "s10_rmsnorm_f16_64_eps1em05"
  %n2 = squeeze.rms_norm %q, %g1 {epsilon = 1.0e-5 : f64} : (tensor<1x3x64xf32>, tensor<64xf16>) -> tensor<1x3x64xf32>
  // CHECK: squeeze.linear {{.*}}s10.gemm_kernel = "s10_gemm_dense_f16_64x64", s10.kernel = "s10_gemv_dense_f16_64x64",
  %q2 = squeeze.linear %n2, %wq {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x64xf16>) -> tensor<1x3x64xf32>
  return %q, %s, %n2, %q2 : tensor<1x3x64xf32>, tensor<1x3x96xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>
}

// Rotaries whose only reader is an attention run in its KV append; a
// rotary with another reader stays.
// CHECK-LABEL: func.func @attend
func.func @attend(%q: tensor<1x3x64xf32>, %k: tensor<1x3x32xf32>, %v: tensor<1x3x32xf32>) -> (tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>) {
  // CHECK: squeeze.rotary
  // CHECK-NOT: s10.kernel
  // CHECK-SAME: -> tensor<1x3x64xf32>
  %qr = squeeze.rotary %q {head_dim = 16 : i64, num_heads = 4 : i64, theta = 1.0e4 : f64} : (tensor<1x3x64xf32>) -> tensor<1x3x64xf32>
  %kr = squeeze.rotary %k {head_dim = 16 : i64, num_heads = 2 : i64, theta = 1.0e4 : f64} : (tensor<1x3x32xf32>) -> tensor<1x3x32xf32>
  // CHECK: squeeze.attention {{.*}}s10.fused_rotary, s10.kernel = "s10_attention_h4_kv2_d16_s0p25", s10.kv_append = "s10_rope_append_h4_kv2_d16"
  %a = squeeze.attention %qr, %kr, %v {causal, head_dim = 16 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : (tensor<1x3x64xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32>) -> tensor<1x3x64xf32>
  // CHECK: %[[QR2:.*]] = squeeze.rotary {{.*}}s10.kernel = "s10_rotary_h4_d16"
  %qr2 = squeeze.rotary %q {head_dim = 16 : i64, num_heads = 4 : i64, theta = 1.0e4 : f64} : (tensor<1x3x64xf32>) -> tensor<1x3x64xf32>
  %kr2 = squeeze.rotary %k {head_dim = 16 : i64, num_heads = 2 : i64, theta = 1.0e4 : f64} : (tensor<1x3x32xf32>) -> tensor<1x3x32xf32>
  // CHECK: squeeze.attention %[[QR2]]{{.*}}s10.kernel = "s10_attention_h4_kv2_d16_s0p25", s10.kv_append = "s10_kv_append_w32"
  %a2 = squeeze.attention %qr2, %kr2, %v {causal, head_dim = 16 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : (tensor<1x3x64xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32>) -> tensor<1x3x64xf32>
  return %a, %a2, %qr2 : tensor<1x3x64xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>
}

// An attention's q, k and v linears of one norm (through q's and k's
// rotaries) run as one launch, the q linear's; k and v get no kernel. A v
// of another input leaves q, k and v a GEMV each.
// CHECK-LABEL: func.func @qkv
func.func @qkv(%h: tensor<1x3x64xf32>, %x: tensor<1x3x64xf32>) -> (tensor<1x3x64xf32>, tensor<1x3x64xf32>) {
  %g1 = arith.constant dense<1.5> : tensor<64xf16>
  %wq = arith.constant dense<0.5> : tensor<64x64xf16>
  %wk = arith.constant dense<0.25> : tensor<64x32xf16>
  %wv = arith.constant dense<0.75> : tensor<64x32xf32>
  %n = squeeze.rms_norm %h, %g1 {epsilon = 1.0e-5 : f64} : (tensor<1x3x64xf32>, tensor<64xf16>) -> tensor<1x3x64xf32>
  // CHECK: squeeze.linear {{.*}}s10.fused_norm, s10.fused_qkv, s10.gemm_kernel = "s10_gemm_dense_f16_64x64_k_dense_f16_32x64_v_dense_f32_32x64_rmsnorm_f16_eps1em05", s10.kernel = "s10_gemv_dense_f16_64x64_k_dense_f16_32x64_v_dense_f32_32x64_rmsnorm_f16_eps1em05"
  // CHECK-NOT: s10.kernel
  // CHECK: squeeze.attention {{.*}}s10.fused_rotary
  %q = squeeze.linear %n, %wq {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x64xf16>) -> tensor<1x3x64xf32>
  %k = squeeze.linear %n, %wk {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x32xf16>) -> tensor<1x3x32xf32>
  %v = squeeze.linear %n, %wv {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x32xf32>) -> tensor<1x3x32xf32>
  %qr = squeeze.rotary %q {head_dim = 16 : i64, num_heads = 4 : i64, theta = 1.0e4 : f64} : (tensor<1x3x64xf32>) -> tensor<1x3x64xf32>
  %kr = squeeze.rotary %k {head_dim = 16 : i64, num_heads = 2 : i64, theta = 1.0e4 : f64} : (tensor<1x3x32xf32>) -> tensor<1x3x32xf32>
  %a = squeeze.attention %qr, %kr, %v {causal, head_dim = 16 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : (tensor<1x3x64xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32>) -> tensor<1x3x64xf32>
  // CHECK: squeeze.linear {{.*}}s10.fused_norm, s10.gemm_kernel = "s10_gemm_dense_f16_64x64_rmsnorm_f16_eps1em05", s10.kernel = "s10_gemv_dense_f16_64x64_rmsnorm_f16_eps1em05"
  // CHECK: squeeze.linear {{.*}}s10.fused_norm, s10.gemm_kernel = "s10_gemm_dense_f16_32x64_rmsnorm_f16_eps1em05", s10.kernel = "s10_gemv_dense_f16_32x64_rmsnorm_f16_eps1em05"
  // CHECK: squeeze.linear {{.*}}s10.gemm_kernel = "s10_gemm_dense_f32_32x64", s10.kernel = "s10_gemv_dense_f32_32x64"
  %q2 = squeeze.linear %n, %wq {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x64xf16>) -> tensor<1x3x64xf32>
  %k2 = squeeze.linear %n, %wk {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x32xf16>) -> tensor<1x3x32xf32>
  %v2 = squeeze.linear %x, %wv {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x3x64xf32>, tensor<64x32xf32>) -> tensor<1x3x32xf32>
  %qr2 = squeeze.rotary %q2 {head_dim = 16 : i64, num_heads = 4 : i64, theta = 1.0e4 : f64} : (tensor<1x3x64xf32>) -> tensor<1x3x64xf32>
  %kr2 = squeeze.rotary %k2 {head_dim = 16 : i64, num_heads = 2 : i64, theta = 1.0e4 : f64} : (tensor<1x3x32xf32>) -> tensor<1x3x32xf32>
  %a2 = squeeze.attention %qr2, %kr2, %v2 {causal, head_dim = 16 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : (tensor<1x3x64xf32>, tensor<1x3x32xf32>, tensor<1x3x32xf32>) -> tensor<1x3x64xf32>
  return %a, %a2 : tensor<1x3x64xf32>, tensor<1x3x64xf32>
}

// The fused kernels: (w, x, r, y, tokens) and (wg, wu, x, y, tokens), one
// warp per row; the SwiGLU kernel sums both rows over the warp.
// CHECK-LABEL: gpu.module @s10_kernels
// CHECK: gpu.func @s10_gemv_dense_f16_64x64_add(%{{.*}}: memref<4096xi16>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64) kernel attributes {known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 4 : i32}
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.load
// CHECK: arith.addf
// CHECK: memref.store
// CHECK: gpu.func @s10_gemv_dense_f16_96x64_swiglu_dense_f32_96x64(%{{.*}}: memref<6144xi16>, %{{.*}}: memref<6144xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64) kernel attributes {known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 4 : i32}
// CHECK-COUNT-10: gpu.shuffle  xor
// CHECK: arith.divf
// CHECK: gpu.func @s10_gemv_dense_f16_64x64(

// The norm inside a GEMV: (w, g, x, y, tokens); the sum of squares and
// the dot product in one pass, one more warp sum, the f64 root.
// CHECK: gpu.func @s10_gemv_dense_f16_64x64_rmsnorm_f16_eps1em05(%{{.*}}: memref<4096xi16>, %{{.*}}: memref<64xi16>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64)
// CHECK-COUNT-10: gpu.shuffle  xor
// CHECK: sqrt.rn.f64
// CHECK: gpu.func @s10_gemv_dense_f16_96x64_swiglu_dense_f32_96x64_rmsnorm_f16_eps1em05(%{{.*}}: memref<6144xi16>, %{{.*}}: memref<6144xf32>, %{{.*}}: memref<64xi16>,

// The rotary KV append: (q, k, v, cs, kv, tokens, &pos0, maxCtx).
// CHECK: gpu.func @s10_rope_append_h4_kv2_d16(%{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64, %{{.*}}: memref<1xi64>, %{{.*}}: i64) kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 2 : i32}

// q, k and v: (wq, wk, wv, g, x, yq, yk, yv, tokens); each warp's row
// in one of three branches, each with its warp sums and norm.
// CHECK: gpu.func @s10_gemv_dense_f16_64x64_k_dense_f16_32x64_v_dense_f32_32x64_rmsnorm_f16_eps1em05(%{{.*}}: memref<4096xi16>, %{{.*}}: memref<2048xi16>, %{{.*}}: memref<2048xf32>, %{{.*}}: memref<64xi16>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: i64)
// CHECK-COUNT-30: gpu.shuffle  xor
// CHECK: gpu.func @s10_gemv_dense_f16_32x64_rmsnorm_f16_eps1em05(

// NOFUSE-NOT: s10.fused
// NOFUSE: gpu.module @s10_kernels
// NOFUSE-NOT: x64_add(
// NOFUSE-NOT: _swiglu_
// NOFUSE-NOT: s10_rope_append

