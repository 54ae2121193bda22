//===- ShapeRules.h - ONNX shape rules shared by folder and executor -*- C++
//-*-===//
//
// Plain C++. The rules that decide an ONNX op's output extent, in one place
// for the shape specializer, the constant folder and the interpreter.
//
//===----------------------------------------------------------------------===//

#ifndef S10_DIALECT_ONNX_SHAPERULES_H
#define S10_DIALECT_ONNX_SHAPERULES_H

#include <algorithm>
#include <cstdint>

namespace s10::onnx {

/// What ONNX Slice selects along one dimension: the first index and how
/// many elements, stepping by `step`.
struct SliceRange {
  int64_t first = 0;
  int64_t length = 0;
};

/// Slice of a dimension of size `dim` >= 0 by (start, end, step), step != 0:
/// negative start and end count from the end, then both are clamped to
/// [0, dim] (step > 0) or [-1, dim - 1] (step < 0). Exact for every int64
/// input (no overflow for huge starts, ends or steps).
inline SliceRange sliceRange(int64_t dim, int64_t start, int64_t end,
                             int64_t step) {
  SliceRange r;
  if (dim <= 0 || step == 0)
    return r;
  if (start < 0)
    start += dim; // no overflow: dim > 0
  if (end < 0)
    end += dim;
  uint64_t magnitude = step > 0 ? uint64_t(step) : 0 - uint64_t(step);
  uint64_t span = 0;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    span = end > start ? uint64_t(end - start) : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    span = start > end ? uint64_t(start - end) : 0;
  }
  r.first = start;
  r.length = int64_t(span / magnitude + (span % magnitude != 0));
  return r;
}

} // namespace s10::onnx

#endif // S10_DIALECT_ONNX_SHAPERULES_H
