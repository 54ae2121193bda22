//===- ONNXToSqueeze.cpp - Raise ONNX graphs to squeeze ops ---------------===//
//
// Exporters spell a transformer as hundreds of small nodes. These patterns
// recognize the pieces by structure (never by value names, which exporters
// generate) and replace them with model-level squeeze ops.
//
//===----------------------------------------------------------------------===//

#include "s10/Conversion/ONNXToSqueeze/ONNXToSqueeze.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <map>
#include <optional>

namespace s10 {
#define GEN_PASS_DEF_RAISEONNXTOSQUEEZE
#include "s10/Conversion/Passes.h.inc"
} // namespace s10

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;
using s10::onnx::NodeOp;

//===----------------------------------------------------------------------===//
// Matching helpers
//===----------------------------------------------------------------------===//

namespace {

/// Input `i` of a node, or null where the node has fewer inputs: onnx.node
/// takes any number of operands, so a pattern must not assume an arity.
Value input(NodeOp node, unsigned i) {
  return i < node.getInputs().size() ? node.getInputs()[i] : Value();
}

/// The node defining `v` if it has operator type `type`.
NodeOp defNode(Value v, StringRef type) {
  auto node = v ? v.getDefiningOp<NodeOp>() : NodeOp();
  if (node && node.getOpType() == type && node.getNumResults() == 1)
    return node;
  return {};
}

/// Looks through Cast nodes between float types.
Value skipFloatCasts(Value v) {
  while (NodeOp cast = defNode(v, "Cast")) {
    Value in = input(cast, 0);
    auto inType = in ? dyn_cast<TensorType>(in.getType()) : TensorType();
    if (!inType || !isa<FloatType>(inType.getElementType()))
      break;
    v = in;
  }
  return v;
}

/// True if `v` is a weight: an external tensor or a constant.
bool isWeight(Value v) {
  return v &&
         (v.getDefiningOp<WeightOp>() || v.getDefiningOp<arith::ConstantOp>());
}

/// The double with the fewest decimal digits that rounds to `f`.
double shortestDecimal(float f) {
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {
    snprintf(buf, sizeof(buf), "%.*g", digits, double(f));
    double d = strtod(buf, nullptr);
    if (float(d) == f)
      return d;
  }
  return f;
}

/// The elements of a constant as doubles (float or integer), looking through
/// float casts.
std::optional<SmallVector<double>> constValues(Value v) {
  v = skipFloatCasts(v);
  auto cst = v ? v.getDefiningOp<arith::ConstantOp>() : arith::ConstantOp();
  if (!cst)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
  if (!dense)
    return std::nullopt;
  SmallVector<double> out;
  Type elt = dense.getElementType();
  if (elt.isF64()) {
    for (APFloat f : dense.getValues<APFloat>())
      out.push_back(f.convertToDouble());
  } else if (isa<FloatType>(elt)) {
    // Narrow constants stand for the decimal the exporter wrote (1e-5, not
    // 9.99999975e-06).
    for (APFloat f : dense.getValues<APFloat>()) {
      bool lost;
      f.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(shortestDecimal(f.convertToFloat()));
    }
  } else if (elt.isInteger(1)) {
    for (bool b : dense.getValues<bool>())
      out.push_back(b);
  } else if (isa<IntegerType>(elt)) {
    for (APInt i : dense.getValues<APInt>())
      out.push_back(double(i.getSExtValue()));
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<double> constScalar(Value v) {
  auto vals = constValues(v);
  if (!vals || vals->size() != 1)
    return std::nullopt;
  return (*vals)[0];
}

std::optional<SmallVector<int64_t>> constInts(Value v) {
  // Integers read exactly: INT64_MAX (a slice to the end) has no double.
  auto cst = v ? v.getDefiningOp<arith::ConstantOp>() : arith::ConstantOp();
  auto dense = cst ? dyn_cast<DenseIntElementsAttr>(cst.getValue())
                   : DenseIntElementsAttr();
  if (dense && !dense.getElementType().isInteger(1)) {
    SmallVector<int64_t> out;
    for (APInt i : dense.getValues<APInt>())
      out.push_back(i.getSExtValue());
    return out;
  }
  auto vals = constValues(v);
  if (!vals)
    return std::nullopt;
  SmallVector<int64_t> out;
  for (double d : *vals)
    out.push_back(int64_t(d));
  return out;
}

/// The INTS attribute `key` of a node.
std::optional<SmallVector<int64_t>> intsAttr(NodeOp node, StringRef key) {
  auto arr = dyn_cast_or_null<DenseI64ArrayAttr>(node.getOnnxAttr(key));
  if (!arr)
    return std::nullopt;
  return SmallVector<int64_t>(arr.asArrayRef());
}

/// The other operand of a binary node, given one of them.
Value otherOperand(NodeOp node, Value known) {
  if (node.getNumOperands() != 2)
    return {};
  if (input(node, 0) == known)
    return input(node, 1);
  if (input(node, 1) == known)
    return input(node, 0);
  return {};
}

RankedTensorType rankedFloat(Value v) {
  auto t = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
  if (t && isa<FloatType>(t.getElementType()))
    return t;
  return {};
}

int64_t normAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

/// True if the node's `axis` attribute names the last of `rank` dimensions.
bool isLastAxis(NodeOp node, int64_t rank) {
  return normAxis(node.getIntAttr("axis", -1), rank) == rank - 1;
}

/// The static size of dimension `index` of `v`'s type (negative indices
/// count from the end), if known.
std::optional<int64_t> staticDim(Value v, int64_t index) {
  auto type = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
  if (!type)
    return std::nullopt;
  int64_t axis = normAxis(index, type.getRank());
  if (axis < 0 || axis >= type.getRank() || type.isDynamicDim(axis))
    return std::nullopt;
  return type.getDimSize(axis);
}

/// The value of a one-element tensor computed from constants and static
/// dimensions. Exporters write 1/sqrt(head_dim) as
/// Div(1, Sqrt(Cast(Slice(Shape(q), -1)))) and rsqrt as Div(1, Sqrt(x)).
std::optional<double> evalScalar(Value v, int depth = 0) {
  if (!v || depth > 12)
    return std::nullopt;
  if (auto c = constScalar(v))
    return c;
  NodeOp node = v.getDefiningOp<NodeOp>();
  if (!node || node.getNumResults() != 1)
    return std::nullopt;
  StringRef t = node.getOpType();
  auto arg = [&](unsigned i) { return evalScalar(input(node, i), depth + 1); };
  if (t == "Shape") {
    // Only the rank-1 case of a single static dimension.
    auto type = dyn_cast<RankedTensorType>(input(node, 0).getType());
    if (!type || node.getOnnxAttr("start") || node.getOnnxAttr("end") ||
        type.getRank() != 1 || type.isDynamicDim(0))
      return std::nullopt;
    return double(type.getDimSize(0));
  }
  if (t == "Gather" || t == "Slice") {
    // One static entry picked out of a Shape.
    NodeOp shape = defNode(input(node, 0), "Shape");
    if (!shape || shape.getOnnxAttr("start") || shape.getOnnxAttr("end"))
      return std::nullopt;
    std::optional<int64_t> index;
    if (t == "Gather") {
      if (auto i = constScalar(input(node, 1)))
        index = int64_t(*i);
    } else {
      auto starts = constInts(input(node, 1));
      auto ends = constInts(input(node, 2));
      auto inType = dyn_cast<RankedTensorType>(input(shape, 0).getType());
      int64_t rank = inType ? inType.getRank() : -1;
      if (starts && ends && starts->size() == 1 && ends->size() == 1 &&
          rank > 0) {
        int64_t s = normAxis((*starts)[0], rank);
        int64_t e = std::min((*ends)[0], rank);
        if (e < 0)
          e += rank;
        if (s >= 0 && e == s + 1)
          index = s;
      }
    }
    if (!index)
      return std::nullopt;
    if (auto d = staticDim(input(shape, 0), *index))
      return double(*d);
    return std::nullopt;
  }
  if (t == "Cast") {
    auto a = arg(0);
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (a && type && isa<IntegerType>(type.getElementType()))
      return std::trunc(*a);
    return a;
  }
  if (t == "Identity" || t == "Squeeze" || t == "Unsqueeze" || t == "Reshape")
    return arg(0);
  if (t == "Sqrt") {
    auto a = arg(0);
    return a && *a >= 0 ? std::optional<double>(std::sqrt(*a)) : std::nullopt;
  }
  if (t == "Reciprocal") {
    auto a = arg(0);
    return a && *a != 0 ? std::optional<double>(1.0 / *a) : std::nullopt;
  }
  if (t == "Neg") {
    auto a = arg(0);
    return a ? std::optional<double>(-*a) : std::nullopt;
  }
  if (t == "Mul" || t == "Div" || t == "Add" || t == "Sub") {
    auto a = arg(0), b = arg(1);
    if (!a || !b || (t == "Div" && *b == 0))
      return std::nullopt;
    if (t == "Mul")
      return *a * *b;
    if (t == "Div") {
      // Integer division truncates.
      auto type = dyn_cast<RankedTensorType>(v.getType());
      bool integer = type && isa<IntegerType>(type.getElementType());
      return integer ? std::trunc(*a / *b) : *a / *b;
    }
    return t == "Add" ? *a + *b : *a - *b;
  }
  return std::nullopt;
}

/// The entries of a shape operand: a constant, or the exporters'
/// Concat(Unsqueeze(Gather(Shape(x), i)), ..., Constant[H], Constant[D])
/// chain with an unknown (nullopt) entry for each dynamic piece.
std::optional<SmallVector<std::optional<int64_t>>> shapeEntries(Value v) {
  SmallVector<std::optional<int64_t>> out;
  if (auto ints = constInts(v)) {
    for (int64_t i : *ints)
      out.push_back(i);
    return out;
  }
  NodeOp cat = defNode(v, "Concat");
  if (!cat || cat.getIntAttr("axis", 0) != 0)
    return std::nullopt;
  for (Value piece : cat.getInputs()) {
    auto type = dyn_cast<RankedTensorType>(piece.getType());
    if (!type || type.getRank() != 1 || type.isDynamicDim(0))
      return std::nullopt;
    if (auto ints = constInts(piece)) {
      for (int64_t i : *ints)
        out.push_back(i);
      continue;
    }
    if (type.getDimSize(0) == 1) {
      auto s = evalScalar(piece);
      out.push_back(s ? std::optional<int64_t>(int64_t(*s)) : std::nullopt);
      continue;
    }
    out.append(type.getDimSize(0), std::nullopt);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Linear layers
//===----------------------------------------------------------------------===//

/// MatMul(x, W) with a constant 2-D W stored [in, out].
struct MatMulToLinear : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "MatMul" || op.getNumOperands() != 2 ||
        op.getNumResults() != 1)
      return failure();
    Value x = input(op, 0), w = input(op, 1);
    auto wType = rankedFloat(w);
    auto xType = rankedFloat(x);
    auto resType = rankedFloat(op.getResult(0));
    if (!isWeight(w) || !wType || wType.getRank() != 2 || !xType ||
        xType.getRank() < 2 || !resType)
      return rewriter.notifyMatchFailure(op, "not x @ constant 2-D weight");
    rewriter.replaceOpWithNewOp<LinearOp>(
        op, resType, x, w, /*bias=*/Value(),
        WeightLayoutAttr::get(getContext(), WeightLayout::in_out),
        /*role=*/RoleAttr());
    return success();
  }
};

/// Gemm(x, W[, b]) with transA = 0, alpha = beta = 1 and a constant W.
struct GemmToLinear : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "Gemm" || op.getNumResults() != 1 ||
        op.getNumOperands() < 2)
      return failure();
    if (op.getIntAttr("transA", 0) != 0 ||
        op.getFloatAttr("alpha", 1.0) != 1.0 ||
        op.getFloatAttr("beta", 1.0) != 1.0)
      return rewriter.notifyMatchFailure(op, "scaled or transposed input");
    Value x = input(op, 0), w = input(op, 1);
    auto wType = rankedFloat(w);
    auto resType = rankedFloat(op.getResult(0));
    if (!isWeight(w) || !wType || !rankedFloat(x) || !resType)
      return failure();
    bool transB = op.getIntAttr("transB", 0) != 0;
    int64_t out = transB ? wType.getDimSize(0) : wType.getDimSize(1);
    Value bias;
    if (op.getNumOperands() > 2 && !isa<NoneType>(input(op, 2).getType())) {
      bias = input(op, 2);
      auto bType = rankedFloat(bias);
      // Only a per-output-channel bias maps onto squeeze.linear.
      if (!isWeight(bias) || !bType || bType.getRank() != 1 ||
          bType.getDimSize(0) != out)
        return rewriter.notifyMatchFailure(op, "bias is not 1-D [out]");
    }
    rewriter.replaceOpWithNewOp<LinearOp>(
        op, resType, x, w, bias,
        WeightLayoutAttr::get(getContext(), transB ? WeightLayout::out_in
                                                   : WeightLayout::in_out),
        RoleAttr());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Embedding, RMSNorm, SwiGLU
//===----------------------------------------------------------------------===//

/// Gather(table, ids) along axis 0 of a constant 2-D float table.
struct GatherToEmbedding : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "Gather" || op.getNumOperands() != 2 ||
        op.getIntAttr("axis", 0) != 0)
      return failure();
    Value table = input(op, 0), ids = input(op, 1);
    auto tType = rankedFloat(table);
    auto idsType = dyn_cast<RankedTensorType>(ids.getType());
    auto resType = rankedFloat(op.getResult(0));
    if (!isWeight(table) || !tType || tType.getRank() != 2 || !idsType ||
        !isa<IntegerType>(idsType.getElementType()) || !resType ||
        idsType.getRank() < 1)
      return failure();
    rewriter.replaceOpWithNewOp<EmbeddingOp>(op, resType, ids, table);
    return success();
  }
};

