//===- GptqTest.cpp - GPTQ loop and column quantizer tests ---------------===//

#include "s10/Quant/Gptq.h"
#include "TestUtil.h"
#include "s10/Quant/Hessian.h"
#include "s10/Quant/Metrics.h"

#include <functional>
#include <memory>
#include <numeric>

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

using QuantizerFactory = std::function<std::unique_ptr<ColumnQuantizer>()>;

struct RefResult {
  Matrix q;
  double loss = 0;
};

/// Textbook OBQ, one column at a time in double: err = (w - q) / Hinv_jj,
/// W[:, k] -= err * Hinv[j, k] for the remaining k, then the inverse Hessian
/// downdate Hinv -= Hinv[:, j] Hinv[j, :] / Hinv_jj. Hinv comes from
/// Gauss-Jordan, not from Cholesky; no lazy batching.
RefResult obqReference(const Matrix &w, const MatrixD &h,
                       std::vector<int64_t> order, ColumnQuantizer &quant) {
  const int64_t rows = w.rows, n = w.cols;
  if (order.empty()) {
    order.resize(n);
    std::iota(order.begin(), order.end(), int64_t(0));
  }
  std::vector<int64_t> pos(n);
  for (int64_t p = 0; p < n; ++p)
    pos[order[p]] = p;
  MatrixD hp(n, n), wp(rows, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      hp(i, j) = h(order[i], order[j]);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < n; ++p)
      wp(r, p) = w(r, order[p]);
  MatrixD hinv = gaussJordanInverse(hp);
  RefResult res;
  std::vector<float> in(rows), out(rows);
  for (int64_t p = 0; p < n; ++p) {
    int64_t col = order[p];
    if (quant.needsRefit(col)) {
      Matrix snapshot = toFloat(wp);
      quant.refit(col, WeightsView(snapshot, pos));
    }
    for (int64_t r = 0; r < rows; ++r)
      in[r] = float(wp(r, p));
    quant.quantizeColumn(col, in, out);
    double d = hinv(p, p);
    for (int64_t r = 0; r < rows; ++r) {
      double diff = wp(r, p) - double(out[r]);
      res.loss += diff * diff / d;
      double e = diff / d;
      wp(r, p) = out[r];
      for (int64_t k = p + 1; k < n; ++k)
        wp(r, k) -= e * hinv(p, k);
    }
    for (int64_t a = p + 1; a < n; ++a)
      for (int64_t b = p + 1; b < n; ++b)
        hinv(a, b) -= hinv(a, p) * hinv(p, b) / d;
  }
  res.q = Matrix(rows, n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < n; ++p)
      res.q(r, order[p]) = float(wp(r, p));
  return res;
}

MatrixD preparedHessian(const Matrix &x, Matrix *w = nullptr) {
  HessianAccumulator acc(x.cols);
  EXPECT_OK(acc.add(x));
  MatrixD h = acc.hessian();
  Matrix dummy(1, x.cols);
  auto dead = prepareHessian(h, w ? *w : dummy, 0.01);
  EXPECT_TRUE(bool(dead));
  return h;
}

template <typename Q>
std::unique_ptr<ColumnQuantizer> own(llvm::Expected<Q> q) {
  if (!q) {
    ADD_FAILURE() << llvm::toString(q.takeError());
    return nullptr;
  }
  return std::make_unique<Q>(std::move(*q));
}

