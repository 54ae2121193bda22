//===- Segments.h - A model function split where one value flows -*- C++
//-*-===//
//
// A decoder is a chain: between blocks (and between the attention and MLP
// halves of a block) only the residual stream is live. Splitting the model
// function at those points lets calibration run one piece at a time over
// all windows, holding one piece's weights and statistics instead of the
// whole model's.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_SEGMENTS_H
#define S10_RUNTIME_SEGMENTS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace s10::runtime {

/// One piece of a model function, as a module of its own.
struct ModelSegment {
  /// `func.func @main`: the first segment takes the function's arguments,
  /// every other one the value live at its start; each returns the value
  /// live at its end, the last one the function's results.
  mlir::OwningOpRef<mlir::ModuleOp> module;
  /// Each cloned operation -> the operation of the source function.
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> original;
  /// The source operations (weights and constants excepted) it holds.
  std::vector<mlir::Operation *> ops;
};

/// Splits the model function of `module` before every operation at which
/// exactly one value (besides weights and constants, which are declared
/// again in every segment that uses them) is defined earlier and used
/// there or later. Segments are in program order and hold at least one
/// operation; a function without such a point is one segment. The module
/// attributes (e.g. `squeeze.weights_dir`) are copied to every segment.
/// With `split` false the whole function is the one segment.
llvm::Expected<std::vector<ModelSegment>> splitModel(mlir::ModuleOp module,
                                                     bool split = true);

} // namespace s10::runtime

#endif // S10_RUNTIME_SEGMENTS_H