/// weight * cast(a * 1/sqrt(mean(a^2) + eps)), a = cast(x), in any operand
/// order and with Div/rsqrt spellings of the normalization.
struct RMSNormChain : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  /// If `v` is a * r with r = 1 / sqrt(mean(a^2, -1) + eps), returns a and
  /// sets eps.
  static Value matchNormalized(Value v, double &eps) {
    if (NodeOp div = defNode(v, "Div")) {
      Value a = input(div, 0);
      if (matchRms(input(div, 1), a, eps, /*reciprocal=*/false))
        return a;
      return {};
    }
    NodeOp mul = defNode(v, "Mul");
    if (!mul)
      return {};
    for (int i = 0; i < 2; ++i) {
      Value a = input(mul, i), r = input(mul, 1 - i);
      if (matchRms(r, a, eps, /*reciprocal=*/true))
        return a;
    }
    return {};
  }

  /// r = [1/]sqrt(mean(a^2) + eps) over the last axis.
  static bool matchRms(Value r, Value a, double &eps, bool reciprocal) {
    Value s = r;
    if (reciprocal) {
      NodeOp recip = defNode(r, "Reciprocal");
      if (!recip)
        return false;
      s = input(recip, 0);
    }
    NodeOp sqrt = defNode(s, "Sqrt");
    if (!sqrt)
      return false;
    NodeOp add = defNode(input(sqrt, 0), "Add");
    if (!add)
      return false;
    for (int i = 0; i < 2; ++i) {
      NodeOp mean = defNode(input(add, i), "ReduceMean");
      auto e = constScalar(input(add, 1 - i));
      if (!mean || !e || !isLastAxisMean(mean, a))
        continue;
      Value sq = input(mean, 0);
      if (!isSquareOf(sq, a))
        continue;
      eps = *e;
      return true;
    }
    return false;
  }

  static bool isSquareOf(Value sq, Value a) {
    if (NodeOp pow = defNode(sq, "Pow")) {
      auto p = constScalar(input(pow, 1));
      return input(pow, 0) == a && p && *p == 2.0;
    }
    if (NodeOp mul = defNode(sq, "Mul"))
      return input(mul, 0) == a && input(mul, 1) == a;
    return false;
  }

  static bool isLastAxisMean(NodeOp mean, Value a) {
    if (mean.getIntAttr("keepdims", 1) != 1)
      return false;
    auto type = a ? dyn_cast<RankedTensorType>(a.getType()) : nullptr;
    if (!type)
      return false;
    std::optional<SmallVector<int64_t>> axes = intsAttr(mean, "axes");
    if (!axes && mean.getNumOperands() > 1)
      axes = constInts(input(mean, 1));
    return axes && axes->size() == 1 &&
           normAxis((*axes)[0], type.getRank()) == type.getRank() - 1;
  }

  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "Mul" || op.getNumOperands() != 2)
      return failure();
    auto resType = rankedFloat(op.getResult(0));
    if (!resType)
      return failure();
    for (int i = 0; i < 2; ++i) {
      Value w = input(op, i);
      auto wType = rankedFloat(w);
      if (!isWeight(w) || !wType || wType.getRank() != 1)
        continue;
      double eps = 0;
      Value a = matchNormalized(skipFloatCasts(input(op, 1 - i)), eps);
      if (!a || !(eps > 0))
        continue;
      Value x = skipFloatCasts(a);
      if (!rankedFloat(x))
        continue;
      rewriter.replaceOpWithNewOp<RMSNormOp>(op, resType, x, w,
                                             rewriter.getF64FloatAttr(eps));
      return success();
    }
    return failure();
  }
};

