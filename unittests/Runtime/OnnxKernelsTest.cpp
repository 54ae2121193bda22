//===- OnnxKernelsTest.cpp - ONNX operator kernels vs reference loops -----===//
//
// Every test builds a one-node function whose types are deliberately vague
// (dynamic or unranked), runs it through the executor and checks the result
// against a straightforward loop or values computed with numpy.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "s10/Runtime/Tensor.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace s10::runtime;
using namespace s10::runtime::test;

namespace {

std::string eltName(DType t) {
  switch (t) {
  case DType::Bool:
    return "i1";
  case DType::U8:
    return "ui8";
  case DType::U16:
    return "ui16";
  case DType::U32:
    return "ui32";
  case DType::U64:
    return "ui64";
  default:
    return dtypeName(t).str();
  }
}

/// Runs one onnx.node over `inputs` (function arguments with dynamic
/// dims) and returns its results, or the error text in `error`.
std::vector<Tensor> runNode(const std::string &opType,
                            const std::vector<Tensor> &inputs,
                            const std::string &attrs = "", int numResults = 1,
                            FloatMode mode = FloatMode::F32,
                            std::string *error = nullptr) {
  std::string args, argTypes, operands;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string type = "tensor<";
    for (int64_t d = 0; d < inputs[i].rank(); ++d)
      type += "?x";
    type += eltName(inputs[i].dtype()) + ">";
    args += (i ? ", " : "") + ("%a" + std::to_string(i)) + ": " + type;
    argTypes += (i ? ", " : "") + type;
    operands += (i ? ", " : "") + ("%a" + std::to_string(i));
  }
  std::string resTypes, results, retTypes;
  for (int r = 0; r < numResults; ++r) {
    resTypes += (r ? ", " : "") + std::string("tensor<*xf32>");
    results += (r ? ", " : "") + ("%r#" + std::to_string(r));
  }
  std::string text = llvm::formatv(
      "func.func @main({0}) -> ({1}) {{\n"
      "  %r:{2} = onnx.node \"{3}\"({4}) {5} {{name = \"node0\"} : ({6}) -> "
      "({1})\n"
      "  return {7} : {1}\n"
      "}\n",
      args, resTypes, numResults, opType, operands,
      attrs.empty() ? "" : "attrs {" + attrs + "}", argTypes, results);
  ExecOptions opts;
  opts.floatMode = mode;
  Compiled c = compile(text, opts);
  if (!c.exec)
    return {};
  auto res = c.exec->run(inputs);
  if (!res) {
    std::string msg = llvm::toString(res.takeError());
    if (error)
      *error = msg;
    else
      ADD_FAILURE() << msg;
    return {};
  }
  return std::move(*res);
}

Tensor iota(llvm::ArrayRef<int64_t> shape, DType type = DType::F32) {
  int64_t n = shapeNumel(shape);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = float(i);
  return Tensor::f32(shape, v).castTo(type);
}

Tensor randomTensor(llvm::ArrayRef<int64_t> shape, uint32_t seed) {
  return Tensor::f32(shape, randomFloats(shapeNumel(shape), seed));
}

std::vector<int64_t> ints(const Tensor &t) {
  auto v = t.toInt64Vector();
  return std::vector<int64_t>(v.begin(), v.end());
}

/// Naive broadcasting matmul reference over [..., m, k] x [..., k, n].
std::vector<float> naiveMatMul(const Tensor &a, const Tensor &b,
                               std::vector<int64_t> &shape) {
  Shape as(a.shape()), bs(b.shape());
  bool aVec = as.size() == 1, bVec = bs.size() == 1;
  if (aVec)
    as.insert(as.begin(), 1);
  if (bVec)
    bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  size_t rank = std::max(as.size(), bs.size());
  Shape ab(rank - 2, 1), bb(rank - 2, 1), ob(rank - 2, 1);
  for (size_t i = 0; i + 2 < as.size(); ++i)
    ab[rank - as.size() + i] = as[i];
  for (size_t i = 0; i + 2 < bs.size(); ++i)
    bb[rank - bs.size() + i] = bs[i];
  for (size_t i = 0; i + 2 < rank; ++i)
    ob[i] = std::max(ab[i], bb[i]);
  int64_t batches = shapeNumel(ob);
  std::vector<float> out(batches * m * n);
  std::vector<float> av = a.toFloatVector(), bv = b.toFloatVector();
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t rem = bi, aOff = 0, bOff = 0, aStride = 1, bStride = 1;
    for (int64_t d = int64_t(rank) - 3; d >= 0; --d) {
      int64_t idx = rem % ob[d];
      rem /= ob[d];
      aOff += (ab[d] == 1 ? 0 : idx) * aStride;
      bOff += (bb[d] == 1 ? 0 : idx) * bStride;
      aStride *= ab[d];
      bStride *= bb[d];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t x = 0; x < k; ++x)
          acc += double(av[(aOff * m + i) * k + x]) *
                 double(bv[(bOff * k + x) * n + j]);
        out[(bi * m + i) * n + j] = float(acc);
      }
  }
  shape.assign(ob.begin(), ob.end());
  if (!aVec)
    shape.push_back(m);
  if (!bVec)
    shape.push_back(n);
  return out;
}

