// One squeeze.weight whose path weight-paths.test substitutes for WEIGHT.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<2xf32> {
  %w = squeeze.weight "w" {storage = #squeeze.extern<"WEIGHT", offset = 0, length = 8>} : tensor<2xf32>
  return %w : tensor<2xf32>
}