/// (g * sigmoid(g)) * u, in any operand order.
struct SwiGLUChain : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  static Value matchSilu(Value v) {
    NodeOp mul = defNode(v, "Mul");
    if (!mul)
      return {};
    for (int i = 0; i < 2; ++i) {
      NodeOp sig = defNode(input(mul, i), "Sigmoid");
      if (sig && input(sig, 0) == input(mul, 1 - i))
        return input(mul, 1 - i);
    }
    return {};
  }

  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "Mul" || op.getNumOperands() != 2)
      return failure();
    auto resType = rankedFloat(op.getResult(0));
    if (!resType)
      return failure();
    for (int i = 0; i < 2; ++i) {
      Value gate = matchSilu(input(op, i));
      Value up = input(op, 1 - i);
      if (!gate || !rankedFloat(gate) || !rankedFloat(up) ||
          cast<RankedTensorType>(gate.getType()).getShape() !=
              cast<RankedTensorType>(up.getType()).getShape())
        continue;
      rewriter.replaceOpWithNewOp<SwiGLUOp>(op, resType, gate, up);
      return success();
    }
    return failure();
  }
};

//===----------------------------------------------------------------------===//
// Normalizations: the variants other exporters write, rewritten to the
// forms the patterns above and below recognize
//===----------------------------------------------------------------------===//

/// A one-element node whose value follows from constants and static
/// dimensions becomes a constant: the TorchScript exporter computes the
/// attention scale and rsqrt's numerator in the graph.
struct ScalarChainToConstant : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    static const llvm::StringSet<> kinds = {
        "Shape",      "Gather",  "Slice",     "Cast",    "Sqrt",
        "Reciprocal", "Neg",     "Mul",       "Div",     "Add",
        "Sub",        "Squeeze", "Unsqueeze", "Reshape", "Identity"};
    if (op.getNumResults() != 1 || !kinds.contains(op.getOpType()))
      return failure();
    auto type = dyn_cast<RankedTensorType>(op.getResult(0).getType());
    if (!type || !type.hasStaticShape() || type.getNumElements() != 1)
      return failure();
    Type elt = type.getElementType();
    std::optional<double> value = evalScalar(op.getResult(0));
    if (!value)
      return failure();
    DenseElementsAttr attr;
    if (isa<FloatType>(elt)) {
      attr = DenseElementsAttr::get(
          type, rewriter.getFloatAttr(elt, *value).getValue());
    } else if (auto i = dyn_cast<IntegerType>(elt);
               i && i.getWidth() > 1 && *value == std::trunc(*value)) {
      attr = DenseElementsAttr::get(
          type, APInt(i.getWidth(), uint64_t(int64_t(*value)), true));
    } else {
      return failure();
    }
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, attr);
    return success();
  }
};

/// Identity, and a Cast to the type its input already has (the fp32
/// softmax cast back to the fp32 "query dtype"), pass their input on. The
/// TorchScript exporter stores equal initializers once and hands them out
/// through Identity nodes (the norm weights of a freshly initialized model).
struct IdentityCast : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if ((op.getOpType() != "Cast" && op.getOpType() != "Identity") ||
        op.getNumOperands() != 1 || op.getNumResults() != 1 ||
        input(op, 0).getType() != op.getResult(0).getType())
      return failure();
    rewriter.replaceOp(op, input(op, 0));
    return success();
  }
};

/// Where(IsNaN(p), 0, p) after a softmax: newer torch guards the
/// probabilities of fully masked rows. A causal row always keeps its
/// diagonal, so the guard never fires in a decoder.
struct SoftmaxNaNGuard : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "Where" || op.getNumOperands() != 3 ||
        op.getNumResults() != 1)
      return failure();
    Value p = input(op, 2);
    NodeOp isNaN = defNode(input(op, 0), "IsNaN");
    auto zero = constScalar(input(op, 1));
    if (!isNaN || input(isNaN, 0) != p || !zero || *zero != 0.0 ||
        !defNode(p, "Softmax") || p.getType() != op.getResult(0).getType())
      return failure();
    rewriter.replaceOp(op, p);
    return success();
  }
};

/// Div(1, x) is Reciprocal(x): the TorchScript exporter writes rsqrt so.
struct DivOneToReciprocal : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "Div" || op.getNumOperands() != 2 ||
        op.getNumResults() != 1)
      return failure();
    auto one = constScalar(input(op, 0));
    Value x = input(op, 1);
    if (!one || *one != 1.0 || !rankedFloat(x) ||
        x.getType() != op.getResult(0).getType())
      return failure();
    rewriter.replaceOpWithNewOp<NodeOp>(op, op.getResultTypes(), ValueRange{x},
                                        rewriter.getStringAttr("Reciprocal"),
                                        op.getDomainAttr(), op.getNameAttr(),
                                        DictionaryAttr());
    return success();
  }
};