TEST(OnnxKernelsTest, MatMulBroadcasting) {
  struct Case {
    Shape a, b;
  } cases[] = {{{2, 1, 3, 4}, {5, 4, 2}},
               {{4}, {2, 4, 3}},
               {{3, 4}, {4}},
               {{2, 3, 4}, {4, 5}},
               {{1, 6, 7, 8}, {1, 6, 8, 9}},
               {{4}, {4}},
               {{70, 33}, {33, 300}},
               {{3, 1, 1, 5}, {1, 2, 5, 2}}};
  uint32_t seed = 1;
  for (const Case &c : cases) {
    Tensor a = randomTensor(c.a, seed++), b = randomTensor(c.b, seed++);
    std::vector<int64_t> shape;
    std::vector<float> want = naiveMatMul(a, b, shape);
    auto out = runNode("MatMul", {a, b});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), llvm::ArrayRef<int64_t>(shape))
        << shapeStr(c.a) << " x " << shapeStr(c.b);
    expectNear(out[0], want, 1e-4f);
  }
}

TEST(OnnxKernelsTest, MatMulIntegers) {
  Tensor a = Tensor::i64({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::i64({2, 2}, {5, 6, 7, 8});
  auto out = runNode("MatMul", {a, b});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::I64);
  EXPECT_EQ(ints(out[0]), (std::vector<int64_t>{19, 22, 43, 50}));
}

TEST(OnnxKernelsTest, Gemm) {
  Tensor a = randomTensor({4, 3}, 11), b = randomTensor({5, 4}, 12);
  Tensor c = randomTensor({5}, 13);
  auto out = runNode("Gemm", {a, b, c},
                     "transA = 1 : i64, transB = 1 : i64, alpha = 0.5 : f32, "
                     "beta = 2.0 : f32");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), llvm::ArrayRef<int64_t>({3, 5}));
  std::vector<float> av = a.toFloatVector(), bv = b.toFloatVector(),
                     cv = c.toFloatVector(), want(15);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      double acc = 0;
      for (int k = 0; k < 4; ++k)
        acc += av[k * 3 + i] * bv[j * 4 + k];
      want[i * 5 + j] = float(0.5 * acc + 2.0 * cv[j]);
    }
  expectNear(out[0], want, 1e-5f);
}

TEST(OnnxKernelsTest, SoftmaxAnyAxis) {
  Tensor x = randomTensor({2, 3, 4}, 3);
  std::vector<float> xv = x.toFloatVector();
  for (int axis : {-1, 1, 0}) {
    auto out =
        runNode("Softmax", {x}, "axis = " + std::to_string(axis) + " : i64");
    auto lout =
        runNode("LogSoftmax", {x}, "axis = " + std::to_string(axis) + " : i64");
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(lout.size(), 1u);
    int ax = axis < 0 ? axis + 3 : axis;
    int64_t dims[3] = {2, 3, 4}, strides[3] = {12, 4, 1};
    std::vector<float> want(24), lwant(24);
    for (int64_t i = 0; i < 24; ++i) {
      int64_t coord = (i / strides[ax]) % dims[ax];
      int64_t base = i - coord * strides[ax];
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < dims[ax]; ++j)
        mx = std::max(mx, double(xv[base + j * strides[ax]]));
      for (int64_t j = 0; j < dims[ax]; ++j)
        sum += std::exp(xv[base + j * strides[ax]] - mx);
      want[i] = float(std::exp(xv[i] - mx) / sum);
      lwant[i] = float(xv[i] - mx - std::log(sum));
    }
    expectNear(out[0], want, 1e-6f);
    expectNear(lout[0], lwant, 1e-5f);
  }
}

Tensor i64s(std::vector<int64_t> v) {
  return Tensor::i64({int64_t(v.size())}, v);
}

