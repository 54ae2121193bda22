//===- Executor.h - CPU executor for s10 modules ----------------*- C++ -*-===//
//
// Interprets the model function of a module at any of s10's levels (imported
// ONNX graph, raised squeeze ops, quantized linears) in program order, freeing
// every value after its last use. Sizes come from the tensors at run time,
// never from the static types, so `?` dimensions and unranked types run.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_EXECUTOR_H
#define S10_RUNTIME_EXECUTOR_H

#include "s10/Runtime/Tensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace mlir::func {
class FuncOp;
} // namespace mlir::func

namespace s10::runtime {

class WeightStore;
class ThreadPool;

enum class FloatMode {
  /// Every float tensor is computed and kept in f32; Cast between float
  /// types is the identity and f16/bf16 weights are upcast. What the
  /// reference logits (fp32 compute from fp16 weights) correspond to.
  F32,
  /// ONNX semantics: f16/bf16/f64 tensors keep their type, f16/bf16 ops are
  /// computed in f32 and rounded to the tensor type. For conformance tests.
  Exact,
};

struct ExecOptions {
  FloatMode floatMode = FloatMode::F32;
  /// Threads for kernels (0 = hardware concurrency). BLAS runs
  /// single-threaded inside these threads.
  int numThreads = 0;
  /// Shares mapped weight files with other users; created when null.
  std::shared_ptr<WeightStore> weights;
};

/// Parses "f32" / "exact".
std::optional<FloatMode> parseFloatMode(llvm::StringRef name);

class Executor {
public:
  /// Builds an executor for the function `main` of `module` (or its only
  /// function). `modulePath` (the file the module came from) resolves
  /// relative weight paths when the module has no `squeeze.weights_dir`.
  /// The module must outlive the executor.
  static llvm::Expected<std::unique_ptr<Executor>>
  create(mlir::ModuleOp module, const ExecOptions &opts = {},
         llvm::StringRef modulePath = "");
  ~Executor();

  /// Runs the function on `inputs` (one per argument) without the KV cache.
  /// An ONNX export whose other inputs are `attention_mask`, `position_ids`
  /// and `past_key_values.*` may be given the tokens alone: the mask is all
  /// ones, the positions count from the cached length and the past starts
  /// empty.
  llvm::Expected<std::vector<Tensor>> run(llvm::ArrayRef<Tensor> inputs);

  /// A decode step. With-past ONNX exports (inputs `past_key_values.N.*`,
  /// results `present.N.*`) are given the new tokens only and fed their
  /// presents back as the next past. With `squeeze.attention` in the model, the
  /// inputs are the new tokens only: every attention op appends its key/value
  /// to its cache and attends over the whole cache, and `squeeze.rotary`
  /// offsets positions by the cached length. Without it (ONNX-level graphs),
  /// the first input is appended along dimension 1 to the tokens seen so far
  /// and the whole sequence is re-run; either way results that span the
  /// sequence (dimension 1) cover only the new tokens.
  llvm::Expected<std::vector<Tensor>> step(llvm::ArrayRef<Tensor> inputs);
  /// Forgets the cached keys/values (or token history).
  void resetCache();
  /// Number of positions held by the cache.
  int64_t getCacheLength() const;
  /// Whether step() uses a real KV cache (the model has squeeze.attention,
  /// or is a with-past ONNX export).
  bool hasKVCache() const;

  /// Called with (op, input) before every squeeze.linear /
  /// squeeze.quantized_linear executes; `input` is the exact f32 activation
  /// the layer consumes ([..., in]). Pass nullptr to remove.
  void setLinearObserver(
      std::function<void(mlir::Operation *, const Tensor &input)> observer);

  mlir::func::FuncOp getFunction() const;
  unsigned getNumInputs() const;
  unsigned getNumResults() const;
  const ExecOptions &getOptions() const;
  WeightStore &getWeightStore();
  ThreadPool &getThreadPool();

  /// Whether the executor implements the ONNX operator `opType` (default
  /// domain).
  static bool isOnnxOpSupported(llvm::StringRef opType);
  /// Sorted, unique names of the operations of `module` that the executor
  /// cannot run ("onnx.node \"Foo\"" or the op name).
  static std::vector<std::string> findUnsupportedOps(mlir::ModuleOp module);

  class Impl;

private:
  explicit Executor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// The model function of `module`: `main`, else the only function.
llvm::Expected<mlir::func::FuncOp> findModelFunction(mlir::ModuleOp module);

/// An op as error messages name it: "onnx.node 'name' (MatMul)",
/// "squeeze.linear (block 0, q)", "squeeze.weight \"val_88\"".
std::string describeOp(mlir::Operation *op);

} // namespace s10::runtime

#endif // S10_RUNTIME_EXECUTOR_H
