//===- Gptq.h - GPTQ error compensation with pluggable targets -*- C++ -*-===//
//
// The GPTQ loop: columns in order (optionally act-order: descending diag H),
// lazy batch updates in blocks of B columns, err = (w - q) / U_jj propagated
// to the not yet quantized columns through U = chol(H^-1) upper. What a
// column is quantized to is decided by a ColumnQuantizer, so one loop serves
// k-bit GPTQ (group params fit on entering each group), binarization, and
// Squeeze10's per-entry mix of salient k-bit and binary values.
//
// Refit hook: before quantizing column c the loop asks needsRefit(c); if
// true, it ends the current lazy block there, so refit() sees the exact
// current weights: error-updated values for columns not yet quantized,
// quantized values for the others. The bundled quantizers refit a group at
// its first column in processing order (col % G == 0 in natural order), when
// none of the group is quantized yet, so the fit sees the group's fully
// updated weights; this holds with act-order too. A quantizer instance keeps
// per-run state (fitted groups, codes): use one instance per run.
//
//===----------------------------------------------------------------------===//

#ifndef S10_QUANT_GPTQ_H
#define S10_QUANT_GPTQ_H

#include "s10/Quant/Binarize.h"
#include "s10/Quant/Uniform.h"

namespace s10::quant {

/// Read-only view of the loop's current weights in ORIGINAL column indices.
class WeightsView {
public:
  /// `positionOf[c]`: where original column c is stored in `w` (empty: c).
  explicit WeightsView(const Matrix &w, llvm::ArrayRef<int64_t> positionOf = {})
      : w_(w), positionOf_(positionOf) {}
  int64_t rows() const { return w_.rows; }
  int64_t cols() const { return w_.cols; }
  float at(int64_t row, int64_t col) const {
    return w_(row, positionOf_.empty() ? col : positionOf_[col]);
  }

private:
  const Matrix &w_;
  llvm::ArrayRef<int64_t> positionOf_;
};

/// Decides the target of every entry; columns are ORIGINAL indices.
class ColumnQuantizer {
public:
  virtual ~ColumnQuantizer();
  /// True if refit(col, ...) must run before column `col` is quantized.
  virtual bool needsRefit(int64_t col) const;
  virtual void refit(int64_t col, const WeightsView &current);
  /// out[r] = target of entry (r, col) whose current value is w[r].
  virtual void quantizeColumn(int64_t col, llvm::ArrayRef<float> w,
                              llvm::MutableArrayRef<float> out) = 0;
};

/// k-bit group quantizer. Refit mode fits each (row, group) when the group's
/// first column is reached (GPTQ groupsize); fixed mode uses given params
/// (stage 1 / GPTQ static_groups; advisable with act-order).
class UniformColumnQuantizer : public ColumnQuantizer {
public:
  static llvm::Expected<UniformColumnQuantizer>
  createRefit(int64_t rows, int64_t cols, const UniformSpec &spec);
  /// Params [rows x numGroups(cols, groupSize)].
  static llvm::Expected<UniformColumnQuantizer>
  createFixed(int64_t rows, int64_t cols, unsigned bits, int64_t groupSize,
              std::vector<UniformParams> params, unsigned levels = 0);
  /// Fixed params whose zero points need not be integers (refit ones):
  /// codes by quantizeCodeAffine.
  static llvm::Expected<UniformColumnQuantizer>
  createFixedAffine(int64_t rows, int64_t cols, unsigned bits,
                    int64_t groupSize, std::vector<UniformParams> params,
                    unsigned levels = 0);

  bool needsRefit(int64_t col) const override;
  void refit(int64_t col, const WeightsView &current) override;
  void quantizeColumn(int64_t col, llvm::ArrayRef<float> w,
                      llvm::MutableArrayRef<float> out) override;

