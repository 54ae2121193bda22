//===- ShapeUtils.h - Shape arithmetic shared by the ONNX passes -*- C++
//-*-===//

#ifndef S10_LIB_DIALECT_ONNX_TRANSFORMS_SHAPEUTILS_H
#define S10_LIB_DIALECT_ONNX_TRANSFORMS_SHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace s10::onnx::shape {

using Shape = llvm::SmallVector<int64_t>;

/// Normalizes a possibly negative axis against `rank`.
inline std::optional<int64_t> normAxis(int64_t axis, int64_t rank) {
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return std::nullopt;
  return axis;
}

/// Numpy broadcasting; `?` dimensions are allowed. Returns std::nullopt for
/// incompatible static sizes.
inline std::optional<Shape> broadcast(llvm::ArrayRef<Shape> shapes) {
  size_t rank = 0;
  for (const Shape &s : shapes)
    rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t size = 1;
    bool dynamic = false;
    for (const Shape &s : shapes) {
      if (i + s.size() < rank)
        continue;
      int64_t d = s[i + s.size() - rank];
      if (mlir::ShapedType::isDynamic(d)) {
        dynamic = true;
        continue;
      }
      if (d == 1)
        continue;
      if (size != 1 && size != d)
        return std::nullopt;
      size = d;
    }
    // A `?` next to only 1s may be anything; next to n it must be 1 or n.
    out[i] = size == 1 && dynamic ? mlir::ShapedType::kDynamic : size;
  }
  return out;
}

} // namespace s10::onnx::shape

#endif // S10_LIB_DIALECT_ONNX_TRANSFORMS_SHAPEUTILS_H