/// Scaled dot-product attention as torch exports it scales Q and K^T by
/// sqrt(scale) each before their product:
/// MatMul(Mul(q, a), Mul(kT, b)) -> Mul(MatMul(q, kT), a * b).
struct ScaledOperandsToScaledScores : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  /// If `v` is x * c with a constant scalar c, returns x and multiplies
  /// `scale` by c.
  static Value peelScale(Value v, double &scale) {
    NodeOp mul = defNode(v, "Mul");
    if (!mul || mul.getNumOperands() != 2)
      return v;
    for (int i = 0; i < 2; ++i)
      if (auto c = constScalar(input(mul, i));
          c && rankedFloat(input(mul, 1 - i)) &&
          input(mul, 1 - i).getType() == v.getType()) {
        scale *= *c;
        return input(mul, 1 - i);
      }
    return v;
  }

  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "MatMul" || op.getNumOperands() != 2 ||
        op.getNumResults() != 1)
      return failure();
    auto resType = rankedFloat(op.getResult(0));
    Value a = input(op, 0), b = input(op, 1);
    // Products of two activations only: a constant operand is a linear layer.
    if (!resType || resType.getRank() < 3 || isWeight(a) || isWeight(b))
      return failure();
    double scale = 1.0;
    Value x = peelScale(a, scale), y = peelScale(b, scale);
    if (x == a && y == b)
      return failure();
    Location loc = op.getLoc();
    auto mm =
        NodeOp::create(rewriter, loc, op.getResultTypes(), ValueRange{x, y},
                       op.getOpTypeAttr(), op.getDomainAttr(), op.getNameAttr(),
                       DictionaryAttr());
    Type elt = resType.getElementType();
    Value cst = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, elt),
                               rewriter.getFloatAttr(elt, scale).getValue()));
    rewriter.replaceOpWithNewOp<NodeOp>(
        op, op.getResultTypes(), ValueRange{mm.getResult(0), cst},
        rewriter.getStringAttr("Mul"), StringAttr(), StringAttr(),
        DictionaryAttr());
    return success();
  }
};

/// masked_fill: Where(allowed, scores, -big) becomes
/// Add(scores, Where(allowed, 0, -big)), the additive mask the attention
/// pattern reads.
struct WhereMaskToAdditive : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getOpType() != "Where" || op.getNumOperands() != 3 ||
        op.getNumResults() != 1)
      return failure();
    Value cond = input(op, 0), scores = input(op, 1), fill = input(op, 2);
    auto condType = dyn_cast<RankedTensorType>(cond.getType());
    auto resType = rankedFloat(op.getResult(0));
    auto big = constScalar(fill);
    if (!condType || !condType.getElementType().isInteger(1) || !resType ||
        !rankedFloat(scores) || scores.getType() != resType ||
        isWeight(scores) || !big || !(*big <= -1e4))
      return failure();
    Location loc = op.getLoc();
    auto elt = resType.getElementType();
    Value zero = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, elt),
                               rewriter.getFloatAttr(elt, 0.0).getValue()));
    auto maskType = RankedTensorType::get(condType.getShape(), elt);
    auto mask = NodeOp::create(rewriter, loc, TypeRange{maskType},
                               ValueRange{cond, zero, fill},
                               rewriter.getStringAttr("Where"), StringAttr(),
                               op.getNameAttr(), DictionaryAttr());
    rewriter.replaceOpWithNewOp<NodeOp>(
        op, op.getResultTypes(), ValueRange{scores, mask.getResult(0)},
        rewriter.getStringAttr("Add"), StringAttr(), StringAttr(),
        DictionaryAttr());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// A [batch, seq, heads * dim] tensor seen as [batch, heads, seq, dim], or
/// a batch-free [seq, heads * dim] one seen as [heads, seq, dim].
struct HeadSplit {
  Value flat; // [batch, seq, heads * dim] or [seq, heads * dim]
  int64_t heads = 0;
  int64_t dim = 0;
};

/// The permutation exchanging the head and sequence axes of a heads tensor.
SmallVector<int64_t> headSeqSwap(int64_t rank) {
  return rank == 4 ? SmallVector<int64_t>{0, 2, 1, 3}
                   : SmallVector<int64_t>{1, 0, 2};
}

/// The permutation transposing the last two axes.
SmallVector<int64_t> lastTwoSwap(int64_t rank) {
  return rank == 4 ? SmallVector<int64_t>{0, 1, 3, 2}
                   : SmallVector<int64_t>{0, 2, 1};
}

/// Transpose(Reshape(x, [b, s, H, D]), [0, 2, 1, 3]), or the batch-free
/// Transpose(Reshape(x, [s, H, D]), [1, 0, 2]).
std::optional<HeadSplit> matchHeadSplit(Value v) {
  NodeOp tr = defNode(v, "Transpose");
  auto type = rankedFloat(v);
  if (!tr || !type || (type.getRank() != 4 && type.getRank() != 3) ||
      intsAttr(tr, "perm") != headSeqSwap(type.getRank()))
    return std::nullopt;
  int64_t rank = type.getRank();
  NodeOp rs = defNode(input(tr, 0), "Reshape");
  if (!rs)
    return std::nullopt;
  // The target may be computed from Shape (the TorchScript exporter), and
  // the heads may be -1 (HF's view(*input_shape, -1, head_dim)).
  auto shape = shapeEntries(input(rs, 1));
  auto flatType = rankedFloat(input(rs, 0));
  if (!shape || int64_t(shape->size()) != rank || !flatType ||
      flatType.getRank() != rank - 1)
    return std::nullopt;
  std::optional<int64_t> headsEntry = (*shape)[rank - 2];
  std::optional<int64_t> dimEntry = (*shape)[rank - 1];
  int64_t features = flatType.getShape().back();
  if (!dimEntry || *dimEntry <= 0 || !headsEntry)
    return std::nullopt;
  int64_t dim = *dimEntry, heads = *headsEntry;
  if (heads == -1) {
    // Inferred heads: the leading entries must keep the flat tensor's
    // leading dimensions (unknown entries come from its Shape).
    for (int64_t i = 0; i < rank - 2; ++i)
      if ((*shape)[i] && *(*shape)[i] != flatType.getDimSize(i) &&
          *(*shape)[i] != 0)
        return std::nullopt;
    if (ShapedType::isDynamic(features) || features % dim)
      return std::nullopt;
    heads = features / dim;
  }
  if (heads <= 0)
    return std::nullopt;
  if (!ShapedType::isDynamic(features) && features != heads * dim)
    return std::nullopt;
  return HeadSplit{input(rs, 0), heads, dim};
}

/// A fitted theta snapped to the 3-significant-digit value it stands for
/// when within `tolerance` (relative) of it.
double snapTheta(double theta, double tolerance) {
  double magnitude = std::pow(10.0, std::floor(std::log10(theta)) - 2);
  double snapped = std::round(theta / magnitude) * magnitude;
  return std::abs(snapped - theta) < tolerance * theta ? snapped : theta;
}

/// Estimates theta from an inverse-frequency table f_i = theta^(-2i/D) by
/// least squares on log f (exporters may round the table to f16), snapping
/// to the 3-significant-digit value it stands for. Fails if the table does
/// not follow the law within f16 precision.
std::optional<double> thetaFromInvFreq(llvm::ArrayRef<double> f, int64_t dim) {
  double num = 0, den = 0;
  for (int64_t i = 1, e = f.size(); i < e; ++i) {
    if (!(f[i] > 0 && f[i] < 1))
      return std::nullopt;
    double x = 2.0 * double(i) / double(dim);
    num += -x * std::log(f[i]);
    den += x * x;
  }
  if (f[0] != 1.0 || den == 0)
    return std::nullopt;
  double theta = snapTheta(std::exp(num / den), 1e-3);
  for (int64_t i = 0, e = f.size(); i < e; ++i) {
    double expect = std::pow(theta, -2.0 * double(i) / double(dim));
    if (std::abs(f[i] - expect) > 2e-3 * expect)
      return std::nullopt;
  }
  return theta;
}