/// Runs gptqQuantize and the OBQ reference with fresh quantizers.
void expectMatchesReference(const Matrix &w, const MatrixD &h,
                            const QuantizerFactory &make,
                            const GptqOptions &opts) {
  auto q1 = make(), q2 = make();
  ASSERT_TRUE(q1 && q2);
  auto res = gptqQuantize(w, h, *q1, opts);
  ASSERT_TRUE(bool(res)) << errorText(res);
  std::vector<int64_t> order;
  if (opts.actOrder) {
    order = res->order;
    // Descending diag H, ties by lower index.
    for (size_t p = 1; p < order.size(); ++p) {
      double a = h(order[p - 1], order[p - 1]), b = h(order[p], order[p]);
      EXPECT_TRUE(a > b || (a == b && order[p - 1] < order[p]));
    }
  }
  RefResult ref = obqReference(w, h, order, *q2);
  double scale = std::max(maxAbs(w.data), maxAbs(ref.q.data));
  EXPECT_LE(maxAbsDiff(res->quantized, ref.q), 1e-4 * scale)
      << "block " << opts.blockSize << " actOrder " << opts.actOrder;
  EXPECT_NEAR(res->loss, ref.loss, 1e-4 * ref.loss + 1e-9);
}

/// Test-only quantizer: groups of `g` columns; refit stores per row the mean
/// of the group's CURRENT weights; targets are offset + 0.25 * round(...).
/// Its output depends on exactly what refit saw.
class OffsetGridQuantizer : public ColumnQuantizer {
public:
  OffsetGridQuantizer(int64_t rows, int64_t cols, int64_t g)
      : rows_(rows), cols_(cols), g_(g), fitted_((cols + g - 1) / g, false),
        offset_(rows * ((cols + g - 1) / g), 0.0f) {}
  bool needsRefit(int64_t col) const override { return !fitted_[col / g_]; }
  void refit(int64_t col, const WeightsView &cur) override {
    int64_t gi = col / g_, ng = (cols_ + g_ - 1) / g_;
    for (int64_t r = 0; r < rows_; ++r) {
      double s = 0;
      int64_t c1 = std::min(cols_, (gi + 1) * g_);
      for (int64_t c = gi * g_; c < c1; ++c)
        s += cur.at(r, c);
      offset_[r * ng + gi] = float(s / double(c1 - gi * g_));
    }
    fitted_[gi] = true;
  }
  void quantizeColumn(int64_t col, llvm::ArrayRef<float> w,
                      llvm::MutableArrayRef<float> out) override {
    int64_t ng = (cols_ + g_ - 1) / g_;
    EXPECT_TRUE(fitted_[col / g_]);
    for (int64_t r = 0; r < rows_; ++r) {
      float o = offset_[r * ng + col / g_];
      out[r] = o + 0.25f * std::nearbyint((w[r] - o) / 0.25f);
    }
  }

private:
  int64_t rows_, cols_, g_;
  std::vector<bool> fitted_;
  std::vector<float> offset_;
};

TEST(GptqTest, LazyBatchesMatchObqWithRefitHook) {
  Matrix w = randomMatrix(6, 23, 41);
  Matrix x = correlatedActivations(80, 23, 42);
  MatrixD h = preparedHessian(x);
  for (int64_t g : {3, 5, 23})
    for (int64_t block : {1, 4, 7, 128})
      for (bool act : {false, true})
        expectMatchesReference(
            w, h,
            [&] { return std::make_unique<OffsetGridQuantizer>(6, 23, g); },
            GptqOptions{block, act, 0, 0.01});
}

TEST(GptqTest, UniformQuantizerMatchesObq) {
  Matrix w = randomMatrix(8, 32, 51);
  Matrix x = correlatedActivations(100, 32, 52);
  MatrixD h = preparedHessian(x);
  for (unsigned bits : {2u, 4u})
    for (int64_t g : {0, 8, 12})
      for (int64_t block : {5, 16, 128})
        for (bool act : {false, true})
          expectMatchesReference(
              w, h,
              [&] {
                return own(UniformColumnQuantizer::createRefit(
                    8, 32, UniformSpec{bits, g, false}));
              },
              GptqOptions{block, act, 0, 0.01});
  auto rtn = quantizeUniform(w, UniformSpec{3, 8, false});
  ASSERT_TRUE(bool(rtn));
  expectMatchesReference(
      w, h,
      [&] {
        return own(
            UniformColumnQuantizer::createFixed(8, 32, 3, 8, rtn->params));
      },
      GptqOptions{16, true, 0, 0.01});
}

