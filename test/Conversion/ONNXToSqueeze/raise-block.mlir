// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze{remarks=false}))' | FileCheck %s
// RUN: s10-opt %s --pass-pipeline='builtin.module(func.func(raise-onnx-to-squeeze))' 2>&1 | FileCheck %s --check-prefix=COUNT

// One decoder block written the way PyTorch's exporter spells it: hidden 8,
// 2 query heads and 1 KV head of dim 4, SwiGLU with 12 channels, vocab 10.

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[IDS:.*]]: tensor<1x?xi64>)
// CHECK: %[[E:.*]] = squeeze.embedding %[[IDS]], %{{.*}} : (tensor<1x?xi64>, tensor<10x8xf16>) -> tensor<1x?x8xf16>
// CHECK: %[[N0:.*]] = squeeze.rms_norm %[[E]], %{{.*}} {epsilon = 1.000000e-05 : f64}
// CHECK: %[[Q:.*]] = squeeze.linear %[[N0]], %{{.*}} {role = #squeeze.role<block = 0, kind = q>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x8xf16>, tensor<8x8xf16>) -> tensor<1x?x8xf16>
// CHECK: %[[K:.*]] = squeeze.linear %[[N0]], %{{.*}} {role = #squeeze.role<block = 0, kind = k>, {{.*}}} : (tensor<1x?x8xf16>, tensor<8x4xf16>) -> tensor<1x?x4xf16>
// CHECK: %[[V:.*]] = squeeze.linear %[[N0]], %{{.*}} {role = #squeeze.role<block = 0, kind = v>, {{.*}}} : (tensor<1x?x8xf16>, tensor<8x4xf16>) -> tensor<1x?x4xf16>
// CHECK-DAG: %[[QR:.*]] = squeeze.rotary %[[Q]] {head_dim = 4 : i64, num_heads = 2 : i64, theta = 1.000000e+04 : f64}
// CHECK-DAG: %[[KR:.*]] = squeeze.rotary %[[K]] {head_dim = 4 : i64, num_heads = 1 : i64, theta = 1.000000e+04 : f64}
// CHECK: %[[A:.*]] = squeeze.attention %[[QR]], %[[KR]], %[[V]] {causal, head_dim = 4 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f64}
// CHECK: %[[O:.*]] = squeeze.linear %[[A]], %{{.*}} {role = #squeeze.role<block = 0, kind = o>
// CHECK: %[[R:.*]] = onnx.node "Add"(%[[E]], %[[O]])
// CHECK: %[[N1:.*]] = squeeze.rms_norm %[[R]]
// CHECK: %[[G:.*]] = squeeze.linear %[[N1]], %{{.*}} {role = #squeeze.role<block = 0, kind = gate>
// CHECK: %[[U:.*]] = squeeze.linear %[[N1]], %{{.*}} {role = #squeeze.role<block = 0, kind = up>
// CHECK: %[[S:.*]] = squeeze.swiglu %[[G]], %[[U]]
// CHECK: squeeze.linear %[[S]], %{{.*}} {role = #squeeze.role<block = 0, kind = down>
// CHECK: squeeze.linear %{{.*}}, %{{.*}} {role = #squeeze.role<block = -1, kind = lm_head>, {{.*}}} : (tensor<1x?x8xf16>, tensor<8x10xf16>) -> tensor<1x?x10xf16>
// The exporter's shape, mask and rotary-table arithmetic is gone.
// CHECK-NOT: "Softmax"
// CHECK-NOT: "Cos"
// CHECK-NOT: "LessOrEqual"
// CHECK-NOT: "MatMul"

// Nothing is left for a remark, and everything is raised once.
// COUNT-NOT: remark
// COUNT: remark: raised 8 linears, 1 attention, 3 RMSNorms, 2 rotaries, 1 SwiGLU, 1 embedding; 2 nodes left: 2 Add (residual)
// COUNT-NOT: remark
// COUNT-COUNT-1: squeeze.embedding
// COUNT-COUNT-1: squeeze.rms_norm
// COUNT-COUNT-3: squeeze.linear
// COUNT-COUNT-2: squeeze.rotary
// COUNT-COUNT-1: squeeze.attention
// COUNT-COUNT-1: squeeze.linear
// COUNT-COUNT-1: squeeze.rms_norm
// COUNT-COUNT-2: squeeze.linear
// COUNT-COUNT-1: squeeze.swiglu
// COUNT-COUNT-1: squeeze.linear
// COUNT-COUNT-1: squeeze.rms_norm
// COUNT-COUNT-1: squeeze.linear
// COUNT-NOT: = squeeze.