/// Estimates theta from a stored cos or sin table t[p, i] = f(p * w_i),
/// w_i = theta^(-2 (i mod D/2) / D) (older exporters keep `cos_cached` and
/// `sin_cached` buffers). Each w_i is read off the first position where
/// acos/asin is well conditioned, theta is fitted in the log domain and the
/// whole table is checked against it.
std::optional<double> thetaFromTable(llvm::ArrayRef<double> t, int64_t rows,
                                     int64_t dim) {
  int64_t half = dim / 2;
  if (rows < 2 || dim < 4 || dim % 2 || int64_t(t.size()) != rows * dim)
    return std::nullopt;
  bool isCos = true, isSin = true;
  for (int64_t i = 0; i < dim; ++i) {
    isCos &= std::abs(t[i] - 1.0) < 1e-3;
    isSin &= std::abs(t[i]) < 1e-3;
  }
  if (isCos == isSin)
    return std::nullopt;
  double num = 0, den = 0;
  for (int64_t i = 1; i < half; ++i) {
    for (int64_t p = 1; p < rows; ++p) {
      double x = t[p * dim + i];
      if (isCos ? x < 0.95 : std::abs(x) > 0.3) {
        double w = (isCos ? std::acos(std::clamp(x, -1.0, 1.0))
                          : std::asin(std::clamp(x, -1.0, 1.0))) /
                   double(p);
        if (!(w > 0 && w < 1))
          return std::nullopt;
        double e = 2.0 * double(i) / double(dim);
        num += -e * std::log(w);
        den += e * e;
        break;
      }
    }
  }
  if (den == 0)
    return std::nullopt;
  double theta = snapTheta(std::exp(num / den), 1e-2);
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t i = 0; i < dim; ++i) {
      double angle =
          double(p) * std::pow(theta, -2.0 * double(i % half) / double(dim));
      double expect = isCos ? std::cos(angle) : std::sin(angle);
      if (std::abs(t[p * dim + i] - expect) > 4e-3)
        return std::nullopt;
    }
  return theta;
}

/// The elements of a float tensor in external storage (a rotary table kept
/// with the weights), or nullopt when it cannot be read.
std::optional<SmallVector<double>> storedValues(WeightOp op) {
  auto module = op->getParentOfType<ModuleOp>();
  if (!module || !isa<FloatType>(op.getType().getElementType()))
    return std::nullopt;
  runtime::WeightStore store(runtime::WeightStore::baseDirFor(module, ""));
  auto t = store.load(op, /*upcastToF32=*/true);
  if (!t) {
    llvm::consumeError(t.takeError());
    return std::nullopt;
  }
  const float *data = t->f32();
  return SmallVector<double>(data, data + t->numel());
}

/// The theta of a rotary table: somewhere above `cos` sits the inverse
/// frequency constant (D/2 entries) or a stored [positions, D] table.
std::optional<double> findRotaryTheta(Value cosOrSin, int64_t dim) {
  // Breadth first: the table sits a few nodes above, while the position
  // operands lead back into the whole model.
  SmallVector<Value> work{cosOrSin};
  llvm::SmallPtrSet<Operation *, 32> seen;
  for (size_t next = 0; next < work.size() && seen.size() <= 64; ++next) {
    Value v = work[next];
    Operation *def = v.getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    if (isa<arith::ConstantOp, WeightOp>(def) || defNode(v, "Cast")) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      bool invFreq = type && type.hasStaticShape() &&
                     type.getNumElements() == dim / 2 && dim >= 4;
      bool table = type && type.hasStaticShape() && type.getRank() >= 2 &&
                   type.getShape().back() == dim;
      if (invFreq || table)
        if (auto vals = isa<WeightOp>(def) ? storedValues(cast<WeightOp>(def))
                                           : constValues(v)) {
          auto theta =
              invFreq ? thetaFromInvFreq(*vals, dim)
                      : thetaFromTable(*vals, type.getNumElements() / dim, dim);
          if (theta)
            return theta;
        }
      if (isa<arith::ConstantOp, WeightOp>(def))
        continue;
    }
    for (Value in : def->getOperands())
      work.push_back(in);
  }
  return std::nullopt;
}

/// x*cos + rotate_half(x)*sin, rotate_half(x) = concat(-x[D/2:], x[:D/2]).
/// Returns x and the table's theta.
std::optional<std::pair<Value, double>> matchRotary(Value v, int64_t dim) {
  NodeOp add = defNode(v, "Add");
  if (!add)
    return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    NodeOp mulCos = defNode(input(add, i), "Mul");
    NodeOp mulSin = defNode(input(add, 1 - i), "Mul");
    if (!mulCos || !mulSin)
      continue;
    for (int j = 0; j < 2; ++j) {
      NodeOp cat = defNode(input(mulSin, j), "Concat");
      Value sinTable = input(mulSin, 1 - j);
      // dyn_cast of a null type is undefined: test the node first.
      auto catType =
          cat ? dyn_cast<RankedTensorType>(cat.getResult(0).getType())
              : RankedTensorType();
      if (!cat || cat.getNumOperands() != 2 || !catType ||
          !isLastAxis(cat, catType.getRank()))
        continue;
      NodeOp neg = defNode(input(cat, 0), "Neg");
      NodeOp lo = defNode(input(cat, 1), "Slice");
      if (!neg || !lo)
        continue;
      NodeOp hi = defNode(input(neg, 0), "Slice");
      if (!hi)
        continue;
      Value x = input(lo, 0);
      if (!x || input(hi, 0) != x)
        continue;
      auto loStart = constInts(input(lo, 1));
      auto loEnd = constInts(input(lo, 2));
      auto hiStart = constInts(input(hi, 1));
      if (!loStart || !loEnd || !hiStart || (*loStart)[0] != 0 ||
          (*loEnd)[0] != dim / 2 || (*hiStart)[0] != dim / 2)
        continue;
      Value cosTable = otherOperand(mulCos, x);
      if (!cosTable)
        continue;
      auto theta = findRotaryTheta(cosTable, dim);
      auto thetaSin = findRotaryTheta(sinTable, dim);
      if (!theta || !thetaSin || std::abs(*theta - *thetaSin) > 1e-6 * *theta)
        continue;
      return std::make_pair(x, *theta);
    }
  }
  return std::nullopt;
}

/// Reshape(Expand(Unsqueeze(x, 2), ...), [b, H, s, D]): repeats KV heads for
/// grouped-query attention. Returns x.
Value matchKVRepeat(Value v) {
  NodeOp rs = defNode(v, "Reshape");
  if (!rs)
    return v;
  NodeOp ex = defNode(input(rs, 0), "Expand");
  if (!ex)
    return v;
  NodeOp un = defNode(input(ex, 0), "Unsqueeze");
  if (!un)
    return v;
  auto axes = constInts(input(un, 1));
  if (!axes || axes->size() != 1 || (*axes)[0] != 2)
    return v;
  return input(un, 0);
}

/// True if the additive mask is derived from a position comparison, i.e.
/// is a causal mask (the exporter builds it from arange and LessOrEqual).
bool looksCausal(Value mask) {
  SmallVector<Value> work{mask};
  llvm::SmallPtrSet<Operation *, 32> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    Operation *def = v ? v.getDefiningOp() : nullptr;
    if (!def || !seen.insert(def).second || seen.size() > 256)
      continue;
    if (auto node = dyn_cast<NodeOp>(def)) {
      StringRef t = node.getOpType();
      if (t == "LessOrEqual" || t == "GreaterOrEqual" || t == "Less" ||
          t == "Greater" || t == "Trilu")
        return true;
    }
    for (Value in : def->getOperands())
      work.push_back(in);
  }
  return false;
}

