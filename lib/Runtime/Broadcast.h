//===- Broadcast.h - numpy-style broadcasting iteration ---------*- C++ -*-===//
//
// Internal to the runtime. A broadcast is planned once per kernel call:
// dimensions that are contiguous for every operand are collapsed, so most
// elementwise ops become one flat loop or a loop over rows of a contiguous
// innermost dimension, whose input strides are 0 or 1.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_RUNTIME_BROADCAST_H
#define S10_LIB_RUNTIME_BROADCAST_H

#include "s10/Runtime/Tensor.h"
#include "s10/Runtime/ThreadPool.h"

namespace s10::runtime {

/// The multidirectional broadcast of `shapes`, or an error naming them.
llvm::Expected<Shape> broadcastShapes(llvm::ArrayRef<Shape> shapes);

struct BroadcastPlan {
  static constexpr int kMaxInputs = 4;
  Shape outShape;
  /// Collapsed output dims (at least one).
  llvm::SmallVector<int64_t, 6> dims;
  /// Per input, per collapsed dim: element stride (0 when broadcast).
  llvm::SmallVector<int64_t, 6> strides[kMaxInputs];
  int numInputs = 0;
  int64_t numel() const { return shapeNumel(outShape); }
};

/// Plans broadcasting `inShapes` to `outShape` (which must be compatible).
BroadcastPlan planBroadcast(llvm::ArrayRef<Shape> inShapes,
                            llvm::ArrayRef<int64_t> outShape);

/// Calls `fn(outOffset, inOffsets, count, innerStrides)` over runs of the
/// innermost collapsed dimension, in parallel when the output is large.
void runBroadcast(
    const BroadcastPlan &plan, ThreadPool *pool, int64_t grain,
    llvm::function_ref<void(int64_t, const int64_t *, int64_t, const int64_t *)>
        fn);

/// Advances the row-major multi-index `idx` over `dims` by one element,
/// wrapping to all zeros after the last one.
inline void nextIndex(llvm::MutableArrayRef<int64_t> idx,
                      llvm::ArrayRef<int64_t> dims) {
  for (int64_t d = int64_t(idx.size()) - 1; d >= 0; --d) {
    if (++idx[d] < dims[d])
      return;
    idx[d] = 0;
  }
}

} // namespace s10::runtime

#endif // S10_LIB_RUNTIME_BROADCAST_H
