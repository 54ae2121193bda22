// A one-block LLaMA with f32 weights (hidden 6 = 2 x 3, so both the
// Hadamard and the odd factor of the rotation are exercised; o stored
// [out, in]). The rotated model computes the same logits.
// RUN: s10-opt %s --squeeze-rotate | FileCheck %s
// RUN: s10-opt %s --squeeze-rotate -o %t.rot.mlir
// RUN: s10-opt %s --squeeze-rotate="heads=false seed=3" -o %t.rot3.mlir
// RUN: s10-run %s --ids 1,5,2,7,3 --max-new-tokens 0 --dump-logits %t.ref.logits --quiet
// RUN: s10-run %t.rot.mlir --ids 1,5,2,7,3 --max-new-tokens 0 --dump-logits %t.rot.logits --quiet
// RUN: s10-run %t.rot3.mlir --ids 1,5,2,7,3 --max-new-tokens 0 --dump-logits %t.rot3.logits --quiet
// RUN: %python %S/../../../Runtime/Inputs/compare_logits.py %t.rot.logits %t.ref.logits --vocab 8 --tol 1e-5 | FileCheck %s --check-prefix=SAME
// RUN: %python %S/../../../Runtime/Inputs/compare_logits.py %t.rot3.logits %t.ref.logits --vocab 8 --tol 1e-5 | FileCheck %s --check-prefix=SAME
// SAME: PASS
// The weights themselves changed.
// RUN: not %python %S/../../../Runtime/Inputs/compare_logits.py %t.rot.logits %t.ref.logits --vocab 8 --tol 0 | FileCheck %s --check-prefix=DIFF
// DIFF: FAIL

