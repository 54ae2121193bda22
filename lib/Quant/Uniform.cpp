//===- Uniform.cpp - Asymmetric k-bit group quantization -----------------===//

#include "s10/Quant/Uniform.h"

#include "Detail.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

using namespace s10::quant;

llvm::Error s10::quant::checkBits(unsigned bits) {
  if (bits < 1 || bits > 8)
    return detail::makeError("bit width must be in [1, 8], got " +
                             llvm::Twine(bits));
  return llvm::Error::success();
}

llvm::Error s10::quant::checkLevels(unsigned bits, unsigned levels) {
  if (levels == 0 || (bits <= 8 && levels >= 2 && levels <= (1u << bits)))
    return llvm::Error::success();
  return detail::makeError("levels must be 0 (2^bits) or in [2, 2^" +
                           llvm::Twine(bits) + "], got " + llvm::Twine(levels));
}

llvm::Error s10::quant::checkClipNorm(double clipNorm) {
  if (clipNorm == 0 || (clipNorm > 0 && std::isfinite(clipNorm)))
    return llvm::Error::success();
  return detail::makeError("clip norm must be 0 (min-max ranges) or a "
                           "finite positive number, got " +
                           llvm::Twine(std::to_string(clipNorm)));
}

/// The fit of the range [mn, max] (mn <= mx).
static UniformParams fitRange(double mn, double mx, unsigned maxq);
/// Shrink factors tried by a clipped fit: 1, 0.99, ..., 0.21.
static constexpr int kClipSteps = 80;

UniformParams s10::quant::fitUniformParams(llvm::ArrayRef<float> values,
                                           unsigned bits, bool includeZero,
                                           double clipNorm, unsigned levels) {
  assert(!values.empty() && bits >= 1 && bits <= 8);
  double mn = values.front(), mx = values.front();
  for (float v : values) {
    mn = std::min(mn, double(v));
    mx = std::max(mx, double(v));
  }
  if (includeZero) {
    mn = std::min(mn, 0.0);
    mx = std::max(mx, 0.0);
  }
  unsigned maxq = maxCode(bits, levels);
  UniformParams best = fitRange(mn, mx, maxq);
  if (!(clipNorm > 0))
    return best;
  auto error = [&](UniformParams p) {
    double e = 0;
    for (float v : values)
      e += std::pow(std::fabs(double(v) - quantizeValue(v, p, bits, levels)),
                    clipNorm);
    return e;
  };
  double bestError = error(best);
  for (int i = 1; i < kClipSteps; ++i) {
    double f = 1.0 - i / 100.0;
    UniformParams p = fitRange(f * mn, f * mx, maxq);
    double e = error(p);
    if (e < bestError) {
      bestError = e;
      best = p;
    }
  }
  return best;
}

static UniformParams fitRange(double mn, double mx, unsigned maxq) {
  double range = mx - mn;
  float scale = static_cast<float>(range / maxq);
  bool constant = !(range > 0x1p-16 * std::max(std::fabs(mn), std::fabs(mx))) ||
                  !(scale >= FLT_MIN) || !std::isfinite(scale);
  UniformParams p;
  if (constant) {
    float c = static_cast<float>(0.5 * (mn + mx));
    if (c > 0.0f) {
      p.scale = c;
      p.zero = 0.0f;
    } else if (c < 0.0f) {
      p.scale = -c;
      p.zero = 1.0f;
    } else {
      p.scale = 1.0f;
      p.zero = 0.0f;
    }
    return p;
  }
  p.scale = scale;
  p.zero = static_cast<float>(std::nearbyint(-mn / double(scale)));
  return p;
}

/// `q` clamped into [0, maxq] (NaN: 0).
static uint8_t clampCode(double q, unsigned maxq) {
  if (!(q >= 0.0))
    return 0;
  return static_cast<uint8_t>(std::min(q, double(maxq)));
}

uint8_t s10::quant::quantizeCode(float w, UniformParams p, unsigned bits,
                                 unsigned levels) {
  return clampCode(std::nearbyint(double(w) / double(p.scale)) + double(p.zero),
                   maxCode(bits, levels));
}

uint8_t s10::quant::quantizeCodeAffine(float w, UniformParams p, unsigned bits,
                                       unsigned levels) {
  return clampCode(std::nearbyint(double(w) / double(p.scale) + double(p.zero)),
                   maxCode(bits, levels));
}

float s10::quant::dequantizeCode(uint8_t code, UniformParams p) {
  return static_cast<float>(double(p.scale) * (double(code) - double(p.zero)));
}

float s10::quant::quantizeValue(float w, UniformParams p, unsigned bits,
                                unsigned levels) {
  return dequantizeCode(quantizeCode(w, p, bits, levels), p);
}

llvm::Expected<UniformResult>
s10::quant::quantizeUniform(const Matrix &w, const UniformSpec &spec) {
  if (auto err = checkBits(spec.bits))
    return std::move(err);
  if (auto err = checkLevels(spec.bits, spec.levels))
    return std::move(err);
  if (auto err = checkGroupSize(spec.groupSize))
    return std::move(err);
  if (auto err = checkClipNorm(spec.clipNorm))
    return std::move(err);
  if (w.empty())
    return detail::makeError("quantizeUniform: empty matrix");
  if (auto err = checkFinite(w, "quantizeUniform: weight"))
    return std::move(err);

  UniformResult r;
  r.bits = spec.bits;
  r.levels = spec.levels;
  r.groupSize = resolveGroupSize(w.cols, spec.groupSize);
  r.numGroups = numGroups(w.cols, spec.groupSize);
  r.params.resize(static_cast<size_t>(w.rows * r.numGroups));
  for (int64_t i = 0; i < w.rows; ++i) {
    for (int64_t g = 0; g < r.numGroups; ++g) {
      int64_t c0 = g * r.groupSize;
      int64_t len = std::min(r.groupSize, w.cols - c0);
      llvm::ArrayRef<float> vals(w.row(i) + c0, static_cast<size_t>(len));
      r.params[i * r.numGroups + g] = fitUniformParams(
          vals, spec.bits, spec.includeZero, spec.clipNorm, spec.levels);
    }
  }
  applyUniformParams(w, r);
  return r;
}

void s10::quant::applyUniformParams(const Matrix &w, UniformResult &r) {
  r.codes.resize(static_cast<size_t>(w.size()));
  r.dequantized = Matrix(w.rows, w.cols);
  for (int64_t i = 0; i < w.rows; ++i)
    for (int64_t j = 0; j < w.cols; ++j) {
      const UniformParams &p = r.paramsAt(i, j);
      uint8_t q = quantizeCode(w(i, j), p, r.bits, r.levels);
      r.codes[i * w.cols + j] = q;
      r.dequantized(i, j) = dequantizeCode(q, p);
    }
}