  /// Params [rows x numGroups] and codes [rows x cols] after the loop.
  llvm::ArrayRef<UniformParams> params() const { return params_; }
  llvm::ArrayRef<uint8_t> codes() const { return codes_; }
  int64_t groupSize() const { return groupSize_; }

private:
  UniformColumnQuantizer() = default;
  int64_t rows_ = 0, cols_ = 0, groupSize_ = 0, numGroups_ = 0;
  unsigned bits_ = 4, levels_ = 0;
  bool includeZero_ = false;
  double clipNorm_ = 0;
  bool affine_ = false;
  std::vector<bool> fitted_; // per group; all true in fixed mode
  std::vector<UniformParams> params_;
  std::vector<uint8_t> codes_;
};

/// Squeeze10 / PB-LLM targets: salient entries get their k-bit value under
/// fixed (stage-1) params, the others mu +- alpha of their (row, group).
class MixedColumnQuantizer : public ColumnQuantizer {
public:
  struct Config {
    Mask salient;                       // empty: every entry binarized
    unsigned bits = 4;                  // salient k-bit params (needed if any
    int64_t kGroupSize = 128;           //   entry is salient):
    std::vector<UniformParams> kParams; // [rows x numGroups(kGroupSize)]
    int64_t binGroupSize = 128;
    /// true: fit alpha/mu of each (row, binary group) over its non-salient
    /// entries from the current weights when the group is first reached.
    /// false: use binParams [rows x numGroups(binGroupSize)].
    bool refitBinary = true;
    std::vector<BinaryParams> binParams;
    /// kParams' zero points need not be integers: salient codes by
    /// quantizeCodeAffine.
    bool kAffine = false;
  };
  static llvm::Expected<MixedColumnQuantizer> create(int64_t rows, int64_t cols,
                                                     Config config);

  bool needsRefit(int64_t col) const override;
  void refit(int64_t col, const WeightsView &current) override;
  void quantizeColumn(int64_t col, llvm::ArrayRef<float> w,
                      llvm::MutableArrayRef<float> out) override;

  /// Binary params [rows x numGroups(binGroupSize)] used by the loop.
  llvm::ArrayRef<BinaryParams> binaryParams() const { return cfg_.binParams; }
  /// Per entry: k-bit code if salient, else 1 for mu + alpha, 0 for mu - alpha.
  llvm::ArrayRef<uint8_t> codes() const { return codes_; }

private:
  MixedColumnQuantizer() = default;
  bool isSalient(int64_t row, int64_t col) const {
    return !cfg_.salient.data.empty() && cfg_.salient(row, col) != 0;
  }
  int64_t rows_ = 0, cols_ = 0, kGroupSize_ = 0, kNumGroups_ = 0;
  int64_t binGroupSize_ = 0, binNumGroups_ = 0;
  Config cfg_;
  std::vector<bool> fitted_; // per binary group
  std::vector<uint8_t> codes_;
};

struct GptqOptions {
  int64_t blockSize = 128;
  bool actOrder = false;       // process columns by descending diag H
  unsigned maxDampRetries = 0; // see inverseCholeskyUpper
  double retryPercdamp = 0.01;
};

struct GptqResult {
  Matrix quantized;           // W^ [dout x din], original column order
  double loss = 0.0;          // sum over entries of err^2, err = (w-q)/U_jj
  std::vector<int64_t> order; // processing order of original columns
  double addedDamp = 0.0;     // extra damping from retries
};

/// Full GPTQ on W with a prepared (dead-fixed, damped) Hessian H.
llvm::Expected<GptqResult> gptqQuantize(const Matrix &w, const MatrixD &h,
                                        ColumnQuantizer &quantizer,
                                        const GptqOptions &options = {});
/// The same, releasing `h` as soon as its factor is computed: at d = 11008
/// each d x d f64 matrix is 969 MB.
llvm::Expected<GptqResult> gptqQuantize(const Matrix &w, MatrixD &&h,
                                        ColumnQuantizer &quantizer,
                                        const GptqOptions &options = {});
/// The same with H held and factored in f32, as GPTQ's reference does: half
/// the memory (3.3 GB rather than 6.6 at d = 28672).
llvm::Expected<GptqResult> gptqQuantize(const Matrix &w, Matrix &&h,
                                        ColumnQuantizer &quantizer,
                                        const GptqOptions &options = {});

/// The loop alone. `w` and `u` are in processing order: stored column p is
/// original column order[p] (order empty: identity). On return `w` holds the
/// quantized values (same layout; unspecified after an error). Returns the
/// loss.
llvm::Expected<double> gptqLoop(Matrix &w, const MatrixD &u,
                                llvm::ArrayRef<int64_t> order,
                                ColumnQuantizer &quantizer,
                                int64_t blockSize = 128);

} // namespace s10::quant

#endif // S10_QUANT_GPTQ_H