/// The one node reading `v` for its data; every other reader must be a
/// Shape node (exporters read sizes off intermediate results).
NodeOp soleDataUser(Value v) {
  NodeOp data;
  for (Operation *user : v.getUsers()) {
    auto node = dyn_cast<NodeOp>(user);
    if (node && node.getOpType() == "Shape")
      continue;
    if (!node || (data && data != node))
      return {};
    data = node;
  }
  return data;
}

/// A Reshape of a [b, H, s, D] (or [H, s, D]) tensor to the shape it has:
/// target [b, -1 or H, s, D] with b and s read from Shape. Sets `heads`
/// when the target names them.
bool isHeadsRestatement(NodeOp rs, int64_t rank,
                        std::optional<int64_t> &heads) {
  if (rs.getOpType() != "Reshape" || rs.getNumOperands() != 2)
    return false;
  auto in = rankedFloat(input(rs, 0));
  auto out = rankedFloat(rs.getResult(0));
  auto shape = shapeEntries(input(rs, 1));
  if (!in || !out || in.getRank() != rank || out.getRank() != rank || !shape ||
      int64_t(shape->size()) != rank)
    return false;
  auto matches = [&](int64_t i) {
    std::optional<int64_t> e = (*shape)[i];
    return !e || *e == 0 || *e == in.getDimSize(i);
  };
  std::optional<int64_t> h = (*shape)[rank - 3];
  std::optional<int64_t> d = (*shape)[rank - 1];
  if (!h || (*h != -1 && *h <= 0) || !d || in.isDynamicDim(rank - 1) ||
      *d != in.getDimSize(rank - 1) || !matches(rank - 2) ||
      (rank == 4 && !matches(0)))
    return false;
  if (*h > 0)
    heads = *h;
  return true;
}

/// Softmax(scale * Q K^T + causal_mask) V, with Q and K optionally rotated,
/// K and V optionally repeated for grouped-query attention, and the heads
/// split/merged by Reshape+Transpose. Rooted at the final merge Reshape.
struct AttentionBlock : OpRewritePattern<NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(NodeOp op,
                                PatternRewriter &rewriter) const override {
    auto probType = dyn_cast<RankedTensorType>(op.getResult(0).getType());
    if (op.getOpType() != "Softmax" || !probType ||
        (probType.getRank() != 4 && probType.getRank() != 3) ||
        !isLastAxis(op, probType.getRank()))
      return failure();
    int64_t rank = probType.getRank();
    // Forward: Softmax -> MatMul(., V) -> Transpose -> Reshape [b, s, H*D].
    NodeOp pv = soleDataUser(op.getResult(0));
    if (!pv || pv.getOpType() != "MatMul" || input(pv, 0) != op.getResult(0))
      return rewriter.notifyMatchFailure(op, "softmax not followed by P @ V");
    NodeOp tr = soleDataUser(pv.getResult(0));
    // torch's SDPA export reshapes P @ V to [b, -1, s, D] before the
    // transpose: the same shape.
    std::optional<int64_t> restatedHeads;
    if (tr && isHeadsRestatement(tr, rank, restatedHeads))
      tr = soleDataUser(tr.getResult(0));
    if (!tr || tr.getOpType() != "Transpose" ||
        intsAttr(tr, "perm") != headSeqSwap(rank))
      return failure();
    NodeOp merge = soleDataUser(tr.getResult(0));
    auto outType = merge ? rankedFloat(merge.getResult(0)) : RankedTensorType();
    if (!merge || merge.getOpType() != "Reshape" || !outType ||
        outType.getRank() != rank - 1)
      return failure();

    // Backward: scores = [scale *] (Q @ K^T) [+ mask].
    Value scores = input(op, 0);
    bool causal = false;
    if (NodeOp add = defNode(scores, "Add")) {
      for (int i = 0; i < 2 && !causal; ++i) {
        Value in = input(add, i);
        NodeOp inner = in ? in.getDefiningOp<NodeOp>() : NodeOp();
        if (inner &&
            (inner.getOpType() == "Mul" || inner.getOpType() == "Div" ||
             inner.getOpType() == "MatMul") &&
            looksCausal(input(add, 1 - i))) {
          scores = input(add, i);
          causal = true;
        }
      }
      if (!causal)
        return rewriter.notifyMatchFailure(op, "additive mask is not causal");
    }
    double scale = 1.0;
    if (NodeOp mul = defNode(scores, "Mul")) {
      for (int i = 0; i < 2; ++i)
        if (auto s = constScalar(input(mul, i))) {
          scale = *s;
          scores = input(mul, 1 - i);
          break;
        }
    } else if (NodeOp div = defNode(scores, "Div")) {
      auto s = constScalar(input(div, 1));
      if (!s || *s == 0)
        return failure();
      scale = 1.0 / *s;
      scores = input(div, 0);
    }
    NodeOp qk = defNode(scores, "MatMul");
    if (!qk)
      return rewriter.notifyMatchFailure(op, "no Q @ K^T");
    NodeOp kt = defNode(input(qk, 1), "Transpose");
    if (!kt || intsAttr(kt, "perm") != lastTwoSwap(rank))
      return rewriter.notifyMatchFailure(op, "K is not transposed");

    // Q, K, V back to their [b, s, H*D] projections.
    Value q4 = input(qk, 0);
    Value k4 = matchKVRepeat(input(kt, 0));
    Value v4 = matchKVRepeat(input(pv, 1));
    std::optional<double> qTheta, kTheta;
    auto headDimOf = [&](Value v) -> int64_t {
      auto t = v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
      return t && t.getRank() == rank ? t.getDimSize(rank - 1)
                                      : ShapedType::kDynamic;
    };
    int64_t dim = headDimOf(q4);
    if (ShapedType::isDynamic(dim))
      return rewriter.notifyMatchFailure(op, "unknown head dim");
    if (auto rot = matchRotary(q4, dim)) {
      q4 = rot->first;
      qTheta = rot->second;
    }
    if (auto rot = matchRotary(k4, dim)) {
      k4 = rot->first;
      kTheta = rot->second;
    }
    if (qTheta.has_value() != kTheta.has_value() ||
        (qTheta && std::abs(*qTheta - *kTheta) > 1e-6 * *qTheta))
      return rewriter.notifyMatchFailure(op, "Q and K rotated differently");
    auto q = matchHeadSplit(q4), k = matchHeadSplit(k4), v = matchHeadSplit(v4);
    if (!q || !k || !v || q->dim != dim || k->dim != dim || v->dim != dim ||
        k->heads != v->heads || q->heads % k->heads != 0 ||
        (restatedHeads && *restatedHeads != q->heads))
      return rewriter.notifyMatchFailure(op,
                                         "heads not split from projections");
    if (!ShapedType::isDynamic(outType.getShape().back()) &&
        outType.getShape().back() != q->heads * dim)
      return failure();

    // A merge target of [b, s, -1] leaves the features unknown; they are
    // the heads times the head dim.
    if (ShapedType::isDynamic(outType.getShape().back())) {
      SmallVector<int64_t> shape(outType.getShape());
      shape.back() = q->heads * dim;
      outType = RankedTensorType::get(shape, outType.getElementType());
    }
    Location loc = merge.getLoc();
    Value qIn = q->flat, kIn = k->flat;
    auto i64 = [&](int64_t x) { return rewriter.getI64IntegerAttr(x); };
    if (qTheta) {
      auto mk = [&](Value x, int64_t heads) {
        return RotaryOp::create(rewriter, loc, x.getType(), x, i64(heads),
                                i64(dim), rewriter.getF64FloatAttr(*qTheta));
      };
      qIn = mk(q->flat, q->heads);
      kIn = mk(k->flat, k->heads);
    }
    auto attn = AttentionOp::create(
        rewriter, loc, outType, qIn, kIn, v->flat, i64(q->heads), i64(k->heads),
        i64(dim), rewriter.getF64FloatAttr(scale),
        causal ? rewriter.getUnitAttr() : UnitAttr());
    rewriter.replaceOp(merge, attn.getResult());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Roles
//===----------------------------------------------------------------------===//

/// The linear op producing `v`, looking through float casts.
Operation *linearProducer(Value v) {
  v = skipFloatCasts(v);
  Operation *def = v ? v.getDefiningOp() : nullptr;
  if (def && isa<LinearOp, QuantizedLinearOp>(def))
    return def;
  return nullptr;
}

/// Linear ops reading `v`, looking through float casts.
SmallVector<Operation *> linearConsumers(Value v) {
  SmallVector<Operation *> out;
  SmallVector<Value> work{v};
  while (!work.empty()) {
    Value cur = work.pop_back_val();
    for (Operation *user : cur.getUsers()) {
      if (isa<LinearOp, QuantizedLinearOp>(user) && user->getOperand(0) == cur)
        out.push_back(user);
      else if (auto n = dyn_cast<NodeOp>(user);
               n && n.getOpType() == "Cast" && n.getNumResults() == 1)
        work.push_back(n.getResult(0));
    }
  }
  return out;
}

void setRole(Operation *op, int64_t block, LinearKind kind) {
  op->setAttr("role", RoleAttr::get(op->getContext(), block, kind));
}

} // namespace

