//===- TensorProto.h - ONNX tensors and types to MLIR -----------*- C++ -*-===//
//
// Validation and conversion of onnx.TensorProto / onnx.TypeProto, shared by
// the model importer and readTensorProtoFile.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_TARGET_ONNX_TENSORPROTO_H
#define S10_LIB_TARGET_ONNX_TENSORPROTO_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>

namespace onnx {
class TensorProto;
class TypeProto;
} // namespace onnx

namespace s10::onnx_import {

/// The importer's element type for an ONNX TensorProto.DataType, or null if
/// it is not one s10 supports.
mlir::Type convertElementType(int32_t dataType, mlir::MLIRContext *ctx);

/// Lower-case ONNX name of a data type ("float", "complex64").
std::string dataTypeName(int32_t dataType);

/// Whether the tensor's data lives in an external file.
bool isExternal(const onnx::TensorProto &tensor);

struct TensorInfo {
  mlir::RankedTensorType type;
  uint64_t numElements = 0;
  /// Bytes of the data as ONNX stores it (bool: one byte per element).
  uint64_t byteSize = 0;
};

struct ExternalData {
  std::string location;
  uint64_t offset = 0;
  uint64_t length = 0;
  /// `location` resolved against the model's directory.
  std::string resolvedPath;
};

class TensorConverter {
public:
  explicit TensorConverter(mlir::MLIRContext *ctx) : ctx(ctx) {}

  /// Element type and static shape; rejects unsupported types, negative or
  /// overflowing dims.
  mlir::FailureOr<TensorInfo> getInfo(const onnx::TensorProto &tensor,
                                      mlir::Location loc,
                                      llvm::StringRef label);
  /// Checks that the data stored in the model matches the dims.
  mlir::LogicalResult checkInlineData(const onnx::TensorProto &tensor,
                                      const TensorInfo &info,
                                      mlir::Location loc,
                                      llvm::StringRef label);
  /// The data stored in the model as an attribute.
  mlir::FailureOr<mlir::DenseElementsAttr>
  toDenseElements(const onnx::TensorProto &tensor, const TensorInfo &info,
                  mlir::Location loc, llvm::StringRef label);
  /// Parses the external data keys and checks `length` against the dims.
  mlir::LogicalResult getExternalData(const onnx::TensorProto &tensor,
                                      const TensorInfo &info,
                                      mlir::Location loc, llvm::StringRef label,
                                      ExternalData &ext);
  /// Reads a (small) external tensor.
  mlir::FailureOr<mlir::DenseElementsAttr> readExternal(const ExternalData &ext,
                                                        const TensorInfo &info,
                                                        mlir::Location loc,
                                                        llvm::StringRef label);
  /// A value's type: a ranked or unranked tensor type, a null type when the
  /// element type is unknown, failure when unsupported.
  mlir::FailureOr<mlir::Type> convertType(const onnx::TypeProto *type,
                                          mlir::Location loc,
                                          llvm::StringRef what);

private:
  mlir::FailureOr<mlir::DenseElementsAttr> fromBytes(llvm::ArrayRef<char> bytes,
                                                     const TensorInfo &info);

  mlir::MLIRContext *ctx;
};

} // namespace s10::onnx_import

#endif // S10_LIB_TARGET_ONNX_TENSORPROTO_H