TEST(GptqTest, MixedQuantizerMatchesObq) {
  const int64_t rows = 7, cols = 30;
  Matrix w = randomMatrix(rows, cols, 61);
  Matrix x = correlatedActivations(90, cols, 62);
  MatrixD h = preparedHessian(x);
  auto stage1 = quantizeUniform(w, UniformSpec{4, 8, false});
  ASSERT_TRUE(bool(stage1));
  Mask mask(rows, cols, 0);
  std::mt19937 gen(5);
  for (uint8_t &m : mask.data)
    m = gen() % 5 == 0;
  auto fixedBin = binarizeGroups(stage1->dequantized, 8, &mask);
  ASSERT_TRUE(bool(fixedBin));
  for (bool refit : {true, false})
    for (bool withMask : {true, false})
      for (int64_t block : {3, 8, 128})
        for (bool act : {false, true}) {
          MixedColumnQuantizer::Config cfg;
          if (withMask)
            cfg.salient = mask;
          cfg.bits = 4;
          cfg.kGroupSize = 8;
          cfg.kParams = stage1->params;
          cfg.binGroupSize = 8;
          cfg.refitBinary = refit;
          if (!refit)
            cfg.binParams = fixedBin->params;
          expectMatchesReference(
              w, h,
              [&] {
                return own(MixedColumnQuantizer::create(rows, cols, cfg));
              },
              GptqOptions{block, act, 0, 0.01});
        }
}

TEST(GptqTest, SinglePrecisionHessianMatchesObq) {
  // H handed over in f32: the same quantized weights as the f64 OBQ
  // reference except where f32 rounding moves an entry across a grid
  // midpoint, and the same loss to f32 accuracy.
  const int64_t rows = 16, cols = 48;
  Matrix w = randomMatrix(rows, cols, 71);
  Matrix x = correlatedActivations(150, cols, 72);
  MatrixD h = preparedHessian(x);
  for (bool act : {false, true}) {
    auto q1 = UniformColumnQuantizer::createRefit(rows, cols,
                                                  UniformSpec{3, 16, false});
    auto q2 = UniformColumnQuantizer::createRefit(rows, cols,
                                                  UniformSpec{3, 16, false});
    ASSERT_TRUE(q1 && q2);
    GptqOptions opts{8, act, 0, 0.01};
    auto res = gptqQuantize(w, toFloat(h), *q1, opts);
    ASSERT_TRUE(bool(res)) << errorText(res);
    RefResult ref =
        obqReference(w, h, act ? res->order : std::vector<int64_t>(), *q2);
    int64_t differ = 0;
    for (int64_t k = 0; k < w.size(); ++k)
      differ += std::fabs(res->quantized.data[k] - ref.q.data[k]) >
                1e-4f * float(maxAbs(w.data));
    EXPECT_LE(differ, w.size() / 100) << "act " << act;
    EXPECT_NEAR(res->loss, ref.loss, 1e-3 * ref.loss);
  }
}

