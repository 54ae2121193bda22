//===- SegmentsTest.cpp - Splitting a model where one value flows ---------===//

#include "TestUtil.h"

#include "s10/Runtime/Segments.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace s10::runtime;
using namespace s10::runtime::test;

namespace {

// Two residual blocks over a 2-D stream: x + W1 relu-free linear, then a
// norm and a second linear that both read the stream (two values live
// there, so no cut), then a last residual add.
const char *kChain = R"(
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w1 = arith.constant dense<[[0.5, 0.0, 0.1, 0.0], [0.0, 1.0, 0.0, 0.2],
                              [0.3, 0.0, 1.0, 0.0], [0.0, -0.4, 0.0, 1.0]]> : tensor<4x4xf32>
  %g = arith.constant dense<[1.0, 2.0, 0.5, 1.0]> : tensor<4xf32>
  %a = squeeze.linear %x, %w1 {role = #squeeze.role<block = 0, kind = q>, weight_layout = #squeeze.weight_layout<out_in>}
      : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %h = onnx.node "Add"(%x, %a) {name = "add0"} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %n = squeeze.rms_norm %h, %g {epsilon = 1.0e-5 : f64} : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %b = squeeze.linear %n, %w1 {role = #squeeze.role<block = 1, kind = q>, weight_layout = #squeeze.weight_layout<out_in>}
      : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %y = onnx.node "Add"(%h, %b) {name = "add1"} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
})";

TEST(SegmentsTest, CutsWhereOneValueIsLive) {
  Compiled c = compile(kChain);
  ASSERT_TRUE(c.exec);
  auto segments = splitModel(*c.module);
  ASSERT_TRUE(bool(segments)) << llvm::toString(segments.takeError());
  // Cuts before add0 ({x, a} live: no), before rms_norm ({h}: yes), before
  // the second linear ({h, n}: no), before add1 ({h, b}: no).
  ASSERT_EQ(segments->size(), 2u);
  EXPECT_EQ((*segments)[0].ops.size(), 2u); // linear, add0
  EXPECT_EQ((*segments)[1].ops.size(), 3u); // rms_norm, linear, add1
  // Weights are declared again where they are used, and every clone maps
  // back to its source operation.
  for (ModelSegment &seg : *segments) {
    auto f = *findModelFunction(*seg.module);
    EXPECT_EQ(f.getNumArguments(), 1u);
    f.walk([&](mlir::Operation *op) {
      if (!mlir::isa<mlir::func::FuncOp, mlir::func::ReturnOp>(op)) {
        EXPECT_TRUE(seg.original.count(op)) << describeOp(op);
      }
    });
  }

  // Running the segments one after the other is running the function.
  auto x = randomFloats(3 * 4, 11);
  auto whole = runOk(*c.exec, {Tensor::f32({3, 4}, x)});
  Tensor v = Tensor::f32({3, 4}, x);
  for (ModelSegment &seg : *segments) {
    auto exec = Executor::create(*seg.module);
    ASSERT_TRUE(bool(exec)) << llvm::toString(exec.takeError());
    auto out = runOk(**exec, {v});
    ASSERT_EQ(out.size(), 1u);
    v = out[0];
  }
  ASSERT_EQ(v.numel(), whole[0].numel());
  for (int64_t i = 0; i < v.numel(); ++i)
    EXPECT_EQ(v.f32()[i], whole[0].f32()[i]) << i;
}

TEST(SegmentsTest, NoCutIsOneSegment) {
  Compiled c = compile(R"(
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %y = onnx.node "Add"(%x, %x) {name = "a"} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %z = onnx.node "Mul"(%x, %y) {name = "m"} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %z : tensor<?x4xf32>
})");
  ASSERT_TRUE(c.exec);
  auto segments = splitModel(*c.module);
  ASSERT_TRUE(bool(segments));
  ASSERT_EQ(segments->size(), 1u);
  EXPECT_EQ((*segments)[0].ops.size(), 2u);
}

} // namespace
