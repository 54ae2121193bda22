// RUN: s10-opt %s -verify-diagnostics -onnx-fold-shapes | FileCheck %s

// An evaluation contradicting the declared type is reported, not folded.

// CHECK-LABEL: func.func @declared_mismatch
func.func @declared_mismatch() -> tensor<3xi64> {
  %c = arith.constant dense<[1, 2]> : tensor<2xi64>
  // CHECK: onnx.node "Identity"
  // expected-warning @+1 {{'Identity' node 'Identity' evaluates to a 'tensor<2xi64>' but is declared 'tensor<3xi64>'; not folded}}
  %0 = onnx.node "Identity"(%c) : (tensor<2xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}