void s10::assignLinearRoles(func::FuncOp func) {
  int64_t block = -1;
  // Program order: each attention starts a block; the SwiGLU after it is
  // that block's MLP.
  func.walk([&](Operation *op) {
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      ++block;
      Value q = attn.getQuery(), k = attn.getKey();
      if (auto rot = q.getDefiningOp<RotaryOp>())
        q = rot.getInput();
      if (auto rot = k.getDefiningOp<RotaryOp>())
        k = rot.getInput();
      if (Operation *l = linearProducer(q))
        setRole(l, block, LinearKind::q);
      if (Operation *l = linearProducer(k))
        setRole(l, block, LinearKind::k);
      if (Operation *l = linearProducer(attn.getValue()))
        setRole(l, block, LinearKind::v);
      for (Operation *l : linearConsumers(attn.getResult()))
        setRole(l, block, LinearKind::o);
    } else if (auto glu = dyn_cast<SwiGLUOp>(op)) {
      if (block < 0)
        return;
      if (Operation *l = linearProducer(glu.getGate()))
        setRole(l, block, LinearKind::gate);
      if (Operation *l = linearProducer(glu.getUp()))
        setRole(l, block, LinearKind::up);
      for (Operation *l : linearConsumers(glu.getResult()))
        setRole(l, block, LinearKind::down);
    }
  });
  // lm_head: a linear whose result is returned, possibly through casts and
  // a reshape restoring the batch dimension.
  func.walk([&](func::ReturnOp ret) {
    for (Value v : ret.getOperands()) {
      if (NodeOp rs = defNode(skipFloatCasts(v), "Reshape"))
        v = input(rs, 0);
      if (Operation *l = linearProducer(v); l && !l->hasAttr("role"))
        setRole(l, -1, LinearKind::lm_head);
    }
  });
}

/// The ONNX name of argument `i` (or "#i").
static std::string argName(func::FuncOp func, unsigned i) {
  if (auto n = func.getArgAttrOfType<StringAttr>(i, "onnx.name"))
    return n.str();
  return "#" + std::to_string(i);
}

static std::string resultName(func::FuncOp func, unsigned i) {
  if (auto n = func.getResultAttrOfType<StringAttr>(i, "onnx.name"))
    return n.str();
  return "#" + std::to_string(i);
}

/// With-past graphs take the cached keys/values of every layer as inputs
/// [batch, kv_heads, past, head_dim], append the new ones along the
/// sequence (Concat axis 2) and return the result. The runtime keeps that
/// cache itself, so the graph is specialized to an empty past: the new
/// keys/values flow on directly, and the past inputs and present outputs
/// are removed. Returns the names removed.
SmallVector<std::string> s10::takeOverKVCache(func::FuncOp func,
                                              std::string &blocked) {
  SmallVector<std::string> removed;
  if (func.getBody().getBlocks().size() != 1)
    return removed;
  Block &body = func.getBody().front();
  auto ret = dyn_cast<func::ReturnOp>(body.getTerminator());
  if (!ret)
    return removed;
  auto isReturned = [&](Value v) {
    return llvm::any_of(v.getUses(), [&](OpOperand &u) {
      return u.getOwner() == ret.getOperation();
    });
  };
  // Per past input: the nodes that only pass it on (one-input Concat,
  // Identity), the Shape nodes reading its length and the concatenations
  // with the new keys/values.
  struct Past {
    BlockArgument arg;
    SmallVector<NodeOp> aliases, shapes, concats;
  };
  SmallVector<Past> pasts;
  for (BlockArgument arg : body.getArguments()) {
    auto type = rankedFloat(arg);
    if (!type || type.getRank() != 4)
      continue;
    Past past{arg, {}, {}, {}};
    bool ok = true;
    SmallVector<Value> work{arg};
    while (!work.empty() && ok) {
      Value v = work.pop_back_val();
      for (Operation *user : v.getUsers()) {
        auto node = dyn_cast<NodeOp>(user);
        StringRef t = node ? node.getOpType() : "";
        if (t == "Shape") {
          past.shapes.push_back(node);
        } else if ((t == "Concat" || t == "Identity") &&
                   node.getNumOperands() == 1 && node.getNumResults() == 1) {
          past.aliases.push_back(node);
          work.push_back(node.getResult(0));
        } else if (t == "Concat" && node.getNumOperands() == 2 &&
                   input(node, 0) == v && node.getNumResults() == 1 &&
                   normAxis(node.getIntAttr("axis", 0), 4) == 2 &&
                   rankedFloat(input(node, 1)) &&
                   isReturned(node.getResult(0))) {
          past.concats.push_back(node);
        } else {
          ok = false;
          break;
        }
      }
    }
    if (ok && !past.concats.empty()) {
      pasts.push_back(std::move(past));
      continue;
    }
    // A rank-4 input concatenated into a returned value along the sequence
    // but also read otherwise: taking the others over alone would leave
    // the model inconsistent.
    bool looksLikePast = false;
    for (Operation *user : arg.getUsers())
      if (auto n = dyn_cast<NodeOp>(user);
          n && n.getOpType() == "Concat" && n.getNumResults() == 1 &&
          input(n, 0) == arg && normAxis(n.getIntAttr("axis", 0), 4) == 2 &&
          isReturned(n.getResult(0)))
        looksLikePast = true;
    if (looksLikePast) {
      blocked = argName(func, arg.getArgNumber());
      return removed;
    }
  }
  if (pasts.empty())
    return removed;

  llvm::BitVector dropArgs(func.getNumArguments());
  llvm::BitVector dropResults(func.getNumResults());
  for (const Past &past : pasts) {
    dropArgs.set(past.arg.getArgNumber());
    for (NodeOp cat : past.concats)
      for (OpOperand &use : cat.getResult(0).getUses())
        if (use.getOwner() == ret.getOperation())
          dropResults.set(use.getOperandNumber());
  }
  for (unsigned i : dropArgs.set_bits())
    removed.push_back(argName(func, i));
  for (unsigned i : dropResults.set_bits())
    removed.push_back(resultName(func, i));

  // Return operands first, then the concatenations and the length reads,
  // then the signature.
  SmallVector<Value> kept;
  for (auto [i, v] : llvm::enumerate(ret.getOperands()))
    if (!dropResults.test(i))
      kept.push_back(v);
  ret->setOperands(kept);
  OpBuilder b(&body, body.begin());
  for (Past &past : pasts) {
    for (NodeOp cat : past.concats) {
      cat.getResult(0).replaceAllUsesWith(input(cat, 1));
      cat.erase();
    }
    if (!past.shapes.empty()) {
      // An empty past of the same shape; a dynamic batch reads as 1.
      auto type = cast<RankedTensorType>(past.arg.getType());
      SmallVector<int64_t> dims(type.getShape());
      for (auto [i, d] : llvm::enumerate(dims))
        d = i == 2 ? 0 : ShapedType::isDynamic(d) ? 1 : d;
      auto emptyType = RankedTensorType::get(dims, type.getElementType());
      Value empty = arith::ConstantOp::create(
          b, past.arg.getLoc(),
          DenseElementsAttr::get(emptyType, ArrayRef<Attribute>{}));
      for (NodeOp shape : past.shapes)
        shape->setOperand(0, empty);
    }
    for (NodeOp alias : llvm::reverse(past.aliases))
      alias.erase();
  }
  (void)func.eraseResults(dropResults);
  (void)func.eraseArguments(dropArgs);
  return removed;
}

