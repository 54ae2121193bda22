// RUN: s10-opt %s --split-input-file --squeeze-rotate --verify-diagnostics

// expected-error @+1 {{no squeeze.embedding in the module}}
module {
  func.func @main(%x: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
    return %x : tensor<1x?x4xf32>
  }
}

// -----

func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %h = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<8x4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{the residual stream feeds 'onnx.node'; only rms_norm and additions keep it rotation invariant}}
  %r = onnx.node "Relu"(%h) : (tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  return %r : tensor<1x?x4xf32>
}

// -----

func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %h = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<8x4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{the residual stream feeds 'func.return'}}
  return %h : tensor<1x?x4xf32>
}

// -----

func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %g = arith.constant dense<1.5> : tensor<4xf32>
  %h = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<8x4xf32>) -> tensor<1x?x4xf32>
  %n = squeeze.rms_norm %h, %g {epsilon = 1.0e-05 : f64} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{reads a normalized residual stream but is not a linear layer with constant weights}}
  %r = onnx.node "Relu"(%n) : (tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  return %r : tensor<1x?x4xf32>
}

// -----

func.func @main(%ids: tensor<1x?xi64>, %w: tensor<4x4xf32>) -> tensor<1x?x4xf32> {
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %g = arith.constant dense<1.5> : tensor<4xf32>
  %h = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<8x4xf32>) -> tensor<1x?x4xf32>
  %n = squeeze.rms_norm %h, %g {epsilon = 1.0e-05 : f64} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{not a linear layer with constant weights}}
  %y = squeeze.linear %n, %w {weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x4xf32>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}

// -----

func.func @main(%ids: tensor<1x?xi64>, %x: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %g = arith.constant dense<1.5> : tensor<4xf32>
  %w = arith.constant dense<0.25> : tensor<4x4xf32>
  %h = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<8x4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{this addition brings a value onto the residual stream that is not the sole use of a linear layer with constant weights}}
  %h1 = onnx.node "Add"(%h, %x) : (tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  %n = squeeze.rms_norm %h1, %g {epsilon = 1.0e-05 : f64} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %y = squeeze.linear %n, %w {role = #squeeze.role<block = -1, kind = lm_head>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x4xf32>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}

// -----

// The attention's result is read by something other than a linear layer.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = arith.constant dense<0.5> : tensor<8x4xf32>
  %g = arith.constant dense<1.5> : tensor<4xf32>
  %w = arith.constant dense<0.25> : tensor<4x4xf32>
  %h = squeeze.embedding %ids, %emb : (tensor<1x?xi64>, tensor<8x4xf32>) -> tensor<1x?x4xf32>
  %n = squeeze.rms_norm %h, %g {epsilon = 1.0e-05 : f64} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %q = squeeze.linear %n, %w {role = #squeeze.role<block = 0, kind = q>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x4xf32>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %v = squeeze.linear %n, %w {role = #squeeze.role<block = 0, kind = v>, weight_layout = #squeeze.weight_layout<in_out>} : (tensor<1x?x4xf32>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{the value heads can only be rotated when}}
  %a = squeeze.attention %q, %q, %v {causal, head_dim = 2 : i64, num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.7 : f64} : (tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  %r = onnx.node "Relu"(%a) : (tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  return %r : tensor<1x?x4xf32>
}

// -----

!kbit = !squeeze.qweight<2x4, #squeeze.scheme<bits = 2, group_size = 4, salient_bits = 0, salient_fraction = 0.0, mask = none, layout = unpacked>>
func.func @main(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{the model is already quantized; rotate the full-precision model before quantizing it}}
  %qk = squeeze.quantized_weight {
      codes = dense<[[0, 1, 2, 3], [1, 1, 1, 1]]> : tensor<2x4xi8>,
      scales = dense<[[0.5], [1.0]]> : tensor<2x1xf32>,
      offsets = dense<[[-1.0], [0.5]]> : tensor<2x1xf32>} : !kbit
  %y = squeeze.quantized_linear %x, %qk : (tensor<3x4xf32>, !kbit) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