TEST(GptqTest, DiagonalHessianReducesToRtn) {
  // No off-diagonal coupling: nothing is propagated, GPTQ == RTN and the loss
  // is sum (w - q)^2 h_jj.
  const int64_t rows = 5, cols = 13;
  Matrix w = randomMatrix(rows, cols, 71);
  MatrixD h(cols, cols, 0.0);
  for (int64_t j = 0; j < cols; ++j)
    h(j, j) = 0.5 + double(j);
  auto rtn = quantizeUniform(w, UniformSpec{3, 4, false});
  ASSERT_TRUE(bool(rtn));
  auto q =
      UniformColumnQuantizer::createRefit(rows, cols, UniformSpec{3, 4, false});
  ASSERT_TRUE(bool(q));
  auto res = gptqQuantize(w, h, *q, GptqOptions{});
  ASSERT_TRUE(bool(res)) << errorText(res);
  EXPECT_EQ(res->quantized.data, rtn->dequantized.data);
  EXPECT_EQ(std::vector<uint8_t>(q->codes().begin(), q->codes().end()),
            rtn->codes);
  double loss = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double d = double(w(i, j)) - rtn->dequantized(i, j);
      loss += d * d * h(j, j);
    }
  EXPECT_NEAR(res->loss, loss, 1e-5 * loss);

  // Mixed targets: salient -> stage-1 k-bit value, others -> mu +- alpha
  // fitted over the non-salient originals.
  Mask mask(rows, cols, 0);
  for (int64_t k = 0; k < mask.size(); k += 3)
    mask.data[k] = 1;
  MixedColumnQuantizer::Config cfg;
  cfg.salient = mask;
  cfg.bits = 3;
  cfg.kGroupSize = 4;
  cfg.kParams = rtn->params;
  cfg.binGroupSize = 5;
  auto mq = MixedColumnQuantizer::create(rows, cols, cfg);
  ASSERT_TRUE(bool(mq)) << errorText(mq);
  auto mres = gptqQuantize(w, h, *mq, GptqOptions{4, false, 0, 0.01});
  ASSERT_TRUE(bool(mres));
  auto bin = binarizeGroups(w, 5, &mask);
  ASSERT_TRUE(bool(bin));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      float expect = mask(i, j) ? rtn->dequantized(i, j) : bin->values(i, j);
      EXPECT_FLOAT_EQ(mres->quantized(i, j), expect) << i << "," << j;
      uint8_t code = mq->codes()[i * cols + j];
      if (mask(i, j)) {
        EXPECT_EQ(code, rtn->codes[i * cols + j]);
      } else {
        EXPECT_EQ(code, w(i, j) >= bin->paramsAt(i, j).mu ? 1 : 0);
      }
    }
  for (size_t k = 0; k < bin->params.size(); ++k) {
    EXPECT_FLOAT_EQ(mq->binaryParams()[k].alpha, bin->params[k].alpha);
    EXPECT_FLOAT_EQ(mq->binaryParams()[k].mu, bin->params[k].mu);
  }
}

TEST(GptqTest, BeatsRtnOnCorrelatedInputs) {
  const int64_t rows = 32, cols = 64;
  Matrix w = randomMatrix(rows, cols, 81);
  Matrix x = correlatedActivations(512, cols, 82);
  MatrixD h = preparedHessian(x);
  for (unsigned bits : {2u, 3u, 4u})
    for (int64_t g : {0, 16})
      for (bool act : {false, true}) {
        UniformSpec spec{bits, g, false};
        auto rtn = quantizeUniform(w, spec);
        ASSERT_TRUE(bool(rtn));
        auto q = UniformColumnQuantizer::createRefit(rows, cols, spec);
        ASSERT_TRUE(bool(q));
        auto res = gptqQuantize(w, h, *q, GptqOptions{16, act, 0, 0.01});
        ASSERT_TRUE(bool(res));
        double eg = unwrap(outputErrorSquared(w, res->quantized, x));
        double er = unwrap(outputErrorSquared(w, rtn->dequantized, x));
        EXPECT_LT(eg, er) << bits << " bits, g " << g << " act " << act;
      }
  // Binarization with error feedback vs plain binarization.
  MixedColumnQuantizer::Config cfg;
  cfg.binGroupSize = 16;
  auto bq = MixedColumnQuantizer::create(rows, cols, cfg);
  ASSERT_TRUE(bool(bq));
  auto bres = gptqQuantize(w, h, *bq);
  ASSERT_TRUE(bool(bres));
  auto plain = binarizeGroups(w, 16);
  ASSERT_TRUE(bool(plain));
  EXPECT_LT(unwrap(outputErrorSquared(w, bres->quantized, x)),
            unwrap(outputErrorSquared(w, plain->values, x)));
}