func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x10xf16> {
  %emb_w = arith.constant dense<0.5> : tensor<10x8xf16>
  %ln0_w = arith.constant dense<1.1> : tensor<8xf16>
  %ln1_w = arith.constant dense<1.2> : tensor<8xf16>
  %lnf_w = arith.constant dense<1.3> : tensor<8xf16>
  %wq = arith.constant dense<0.11> : tensor<8x8xf16>
  %wk = arith.constant dense<0.12> : tensor<8x4xf16>
  %wv = arith.constant dense<0.13> : tensor<8x4xf16>
  %wo = arith.constant dense<0.14> : tensor<8x8xf16>
  %wg = arith.constant dense<0.15> : tensor<8x12xf16>
  %wu = arith.constant dense<0.16> : tensor<8x12xf16>
  %wd = arith.constant dense<0.17> : tensor<12x8xf16>
  %wlm = arith.constant dense<0.18> : tensor<8x10xf16>
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %m1 = arith.constant dense<[-1]> : tensor<1xi64>
  %c0 = arith.constant dense<[0]> : tensor<1xi64>
  %c1 = arith.constant dense<[1]> : tensor<1xi64>
  %c2 = arith.constant dense<[2]> : tensor<1xi64>
  %c3 = arith.constant dense<[3]> : tensor<1xi64>
  %big = arith.constant dense<[9223372036854775807]> : tensor<1xi64>
  %s0 = arith.constant dense<0> : tensor<i64>
  %s1 = arith.constant dense<1> : tensor<i64>
  %inv_freq = arith.constant dense<[[[1.0], [0.01]]]> : tensor<1x2x1xf32>
  %scale = arith.constant dense<0.5> : tensor<f16>
  %neg = arith.constant dense<-65504.0> : tensor<f16>
  %zero = arith.constant dense<0.0> : tensor<f16>
  %shape_q = arith.constant dense<[1, -1, 2, 4]> : tensor<4xi64>
  %shape_kv = arith.constant dense<[1, -1, 1, 4]> : tensor<4xi64>
  %shape_rep = arith.constant dense<[1, 2, -1, 4]> : tensor<4xi64>
  %shape_out = arith.constant dense<[1, -1, 8]> : tensor<3xi64>

  // Embedding.
  %e = onnx.node "Gather"(%emb_w, %ids) attrs {axis = 0 : i64} : (tensor<10x8xf16>, tensor<1x?xi64>) -> tensor<1x?x8xf16>

  // Positions, rotary tables and the causal mask.
  %shp = onnx.node "Shape"(%ids) attrs {start = 1 : i64, end = 2 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %seq = onnx.node "Squeeze"(%shp) : (tensor<1xi64>) -> tensor<i64>
  %pos = onnx.node "Range"(%s0, %seq, %s1) : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %pos_u = onnx.node "Unsqueeze"(%pos, %c0) : (tensor<?xi64>, tensor<1xi64>) -> tensor<1x?xi64>
  %pos_u2 = onnx.node "Unsqueeze"(%pos_u, %c1) : (tensor<1x?xi64>, tensor<1xi64>) -> tensor<1x1x?xi64>
  %pos_f = onnx.node "Cast"(%pos_u2) attrs {to = 1 : i64} : (tensor<1x1x?xi64>) -> tensor<1x1x?xf32>
  %freqs = onnx.node "MatMul"(%inv_freq, %pos_f) : (tensor<1x2x1xf32>, tensor<1x1x?xf32>) -> tensor<1x2x?xf32>
  %freqs_t = onnx.node "Transpose"(%freqs) attrs {perm = array<i64: 0, 2, 1>} : (tensor<1x2x?xf32>) -> tensor<1x?x2xf32>
  %emb = onnx.node "Concat"(%freqs_t, %freqs_t) attrs {axis = -1 : i64} : (tensor<1x?x2xf32>, tensor<1x?x2xf32>) -> tensor<1x?x4xf32>
  %cos32 = onnx.node "Cos"(%emb) : (tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  %sin32 = onnx.node "Sin"(%emb) : (tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  %cos16 = onnx.node "Cast"(%cos32) attrs {to = 10 : i64} : (tensor<1x?x4xf32>) -> tensor<1x?x4xf16>
  %sin16 = onnx.node "Cast"(%sin32) attrs {to = 10 : i64} : (tensor<1x?x4xf32>) -> tensor<1x?x4xf16>
  %cos = onnx.node "Unsqueeze"(%cos16, %c1) : (tensor<1x?x4xf16>, tensor<1xi64>) -> tensor<1x1x?x4xf16>
  %sin = onnx.node "Unsqueeze"(%sin16, %c1) : (tensor<1x?x4xf16>, tensor<1xi64>) -> tensor<1x1x?x4xf16>
  %row = onnx.node "Unsqueeze"(%pos, %m1) : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %allowed = onnx.node "LessOrEqual"(%pos, %row) : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %mask = onnx.node "Where"(%allowed, %zero, %neg) : (tensor<?x?xi1>, tensor<f16>, tensor<f16>) -> tensor<?x?xf16>

  // input_layernorm in f32.
  %x32 = onnx.node "Cast"(%e) attrs {to = 1 : i64} : (tensor<1x?x8xf16>) -> tensor<1x?x8xf32>
  %sq = onnx.node "Pow"(%x32, %two) : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %mean = onnx.node "ReduceMean"(%sq, %m1) attrs {keepdims = 1 : i64} : (tensor<1x?x8xf32>, tensor<1xi64>) -> tensor<1x?x1xf32>
  %var = onnx.node "Add"(%mean, %eps) : (tensor<1x?x1xf32>, tensor<f32>) -> tensor<1x?x1xf32>
  %sd = onnx.node "Sqrt"(%var) : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %rs = onnx.node "Reciprocal"(%sd) : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %nx = onnx.node "Mul"(%x32, %rs) : (tensor<1x?x8xf32>, tensor<1x?x1xf32>) -> tensor<1x?x8xf32>
  %nx16 = onnx.node "Cast"(%nx) attrs {to = 10 : i64} : (tensor<1x?x8xf32>) -> tensor<1x?x8xf16>
  %h = onnx.node "Mul"(%ln0_w, %nx16) : (tensor<8xf16>, tensor<1x?x8xf16>) -> tensor<1x?x8xf16>

  // Attention.
  %q = onnx.node "MatMul"(%h, %wq) : (tensor<1x?x8xf16>, tensor<8x8xf16>) -> tensor<1x?x8xf16>
  %q4 = onnx.node "Reshape"(%q, %shape_q) attrs {allowzero = 1 : i64} : (tensor<1x?x8xf16>, tensor<4xi64>) -> tensor<1x?x2x4xf16>
  %qt = onnx.node "Transpose"(%q4) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x2x4xf16>) -> tensor<1x2x?x4xf16>
  %k = onnx.node "MatMul"(%h, %wk) : (tensor<1x?x8xf16>, tensor<8x4xf16>) -> tensor<1x?x4xf16>
  %k4 = onnx.node "Reshape"(%k, %shape_kv) attrs {allowzero = 1 : i64} : (tensor<1x?x4xf16>, tensor<4xi64>) -> tensor<1x?x1x4xf16>
  %kt = onnx.node "Transpose"(%k4) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x1x4xf16>) -> tensor<1x1x?x4xf16>
  %v = onnx.node "MatMul"(%h, %wv) : (tensor<1x?x8xf16>, tensor<8x4xf16>) -> tensor<1x?x4xf16>
  %v4 = onnx.node "Reshape"(%v, %shape_kv) attrs {allowzero = 1 : i64} : (tensor<1x?x4xf16>, tensor<4xi64>) -> tensor<1x?x1x4xf16>
  %vt = onnx.node "Transpose"(%v4) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x1x4xf16>) -> tensor<1x1x?x4xf16>

  %qc = onnx.node "Mul"(%qt, %cos) : (tensor<1x2x?x4xf16>, tensor<1x1x?x4xf16>) -> tensor<1x2x?x4xf16>
  %q_lo = onnx.node "Slice"(%qt, %c0, %c2, %c3, %c1) : (tensor<1x2x?x4xf16>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x?x2xf16>
  %q_hi = onnx.node "Slice"(%qt, %c2, %big, %c3, %c1) : (tensor<1x2x?x4xf16>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x?x2xf16>
  %q_nhi = onnx.node "Neg"(%q_hi) : (tensor<1x2x?x2xf16>) -> tensor<1x2x?x2xf16>
  %q_rot = onnx.node "Concat"(%q_nhi, %q_lo) attrs {axis = -1 : i64} : (tensor<1x2x?x2xf16>, tensor<1x2x?x2xf16>) -> tensor<1x2x?x4xf16>
  %qs = onnx.node "Mul"(%q_rot, %sin) : (tensor<1x2x?x4xf16>, tensor<1x1x?x4xf16>) -> tensor<1x2x?x4xf16>
  %qr = onnx.node "Add"(%qc, %qs) : (tensor<1x2x?x4xf16>, tensor<1x2x?x4xf16>) -> tensor<1x2x?x4xf16>

  %kc = onnx.node "Mul"(%kt, %cos) : (tensor<1x1x?x4xf16>, tensor<1x1x?x4xf16>) -> tensor<1x1x?x4xf16>
  %k_lo = onnx.node "Slice"(%kt, %c0, %c2, %c3, %c1) : (tensor<1x1x?x4xf16>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x1x?x2xf16>
  %k_hi = onnx.node "Slice"(%kt, %c2, %big, %c3, %c1) : (tensor<1x1x?x4xf16>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x1x?x2xf16>
  %k_nhi = onnx.node "Neg"(%k_hi) : (tensor<1x1x?x2xf16>) -> tensor<1x1x?x2xf16>
  %k_rot = onnx.node "Concat"(%k_nhi, %k_lo) attrs {axis = -1 : i64} : (tensor<1x1x?x2xf16>, tensor<1x1x?x2xf16>) -> tensor<1x1x?x4xf16>
  %ks = onnx.node "Mul"(%k_rot, %sin) : (tensor<1x1x?x4xf16>, tensor<1x1x?x4xf16>) -> tensor<1x1x?x4xf16>
  %kr = onnx.node "Add"(%kc, %ks) : (tensor<1x1x?x4xf16>, tensor<1x1x?x4xf16>) -> tensor<1x1x?x4xf16>

  %rep_shape = onnx.node "Concat"(%c1, %c1, %c2, %shp, %c3) attrs {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<5xi64>
  %ku = onnx.node "Unsqueeze"(%kr, %c2) : (tensor<1x1x?x4xf16>, tensor<1xi64>) -> tensor<1x1x1x?x4xf16>
  %ke = onnx.node "Expand"(%ku, %rep_shape) : (tensor<1x1x1x?x4xf16>, tensor<5xi64>) -> tensor<1x1x2x?x4xf16>
  %kx = onnx.node "Reshape"(%ke, %shape_rep) attrs {allowzero = 1 : i64} : (tensor<1x1x2x?x4xf16>, tensor<4xi64>) -> tensor<1x2x?x4xf16>
  %vu = onnx.node "Unsqueeze"(%vt, %c2) : (tensor<1x1x?x4xf16>, tensor<1xi64>) -> tensor<1x1x1x?x4xf16>
  %ve = onnx.node "Expand"(%vu, %rep_shape) : (tensor<1x1x1x?x4xf16>, tensor<5xi64>) -> tensor<1x1x2x?x4xf16>
  %vx = onnx.node "Reshape"(%ve, %shape_rep) attrs {allowzero = 1 : i64} : (tensor<1x1x2x?x4xf16>, tensor<4xi64>) -> tensor<1x2x?x4xf16>

  %kT = onnx.node "Transpose"(%kx) attrs {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x?x4xf16>) -> tensor<1x2x4x?xf16>
  %sc = onnx.node "MatMul"(%qr, %kT) : (tensor<1x2x?x4xf16>, tensor<1x2x4x?xf16>) -> tensor<1x2x?x?xf16>
  %scs = onnx.node "Mul"(%sc, %scale) : (tensor<1x2x?x?xf16>, tensor<f16>) -> tensor<1x2x?x?xf16>
  %scm = onnx.node "Add"(%scs, %mask) : (tensor<1x2x?x?xf16>, tensor<?x?xf16>) -> tensor<1x2x?x?xf16>
  %p = onnx.node "Softmax"(%scm) attrs {axis = -1 : i64} : (tensor<1x2x?x?xf16>) -> tensor<1x2x?x?xf16>
  %pv = onnx.node "MatMul"(%p, %vx) : (tensor<1x2x?x?xf16>, tensor<1x2x?x4xf16>) -> tensor<1x2x?x4xf16>
  %pvt = onnx.node "Transpose"(%pv) attrs {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x?x4xf16>) -> tensor<1x?x2x4xf16>
  %att = onnx.node "Reshape"(%pvt, %shape_out) attrs {allowzero = 1 : i64} : (tensor<1x?x2x4xf16>, tensor<3xi64>) -> tensor<1x?x8xf16>
  %o = onnx.node "MatMul"(%att, %wo) : (tensor<1x?x8xf16>, tensor<8x8xf16>) -> tensor<1x?x8xf16>
  %r1 = onnx.node "Add"(%e, %o) : (tensor<1x?x8xf16>, tensor<1x?x8xf16>) -> tensor<1x?x8xf16>

  // post_attention_layernorm and the MLP.
  %y32 = onnx.node "Cast"(%r1) attrs {to = 1 : i64} : (tensor<1x?x8xf16>) -> tensor<1x?x8xf32>
  %ysq = onnx.node "Pow"(%y32, %two) : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %ymean = onnx.node "ReduceMean"(%ysq, %m1) attrs {keepdims = 1 : i64} : (tensor<1x?x8xf32>, tensor<1xi64>) -> tensor<1x?x1xf32>
  %yvar = onnx.node "Add"(%ymean, %eps) : (tensor<1x?x1xf32>, tensor<f32>) -> tensor<1x?x1xf32>
  %ysd = onnx.node "Sqrt"(%yvar) : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %yrs = onnx.node "Reciprocal"(%ysd) : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %ny = onnx.node "Mul"(%y32, %yrs) : (tensor<1x?x8xf32>, tensor<1x?x1xf32>) -> tensor<1x?x8xf32>
  %ny16 = onnx.node "Cast"(%ny) attrs {to = 10 : i64} : (tensor<1x?x8xf32>) -> tensor<1x?x8xf16>
  %h2 = onnx.node "Mul"(%ln1_w, %ny16) : (tensor<8xf16>, tensor<1x?x8xf16>) -> tensor<1x?x8xf16>
  %g = onnx.node "MatMul"(%h2, %wg) : (tensor<1x?x8xf16>, tensor<8x12xf16>) -> tensor<1x?x12xf16>
  %gs = onnx.node "Sigmoid"(%g) : (tensor<1x?x12xf16>) -> tensor<1x?x12xf16>
  %silu = onnx.node "Mul"(%g, %gs) : (tensor<1x?x12xf16>, tensor<1x?x12xf16>) -> tensor<1x?x12xf16>
  %u = onnx.node "MatMul"(%h2, %wu) : (tensor<1x?x8xf16>, tensor<8x12xf16>) -> tensor<1x?x12xf16>
  %gu = onnx.node "Mul"(%silu, %u) : (tensor<1x?x12xf16>, tensor<1x?x12xf16>) -> tensor<1x?x12xf16>
  %d = onnx.node "MatMul"(%gu, %wd) : (tensor<1x?x12xf16>, tensor<12x8xf16>) -> tensor<1x?x8xf16>
  %r2 = onnx.node "Add"(%r1, %d) : (tensor<1x?x8xf16>, tensor<1x?x8xf16>) -> tensor<1x?x8xf16>

  // Final norm and lm_head.
  %z32 = onnx.node "Cast"(%r2) attrs {to = 1 : i64} : (tensor<1x?x8xf16>) -> tensor<1x?x8xf32>
  %zsq = onnx.node "Pow"(%z32, %two) : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %zmean = onnx.node "ReduceMean"(%zsq, %m1) attrs {keepdims = 1 : i64} : (tensor<1x?x8xf32>, tensor<1xi64>) -> tensor<1x?x1xf32>
  %zvar = onnx.node "Add"(%zmean, %eps) : (tensor<1x?x1xf32>, tensor<f32>) -> tensor<1x?x1xf32>
  %zsd = onnx.node "Sqrt"(%zvar) : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %zrs = onnx.node "Reciprocal"(%zsd) : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %nz = onnx.node "Mul"(%z32, %zrs) : (tensor<1x?x8xf32>, tensor<1x?x1xf32>) -> tensor<1x?x8xf32>
  %nz16 = onnx.node "Cast"(%nz) attrs {to = 10 : i64} : (tensor<1x?x8xf32>) -> tensor<1x?x8xf16>
  %hf = onnx.node "Mul"(%lnf_w, %nz16) : (tensor<8xf16>, tensor<1x?x8xf16>) -> tensor<1x?x8xf16>
  %logits = onnx.node "MatMul"(%hf, %wlm) : (tensor<1x?x8xf16>, tensor<8x10xf16>) -> tensor<1x?x10xf16>
  return %logits : tensor<1x?x10xf16>
}
