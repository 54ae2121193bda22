// RUN: s10-opt %s -split-input-file -verify-diagnostics -onnx-specialize-shapes="dims=foo=3"

// expected-error @+2 {{no dynamic dimension named 'foo'}}
// expected-note @+1 {{known dimension names: batch, past, seq}}
func.func @unknown(%x: tensor<?x?xi64> {onnx.dim_params = ["batch", "seq"]})
    -> (tensor<?x?xi64> {onnx.dim_params = ["batch", "past"]}) {
  return %x : tensor<?x?xi64>
}

// -----

// expected-error @+2 {{no dynamic dimension named 'foo'}}
// expected-note @+1 {{the function records no dimension names ('onnx.dim_params'); bind dimensions by position with 'arg-dims'}}
func.func @no_names(%x: tensor<?x?xi64>) -> tensor<?x?xi64> {
  return %x : tensor<?x?xi64>
}
