//===- PipelineTest.cpp - The Squeeze10 layer recipe, composed -----------===//
//
// Stage 1 (4-bit g16) -> PBAR on W^ -> top-20% mask -> GPTQ with mixed
// targets, as the quantization pass composes the library. Checks structure
// of the result and that error feedback helps.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "s10/Quant/Binarize.h"
#include "s10/Quant/Gptq.h"
#include "s10/Quant/Hessian.h"
#include "s10/Quant/Linalg.h"
#include "s10/Quant/Metrics.h"
#include "s10/Quant/Pbar.h"
#include "s10/Quant/SalientMask.h"
#include "s10/Quant/Uniform.h"

#include <set>

using namespace s10::quant;
using namespace s10::quant::test;

namespace {

TEST(PipelineTest, Squeeze10Layer) {
  const int64_t dout = 24, din = 48, g = 16;
  Matrix w = randomMatrix(dout, din, 5);
  Matrix x = correlatedActivations(256, din, 6);
  HessianAccumulator acc(din);
  ASSERT_OK(acc.add(x));
  MatrixD h = acc.hessian();
  auto dead = prepareHessian(h, w);
  ASSERT_TRUE(bool(dead));

  auto stage1 = quantizeUniform(w, UniformSpec{4, g, false});
  ASSERT_TRUE(bool(stage1));
  auto hinv = invertSpd(h);
  ASSERT_TRUE(bool(hinv));
  auto v = hessianSalience(stage1->dequantized, diagonal(*hinv));
  auto b = rangeSalience(stage1->dequantized, x, g);
  ASSERT_TRUE(v && b);
  auto m = combineSalience(*v, &*b, PbarOptions{1.0, true});
  ASSERT_TRUE(bool(m));
  auto mask = selectSalient(*m, MaskOptions{0.2, MaskGranularity::Row, 0, 0});
  ASSERT_TRUE(bool(mask));

  MixedColumnQuantizer::Config cfg;
  cfg.salient = *mask;
  cfg.bits = 4;
  cfg.kGroupSize = g;
  cfg.kParams = stage1->params;
  cfg.binGroupSize = g;
  auto q = MixedColumnQuantizer::create(dout, din, cfg);
  ASSERT_TRUE(bool(q));
  auto res = gptqQuantize(w, h, *q);
  ASSERT_TRUE(bool(res)) << errorText(res);

  // Salient entries lie on their stage-1 grid; the rest take mu +- alpha.
  for (int64_t i = 0; i < dout; ++i)
    for (int64_t gi = 0; gi < din / g; ++gi) {
      std::set<float> binVals;
      for (int64_t j = gi * g; j < (gi + 1) * g; ++j) {
        float val = res->quantized(i, j);
        if ((*mask)(i, j)) {
          const UniformParams &p = stage1->paramsAt(i, j);
          EXPECT_EQ(val, quantizeValue(val, p, 4));
        } else {
          binVals.insert(val);
        }
      }
      EXPECT_LE(binVals.size(), 2u);
    }
  // Error feedback beats plugging the same targets in directly.
  auto direct = binarizeGroups(w, g, &*mask);
  ASSERT_TRUE(bool(direct));
  Matrix plain = direct->values;
  for (int64_t k = 0; k < plain.size(); ++k)
    if (mask->data[k])
      plain.data[k] = stage1->dequantized.data[k];
  double eGptq = unwrap(relativeOutputError(w, res->quantized, x));
  double ePlain = unwrap(relativeOutputError(w, plain, x));
  EXPECT_LT(eGptq, ePlain);
  EXPECT_LT(eGptq, 1.0);
}

} // namespace