void s10::populateRaiseONNXToSqueezePatterns(RewritePatternSet &patterns) {
  // Attention first: it consumes the Q/K/V head splits whole.
  patterns.add<AttentionBlock>(patterns.getContext(), /*benefit=*/4);
  patterns.add<RMSNormChain, SwiGLUChain>(patterns.getContext(),
                                          /*benefit=*/2);
  patterns.add<MatMulToLinear, GemmToLinear, GatherToEmbedding>(
      patterns.getContext());
  // Normalizations feed the patterns above; they go first where they apply.
  patterns
      .add<ScalarChainToConstant, IdentityCast, DivOneToReciprocal,
           ScaledOperandsToScaledScores, WhereMaskToAdditive, SoftmaxNaNGuard>(
          patterns.getContext(), /*benefit=*/8);
}

namespace {

/// Add(a, b) of two activations of one type: the residual stream.
bool isResidualAdd(NodeOp node) {
  if (node.getOpType() != "Add" || node.getNumOperands() != 2)
    return false;
  Value a = input(node, 0), b = input(node, 1);
  return rankedFloat(a) && a.getType() == b.getType() && !isWeight(a) &&
         !isWeight(b) && a.getType() == node.getResult(0).getType();
}

std::string plural(int64_t n, StringRef one, StringRef many) {
  return std::to_string(n) + " " + (n == 1 ? one : many).str();
}

struct RaiseONNXToSqueezePass
    : s10::impl::RaiseONNXToSqueezeBase<RaiseONNXToSqueezePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<std::string> cacheIO;
    std::string cacheBlocked;
    if (kvCache)
      cacheIO = takeOverKVCache(func, cacheBlocked);

    RewritePatternSet patterns(&getContext());
    populateRaiseONNXToSqueezePatterns(patterns);
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal(true);
    if (failed(applyPatternsGreedily(func, std::move(patterns), config)))
      func.emitWarning("raising did not converge");

    // Counted here: statistics are compiled out of release builds.
    int64_t linears = 0, norms = 0, attentions = 0, rotaries = 0, glus = 0,
            embeddings = 0, nodesLeft = 0;
    func.walk([&](Operation *op) {
      TypeSwitch<Operation *>(op)
          .Case<LinearOp>([&](auto) { ++linears; })
          .Case<RMSNormOp>([&](auto) { ++norms; })
          .Case<AttentionOp>([&](auto) { ++attentions; })
          .Case<RotaryOp>([&](auto) { ++rotaries; })
          .Case<SwiGLUOp>([&](auto) { ++glus; })
          .Case<EmbeddingOp>([&](auto) { ++embeddings; });
    });
    numLinear += linears;
    numRMSNorm += norms;
    numAttention += attentions;
    numRotary += rotaries;
    numSwiGLU += glus;
    numEmbedding += embeddings;
    if (assignRoles)
      assignLinearRoles(func);

    // Inputs nothing reads any more (the attention mask and position ids
    // once attention and rotary are raised) are removed, so the model takes
    // its token ids alone; one input always stays.
    SmallVector<std::string> pruned;
    if (pruneInputs && !func.getBody().empty()) {
      llvm::BitVector drop(func.getNumArguments());
      for (BlockArgument arg : func.getArguments())
        if (arg.use_empty())
          drop.set(arg.getArgNumber());
      if (drop.count() < func.getNumArguments()) {
        for (unsigned i : drop.set_bits())
          pruned.push_back(argName(func, i));
        (void)func.eraseArguments(drop);
      }
    }

    std::map<std::string, int64_t> left;
    func.walk([&](NodeOp node) {
      ++nodesLeft;
      if (isResidualAdd(node)) {
        ++left["Add (residual)"];
        return;
      }
      ++left[node.getOpType().str()];
      if (!remarks)
        return;
      InFlightDiagnostic d = node.emitRemark()
                             << "'" << node.getOpType() << "' node '"
                             << node.getDisplayName()
                             << "' was not raised; it runs as an ONNX node";
      if (node.getOpType() == "Softmax" &&
          !isa<RankedTensorType>(node.getResult(0).getType()))
        d << " (its type is unranked: run onnx-specialize-shapes first, as "
             "the s10-raise pipeline does)";
    });
    numLeft += nodesLeft;
    auto quoted = [](ArrayRef<std::string> names) {
      std::string out;
      for (const std::string &n : names)
        out += (out.empty() ? "'" : ", '") + n + "'";
      return out;
    };
    if (remarks && !cacheBlocked.empty())
      emitRemark(func.getLoc())
          << "input '" << cacheBlocked
          << "' is concatenated with new keys or values like a KV cache but "
             "also read otherwise: the past inputs stay, and the runtime "
             "does not keep the cache";
    if (remarks && !cacheIO.empty())
      emitRemark(func.getLoc())
          << "the KV cache inputs and outputs " << quoted(cacheIO)
          << " were removed: the runtime keeps the cache";
    if (remarks && !pruned.empty())
      emitRemark(func.getLoc())
          << (pruned.size() == 1 ? "input " : "inputs ") << quoted(pruned)
          << (pruned.size() == 1 ? " is" : " are")
          << " unused after raising and removed: the raised model "
             "runs unpadded sequences at positions 0, 1, ... (after its KV "
             "cache)";
    if (!summary)
      return;
    std::string summary = "raised " + plural(linears, "linear", "linears") +
                          ", " + plural(attentions, "attention", "attentions") +
                          ", " + plural(norms, "RMSNorm", "RMSNorms") + ", " +
                          plural(rotaries, "rotary", "rotaries") + ", " +
                          plural(glus, "SwiGLU", "SwiGLUs") + ", " +
                          plural(embeddings, "embedding", "embeddings") + "; " +
                          plural(nodesLeft, "node", "nodes") + " left";
    std::string kinds;
    for (auto &[kind, n] : left)
      kinds += (kinds.empty() ? ": " : ", ") + std::to_string(n) + " " + kind;
    // At the location alone: the function itself is too long to print.
    emitRemark(func.getLoc()) << summary << kinds;
  }
};
} // namespace
