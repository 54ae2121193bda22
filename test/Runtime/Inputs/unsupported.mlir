// A model with an operator the executor does not implement.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<*xf32> {
  %0 = onnx.node "NotAnOp"(%ids) {name = "mystery"} : (tensor<1x?xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
