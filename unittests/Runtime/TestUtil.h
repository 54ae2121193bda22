//===- TestUtil.h - Helpers for the runtime unit tests ----------*- C++ -*-===//

#ifndef S10_UNITTESTS_RUNTIME_TESTUTIL_H
#define S10_UNITTESTS_RUNTIME_TESTUTIL_H

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeDialect.h"
#include "s10/Runtime/Executor.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <random>
#include <string>
#include <vector>

namespace s10::runtime::test {

/// A context with the dialects the executor runs.
inline std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<s10::onnx::ONNXDialect, s10::squeeze::SqueezeDialect,
                  mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::tensor::TensorDialect>();
  auto ctx = std::make_unique<mlir::MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
  return ctx;
}

/// A parsed module plus an executor over it.
struct Compiled {
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<Executor> exec;
};

inline Compiled compile(const std::string &text, ExecOptions opts = {}) {
  Compiled c;
  c.ctx = makeContext();
  c.module = mlir::parseSourceString<mlir::ModuleOp>(text, c.ctx.get());
  EXPECT_TRUE(c.module) << "cannot parse:\n" << text;
  if (!c.module)
    return c;
  auto exec = Executor::create(*c.module, opts);
  if (!exec) {
    ADD_FAILURE() << llvm::toString(exec.takeError());
    return c;
  }
  c.exec = std::move(*exec);
  return c;
}

/// Runs and returns the outputs, failing the test on error.
inline std::vector<Tensor> runOk(Executor &exec,
                                 llvm::ArrayRef<Tensor> inputs) {
  auto res = exec.run(inputs);
  if (!res) {
    ADD_FAILURE() << llvm::toString(res.takeError());
    return {};
  }
  return std::move(*res);
}

inline std::vector<float> randomFloats(size_t n, uint32_t seed,
                                       float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

/// "dense<[[1.0, 2.0], [3.0, 4.0]]>"-style literal of a flat f32 array with
/// the given shape (nested brackets).
inline std::string denseLiteral(llvm::ArrayRef<float> v,
                                llvm::ArrayRef<int64_t> shape) {
  std::string s;
  std::function<void(size_t, size_t &)> rec = [&](size_t d, size_t &pos) {
    if (d == shape.size()) {
      char buf[32];
      snprintf(buf, sizeof buf, "%.9e", double(v[pos++]));
      s += buf;
      return;
    }
    s += "[";
    for (int64_t i = 0; i < shape[d]; ++i) {
      if (i)
        s += ", ";
      rec(d + 1, pos);
    }
    s += "]";
  };
  size_t pos = 0;
  rec(0, pos);
  return "dense<" + s + ">";
}

inline std::string shapeType(llvm::ArrayRef<int64_t> shape,
                             const std::string &elt) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return s + elt + ">";
}

inline void expectNear(const Tensor &t, llvm::ArrayRef<float> want, float tol) {
  ASSERT_EQ(t.numel(), int64_t(want.size()));
  std::vector<float> got = t.toFloatVector();
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol) << "at " << i;
}

} // namespace s10::runtime::test

#endif // S10_UNITTESTS_RUNTIME_TESTUTIL_H
