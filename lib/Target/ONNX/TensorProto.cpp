//===- TensorProto.cpp - ONNX tensors and types to MLIR -------------------===//

#include "TensorProto.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/onnx_pb.h"

#include <cstring>

using namespace mlir;
using namespace s10::onnx_import;

Type s10::onnx_import::convertElementType(int32_t dataType, MLIRContext *ctx) {
  switch (dataType) {
  case onnx::TensorProto::FLOAT:
    return Float32Type::get(ctx);
  case onnx::TensorProto::FLOAT16:
    return Float16Type::get(ctx);
  case onnx::TensorProto::BFLOAT16:
    return BFloat16Type::get(ctx);
  case onnx::TensorProto::DOUBLE:
    return Float64Type::get(ctx);
  case onnx::TensorProto::INT64:
    return IntegerType::get(ctx, 64);
  case onnx::TensorProto::INT32:
    return IntegerType::get(ctx, 32);
  case onnx::TensorProto::INT8:
    return IntegerType::get(ctx, 8);
  case onnx::TensorProto::UINT8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case onnx::TensorProto::BOOL:
    return IntegerType::get(ctx, 1);
  default:
    return {};
  }
}

std::string s10::onnx_import::dataTypeName(int32_t dataType) {
  if (!onnx::TensorProto::DataType_IsValid(dataType))
    return "#" + std::to_string(dataType);
  return llvm::StringRef(
             onnx::TensorProto::DataType_Name(
                 static_cast<onnx::TensorProto::DataType>(dataType)))
      .lower();
}

bool s10::onnx_import::isExternal(const onnx::TensorProto &tensor) {
  return tensor.data_location() == onnx::TensorProto::EXTERNAL;
}

static uint64_t elementBytes(int32_t dataType) {
  switch (dataType) {
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64:
    return 8;
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
    return 4;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
    return 2;
  default:
    return 1;
  }
}

static std::string formatDims(const onnx::TensorProto &tensor) {
  std::string s = "[";
  for (int i = 0; i < tensor.dims_size(); ++i)
    s += (i ? ", " : "") + std::to_string(tensor.dims(i));
  return s + "]";
}

/// Number of values the typed (non-raw) field for the data type holds.
static int64_t typedValueCount(const onnx::TensorProto &tensor) {
  switch (tensor.data_type()) {
  case onnx::TensorProto::FLOAT:
    return tensor.float_data_size();
  case onnx::TensorProto::DOUBLE:
    return tensor.double_data_size();
  case onnx::TensorProto::INT64:
    return tensor.int64_data_size();
  default:
    return tensor.int32_data_size();
  }
}

FailureOr<TensorInfo> TensorConverter::getInfo(const onnx::TensorProto &tensor,
                                               Location loc, StringRef label) {
  Type elt = convertElementType(tensor.data_type(), ctx);
  if (!elt)
    return emitError(loc) << label << " has unsupported element type "
                          << dataTypeName(tensor.data_type());
  TensorInfo info;
  uint64_t eltBytes = elementBytes(tensor.data_type());
  uint64_t count = 1;
  SmallVector<int64_t> shape;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0)
      return emitError(loc) << label << " has a negative dimension in dims "
                            << formatDims(tensor);
    // Keep the byte size within int64 so that every later product is safe.
    if (dim != 0 && count > uint64_t(INT64_MAX) / eltBytes / uint64_t(dim))
      return emitError(loc)
             << label << " is too large: dims " << formatDims(tensor);
    count *= uint64_t(dim);
    shape.push_back(dim);
  }
  info.type = RankedTensorType::get(shape, elt);
  info.numElements = count;
  info.byteSize = count * eltBytes;
  return info;
}

LogicalResult TensorConverter::checkInlineData(const onnx::TensorProto &tensor,
                                               const TensorInfo &info,
                                               Location loc, StringRef label) {
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != info.byteSize)
      return emitError(loc)
             << label << ": raw_data holds " << tensor.raw_data().size()
             << " bytes but dims " << formatDims(tensor) << " of "
             << dataTypeName(tensor.data_type()) << " need " << info.byteSize;
    return success();
  }
  int64_t count = typedValueCount(tensor);
  if (uint64_t(count) != info.numElements)
    return emitError(loc) << label << " holds " << count << " values but dims "
                          << formatDims(tensor) << " need " << info.numElements;
  return success();
}

FailureOr<DenseElementsAttr>
TensorConverter::fromBytes(ArrayRef<char> bytes, const TensorInfo &info) {
  if (info.type.getElementType().isInteger(1)) {
    SmallVector<bool> bits(bytes.size());
    for (auto [bit, byte] : llvm::zip(bits, bytes))
      bit = byte != 0;
    return DenseElementsAttr::get(info.type, ArrayRef<bool>(bits));
  }
  return DenseElementsAttr::getFromRawBuffer(info.type, bytes);
}