TEST(OnnxKernelsTest, SliceSemantics) {
  Tensor x = iota({5, 6}, DType::I64);
  const int64_t big = std::numeric_limits<int64_t>::max();
  struct Case {
    std::vector<int64_t> starts, ends, axes, steps, want;
  } cases[] = {
      {{4, -1},
       {-100, -7},
       {0, 1},
       {-2, -1},
       {29, 28, 27, 26, 25, 24, 17, 16, 15, 14, 13, 12, 5, 4, 3, 2, 1, 0}},
      {{1, -3},
       {1000, big},
       {0, 1},
       {1, 1},
       {9, 10, 11, 15, 16, 17, 21, 22, 23, 27, 28, 29}},
      {{-100, 5}, {2, 1}, {0, -1}, {1, -3}, {5, 2, 11, 8}},
      {{1}, {5}, {1}, {2}, {1, 3, 7, 9, 13, 15, 19, 21, 25, 27}},
  };
  for (const Case &c : cases) {
    auto out = runNode("Slice", {x, i64s(c.starts), i64s(c.ends), i64s(c.axes),
                                 i64s(c.steps)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(ints(out[0]), c.want);
  }
  // Without axes/steps; empty result.
  auto out = runNode("Slice", {x, i64s({3, 0}), i64s({3, 2})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), llvm::ArrayRef<int64_t>({0, 2}));
}

TEST(OnnxKernelsTest, GatherAndGatherND) {
  Tensor d = iota({2, 3, 4}, DType::I64);
  Tensor idx = Tensor::i64({2, 2}, {-1, 0, 1, 1});
  auto out = runNode("Gather", {d, idx}, "axis = 1 : i64");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), llvm::ArrayRef<int64_t>({2, 2, 2, 4}));
  EXPECT_EQ(ints(out[0]),
            (std::vector<int64_t>{8,  9,  10, 11, 0,  1,  2,  3,  4,  5,  6,
                                  7,  4,  5,  6,  7,  20, 21, 22, 23, 12, 13,
                                  14, 15, 16, 17, 18, 19, 16, 17, 18, 19}));
  Tensor nd = Tensor::i64({2, 1, 2}, {1, 2, 2, -1});
  auto out2 = runNode("GatherND", {d, nd}, "batch_dims = 1 : i64");
  ASSERT_EQ(out2.size(), 1u);
  EXPECT_EQ(out2[0].shape(), llvm::ArrayRef<int64_t>({2, 1}));
  EXPECT_EQ(ints(out2[0]), (std::vector<int64_t>{6, 23}));
  // Rows of a 2-D table (batch_dims 0): indices [[1], [0]].
  Tensor table = iota({3, 2}, DType::I64);
  auto out3 = runNode("GatherND", {table, Tensor::i64({2, 1}, {1, 0})});
  ASSERT_EQ(out3.size(), 1u);
  EXPECT_EQ(ints(out3[0]), (std::vector<int64_t>{2, 3, 0, 1}));
  // Out-of-range index: an error, not a crash.
  std::string err;
  runNode("Gather", {d, Tensor::i64({1}, {3})}, "axis = 1 : i64", 1,
          FloatMode::F32, &err);
  EXPECT_NE(err.find("out of bounds"), std::string::npos) << err;
}

TEST(OnnxKernelsTest, WhereBroadcasting) {
  Tensor cond = Tensor::fromData<bool>(DType::Bool, {2, 1}, {true, false});
  Tensor x = Tensor::f32({1, 3}, {1, 2, 3});
  Tensor y = Tensor::f32({}, {-1});
  auto out = runNode("Where", {cond, x, y});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), llvm::ArrayRef<int64_t>({2, 3}));
  expectNear(out[0], {1, 2, 3, -1, -1, -1}, 0);
}

