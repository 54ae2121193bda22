// RUN: s10-opt %s -split-input-file -verify-diagnostics

func.func @empty_type(%x: tensor<2xf32>) {
  // expected-error @+1 {{needs a non-empty op_type}}
  %0 = onnx.node ""(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @none_result_type() {
  // expected-error @+1 {{result #0 must be none type}}
  %0 = "onnx.none"() : () -> tensor<1xf32>
  return
}
