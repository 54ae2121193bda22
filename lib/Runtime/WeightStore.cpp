//===- WeightStore.cpp - External weight storage --------------------------===//

#include "s10/Runtime/WeightStore.h"

#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"
#include "s10/Quant/Matrix.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace llvm;
using namespace s10::runtime;

WeightStore::WeightStore(std::string baseDir) : baseDir(std::move(baseDir)) {}
WeightStore::~WeightStore() = default;

std::string WeightStore::baseDirFor(mlir::ModuleOp module,
                                    StringRef modulePath) {
  StringRef fileDir = sys::path::parent_path(modulePath);
  if (module)
    if (auto dir =
            module->getAttrOfType<mlir::StringAttr>("squeeze.weights_dir")) {
      // A relative directory is taken relative to the module's file.
      if (sys::path::is_absolute(dir.getValue()) || fileDir.empty())
        return dir.getValue().str();
      SmallString<256> full(fileDir);
      sys::path::append(full, dir.getValue());
      return std::string(full);
    }
  return fileDir.str();
}

std::string WeightStore::resolvePath(StringRef path) const {
  if (sys::path::is_absolute(path) || baseDir.empty())
    return path.str();
  SmallString<256> full(baseDir);
  sys::path::append(full, path);
  return std::string(full);
}

Error WeightStore::checkModelPath(StringRef path) {
  if (path.contains('\0'))
    return makeError("weight path contains a NUL byte");
  if (sys::path::is_absolute(path))
    return makeError("weight path '" + path +
                     "' is absolute; a model may only reference files in its "
                     "weights directory");
  for (StringRef part :
       make_range(sys::path::begin(path), sys::path::end(path)))
    if (part == "..")
      return makeError("weight path '" + path +
                       "' has a '..' component; a model may only reference "
                       "files in its weights directory");
  return Error::success();
}

Expected<ArrayRef<uint8_t>>
WeightStore::getBytes(StringRef path, uint64_t offset, uint64_t length) {
  std::string full = resolvePath(path);
  std::shared_ptr<MemoryBuffer> buffer;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = files.find(full);
    if (it != files.end()) {
      buffer = it->second;
    } else {
      // Devices, FIFOs and directories would be read without end or block.
      sys::fs::file_status status;
      if (std::error_code ec = sys::fs::status(full, status))
        return makeError("cannot open weight file '" + full +
                         "': " + ec.message());
      if (!sys::fs::is_regular_file(status))
        return makeError("weight file '" + full + "' is not a regular file");
      // Not null-terminated, not volatile: large files get mmapped.
      auto bufOrErr = MemoryBuffer::getFile(full, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
      if (!bufOrErr)
        return makeError("cannot open weight file '" + full +
                         "': " + bufOrErr.getError().message());
      buffer = std::shared_ptr<MemoryBuffer>(std::move(*bufOrErr));
      files[full] = buffer;
    }
  }
  if (offset > buffer->getBufferSize() ||
      length > buffer->getBufferSize() - offset)
    return makeError("weight range [" + Twine(offset) + ", " +
                     Twine(offset + length) + ") is outside '" + full + "' (" +
                     Twine(buffer->getBufferSize()) + " bytes)");
  return ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart()) + offset,
      length);
}

void WeightStore::doneWith(StringRef path, ArrayRef<uint8_t> bytes) {
  if (caching)
    return;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = files.find(resolvePath(path));
  if (it != files.end() &&
      it->second->getBufferKind() == MemoryBuffer::MemoryBuffer_MMap)
    quant::releasePages(bytes.data(), bytes.size());
}

Expected<Tensor> WeightStore::load(squeeze::ExternalStorageAttr storage,
                                   mlir::RankedTensorType type,
                                   bool upcastToF32) {
  Expected<DType> dt = dtypeFromMlirType(type.getElementType());
  if (!dt)
    return dt.takeError();
  if (!type.hasStaticShape())
    return makeError("weight type must have a static shape");
  SmallVector<int64_t> shape(type.getShape());
  int64_t n = shapeNumel(shape);
  if (*dt == DType::Bool)
    return makeError("bool weights are not supported");
  if (storage.getLength() != uint64_t(n) * dtypeSize(*dt))
    return makeError("weight storage holds " + Twine(storage.getLength()) +
                     " bytes, the type needs " +
                     Twine(uint64_t(n) * dtypeSize(*dt)));
  bool convert = upcastToF32 && isFloat(*dt) && *dt != DType::F32;
  Key key{resolvePath(storage.getPath()), storage.getOffset(),
          storage.getLength(), int(*dt), convert};
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end())
      return it->second.reshaped(shape);
  }
  auto bytes =
      getBytes(storage.getPath(), storage.getOffset(), storage.getLength());
  if (!bytes)
    return bytes.takeError();
  std::shared_ptr<MemoryBuffer> owner;
  {
    std::lock_guard<std::mutex> lock(mutex);
    owner = files[std::get<0>(key)];
  }
  Tensor view;
  bool aligned =
      reinterpret_cast<uintptr_t>(bytes->data()) % dtypeSize(*dt) == 0;
  if (aligned) {
    view = Tensor::borrowed(*dt, shape, bytes->data(), owner);
  } else {
    view = Tensor::empty(*dt, shape);
    if (!bytes->empty())
      std::memcpy(view.rawMutable(), bytes->data(), bytes->size());
  }
  if (!convert && aligned)
    return view; // a view costs nothing: no need to cache it
  Tensor result = convert ? view.castTo(DType::F32) : view;
  if (!caching) {
    if (aligned && convert &&
        owner->getBufferKind() == MemoryBuffer::MemoryBuffer_MMap)
      quant::releasePages(bytes->data(), bytes->size());
    return result;
  }
  std::lock_guard<std::mutex> lock(mutex);
  cache.emplace(key, result);
  return result;
}

Expected<Tensor> WeightStore::load(squeeze::WeightOp op, bool upcastToF32) {
  // The path comes from the model: it must not reach outside its directory.
  // Callers name the op in their messages.
  if (Error e = checkModelPath(op.getStorage().getPath()))
    return std::move(e);
  auto type = cast<mlir::RankedTensorType>(op.getResult().getType());
  return load(op.getStorage(), type, upcastToF32);
}

size_t WeightStore::cachedBytes() const {
  std::lock_guard<std::mutex> lock(mutex);
  size_t total = 0;
  for (auto &entry : cache)
    total += entry.second.byteSize();
  return total;
}
