//===- WeightStore.h - External weight storage ------------------*- C++ -*-===//
//
// Serves the tensors that `squeeze.weight` ops reference: every external file
// is mapped once, tensors are views into the mapping, and f16/bf16 weights
// are upcast to f32 on first request and cached, so a model costs one copy of
// its weights in memory.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_WEIGHTSTORE_H
#define S10_RUNTIME_WEIGHTSTORE_H

#include "s10/Runtime/Tensor.h"

#include "llvm/ADT/StringMap.h"

#include <map>
#include <mutex>
#include <tuple>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mlir {
class ModuleOp;
class RankedTensorType;
} // namespace mlir

namespace s10::squeeze {
class WeightOp;
class ExternalStorageAttr;
} // namespace s10::squeeze

namespace s10::runtime {

class WeightStore {
public:
  /// `baseDir` resolves relative storage paths ("" = current directory).
  explicit WeightStore(std::string baseDir = "");
  ~WeightStore();

  /// The directory relative weight paths of `module` resolve against: its
  /// `squeeze.weights_dir` attribute when present (itself relative to the
  /// module's file when relative), else the directory of `modulePath` (the
  /// file the module was read from), else "" (the current directory).
  static std::string baseDirFor(mlir::ModuleOp module,
                                llvm::StringRef modulePath);

  const std::string &getBaseDir() const { return baseDir; }
  std::string resolvePath(llvm::StringRef path) const;

  /// Fails unless `path`, taken from a model's `squeeze.weight` op, stays
  /// inside the weights directory: it must be relative, without a ".."
  /// component or a NUL byte (ONNX's rule for external data locations).
  static llvm::Error checkModelPath(llvm::StringRef path);

  /// `length` bytes at `offset` of `path`; the file is mapped on first use.
  /// Any path is accepted (the quantization passes reference their own side
  /// files by absolute path); it must name a regular file.
  llvm::Expected<llvm::ArrayRef<uint8_t>>
  getBytes(llvm::StringRef path, uint64_t offset, uint64_t length);
  /// With caching off: drops the mapped pages of `bytes` (from getBytes on
  /// `path`, already copied by the caller) from resident memory.
  void doneWith(llvm::StringRef path, llvm::ArrayRef<uint8_t> bytes);

  /// The tensor stored at `storage` with the shape and element type of
  /// `type`. With `upcastToF32`, f16/bf16/f64 data is converted to f32 once
  /// and cached; otherwise the result is a read-only view when the data is
  /// aligned (a cached copy when not).
  llvm::Expected<Tensor> load(squeeze::ExternalStorageAttr storage,
                              mlir::RankedTensorType type, bool upcastToF32);
  /// As above for the storage of `op`, whose path must pass checkModelPath.
  llvm::Expected<Tensor> load(squeeze::WeightOp op, bool upcastToF32);

  /// Bytes currently held by cached conversions (not mappings).
  size_t cachedBytes() const;
  /// With caching off (for passes that read each weight once), conversions
  /// are not kept, and the mapped pages a conversion read are dropped from
  /// memory after it: resident memory holds the weights in use, not every
  /// weight read so far.
  void setCaching(bool on) { caching = on; }

private:
  std::string baseDir;
  bool caching = true;
  mutable std::mutex mutex;
  llvm::StringMap<std::shared_ptr<llvm::MemoryBuffer>> files;
  using Key = std::tuple<std::string, uint64_t, uint64_t, int, bool>;
  std::map<Key, Tensor> cache;
};

} // namespace s10::runtime

#endif // S10_RUNTIME_WEIGHTSTORE_H
