//===- OnnxKernels.cpp - Kernel table and shared kernel helpers -----------===//

#include "OnnxKernels.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace llvm;
using namespace s10::runtime;

const KernelTable &s10::runtime::getKernelTable() {
  static const KernelTable table = [] {
    KernelTable t;
    registerElementwiseKernels(t);
    registerShapeKernels(t);
    registerReduceKernels(t);
    registerMathKernels(t);
    registerMiscKernels(t);
    return t;
  }();
  return table;
}

Error s10::runtime::requireInputs(MutableArrayRef<Tensor> inputs, size_t n) {
  if (inputs.size() < n)
    return makeError("expects at least " + Twine(n) + " inputs, got " +
                     Twine(inputs.size()));
  for (size_t i = 0; i < n; ++i)
    if (inputs[i].isNull())
      return makeError("input " + Twine(i) + " is required");
  return Error::success();
}

Expected<int64_t> s10::runtime::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return makeError("axis " + Twine(axis) + " is out of range for rank " +
                     Twine(rank));
  return axis < 0 ? axis + rank : axis;
}

std::optional<SmallVector<int64_t, 8>> KernelContext::attrInts(StringRef key) {
  mlir::Attribute attr = op.getOnnxAttr(key);
  if (!attr)
    return std::nullopt;
  if (auto a = dyn_cast<mlir::DenseI64ArrayAttr>(attr))
    return SmallVector<int64_t, 8>(a.asArrayRef());
  if (auto a = dyn_cast<mlir::IntegerAttr>(attr))
    return SmallVector<int64_t, 8>{a.getInt()};
  if (auto a = dyn_cast<mlir::ArrayAttr>(attr)) {
    SmallVector<int64_t, 8> v;
    for (mlir::Attribute e : a)
      if (auto i = dyn_cast<mlir::IntegerAttr>(e))
        v.push_back(i.getInt());
    return v;
  }
  if (auto a = dyn_cast<mlir::DenseIntElementsAttr>(attr)) {
    SmallVector<int64_t, 8> v;
    for (const APInt &i : a)
      v.push_back(i.getSExtValue());
    return v;
  }
  return std::nullopt;
}

std::optional<SmallVector<float, 8>> KernelContext::attrFloats(StringRef key) {
  mlir::Attribute attr = op.getOnnxAttr(key);
  if (!attr)
    return std::nullopt;
  if (auto a = dyn_cast<mlir::DenseF32ArrayAttr>(attr))
    return SmallVector<float, 8>(a.asArrayRef());
  if (auto a = dyn_cast<mlir::FloatAttr>(attr))
    return SmallVector<float, 8>{float(a.getValueAsDouble())};
  if (auto a = dyn_cast<mlir::ArrayAttr>(attr)) {
    SmallVector<float, 8> v;
    for (mlir::Attribute e : a)
      if (auto f = dyn_cast<mlir::FloatAttr>(e))
        v.push_back(float(f.getValueAsDouble()));
    return v;
  }
  return std::nullopt;
}

std::optional<std::string> KernelContext::attrString(StringRef key) {
  if (auto s = dyn_cast_or_null<mlir::StringAttr>(op.getOnnxAttr(key)))
    return s.getValue().str();
  return std::nullopt;
}

Expected<std::optional<Tensor>> KernelContext::attrTensor(StringRef key) {
  auto attr = dyn_cast_or_null<mlir::ElementsAttr>(op.getOnnxAttr(key));
  if (!attr)
    return std::optional<Tensor>();
  auto t = tensorFromElementsAttr(attr);
  if (!t)
    return t.takeError();
  return std::optional<Tensor>(normalize(*t));
}
