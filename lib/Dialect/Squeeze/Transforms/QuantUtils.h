//===- QuantUtils.h - Shared pieces of the quantization passes --*- C++ -*-===//
//
// The quantization passes hand each other their intermediate results as
// discardable attributes on the linear ops; this header names them and
// converts between them and the numerics library's matrices.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_DIALECT_SQUEEZE_TRANSFORMS_QUANTUTILS_H
#define S10_LIB_DIALECT_SQUEEZE_TRANSFORMS_QUANTUTILS_H

#include "mlir/IR/BuiltinOps.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"
#include "s10/Quant/Layout.h"
#include "s10/Quant/Matrix.h"
#include "s10/Quant/Uniform.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <chrono>
#include <string>

namespace s10::runtime {
class WeightStore;
} // namespace s10::runtime

namespace s10::squeeze {

/// The dialect whose discardable-attribute helpers (declared once, in
/// SqueezeBase.td) read and write what the passes hand each other.
inline SqueezeDialect &squeezeDialect(mlir::MLIRContext *ctx) {
  return *ctx->getOrLoadDialect<SqueezeDialect>();
}

// Their names, for the code that handles them by name.
constexpr llvm::StringLiteral kHessianAttr =
    SqueezeDialect::HessianAttrHelper::getNameStr();
constexpr llvm::StringLiteral kSamplesAttr =
    SqueezeDialect::SamplesAttrHelper::getNameStr();

/// Every attribute a quantization step leaves for the next, which the
/// finished model no longer needs.
inline std::array<llvm::StringLiteral, 9> quantizationAttrNames() {
  return {SqueezeDialect::HessianAttrHelper::getNameStr(),
          SqueezeDialect::SamplesAttrHelper::getNameStr(),
          SqueezeDialect::CalibTokensAttrHelper::getNameStr(),
          SqueezeDialect::Stage1AttrHelper::getNameStr(),
          SqueezeDialect::SalientMaskAttrHelper::getNameStr(),
          SqueezeDialect::SalientGranularityAttrHelper::getNameStr(),
          SqueezeDialect::SalientChannelBlockAttrHelper::getNameStr(),
          SqueezeDialect::SalientRatioAttrHelper::getNameStr(),
          SqueezeDialect::QuantReportAttrHelper::getNameStr()};
}

/// True for the linear layers Squeeze10 quantizes: q, k, v, o, gate, up,
/// down of a decoder block (not lm_head, not unnamed layers).
bool isDecoderLinear(mlir::Operation *op);

/// The decoder linear layers of `func` a quantization step works on: those
/// carrying calibration data when any does (sequential calibration covers
/// one block at a time), else all of them.
llvm::SmallVector<LinearOp> selectLayers(mlir::Operation *func);

/// One `kind[.block]:value` entry of a per-role option (role-ratio,
/// role-bits, role-group-size); block -1 stands for every block.
struct RoleValue {
  LinearKind kind;
  int64_t block;
  double value;
};
/// Parses the entries of option `option`; each value must lie in [lo, hi]
/// (and be whole with `integer`); `what` names it ("ratio") in the error.
llvm::Expected<llvm::SmallVector<RoleValue>>
parseRoleValues(llvm::ArrayRef<std::string> entries, llvm::StringRef option,
                llvm::StringRef what, double lo, double hi,
                bool integer = false);
/// The value for `op`: its block's entry, else its kind's, else `fallback`.
double roleValueFor(mlir::Operation *op, llvm::ArrayRef<RoleValue> values,
                    double fallback);

/// "b3.gate", or "linear" for an op without role.
std::string layerName(mlir::Operation *op);

/// The values of a constant float tensor (a squeeze.weight or an
/// arith.constant, dense or dense_resource) as f32, row-major.
llvm::Expected<std::vector<float>>
loadConstantValues(mlir::Value v, runtime::WeightStore &store);

/// The weight of a full-precision linear as f32 [out, in].
llvm::Expected<quant::Matrix> loadLinearWeight(LinearOp op,
                                               runtime::WeightStore &store);

/// The Hessian recorded by squeeze-calibrate, [in, in].
llvm::Expected<quant::MatrixD> loadHessian(mlir::Operation *op,
                                           runtime::WeightStore &store);
/// The same rounded to f32, for layers whose H is factored in f32
/// (`hessian-f32-from`).
llvm::Expected<quant::Matrix> loadHessianF32(mlir::Operation *op,
                                             runtime::WeightStore &store);

/// relativeOutputErrorFromHessian of W^ against W for `op`, with its H read
/// from the side file a slice of rows at a time (never held whole).
llvm::Expected<double> hessianRelativeError(mlir::Operation *op,
                                            runtime::WeightStore &store,
                                            const quant::Matrix &w,
                                            const quant::Matrix &what);

/// The activation sample recorded by squeeze-calibrate, [T, in].
llvm::Expected<quant::Matrix> loadSamples(mlir::Operation *op,
                                          runtime::WeightStore &store);

/// Stage-1 result as an attribute (its group parameters) and back. Given
/// the layer's weight as stored ([out, in]), the codes and dequantized
/// weight are recomputed from it; without it only the parameters are
/// returned.
mlir::DictionaryAttr encodeStage1(mlir::MLIRContext *ctx,
                                  const quant::UniformResult &result);
llvm::Expected<quant::UniformResult> decodeStage1(mlir::Operation *op,
                                                  const quant::Matrix *weight);

/// The salient mask recorded on `op`, or an empty mask.
llvm::Expected<quant::Mask> decodeSalientMask(mlir::Operation *op, int64_t rows,
                                              int64_t cols);

/// Progress on large models: prints "STEP [i/n] layer  seconds" to stderr
/// when a layer took 2 s or more since `start` (small models stay quiet).
void reportSlowLayer(llvm::StringRef step, size_t index, size_t count,
                     mlir::Operation *op,
                     std::chrono::steady_clock::time_point start);

/// Returns the heap memory freed so far to the system. The allocator keeps
/// large freed blocks for reuse; on a 7B-shaped block those are hundreds of
/// MB per layer that resident memory would otherwise go on counting.
void releaseFreedMemory();

/// A weight store rooted where `module`'s weights live.
std::unique_ptr<runtime::WeightStore> makeWeightStore(mlir::ModuleOp module);

/// Checks an executor thread count (pass `initialize`), with errors
/// prefixed by `pass`: `threads` in [0, runtime::kMaxThreads].
mlir::LogicalResult checkThreads(mlir::Location loc, llvm::StringRef pass,
                                 int threads);

/// Checks a calibration window against the model, with errors prefixed by
/// `pass`: `seqlen` no longer than the model's positions.
mlir::LogicalResult checkSeqlen(mlir::ModuleOp module, llvm::StringRef pass,
                                int64_t seqlen);

/// The name of a weight op for messages and reports: its linear's role
/// ("b3.gate"), or "weight".
std::string weightName(mlir::Operation *weightOp);

/// The logical content of an unpacked quantized weight (codes, mask, f32
/// parameters).
llvm::Expected<quant::layout::Logical> readLogical(QuantizedWeightOp op);

/// A squeeze.quantized_weight holding `w`, typed as `packedType` with the
/// unpacked layout.
QuantizedWeightOp buildUnpacked(mlir::OpBuilder &b, mlir::Location loc,
                                QWeightType packedType,
                                const quant::layout::Logical &w);

/// Writes `root` as indented JSON to `path` (a report of `pass`).
mlir::LogicalResult writeJsonReport(mlir::Operation *op, llvm::StringRef pass,
                                    llvm::StringRef path,
                                    llvm::json::Object root);

/// Turns an llvm::Error into a diagnostic on `op`; returns failure.
mlir::LogicalResult emitError(mlir::Operation *op, llvm::Error err);

} // namespace s10::squeeze

#endif // S10_LIB_DIALECT_SQUEEZE_TRANSFORMS_QUANTUTILS_H