TEST(GptqTest, TinyAndDeadChannels) {
  Matrix w(1, 1, 0.3f);
  MatrixD h(1, 1, 4.0);
  auto q = UniformColumnQuantizer::createFixed(1, 1, 4, 0,
                                               {UniformParams{0.25f, 0.0f}});
  ASSERT_TRUE(bool(q));
  auto res = gptqQuantize(w, h, *q);
  ASSERT_TRUE(bool(res));
  EXPECT_EQ(res->quantized(0, 0), 0.25f);
  EXPECT_NEAR(res->loss, 0.05 * 0.05 * 4.0, 1e-7);

  // A dead input channel: W[:, j] is zeroed, receives no updates and stays
  // exactly 0 when the grid contains 0.
  Matrix x = correlatedActivations(60, 12, 91);
  for (int64_t t = 0; t < 60; ++t)
    x(t, 5) = 0.0f;
  Matrix wd = randomMatrix(4, 12, 92);
  MatrixD hd = preparedHessian(x, &wd);
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_EQ(wd(i, 5), 0.0f);
  auto qd = UniformColumnQuantizer::createRefit(4, 12, UniformSpec{2, 4, true});
  ASSERT_TRUE(bool(qd));
  auto rd = gptqQuantize(wd, hd, *qd, GptqOptions{3, false, 0, 0.01});
  ASSERT_TRUE(bool(rd));
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_EQ(rd->quantized(i, 5), 0.0f);
}

TEST(GptqTest, Errors) {
  Matrix w = randomMatrix(2, 4, 1);
  MatrixD h(4, 4, 0.0);
  for (int64_t j = 0; j < 4; ++j)
    h(j, j) = 1.0;
  auto q = UniformColumnQuantizer::createRefit(2, 4, UniformSpec{});
  ASSERT_TRUE(bool(q));
  auto r1 = gptqQuantize(w, MatrixD(3, 3), *q);
  EXPECT_FALSE(errorText(r1).empty());
  MatrixD bad = h;
  bad(2, 2) = -1.0;
  auto r2 = gptqQuantize(w, bad, *q);
  EXPECT_NE(errorText(r2).find("not positive definite"), std::string::npos);
  Matrix wn = w;
  wn(1, 3) = std::nanf("");
  auto r3 = gptqQuantize(wn, h, *q);
  EXPECT_NE(errorText(r3).find("row 1, column 3"), std::string::npos);
  Matrix wc = w;
  auto r4 = gptqLoop(wc, h, {0, 0, 1, 2}, *q, 2);
  EXPECT_FALSE(errorText(r4).empty());
  auto r5 = gptqLoop(wc, h, {}, *q, 0);
  EXPECT_FALSE(errorText(r5).empty());

  auto f1 = UniformColumnQuantizer::createFixed(2, 4, 4, 2, {UniformParams{}});
  EXPECT_FALSE(errorText(f1).empty());
  auto f2 = UniformColumnQuantizer::createRefit(2, 4, UniformSpec{0, 2, false});
  EXPECT_FALSE(errorText(f2).empty());
  MixedColumnQuantizer::Config cfg;
  cfg.salient = Mask(2, 4, 1);
  auto m1 = MixedColumnQuantizer::create(2, 4, cfg); // no k-bit params
  EXPECT_FALSE(errorText(m1).empty());
  MixedColumnQuantizer::Config cfg2;
  cfg2.refitBinary = false;
  auto m2 = MixedColumnQuantizer::create(2, 4, cfg2); // no binary params
  EXPECT_FALSE(errorText(m2).empty());
  MixedColumnQuantizer::Config cfg3;
  cfg3.salient = Mask(3, 4, 0);
  auto m3 = MixedColumnQuantizer::create(2, 4, cfg3);
  EXPECT_FALSE(errorText(m3).empty());
}

} // namespace
