//===- Gptq.cpp - GPTQ loop and column quantizers ------------------------===//

#include "s10/Quant/Gptq.h"
#include "Detail.h"
#include "s10/Quant/Linalg.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

using namespace s10::quant;

ColumnQuantizer::~ColumnQuantizer() = default;
bool ColumnQuantizer::needsRefit(int64_t) const { return false; }
void ColumnQuantizer::refit(int64_t, const WeightsView &) {}

static llvm::Error checkShape(int64_t rows, int64_t cols,
                              llvm::StringRef what) {
  if (rows <= 0 || cols <= 0)
    return detail::makeError(llvm::Twine(what) + ": empty shape " +
                             llvm::Twine(rows) + " x " + llvm::Twine(cols));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// UniformColumnQuantizer
//===----------------------------------------------------------------------===//

llvm::Expected<UniformColumnQuantizer>
UniformColumnQuantizer::createRefit(int64_t rows, int64_t cols,
                                    const UniformSpec &spec) {
  if (auto err = checkShape(rows, cols, "UniformColumnQuantizer"))
    return std::move(err);
  if (auto err = checkBits(spec.bits))
    return std::move(err);
  if (auto err = checkLevels(spec.bits, spec.levels))
    return std::move(err);
  if (auto err = checkGroupSize(spec.groupSize))
    return std::move(err);
  if (auto err = checkClipNorm(spec.clipNorm))
    return std::move(err);
  UniformColumnQuantizer q;
  q.rows_ = rows;
  q.cols_ = cols;
  q.bits_ = spec.bits;
  q.levels_ = spec.levels;
  q.includeZero_ = spec.includeZero;
  q.clipNorm_ = spec.clipNorm;
  q.groupSize_ = resolveGroupSize(cols, spec.groupSize);
  q.numGroups_ = numGroups(cols, spec.groupSize);
  q.fitted_.assign(static_cast<size_t>(q.numGroups_), false);
  q.params_.resize(static_cast<size_t>(rows * q.numGroups_));
  q.codes_.resize(static_cast<size_t>(rows * cols));
  return q;
}

llvm::Expected<UniformColumnQuantizer> UniformColumnQuantizer::createFixed(
    int64_t rows, int64_t cols, unsigned bits, int64_t groupSize,
    std::vector<UniformParams> params, unsigned levels) {
  auto q =
      createRefit(rows, cols, UniformSpec{bits, groupSize, false, 0, levels});
  if (!q)
    return q.takeError();
  if (static_cast<int64_t>(params.size()) != rows * q->numGroups_)
    return detail::makeError("UniformColumnQuantizer: expected " +
                             llvm::Twine(rows * q->numGroups_) +
                             " group params, got " +
                             llvm::Twine(params.size()));
  for (const UniformParams &p : params)
    if (!(p.scale > 0.0f) || !std::isfinite(p.scale) || !std::isfinite(p.zero))
      return detail::makeError("UniformColumnQuantizer: invalid scale/zero");
  q->params_ = std::move(params);
  q->fitted_.assign(q->fitted_.size(), true);
  return q;
}

llvm::Expected<UniformColumnQuantizer>
UniformColumnQuantizer::createFixedAffine(int64_t rows, int64_t cols,
                                          unsigned bits, int64_t groupSize,
                                          std::vector<UniformParams> params,
                                          unsigned levels) {
  auto q = createFixed(rows, cols, bits, groupSize, std::move(params), levels);
  if (q)
    q->affine_ = true;
  return q;
}

bool UniformColumnQuantizer::needsRefit(int64_t col) const {
  return !fitted_[static_cast<size_t>(col / groupSize_)];
}

void UniformColumnQuantizer::refit(int64_t col, const WeightsView &current) {
  int64_t g = col / groupSize_;
  int64_t c0 = g * groupSize_, c1 = std::min(c0 + groupSize_, cols_);
  std::vector<float> vals(static_cast<size_t>(c1 - c0));
  for (int64_t r = 0; r < rows_; ++r) {
    for (int64_t c = c0; c < c1; ++c)
      vals[c - c0] = current.at(r, c);
    params_[r * numGroups_ + g] =
        fitUniformParams(vals, bits_, includeZero_, clipNorm_, levels_);
  }
  fitted_[static_cast<size_t>(g)] = true;
}

void UniformColumnQuantizer::quantizeColumn(int64_t col,
                                            llvm::ArrayRef<float> w,
                                            llvm::MutableArrayRef<float> out) {
  int64_t g = col / groupSize_;
  assert(fitted_[static_cast<size_t>(g)] && "group quantized before its fit");
  for (int64_t r = 0; r < rows_; ++r) {
    const UniformParams &p = params_[r * numGroups_ + g];
    uint8_t code = affine_ ? quantizeCodeAffine(w[r], p, bits_, levels_)
                           : quantizeCode(w[r], p, bits_, levels_);
    codes_[r * cols_ + col] = code;
    out[r] = dequantizeCode(code, p);
  }
}

//===----------------------------------------------------------------------===//
// MixedColumnQuantizer
//===----------------------------------------------------------------------===//

llvm::Expected<MixedColumnQuantizer>
MixedColumnQuantizer::create(int64_t rows, int64_t cols, Config config) {
  if (auto err = checkShape(rows, cols, "MixedColumnQuantizer"))
    return std::move(err);
  MixedColumnQuantizer q;
  q.rows_ = rows;
  q.cols_ = cols;
  bool anySalient = false;
  if (!config.salient.data.empty()) {
    if (config.salient.rows != rows || config.salient.cols != cols)
      return detail::makeError("MixedColumnQuantizer: mask shape mismatch");
    anySalient =
        std::any_of(config.salient.data.begin(), config.salient.data.end(),
                    [](uint8_t v) { return v != 0; });
  }
  if (anySalient) {
    if (auto err = checkBits(config.bits))
      return std::move(err);
    if (auto err = checkGroupSize(config.kGroupSize))
      return std::move(err);
    q.kGroupSize_ = resolveGroupSize(cols, config.kGroupSize);
    q.kNumGroups_ = numGroups(cols, config.kGroupSize);
    if (static_cast<int64_t>(config.kParams.size()) != rows * q.kNumGroups_)
      return detail::makeError("MixedColumnQuantizer: expected " +
                               llvm::Twine(rows * q.kNumGroups_) +
                               " k-bit group params, got " +
                               llvm::Twine(config.kParams.size()));
    for (const UniformParams &p : config.kParams)
      if (!(p.scale > 0.0f) || !std::isfinite(p.scale) ||
          !std::isfinite(p.zero))
        return detail::makeError("MixedColumnQuantizer: invalid scale/zero");
  }
  if (auto err = checkGroupSize(config.binGroupSize))
    return std::move(err);
  q.binGroupSize_ = resolveGroupSize(cols, config.binGroupSize);
  q.binNumGroups_ = numGroups(cols, config.binGroupSize);
  size_t nBin = static_cast<size_t>(rows * q.binNumGroups_);
  if (config.refitBinary) {
    config.binParams.assign(nBin, BinaryParams());
    q.fitted_.assign(static_cast<size_t>(q.binNumGroups_), false);
  } else {
    if (config.binParams.size() != nBin)
      return detail::makeError("MixedColumnQuantizer: expected " +
                               llvm::Twine(nBin) + " binary params, got " +
                               llvm::Twine(config.binParams.size()));
    for (const BinaryParams &p : config.binParams)
      if (!std::isfinite(p.alpha) || !std::isfinite(p.mu))
        return detail::makeError("MixedColumnQuantizer: invalid alpha/mu");
    q.fitted_.assign(static_cast<size_t>(q.binNumGroups_), true);
  }
  q.cfg_ = std::move(config);
  q.codes_.resize(static_cast<size_t>(rows * cols));
  return q;
}

bool MixedColumnQuantizer::needsRefit(int64_t col) const {
  return !fitted_[static_cast<size_t>(col / binGroupSize_)];
}

void MixedColumnQuantizer::refit(int64_t col, const WeightsView &current) {
  int64_t g = col / binGroupSize_;
  int64_t c0 = g * binGroupSize_, c1 = std::min(c0 + binGroupSize_, cols_);
  std::vector<float> vals;
  vals.reserve(static_cast<size_t>(c1 - c0));
  for (int64_t r = 0; r < rows_; ++r) {
    vals.clear();
    for (int64_t c = c0; c < c1; ++c)
      if (!isSalient(r, c))
        vals.push_back(current.at(r, c));
    cfg_.binParams[r * binNumGroups_ + g] = fitBinaryParams(vals);
  }
  fitted_[static_cast<size_t>(g)] = true;
}

void MixedColumnQuantizer::quantizeColumn(int64_t col, llvm::ArrayRef<float> w,
                                          llvm::MutableArrayRef<float> out) {
  int64_t gb = col / binGroupSize_;
  assert(fitted_[static_cast<size_t>(gb)] && "group quantized before its fit");
  for (int64_t r = 0; r < rows_; ++r) {
    if (isSalient(r, col)) {
      const UniformParams &p =
          cfg_.kParams[r * kNumGroups_ + col / kGroupSize_];
      uint8_t code = cfg_.kAffine ? quantizeCodeAffine(w[r], p, cfg_.bits)
                                  : quantizeCode(w[r], p, cfg_.bits);
      codes_[r * cols_ + col] = code;
      out[r] = dequantizeCode(code, p);
    } else {
      const BinaryParams &p = cfg_.binParams[r * binNumGroups_ + gb];
      codes_[r * cols_ + col] = w[r] >= p.mu ? 1 : 0;
      out[r] = binarizeValue(w[r], p);
    }
  }
}

//===----------------------------------------------------------------------===//
// The loop
//===----------------------------------------------------------------------===//

/// `uf`: the n x n upper factor in f32, row-major.
static llvm::Expected<double> gptqLoopF32(Matrix &w, const float *uf,
                                          llvm::ArrayRef<int64_t> order,
                                          ColumnQuantizer &quantizer,
                                          int64_t blockSize);

/// Error unless every diagonal entry of U is positive and finite.
template <typename T>
static llvm::Error checkUpperDiagonal(const DenseMatrix<T> &u) {
  for (int64_t i = 0; i < u.rows; ++i) {
    T d = u(i, i);
    if (!(d > T(0)) || !std::isfinite(d))
      return detail::makeError("gptqLoop: U has a non-positive diagonal at " +
                               llvm::Twine(i));
  }
  return llvm::Error::success();
}

/// U in f32, as GPTQ works in fp32, written over its own f64 buffer
/// (element k's 4 bytes land at or before element k's 8, which is read
/// first), the unused second half returned to the system: GPTQ on a 7B down
/// projection holds 485 MB for U rather than 969 + 485 MB while converting.
/// The loop reads only the upper triangle.
static llvm::Expected<float *> upperToFloatInPlace(MatrixD &u) {
  if (llvm::Error err = checkUpperDiagonal(u))
    return std::move(err);
  const int64_t n = u.rows;
  auto *bytes = reinterpret_cast<unsigned char *>(u.data.data());
  for (int64_t k = 0, e = n * n; k < e; ++k) {
    double d;
    std::memcpy(&d, bytes + 8 * k, sizeof d);
    float f = static_cast<float>(d);
    std::memcpy(bytes + 4 * k, &f, sizeof f);
  }
  releasePages(bytes + 4 * n * n, size_t(4 * n * n));
  return reinterpret_cast<float *>(bytes);
}

/// U factored in f32 already.
static llvm::Expected<float *> upperToFloatInPlace(Matrix &u) {
  if (llvm::Error err = checkUpperDiagonal(u))
    return std::move(err);
  return u.data.data();
}

llvm::Expected<double> s10::quant::gptqLoop(Matrix &w, const MatrixD &u,
                                            llvm::ArrayRef<int64_t> order,
                                            ColumnQuantizer &quantizer,
                                            int64_t blockSize) {
  const int64_t rows = w.rows, n = w.cols;
  if (auto err = checkShape(rows, n, "gptqLoop"))
    return std::move(err);
  if (u.rows != n || u.cols != n)
    return detail::makeError("gptqLoop: U must be " + llvm::Twine(n) + " x " +
                             llvm::Twine(n));
  MatrixD copy = u;
  auto uf = upperToFloatInPlace(copy);
  if (!uf)
    return uf.takeError();
  return gptqLoopF32(w, *uf, order, quantizer, blockSize);
}

static llvm::Expected<double> gptqLoopF32(Matrix &w, const float *uf,
                                          llvm::ArrayRef<int64_t> order,
                                          ColumnQuantizer &quantizer,
                                          int64_t blockSize) {
  const int64_t rows = w.rows, n = w.cols;
  if (blockSize < 1)
    return detail::makeError("gptqLoop: block size must be >= 1");
  std::vector<int64_t> positionOf;
  if (!order.empty()) {
    if (static_cast<int64_t>(order.size()) != n)
      return detail::makeError("gptqLoop: order has wrong length");
    positionOf.assign(static_cast<size_t>(n), -1);
    for (int64_t p = 0; p < n; ++p) {
      int64_t c = order[p];
      if (c < 0 || c >= n || positionOf[c] != -1)
        return detail::makeError("gptqLoop: order is not a permutation");
      positionOf[c] = p;
    }
  }
  auto orig = [&](int64_t p) { return order.empty() ? p : order[p]; };

  WeightsView view(w, positionOf);
  std::vector<float> w1, err1, colIn(static_cast<size_t>(rows)),
      colOut(static_cast<size_t>(rows));
  double loss = 0.0;
  for (int64_t i1 = 0; i1 < n;) {
    if (quantizer.needsRefit(orig(i1)))
      quantizer.refit(orig(i1), view);
    int64_t i2 = std::min(i1 + blockSize, n);
    for (int64_t c = i1 + 1; c < i2; ++c)
      if (quantizer.needsRefit(orig(c))) {
        i2 = c;
        break;
      }
    const int64_t b = i2 - i1;
    w1.resize(static_cast<size_t>(rows * b));
    err1.resize(static_cast<size_t>(rows * b));
    for (int64_t r = 0; r < rows; ++r)
      std::copy(w.row(r) + i1, w.row(r) + i2, w1.data() + r * b);

    for (int64_t i = 0; i < b; ++i) {
      for (int64_t r = 0; r < rows; ++r)
        colIn[r] = w1[r * b + i];
      quantizer.quantizeColumn(orig(i1 + i), colIn, colOut);
      const float *urow = uf + (i1 + i) * n + i1;
      const float d = urow[i];
      for (int64_t r = 0; r < rows; ++r) {
        float qv = colOut[r];
        if (!std::isfinite(qv))
          return detail::makeError(
              "gptqLoop: quantizer returned a non-finite value at row " +
              llvm::Twine(r) + ", column " + llvm::Twine(orig(i1 + i)));
        float e = (colIn[r] - qv) / d;
        loss += double(e) * double(e);
        float *wr = w1.data() + r * b;
        wr[i] = qv;
        err1[r * b + i] = e;
        for (int64_t c = i + 1; c < b; ++c)
          wr[c] -= e * urow[c];
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      std::copy(w1.data() + r * b, w1.data() + (r + 1) * b, w.row(r) + i1);
    // Lazy batch update: W[:, i2:] -= Err1 U[i1:i2, i2:].
    if (i2 < n)
      detail::sgemm(false, false, rows, n - i2, b, -1.0f, err1.data(), b,
                    uf + i1 * n + i2, n, 1.0f, w.row(0) + i2, n);
    i1 = i2;
  }
  return loss;
}

/// `owned` (h itself, or null) is released once it is no longer read.
template <typename T>
static llvm::Expected<GptqResult>
gptqQuantizeImpl(const Matrix &w, const DenseMatrix<T> &h,
                 DenseMatrix<T> *owned, ColumnQuantizer &quantizer,
                 const GptqOptions &options);

llvm::Expected<GptqResult>
s10::quant::gptqQuantize(const Matrix &w, const MatrixD &h,
                         ColumnQuantizer &quantizer,
                         const GptqOptions &options) {
  return gptqQuantizeImpl<double>(w, h, nullptr, quantizer, options);
}

llvm::Expected<GptqResult>
s10::quant::gptqQuantize(const Matrix &w, MatrixD &&h,
                         ColumnQuantizer &quantizer,
                         const GptqOptions &options) {
  return gptqQuantizeImpl(w, h, &h, quantizer, options);
}

llvm::Expected<GptqResult>
s10::quant::gptqQuantize(const Matrix &w, Matrix &&h,
                         ColumnQuantizer &quantizer,
                         const GptqOptions &options) {
  return gptqQuantizeImpl(w, h, &h, quantizer, options);
}

template <typename T>
static llvm::Expected<GptqResult>
gptqQuantizeImpl(const Matrix &w, const DenseMatrix<T> &h,
                 DenseMatrix<T> *owned, ColumnQuantizer &quantizer,
                 const GptqOptions &options) {
  const int64_t n = w.cols;
  if (auto err = checkShape(w.rows, n, "gptqQuantize"))
    return std::move(err);
  if (h.rows != n || h.cols != n)
    return detail::makeError("gptqQuantize: H is " + llvm::Twine(h.rows) +
                             " x " + llvm::Twine(h.cols) + " but W has " +
                             llvm::Twine(n) + " columns");
  if (auto err = checkFinite(w, "gptqQuantize: weight"))
    return std::move(err);

  GptqResult res;
  res.order.resize(static_cast<size_t>(n));
  std::iota(res.order.begin(), res.order.end(), int64_t(0));
  if (options.actOrder)
    std::stable_sort(res.order.begin(), res.order.end(),
                     [&](int64_t a, int64_t b) { return h(a, a) > h(b, b); });

  // A permuted copy of H only when the order changes.
  DenseMatrix<T> hp;
  if (options.actOrder) {
    hp = DenseMatrix<T>(n, n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        hp(i, j) = h(res.order[i], res.order[j]);
  }
  if (owned && options.actOrder)
    *owned = DenseMatrix<T>();
  // U is computed in place: in the permuted copy, in the caller's H when it
  // was handed over, else in a copy.
  DenseMatrix<T> copy;
  DenseMatrix<T> *u = &hp;
  if (!options.actOrder) {
    if (owned) {
      u = owned;
    } else {
      copy = h;
      u = &copy;
    }
  }
  if (auto err = inverseCholeskyUpperInPlace(
          *u, options.maxDampRetries, options.retryPercdamp, &res.addedDamp))
    return std::move(err);
  auto uf = upperToFloatInPlace(*u);
  if (!uf)
    return uf.takeError();
  // The working copy of W once U is in f32: while H is factored in f64 it
  // is the largest buffer (6.6 GB on a 70B down projection).
  Matrix wp = w;
  llvm::ArrayRef<int64_t> order;
  if (options.actOrder) {
    order = res.order;
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t p = 0; p < n; ++p)
        wp(r, p) = w(r, res.order[p]);
  }
  auto loss = gptqLoopF32(wp, *uf, order, quantizer, options.blockSize);
  *u = DenseMatrix<T>();
  if (!loss)
    return loss.takeError();
  res.loss = *loss;
  if (options.actOrder) {
    res.quantized = Matrix(w.rows, n);
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t p = 0; p < n; ++p)
        res.quantized(r, res.order[p]) = wp(r, p);
  } else {
    res.quantized = std::move(wp);
  }
  return res;
}