TEST(OnnxKernelsTest, CumSum) {
  Tensor x = Tensor::i64({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor axis = Tensor::scalar<int64_t>(DType::I64, 1);
  auto plain = runNode("CumSum", {x, axis});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(ints(plain[0]), (std::vector<int64_t>{1, 3, 6, 4, 9, 15}));
  auto er =
      runNode("CumSum", {x, axis}, "exclusive = 1 : i64, reverse = 1 : i64");
  ASSERT_EQ(er.size(), 1u);
  EXPECT_EQ(ints(er[0]), (std::vector<int64_t>{5, 3, 0, 11, 6, 0}));
  auto f = runNode("CumSum",
                   {Tensor::f32({3}, {0.5f, 1.5f, 2.0f}),
                    Tensor::scalar<int64_t>(DType::I64, 0)},
                   "exclusive = 1 : i64");
  ASSERT_EQ(f.size(), 1u);
  expectNear(f[0], {0, 0.5f, 2.0f}, 0);
}

TEST(OnnxKernelsTest, BinaryBroadcastingAndInPlace) {
  Tensor a = randomTensor({4, 1, 5}, 21), b = randomTensor({3, 1}, 22);
  auto out = runNode("Sub", {a, b});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), llvm::ArrayRef<int64_t>({4, 3, 5}));
  std::vector<float> av = a.toFloatVector(), bv = b.toFloatVector(), want;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 5; ++k)
        want.push_back(av[i * 5 + k] - bv[j]);
  expectNear(out[0], want, 0);
  // Integer division truncates; division by zero does not trap.
  auto d = runNode("Div",
                   {Tensor::i64({3}, {7, -7, 1}), Tensor::i64({3}, {2, 2, 0})});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(ints(d[0]), (std::vector<int64_t>{3, -3, 0}));
  auto mx = runNode("Max", {Tensor::f32({2}, {1, 5}), Tensor::f32({1}, {3}),
                            Tensor::f32({2, 1}, {0, 4})});
  ASSERT_EQ(mx.size(), 1u);
  expectNear(mx[0], {3, 5, 4, 5}, 0);
  auto eq =
      runNode("Equal", {Tensor::i64({3}, {1, 2, 3}), Tensor::i64({}, {2})});
  ASSERT_EQ(eq.size(), 1u);
  EXPECT_EQ(eq[0].dtype(), DType::Bool);
  EXPECT_EQ(ints(eq[0]), (std::vector<int64_t>{0, 1, 0}));
  auto pw =
      runNode("Pow", {Tensor::f32({3}, {2, 3, -1}), Tensor::f32({}, {2})});
  ASSERT_EQ(pw.size(), 1u);
  expectNear(pw[0], {4, 9, 1}, 0);
}

TEST(OnnxKernelsTest, ShapeOps) {
  Tensor x = iota({2, 3, 4});
  auto r = runNode("Reshape", {x, i64s({0, -1})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].shape(), llvm::ArrayRef<int64_t>({2, 12}));
  auto rz =
      runNode("Reshape", {iota({0, 3}), i64s({3, 0})}, "allowzero = 1 : i64");
  ASSERT_EQ(rz.size(), 1u);
  EXPECT_EQ(rz[0].shape(), llvm::ArrayRef<int64_t>({3, 0}));
  auto t = runNode("Transpose", {x}, "perm = array<i64: 2, 0, 1>");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].shape(), llvm::ArrayRef<int64_t>({4, 2, 3}));
  std::vector<float> want;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        want.push_back(float(i * 12 + j * 4 + k));
  expectNear(t[0], want, 0);
  auto u = runNode("Unsqueeze", {x, i64s({-1, 0})});
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].shape(), llvm::ArrayRef<int64_t>({1, 2, 3, 4, 1}));
  auto sq = runNode("Squeeze", {u[0], i64s({0})});
  ASSERT_EQ(sq.size(), 1u);
  EXPECT_EQ(sq[0].shape(), llvm::ArrayRef<int64_t>({2, 3, 4, 1}));
  auto e = runNode("Expand", {Tensor::f32({3, 1}, {1, 2, 3}), i64s({2, 1, 2})});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].shape(), llvm::ArrayRef<int64_t>({2, 3, 2}));
  expectNear(e[0], {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, 0);
  auto c = runNode("Concat", {iota({2, 1}), iota({2, 2})}, "axis = -1 : i64");
  ASSERT_EQ(c.size(), 1u);
  expectNear(c[0], {0, 0, 1, 1, 2, 3}, 0);
  auto s = runNode("Shape", {x}, "start = 1 : i64, end = -1 : i64");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(ints(s[0]), (std::vector<int64_t>{3}));
  auto rg = runNode("Range", {Tensor::scalar<int64_t>(DType::I64, 10),
                              Tensor::scalar<int64_t>(DType::I64, 3),
                              Tensor::scalar<int64_t>(DType::I64, -3)});
  ASSERT_EQ(rg.size(), 1u);
  EXPECT_EQ(ints(rg[0]), (std::vector<int64_t>{10, 7, 4}));
  auto sp = runNode("Split", {iota({5})}, "axis = 0 : i64", 2);
  ASSERT_EQ(sp.size(), 2u);
  expectNear(sp[0], {0, 1, 2}, 0);
  expectNear(sp[1], {3, 4}, 0);
  auto tr = runNode("Trilu", {iota({3, 3})}, "upper = 0 : i64");
  ASSERT_EQ(tr.size(), 1u);
  expectNear(tr[0], {0, 0, 0, 3, 4, 0, 6, 7, 8}, 0);
}

