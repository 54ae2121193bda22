//===- Tensor.h - Host tensors for the s10 CPU executor ---------*- C++ -*-===//
//
// A dense, row-major host tensor with shared, reference-counted storage. The
// storage is either owned (heap) or borrowed (for example an mmapped weight
// file kept alive by an opaque owner). f16 and bf16 are stored natively as
// 16-bit patterns; the conversions below round to nearest even exactly.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_TENSOR_H
#define S10_RUNTIME_TENSOR_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class Type;
class MLIRContext;
class ElementsAttr;
} // namespace mlir

namespace s10::runtime {

enum class DType : uint8_t {
  F32,
  F64,
  F16,
  BF16,
  I64,
  I32,
  I16,
  I8,
  U64,
  U32,
  U16,
  U8,
  Bool,
};

/// Size of one element in bytes.
size_t dtypeSize(DType type);
/// "f32", "i64", ...
llvm::StringRef dtypeName(DType type);
bool isFloat(DType type);
bool isSignedInt(DType type);
bool isUnsignedInt(DType type);
inline bool isInteger(DType type) {
  return isSignedInt(type) || isUnsignedInt(type);
}

/// The dtype of an MLIR element type (f32, i64, i1, ui8, ...), or an error.
llvm::Expected<DType> dtypeFromMlirType(mlir::Type type);
/// The MLIR element type of `type` (signless for signed integers).
mlir::Type dtypeToMlirType(DType type, mlir::MLIRContext *ctx);
/// The dtype of an ONNX TensorProto data type code, or an error.
llvm::Expected<DType> dtypeFromOnnx(int64_t onnxType);

//===----------------------------------------------------------------------===//
// Half / bfloat16 conversions (exact, round to nearest even)
//===----------------------------------------------------------------------===//

float halfToFloat(uint16_t h);
/// Rounds once from double, so f64 -> f16 is correctly rounded too.
uint16_t doubleToHalf(double d);
inline uint16_t floatToHalf(float f) { return doubleToHalf(f); }
inline float bf16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
uint16_t doubleToBF16(double d);
inline uint16_t floatToBF16(float f) { return doubleToBF16(f); }

/// Bulk conversions used on hot paths.
void halfToFloatN(const uint16_t *src, float *dst, size_t n);
void bf16ToFloatN(const uint16_t *src, float *dst, size_t n);
void floatToHalfN(const float *src, uint16_t *dst, size_t n);
void floatToBF16N(const float *src, uint16_t *dst, size_t n);

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

using Shape = llvm::SmallVector<int64_t, 6>;

/// Number of elements of a shape (1 for a scalar).
int64_t shapeNumel(llvm::ArrayRef<int64_t> shape);
/// "[1, 11, 4096]"
std::string shapeStr(llvm::ArrayRef<int64_t> shape);

class Tensor {
public:
  /// A null tensor: stands for an omitted optional input.
  Tensor() = default;

  /// Uninitialized storage.
  static Tensor empty(DType type, llvm::ArrayRef<int64_t> shape);
  /// Zero-filled storage.
  static Tensor zeros(DType type, llvm::ArrayRef<int64_t> shape);
  /// A read-only view of `data`, kept valid by `owner`.
  static Tensor borrowed(DType type, llvm::ArrayRef<int64_t> shape,
                         const void *data, std::shared_ptr<const void> owner);
  /// Copies `values` into a new tensor. T must match `type`'s storage type
  /// (uint16_t for f16/bf16, bool/uint8_t for Bool).
  template <typename T>
  static Tensor fromData(DType type, llvm::ArrayRef<int64_t> shape,
                         llvm::ArrayRef<T> values) {
    Tensor t = empty(type, shape);
    assert(values.size() * sizeof(T) == t.byteSize() && "size mismatch");
    if (t.byteSize()) // an empty tensor may have no storage
      std::memcpy(t.rawMutable(), values.data(), t.byteSize());
    return t;
  }
  static Tensor f32(llvm::ArrayRef<int64_t> shape,
                    llvm::ArrayRef<float> values) {
    return fromData(DType::F32, shape, values);
  }
  static Tensor i64(llvm::ArrayRef<int64_t> shape,
                    llvm::ArrayRef<int64_t> values) {
    return fromData(DType::I64, shape, values);
  }
  template <typename T> static Tensor scalar(DType type, T value) {
    return fromData<T>(type, {}, llvm::ArrayRef<T>(value));
  }

  bool isNull() const { return !storage; }
  explicit operator bool() const { return !isNull(); }

  DType dtype() const { return type; }
  llvm::ArrayRef<int64_t> shape() const { return dims; }
  int64_t rank() const { return dims.size(); }
  /// Dimension `i`, negative counts from the end.
  int64_t dim(int64_t i) const { return dims[i < 0 ? i + rank() : i]; }
  int64_t numel() const { return count; }
  size_t byteSize() const { return size_t(count) * dtypeSize(type); }

  const void *raw() const { return data; }
  /// Writable storage; the tensor must not be a read-only borrowed view.
  void *rawMutable() {
    assert(!readOnly && "writing a read-only tensor");
    return data;
  }
  template <typename T> const T *data_as() const {
    return static_cast<const T *>(data);
  }
  template <typename T> T *mutable_as() {
    return static_cast<T *>(rawMutable());
  }
  /// f32 data (asserts the dtype).
  const float *f32() const {
    assert(type == DType::F32);
    return data_as<float>();
  }
  float *f32Mutable() {
    assert(type == DType::F32);
    return mutable_as<float>();
  }

  /// True when this is the only reference to writable storage, so a kernel
  /// may overwrite it in place.
  bool isUniqueWritable() const {
    return storage && !readOnly && storage.use_count() == 1;
  }
  bool isReadOnly() const { return readOnly; }

  /// Same storage, new shape (element counts must agree).
  Tensor reshaped(llvm::ArrayRef<int64_t> newShape) const;
  /// A deep, writable copy.
  Tensor clone() const;
  /// Element `i` converted to double / int64 (any dtype).
  double getDouble(int64_t i) const;
  int64_t getInt(int64_t i) const;
  /// All elements converted to int64 (for shape-like inputs).
  llvm::SmallVector<int64_t, 8> toInt64Vector() const;
  /// All elements converted to float.
  std::vector<float> toFloatVector() const;
  /// Conversion with ONNX Cast semantics (floats round to nearest even,
  /// float -> int truncates toward zero, -> bool is `!= 0`).
  Tensor castTo(DType to) const;
  /// This tensor as f32 (shares storage when already f32).
  Tensor toF32() const {
    return type == DType::F32 ? *this : castTo(DType::F32);
  }

  /// "f32[1, 11, 4096]"
  std::string describe() const;

private:
  DType type = DType::F32;
  Shape dims;
  int64_t count = 0;
  void *data = nullptr;
  bool readOnly = false;
  std::shared_ptr<const void> storage;
};

/// Builds a tensor from an ElementsAttr: DenseElementsAttr,
/// DenseResourceElementsAttr or any other ElementsAttr implementation.
/// Dense resources are borrowed without a copy when their blob is suitably
/// aligned; the attribute's context must outlive the tensor.
llvm::Expected<Tensor> tensorFromElementsAttr(mlir::ElementsAttr attr);

/// An llvm::StringError with the given message.
inline llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

} // namespace s10::runtime

#endif // S10_RUNTIME_TENSOR_H