// CHECK-LABEL: func.func @main
// CHECK: %[[EMB:.*]] = arith.constant dense_resource<rot.embed> : tensor<8x6xf32>
// CHECK: squeeze.embedding %{{.*}}, %[[EMB]]
// CHECK: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<6xf32>
// CHECK: squeeze.rms_norm %{{.*}}, %[[ONES]]
// CHECK: arith.constant dense_resource<rot.b0.q> : tensor<6x6xf32>
// CHECK: arith.constant dense_resource<rot.b0.k> : tensor<6x3xf32>
// CHECK: arith.constant dense_resource<rot.b0.v> : tensor<6x3xf32>
// CHECK: arith.constant dense_resource<rot.b0.o> : tensor<6x6xf32>
// CHECK: arith.constant dense<1.000000e+00> : tensor<6xf32>
// CHECK: arith.constant dense_resource<rot.b0.gate> : tensor<6x8xf32>
// CHECK: arith.constant dense_resource<rot.b0.up> : tensor<6x8xf32>
// CHECK: arith.constant dense_resource<rot.b0.down> : tensor<8x6xf32>
// CHECK: arith.constant dense<1.000000e+00> : tensor<6xf32>
// CHECK: arith.constant dense_resource<rot.lm_head> : tensor<6x8xf32>
// CHECK-NOT: dense<[
// CHECK: dialect_resources
// CHECK: rot.embed: "0x
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x8xf32> {
  %emb = arith.constant dense<[[-0.80, -1.32, -0.25, 0.42, 1.14, 0.11], [-0.55, -0.78, 0.75, 1.63, 0.27, -1.23], [-0.96, 1.60, 0.20, -1.73, -0.08, -1.16], [-0.63, -0.49, -0.71, 0.55, -0.06, -0.59], [0.41, 0.83, -1.64, -0.26, -0.98, -0.17], [-1.29, 0.02, -0.04, -0.30, -1.05, -0.40], [-1.09, -1.36, 0.22, -1.11, 1.17, 0.72], [-2.00, 0.27, -1.10, 0.03, 0.04, -1.99]]> : tensor<8x6xf32>
  %g0 = arith.constant dense<[0.51, 1.43, 0.59, 1.34, 0.87, 1.45]> : tensor<6xf32>
  %wq = arith.constant dense<[[-0.17, -0.42, 0.72, 0.28, 1.22, 0.32], [0.42, 0.42, -0.30, -0.04, 0.68, -0.20], [0.09, -0.01, 0.30, -0.18, -0.08, 0.12], [0.05, -0.43, 0.45, -0.65, -0.60, -0.64], [0.48, -0.18, -0.49, -0.57, 0.21, -0.53], [-0.64, 0.31, -0.60, -0.16, -0.00, -0.22]]> : tensor<6x6xf32>
  %wk = arith.constant dense<[[-0.03, 0.67, -0.26], [-0.63, -0.92, -0.10], [-0.18, 0.13, -0.23], [-0.24, -0.36, -0.26], [0.08, -0.19, 0.05], [0.95, 0.24, -0.79]]> : tensor<6x3xf32>
  %wv = arith.constant dense<[[0.87, 0.17, -0.47], [0.45, 0.01, -0.31], [-0.32, -0.50, 0.02], [0.53, -0.16, 0.21], [0.94, -0.61, 0.13], [-0.15, -0.53, -0.51]]> : tensor<6x3xf32>
  %wo = arith.constant dense<[[-0.01, 0.22, -0.27, 0.03, 0.36, 0.15], [0.43, 0.23, 0.24, 0.91, 0.31, 0.06], [0.35, -0.46, -0.17, 0.40, 0.32, 0.77], [0.01, -0.73, 0.97, 0.55, -0.53, 0.69], [0.02, -0.91, -0.21, -0.25, 0.80, -0.40], [-0.13, -0.14, -0.19, -0.46, 0.11, 0.54]]> : tensor<6x6xf32>
  %g1 = arith.constant dense<[0.99, 1.10, 1.23, 1.02, 1.06, 0.99]> : tensor<6xf32>
  %wg = arith.constant dense<[[-0.84, 0.98, 0.46, -0.49, 0.45, 0.67, -1.19, -0.27], [-0.19, 0.32, -0.06, -0.12, -0.03, 0.93, 1.08, -0.26], [-0.46, 1.35, -0.49, -0.29, 0.02, 0.24, 0.51, 0.20], [-0.44, 0.25, 0.12, 0.94, -0.01, -0.67, -0.52, 0.73], [-0.27, -1.05, -0.29, 0.00, 0.59, -0.51, 0.33, 0.40], [-0.35, -0.09, 0.88, 0.86, 0.43, 0.17, 0.57, -0.07]]> : tensor<6x8xf32>
  %wu = arith.constant dense<[[-0.05, -0.43, 0.00, -0.04, 1.39, -0.10, 0.64, 0.66], [-0.09, 0.58, -1.09, 0.05, 0.43, -1.20, -0.58, 0.53], [-0.13, -0.55, -0.19, -0.27, 0.36, 0.23, -0.14, -0.33], [-0.03, 0.66, 0.17, 0.32, -0.08, -0.65, -0.36, 0.33], [0.05, -0.45, -0.81, 0.06, -0.17, -0.18, -0.16, 0.14], [0.15, 0.48, 0.46, 0.67, 0.40, -0.17, -0.03, 0.25]]> : tensor<6x8xf32>
  %wd = arith.constant dense<[[-0.16, 0.27, 0.58, -0.40, -0.89, 0.60], [0.01, 0.35, -0.67, 0.87, 0.37, -0.06], [-0.18, 0.06, -0.08, -0.14, -0.56, 0.63], [-0.02, 0.04, 0.05, -1.18, 0.26, -0.16], [-0.14, 0.03, -0.49, 0.42, -0.35, -0.45], [-0.43, 0.08, 0.37, -0.30, -0.76, 0.53], [-0.53, 0.60, -0.03, -0.35, -0.32, 0.23], [0.44, -0.10, 0.47, 1.04, -0.10, -0.57]]> : tensor<8x6xf32>
  %gf = arith.constant dense<[0.70, 1.47, 0.87, 1.07, 1.07, 0.78]> : tensor<6xf32>
  %lm = arith.constant dense<[[-1.31, -0.66, 1.01, 0.52, 0.26, 0.23, 0.89, 0.27], [0.04, -0.62, -0.04, -0.37, -0.35, -0.36, -0.02, -0.16], [0.44, -0.66, -0.08, 0.93, 0.02, 0.60, 0.57, 0.66], [0.37, -0.69, -0.13, -0.19, -0.77, -0.23, -0.63, -0.83], [0.11, -0.02, -0.34, -0.48, -0.27, -0.20, -0.20, -0.03], [-0.22, 0.19, 0.26, 0.18, -0.33, -0.31, 0.22, -0.10]]> : tensor<6x8xf32>
  %h0 = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<8x6xf32>) -> tensor<1x?x6xf32>
  %n0 = squeeze.rms_norm %h0, %g0 {epsilon = 1.0e-05 : f64} : (tensor<1x?x6xf32>, tensor<6xf32>) -> tensor<1x?x6xf32>
  %q = squeeze.linear %n0, %wq {role = #squeeze.role<block = 0, kind = q>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x6xf32>, tensor<6x6xf32>) -> tensor<1x?x6xf32>
  %k = squeeze.linear %n0, %wk {role = #squeeze.role<block = 0, kind = k>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x6xf32>, tensor<6x3xf32>) -> tensor<1x?x3xf32>
  %v = squeeze.linear %n0, %wv {role = #squeeze.role<block = 0, kind = v>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x6xf32>, tensor<6x3xf32>) -> tensor<1x?x3xf32>
  %a = squeeze.attention %q, %k, %v {causal, head_dim = 3 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 0.57735 : f64} : (tensor<1x?x6xf32>, tensor<1x?x3xf32>, tensor<1x?x3xf32>) -> tensor<1x?x6xf32>
  %o = squeeze.linear %a, %wo {role = #squeeze.role<block = 0, kind = o>, weight_layout = #squeeze.weight_layout<out_in>} : (tensor<1x?x6xf32>, tensor<6x6xf32>) -> tensor<1x?x6xf32>
  %h1 = onnx.node "Add"(%h0, %o) : (tensor<1x?x6xf32>, tensor<1x?x6xf32>) -> tensor<1x?x6xf32>
  %n1 = squeeze.rms_norm %h1, %g1 {epsilon = 1.0e-05 : f64} : (tensor<1x?x6xf32>, tensor<6xf32>) -> tensor<1x?x6xf32>
  %gate = squeeze.linear %n1, %wg {role = #squeeze.role<block = 0, kind = gate>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x6xf32>, tensor<6x8xf32>) -> tensor<1x?x8xf32>
  %up = squeeze.linear %n1, %wu {role = #squeeze.role<block = 0, kind = up>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x6xf32>, tensor<6x8xf32>) -> tensor<1x?x8xf32>
  %s = squeeze.swiglu %gate, %up : (tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x?x8xf32>
  %d = squeeze.linear %s, %wd {role = #squeeze.role<block = 0, kind = down>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x8xf32>, tensor<8x6xf32>) -> tensor<1x?x6xf32>
  %h2 = onnx.node "Add"(%h1, %d) : (tensor<1x?x6xf32>, tensor<1x?x6xf32>) -> tensor<1x?x6xf32>
  %nf = squeeze.rms_norm %h2, %gf {epsilon = 1.0e-05 : f64} : (tensor<1x?x6xf32>, tensor<6xf32>) -> tensor<1x?x6xf32>
  %logits = squeeze.linear %nf, %lm {role = #squeeze.role<block = -1, kind = lm_head>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x6xf32>, tensor<6x8xf32>) -> tensor<1x?x8xf32>
  return %logits : tensor<1x?x8xf32>
}