TEST(OnnxKernelsTest, Reductions) {
  Tensor x = iota({2, 3, 4});
  auto m = runNode("ReduceMean", {x, i64s({-1})});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].shape(), llvm::ArrayRef<int64_t>({2, 3, 1}));
  expectNear(m[0], {1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f}, 0);
  auto s = runNode("ReduceSum", {x, i64s({0, 2})}, "keepdims = 0 : i64");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].shape(), llvm::ArrayRef<int64_t>({3}));
  expectNear(s[0], {60, 92, 124}, 0);
  auto mx = runNode("ReduceMax", {x}, "axes = array<i64: 1>");
  ASSERT_EQ(mx.size(), 1u);
  expectNear(mx[0], {8, 9, 10, 11, 20, 21, 22, 23}, 0);
  auto am = runNode("ArgMax", {Tensor::f32({2, 3}, {1, 5, 5, 7, 0, 2})},
                    "axis = 1 : i64, keepdims = 0 : i64");
  ASSERT_EQ(am.size(), 1u);
  EXPECT_EQ(ints(am[0]), (std::vector<int64_t>{1, 0}));
}

TEST(OnnxKernelsTest, UnknownOperatorNamesNodeAndType) {
  std::string err;
  auto out = runNode("FancyOp", {iota({2})}, "", 1, FloatMode::F32, &err);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(err.find("node0"), std::string::npos) << err;
  EXPECT_NE(err.find("FancyOp"), std::string::npos) << err;
}

TEST(OnnxKernelsTest, FloatModes) {
  Tensor x = Tensor::f32({2}, {0.1f, 1.0f / 3.0f});
  // f32 mode: Cast to f16 is the identity and stays f32.
  auto f = runNode("Cast", {x}, "to = 10 : i64");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].dtype(), DType::F32);
  expectNear(f[0], {0.1f, 1.0f / 3.0f}, 0);
  // Exact mode: rounds to half precision.
  auto e = runNode("Cast", {x}, "to = 10 : i64", 1, FloatMode::Exact);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].dtype(), DType::F16);
  EXPECT_EQ(e[0].data_as<uint16_t>()[0], floatToHalf(0.1f));
  // f16 arithmetic is rounded to f16.
  Tensor h = x.castTo(DType::F16);
  auto add = runNode("Add", {h, h}, "", 1, FloatMode::Exact);
  ASSERT_EQ(add.size(), 1u);
  EXPECT_EQ(add[0].dtype(), DType::F16);
  float h0 = halfToFloat(h.data_as<uint16_t>()[0]);
  EXPECT_EQ(add[0].data_as<uint16_t>()[0], floatToHalf(h0 + h0));
  // In f32 mode an f16 input is widened on entry.
  auto add32 = runNode("Add", {h, h});
  ASSERT_EQ(add32.size(), 1u);
  EXPECT_EQ(add32[0].dtype(), DType::F32);
}

TEST(OnnxKernelsTest, LayerNormalization) {
  Tensor x = randomTensor({3, 8}, 5), s = randomTensor({8}, 6),
         b = randomTensor({8}, 7);
  auto out =
      runNode("LayerNormalization", {x, s, b}, "epsilon = 1.0e-5 : f32", 3);
  ASSERT_EQ(out.size(), 3u);
  std::vector<float> xv = x.toFloatVector(), sv = s.toFloatVector(),
                     bv = b.toFloatVector(), want;
  for (int r = 0; r < 3; ++r) {
    double mu = 0, var = 0;
    for (int i = 0; i < 8; ++i)
      mu += xv[r * 8 + i] / 8.0;
    for (int i = 0; i < 8; ++i)
      var += (xv[r * 8 + i] - mu) * (xv[r * 8 + i] - mu) / 8.0;
    for (int i = 0; i < 8; ++i)
      want.push_back(
          float((xv[r * 8 + i] - mu) / std::sqrt(var + 1e-5) * sv[i] + bv[i]));
  }
  expectNear(out[0], want, 1e-5f);
  EXPECT_EQ(out[1].shape(), llvm::ArrayRef<int64_t>({3, 1}));
}

} // namespace
