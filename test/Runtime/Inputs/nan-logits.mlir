// Logits that are all NaN: a NaN embedding table spread over the vocabulary.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4096xf32> {
  %table = arith.constant dense<0x7FC00000> : tensor<4096x1xf32>
  %ones = arith.constant dense<1.0> : tensor<1x4096xf32>
  %emb = onnx.node "Gather"(%table, %ids) attrs {axis = 0 : i64} {name = "embed"} : (tensor<4096x1xf32>, tensor<1x?xi64>) -> tensor<1x?x1xf32>
  %logits = onnx.node "MatMul"(%emb, %ones) {name = "spread"} : (tensor<1x?x1xf32>, tensor<1x4096xf32>) -> tensor<1x?x4096xf32>
  return %logits : tensor<1x?x4096xf32>
}