FailureOr<DenseElementsAttr>
TensorConverter::toDenseElements(const onnx::TensorProto &tensor,
                                 const TensorInfo &info, Location loc,
                                 StringRef label) {
  if (failed(checkInlineData(tensor, info, loc, label)))
    return failure();
  if (tensor.has_raw_data())
    return fromBytes(
        ArrayRef<char>(tensor.raw_data().data(), tensor.raw_data().size()),
        info);

  // An empty tensor has no typed data to copy (and memcpy no null source).
  if (info.byteSize == 0)
    return fromBytes(ArrayRef<char>(), info);
  // Typed fields: 32-bit slots hold the narrower types' bit patterns.
  std::vector<char> bytes(info.byteSize);
  switch (tensor.data_type()) {
  case onnx::TensorProto::FLOAT:
    std::memcpy(bytes.data(), tensor.float_data().data(), info.byteSize);
    break;
  case onnx::TensorProto::DOUBLE:
    std::memcpy(bytes.data(), tensor.double_data().data(), info.byteSize);
    break;
  case onnx::TensorProto::INT64:
    std::memcpy(bytes.data(), tensor.int64_data().data(), info.byteSize);
    break;
  case onnx::TensorProto::INT32:
    std::memcpy(bytes.data(), tensor.int32_data().data(), info.byteSize);
    break;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
    for (uint64_t i = 0; i < info.numElements; ++i) {
      uint16_t bits = static_cast<uint16_t>(tensor.int32_data(i));
      std::memcpy(bytes.data() + 2 * i, &bits, 2);
    }
    break;
  default:
    for (uint64_t i = 0; i < info.numElements; ++i)
      bytes[i] = static_cast<char>(tensor.int32_data(i));
    break;
  }
  return fromBytes(bytes, info);
}

LogicalResult TensorConverter::getExternalData(const onnx::TensorProto &tensor,
                                               const TensorInfo &info,
                                               Location loc, StringRef label,
                                               ExternalData &ext) {
  bool hasLength = false;
  llvm::StringSet<> seen;
  for (const onnx::StringStringEntryProto &entry : tensor.external_data()) {
    StringRef key = entry.key(), value = entry.value();
    // A repeated key is ambiguous (which offset is meant?): refuse it.
    if (!seen.insert(key).second)
      return emitError(loc) << label << ": external data key '" << key
                            << "' appears more than once";
    uint64_t *field = key == "offset"   ? &ext.offset
                      : key == "length" ? &ext.length
                                        : nullptr;
    if (key == "location")
      ext.location = entry.value();
    if (!field)
      continue;
    if (value.getAsInteger(10, *field))
      return emitError(loc) << label << ": external data " << key << " '"
                            << value << "' is not a number";
    hasLength |= key == "length";
  }
  if (ext.location.empty())
    return emitError(loc) << label
                          << ": external data without a 'location' key";
  // As ONNX's checker: external data lives beside the model, never elsewhere.
  StringRef location = ext.location;
  if (location.contains('\0'))
    return emitError(loc) << label
                          << ": external data location contains a NUL byte";
  if (llvm::sys::path::is_absolute(location))
    return emitError(loc) << label << ": external data location '" << location
                          << "' is absolute; it must be relative to the "
                             "model's directory";
  for (StringRef part : llvm::make_range(llvm::sys::path::begin(location),
                                         llvm::sys::path::end(location)))
    if (part == "..")
      return emitError(loc) << label << ": external data location '" << location
                            << "' has a '..' component; it must stay inside "
                               "the model's directory";
  if (!hasLength)
    ext.length = info.byteSize;
  else if (ext.length != info.byteSize)
    return emitError(loc) << label << ": external data length " << ext.length
                          << " disagrees with dims " << formatDims(tensor)
                          << " of " << dataTypeName(tensor.data_type()) << " ("
                          << info.byteSize << " bytes)";
  if (ext.offset + ext.length < ext.offset)
    return emitError(loc) << label << ": external data range overflows";
  return success();
}

FailureOr<DenseElementsAttr>
TensorConverter::readExternal(const ExternalData &ext, const TensorInfo &info,
                              Location loc, StringRef label) {
  if (ext.length == 0)
    return fromBytes({}, info);
  auto buffer = llvm::MemoryBuffer::getFileSlice(ext.resolvedPath, ext.length,
                                                 ext.offset);
  if (!buffer)
    return emitError(loc) << label << ": cannot read external data file '"
                          << ext.resolvedPath
                          << "': " << buffer.getError().message();
  StringRef data = (*buffer)->getBuffer();
  if (data.size() != ext.length)
    return emitError(loc) << label << ": missing or short external data file '"
                          << ext.resolvedPath << "'";
  return fromBytes(ArrayRef<char>(data.data(), data.size()), info);
}

FailureOr<Type> TensorConverter::convertType(const onnx::TypeProto *type,
                                             Location loc, StringRef what) {
  if (!type || type->value_case() == onnx::TypeProto::VALUE_NOT_SET)
    return Type();
  if (type->value_case() != onnx::TypeProto::kTensorType)
    return emitError(loc) << what
                          << " has a non-tensor type (sequence, map, optional "
                             "or sparse), which is not supported";
  const onnx::TypeProto::Tensor &tensor = type->tensor_type();
  if (tensor.elem_type() == onnx::TensorProto::UNDEFINED)
    return Type();
  Type elt = convertElementType(tensor.elem_type(), ctx);
  if (!elt)
    return emitError(loc) << what << " has unsupported element type "
                          << dataTypeName(tensor.elem_type());
  if (!tensor.has_shape())
    return Type(UnrankedTensorType::get(elt));
  SmallVector<int64_t> shape;
  for (const onnx::TensorShapeProto::Dimension &dim : tensor.shape().dim()) {
    if (!dim.has_dim_value()) {
      shape.push_back(ShapedType::kDynamic);
      continue;
    }
    if (dim.dim_value() < 0)
      return emitError(loc)
             << what << " has a negative dimension " << dim.dim_value();
    shape.push_back(dim.dim_value());
  }
  return Type(RankedTensorType::get(shape, elt));
}
