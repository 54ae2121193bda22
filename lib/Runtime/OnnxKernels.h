//===- OnnxKernels.h - ONNX operator kernels --------------------*- C++ -*-===//
//
// Internal to the runtime. One kernel per ONNX operator type, looked up by
// name. A kernel reads the node's attributes through the context, may steal
// inputs that the executor moved to it (last use), and appends one tensor
// per node result (a null tensor for an omitted optional output).
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_RUNTIME_ONNXKERNELS_H
#define S10_LIB_RUNTIME_ONNXKERNELS_H

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Runtime/Executor.h"
#include "s10/Runtime/Tensor.h"
#include "s10/Runtime/ThreadPool.h"

#include "llvm/ADT/StringMap.h"

#include <optional>

namespace s10::runtime {

struct KernelContext {
  onnx::NodeOp op;
  FloatMode mode;
  ThreadPool &pool;

  int64_t attrInt(llvm::StringRef key, int64_t fallback) {
    return op.getIntAttr(key, fallback);
  }
  double attrFloat(llvm::StringRef key, double fallback) {
    return op.getFloatAttr(key, fallback);
  }
  bool hasAttr(llvm::StringRef key) { return bool(op.getOnnxAttr(key)); }
  /// An INTS attribute (also accepts a single INT).
  std::optional<llvm::SmallVector<int64_t, 8>> attrInts(llvm::StringRef key);
  std::optional<llvm::SmallVector<float, 8>> attrFloats(llvm::StringRef key);
  std::optional<std::string> attrString(llvm::StringRef key);
  /// A TENSOR attribute as a tensor (in the executor's float mode).
  llvm::Expected<std::optional<Tensor>> attrTensor(llvm::StringRef key);

  /// The dtype a float result of `t` has in this mode.
  DType floatType(DType t) const {
    return mode == FloatMode::F32 && isFloat(t) ? DType::F32 : t;
  }
  /// `t` adjusted to the float mode (f32 mode: every float becomes f32).
  Tensor normalize(Tensor t) const {
    if (!t.isNull() && mode == FloatMode::F32 && isFloat(t.dtype()) &&
        t.dtype() != DType::F32)
      return t.castTo(DType::F32);
    return t;
  }
};

using KernelFn = llvm::Error (*)(KernelContext &ctx,
                                 llvm::MutableArrayRef<Tensor> inputs,
                                 llvm::SmallVectorImpl<Tensor> &outputs);
using KernelTable = llvm::StringMap<KernelFn>;

/// Every supported operator (default ONNX domain).
const KernelTable &getKernelTable();

void registerElementwiseKernels(KernelTable &table);
void registerShapeKernels(KernelTable &table);
void registerReduceKernels(KernelTable &table);
void registerMathKernels(KernelTable &table);
void registerMiscKernels(KernelTable &table);

//===----------------------------------------------------------------------===//
// Helpers shared by kernel files
//===----------------------------------------------------------------------===//

/// Input `i`, or a null tensor when absent.
inline const Tensor &optionalInput(llvm::MutableArrayRef<Tensor> inputs,
                                   size_t i) {
  static const Tensor null;
  return i < inputs.size() ? inputs[i] : null;
}

/// Checks that inputs [0, n) are present.
llvm::Error requireInputs(llvm::MutableArrayRef<Tensor> inputs, size_t n);

/// Normalizes an axis into [0, rank), or an error.
llvm::Expected<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// Copies `in` permuted by `perm` (out dim i = in dim perm[i]).
Tensor transposeTensor(const Tensor &in, llvm::ArrayRef<int64_t> perm,
                       ThreadPool *pool);

/// f32 result of a tensor that may be f16/bf16 (exact mode) or f32.
inline Tensor asComputeF32(const Tensor &t) { return t.toF32(); }

/// Vectorizable exp for f32 (max relative error ~2e-7, exact 0 below
/// -87.3, +inf above 88.7).
void expInPlace(float *x, int64_t n);
/// Softmax of one row (max-subtracted), in place.
void softmaxRow(float *x, int64_t n);
/// log(sum(exp(x))) of a row, accumulated in double.
double logSumExpRow(const float *x, int64_t n);

} // namespace s10::runtime

#endif // S10_LIB_RUNTIME_ONNXKERNELS_H
