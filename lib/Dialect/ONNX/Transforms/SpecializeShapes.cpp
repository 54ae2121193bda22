//===- SpecializeShapes.cpp - Bind dynamic dimensions, refine types -------===//
//
// Binds the symbolic dimensions of an imported graph to sizes and refines the
// result types of the nodes forward through the function. The inference is a
// small one for the operators exporters emit; it also tracks the values of
// small integer shape tensors so that shapes computed at run time (Reshape
// targets built from Shape, Gather and Concat) are refined too.
//
//===----------------------------------------------------------------------===//

#include "s10/Dialect/ONNX/Transforms/Passes.h"

#include "ShapeUtils.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/ONNX/ShapeRules.h"
#include "s10/Interfaces/ShapeRefinableOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace s10::onnx {
#define GEN_PASS_DEF_ONNXSPECIALIZESHAPES
#include "s10/Dialect/ONNX/Transforms/Passes.h.inc"
} // namespace s10::onnx

using namespace mlir;
using namespace s10;
using s10::onnx::NodeOp;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;
constexpr StringLiteral kDimParams = "onnx.dim_params";
constexpr StringLiteral kSpecializedDims = "onnx.specialized_dims";

/// A shape with `kDyn` for unknown dimensions.
using Shape = SmallVector<int64_t>;
/// The elements of a small integer tensor, std::nullopt where unknown.
using PartialInts = SmallVector<std::optional<int64_t>>;
/// Integer tensors up to this many elements have their values tracked.
constexpr int64_t kMaxTracked = 64;

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct Bindings {
  SmallVector<std::pair<std::string, int64_t>> named;
  /// (argument, dimension, value).
  SmallVector<std::tuple<unsigned, unsigned, int64_t>> positional;
};

std::optional<int64_t> parseInt(StringRef s) {
  int64_t v;
  s = s.trim();
  if (s.empty() || s.getAsInteger(10, v))
    return std::nullopt;
  return v;
}

/// Parses the `dims` and `arg-dims` options; on failure `error` says why.
std::optional<Bindings> parseBindings(ArrayRef<std::string> dims,
                                      ArrayRef<std::string> argDims,
                                      std::string &error) {
  llvm::raw_string_ostream os(error);
  Bindings out;
  auto parseSize = [&](StringRef option, StringRef entry,
                       StringRef text) -> std::optional<int64_t> {
    std::optional<int64_t> v = parseInt(text);
    if (!v || *v < 0) {
      os << "invalid '" << option << "' entry '" << entry << "': '"
         << text.trim() << "' is not a non-negative integer";
      return std::nullopt;
    }
    return v;
  };
  for (StringRef entry : dims) {
    auto [name, value] = entry.split('=');
    name = name.trim();
    if (!entry.contains('=') || name.empty()) {
      os << "invalid 'dims' entry '" << entry << "': expected NAME=VALUE";
      return std::nullopt;
    }
    std::optional<int64_t> v = parseSize("dims", entry, value);
    if (!v)
      return std::nullopt;
    auto *it = llvm::find_if(out.named,
                             [&](const auto &b) { return b.first == name; });
    if (it != out.named.end() && it->second != *v) {
      os << "'dims' binds '" << name << "' to both " << it->second << " and "
         << *v;
      return std::nullopt;
    }
    if (it == out.named.end())
      out.named.emplace_back(name.str(), *v);
  }
  for (StringRef entry : argDims) {
    auto [pos, value] = entry.split('=');
    auto [arg, dim] = pos.split(':');
    std::optional<int64_t> a = parseInt(arg), d = parseInt(dim);
    if (!entry.contains('=') || !pos.contains(':') || !a || !d || *a < 0 ||
        *d < 0) {
      os << "invalid 'arg-dims' entry '" << entry
         << "': expected ARG:DIM=VALUE with non-negative integers";
      return std::nullopt;
    }
    std::optional<int64_t> v = parseSize("arg-dims", entry, value);
    if (!v)
      return std::nullopt;
    out.positional.emplace_back(unsigned(*a), unsigned(*d), *v);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ", ";
    s += ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
  }
  return s + "]";
}

std::optional<Shape> shapeOf(Value v) {
  auto type = v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
  if (!type)
    return std::nullopt;
  return Shape(type.getShape());
}

bool allStatic(ArrayRef<int64_t> shape) {
  return llvm::none_of(shape, ShapedType::isDynamic);
}

/// The product of the dimensions, or kDyn if one is unknown or it overflows.
int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (ShapedType::isDynamic(d))
      return kDyn;
    std::optional<int64_t> m = llvm::checkedMul(p, d);
    if (!m)
      return kDyn;
    p = *m;
  }
  return p;
}

using s10::onnx::shape::broadcast;
using s10::onnx::shape::normAxis;

/// Two views of the same shape: static sizes of either.
std::optional<Shape> merge(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return std::nullopt;
  Shape out(a);
  for (size_t i = 0; i < a.size(); ++i)
    if (ShapedType::isDynamic(out[i]))
      out[i] = b[i];
  return out;
}

Shape toShape(const PartialInts &values) {
  Shape out;
  for (std::optional<int64_t> v : values)
    out.push_back(v && *v >= 0 ? *v : kDyn);
  return out;
}

std::optional<SmallVector<int64_t>> allKnown(const PartialInts &values) {
  SmallVector<int64_t> out;
  for (std::optional<int64_t> v : values) {
    if (!v)
      return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

int64_t ceilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

/// The number of elements ONNX Slice selects from a dimension of size `dim`.
std::optional<int64_t> sliceLength(int64_t dim, int64_t start, int64_t end,
                                   int64_t step) {
  if (step == 0)
    return std::nullopt;
  return s10::onnx::sliceRange(dim, start, end, step).length;
}

bool isNone(Value v) { return isa<NoneType>(v.getType()); }

/// Input `i` of a node, or null when it is absent or `onnx.none`.
Value input(NodeOp node, unsigned i) {
  if (i >= node.getNumOperands() || isNone(node.getInputs()[i]))
    return {};
  return node.getInputs()[i];
}

/// An INTS attribute (also accepted as an array of integers).
std::optional<SmallVector<int64_t>> intsAttr(NodeOp node, StringRef key) {
  Attribute attr = node.getOnnxAttr(key);
  if (auto arr = dyn_cast_or_null<DenseI64ArrayAttr>(attr))
    return SmallVector<int64_t>(arr.asArrayRef());
  if (auto arr = dyn_cast_or_null<ArrayAttr>(attr)) {
    SmallVector<int64_t> out;
    for (Attribute a : arr) {
      auto i = dyn_cast<IntegerAttr>(a);
      if (!i)
        return std::nullopt;
      out.push_back(i.getInt());
    }
    return out;
  }
  return std::nullopt;
}

int64_t toInt64(const APInt &v, Type elt) {
  return elt.isUnsignedInteger() || elt.isInteger(1) ? int64_t(v.getZExtValue())
                                                     : v.getSExtValue();
}

std::string describe(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto node = dyn_cast<NodeOp>(op))
    os << "'" << node.getOpType() << "' node '" << node.getDisplayName() << "'";
  else
    os << "'" << op->getName() << "'";
  return s;
}

//===----------------------------------------------------------------------===//
// Shape inference
//===----------------------------------------------------------------------===//

/// True if `t` is one of the space-separated words of `list`.
bool isOneOf(StringRef t, StringRef list) {
  SmallVector<StringRef> words;
  list.split(words, ' ', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  return llvm::is_contained(words, t);
}

/// Operators with numpy broadcasting of all inputs.
bool isBroadcastOp(StringRef t) {
  return isOneOf(t, "Add Sub Mul Div Pow Mod Equal And Or Xor Where Max Min "
                    "Sum Mean Less LessOrEqual Greater GreaterOrEqual BitShift "
                    "BitwiseAnd BitwiseOr BitwiseXor PRelu");
}

/// Operators whose results all have the shape of their first input.
bool isSameShapeOp(StringRef t) {
  return isOneOf(
      t, "Neg Sqrt Reciprocal Sigmoid Cos Sin Tan Exp Log Tanh Relu Not Abs "
         "Erf Floor Ceil Round Sign Softplus Softsign Gelu Elu Selu Celu "
         "LeakyRelu HardSigmoid HardSwish Mish IsNaN IsInf Identity Cast "
         "CastLike Softmax LogSoftmax Hardmax CumSum Clip Trilu Dropout "
         "ScatterND ScatterElements BitwiseNot Acos Asin Atan Sinh Cosh Asinh "
         "Acosh Atanh ThresholdedRelu Shrink");
}

class ShapeRefiner {
public:
  ShapeRefiner(int64_t &numRefined) : numRefined(numRefined) {}

  /// Refines the result types of every node in `func`, in order.
  LogicalResult run(func::FuncOp func) {
    WalkResult result = func.walk([&](Operation *op) {
      LogicalResult r = success();
      if (auto node = dyn_cast<NodeOp>(op))
        r = refineNode(node);
      else if (auto refinable = dyn_cast<ShapeRefinableOpInterface>(op))
        r = refineOp(refinable);
      return failed(r) ? WalkResult::interrupt() : WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

private:
  int64_t &numRefined;
  DenseMap<Value, PartialInts> known;

  /// The tracked elements of a small integer tensor of rank <= 1.
  std::optional<PartialInts> ints(Value v) {
    if (!v)
      return std::nullopt;
    if (auto it = known.find(v); it != known.end())
      return it->second;
    auto cst = v.getDefiningOp<arith::ConstantOp>();
    auto dense = cst ? dyn_cast<DenseElementsAttr>(cst.getValue()) : nullptr;
    if (!dense || dense.getType().getRank() > 1 ||
        dense.getNumElements() > kMaxTracked ||
        !isa<IntegerType>(dense.getElementType()))
      return std::nullopt;
    PartialInts out;
    for (const APInt &i : dense.getValues<APInt>())
      out.push_back(toInt64(i, dense.getElementType()));
    return out;
  }

  std::optional<SmallVector<int64_t>> knownInts(Value v) {
    std::optional<PartialInts> p = ints(v);
    return p ? allKnown(*p) : std::nullopt;
  }

  /// A scalar: a tracked integer or a float constant.
  std::optional<double> scalar(Value v, bool &isInt) {
    if (auto i = knownInts(v); i && i->size() == 1) {
      isInt = true;
      return double((*i)[0]);
    }
    auto cst = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr;
    auto dense = cst ? dyn_cast<DenseFPElementsAttr>(cst.getValue()) : nullptr;
    if (!dense || dense.getNumElements() != 1)
      return std::nullopt;
    isInt = false;
    return (*dense.getValues<APFloat>().begin()).convertToDouble();
  }

  /// Axes from input `index`, or else from the `axes` attribute.
  std::optional<SmallVector<int64_t>> axesOf(NodeOp node, unsigned index) {
    if (Value v = input(node, index))
      return knownInts(v);
    return intsAttr(node, "axes");
  }

  /// A shape tensor's elements, or as many unknown ones as its type says.
  std::optional<Shape> shapeOperand(Value v) {
    if (std::optional<PartialInts> p = ints(v)) {
      if (llvm::any_of(*p, [](auto e) { return e && *e < 0; }))
        return std::nullopt;
      return toShape(*p);
    }
    std::optional<Shape> type = shapeOf(v);
    if (type && type->size() == 1 && !ShapedType::isDynamic((*type)[0]))
      return Shape((*type)[0], kDyn);
    return std::nullopt;
  }

  LogicalResult refineResult(Operation *op, unsigned i,
                             ArrayRef<int64_t> inferred) {
    // Sizes a malformed graph may produce are no information.
    Shape s(inferred);
    for (int64_t &d : s)
      if (d < 0)
        d = kDyn;
    Value result = op->getResult(i);
    auto type = dyn_cast<TensorType>(result.getType());
    if (!type)
      return success();
    if (!type.hasRank()) {
      result.setType(RankedTensorType::get(s, type.getElementType()));
      ++numRefined;
      return success();
    }
    auto ranked = cast<RankedTensorType>(type);
    auto conflict = [&]() {
      InFlightDiagnostic diag =
          op->emitError() << describe(op) << ": inferred shape " << shapeStr(s);
      if (op->getNumResults() > 1)
        diag << " of result #" << i;
      diag << " conflicts with the declared type " << ranked;
      return diag;
    };
    if (ranked.getRank() != int64_t(s.size()))
      return conflict();
    Shape merged(ranked.getShape());
    bool changed = false;
    for (auto [d, size] : llvm::enumerate(s)) {
      if (ShapedType::isDynamic(size))
        continue;
      if (ShapedType::isDynamic(merged[d])) {
        merged[d] = size;
        changed = true;
      } else if (merged[d] != size) {
        return conflict();
      }
    }
    if (changed) {
      result.setType(RankedTensorType::get(merged, ranked.getElementType(),
                                           ranked.getEncoding()));
      ++numRefined;
    }
    return success();
  }

  LogicalResult refineNode(NodeOp node) {
    std::optional<StringRef> domain = node.getDomain();
    if (domain && !domain->empty() && *domain != "ai.onnx")
      return success();
    SmallVector<std::optional<Shape>> shapes = infer(node);
    for (auto [i, s] : llvm::enumerate(shapes))
      if (s && failed(refineResult(node, i, *s)))
        return failure();
    if (node.getNumResults() == 1)
      if (std::optional<PartialInts> v = evaluate(node))
        known[node.getResult(0)] = std::move(*v);
    return success();
  }

  /// An op of another dialect that states its result shape.
  LogicalResult refineOp(ShapeRefinableOpInterface op) {
    std::optional<SmallVector<int64_t>> s = op.inferResultShape();
    if (!s || op->getNumResults() != 1)
      return success();
    return refineResult(op, 0, Shape(*s));
  }

  /// The inferred shape of each result, std::nullopt where unknown.
  SmallVector<std::optional<Shape>> infer(NodeOp node) {
    SmallVector<std::optional<Shape>> out(node.getNumResults());
    if (out.empty())
      return out;
    StringRef t = node.getOpType();
    if (isSameShapeOp(t)) {
      std::optional<Shape> s = shapeOf(input(node, 0));
      for (auto &r : out)
        r = s;
      return out;
    }
    if (t == "LayerNormalization") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      if (!s)
        return out;
      out[0] = s;
      std::optional<int64_t> axis =
          normAxis(node.getIntAttr("axis", -1), s->size());
      if (!axis)
        return out;
      Shape stat(*s);
      for (size_t d = *axis; d < stat.size(); ++d)
        stat[d] = 1;
      for (size_t i = 1; i < out.size(); ++i)
        out[i] = stat;
      return out;
    }
    if (t == "Split") {
      inferSplit(node, out);
      return out;
    }
    out[0] = inferSingle(node, t);
    return out;
  }

  void inferSplit(NodeOp node, SmallVector<std::optional<Shape>> &out) {
    std::optional<Shape> s = shapeOf(input(node, 0));
    if (!s)
      return;
    std::optional<int64_t> axis =
        normAxis(node.getIntAttr("axis", 0), s->size());
    if (!axis)
      return;
    int64_t n = out.size();
    int64_t dim = (*s)[*axis];
    std::optional<SmallVector<int64_t>> split;
    if (Value v = input(node, 1))
      split = knownInts(v);
    else
      split = intsAttr(node, "split");
    bool explicitSplit = input(node, 1) || node.getOnnxAttr("split");
    for (int64_t i = 0; i < n; ++i) {
      Shape r(*s);
      if (split && int64_t(split->size()) == n) {
        r[*axis] = (*split)[i];
      } else if (explicitSplit || ShapedType::isDynamic(dim)) {
        r[*axis] = kDyn;
      } else {
        int64_t chunk = ceilDiv(dim, n);
        r[*axis] = i + 1 < n ? chunk : dim - chunk * (n - 1);
        if (r[*axis] < 0)
          return;
      }
      out[i] = r;
    }
  }

  std::optional<Shape> inferSingle(NodeOp node, StringRef t) {
    if (isBroadcastOp(t)) {
      SmallVector<Shape> shapes;
      for (Value in : node.getInputs()) {
        std::optional<Shape> s = shapeOf(in);
        if (!s)
          return std::nullopt;
        shapes.push_back(*s);
      }
      return broadcast(shapes);
    }
    if (t == "MatMul")
      return inferMatMul(node);
    if (t == "Gemm") {
      std::optional<Shape> a = shapeOf(input(node, 0));
      std::optional<Shape> b = shapeOf(input(node, 1));
      if (!a || !b || a->size() != 2 || b->size() != 2)
        return std::nullopt;
      bool ta = node.getIntAttr("transA", 0), tb = node.getIntAttr("transB", 0);
      return Shape{(*a)[ta ? 1 : 0], (*b)[tb ? 0 : 1]};
    }
    if (t == "Transpose") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      if (!s)
        return std::nullopt;
      SmallVector<int64_t> perm =
          llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, s->size())));
      if (std::optional<SmallVector<int64_t>> p = intsAttr(node, "perm"))
        perm = *p;
      if (perm.size() != s->size())
        return std::nullopt;
      Shape r;
      for (int64_t p : perm) {
        if (p < 0 || p >= int64_t(s->size()))
          return std::nullopt;
        r.push_back((*s)[p]);
      }
      return r;
    }
    if (t == "Reshape")
      return inferReshape(node);
    if (t == "Unsqueeze")
      return inferUnsqueeze(node);
    if (t == "Squeeze")
      return inferSqueeze(node);
    if (t == "Concat")
      return inferConcat(node);
    if (t == "Slice")
      return inferSlice(node);
    if (t == "Gather") {
      std::optional<Shape> data = shapeOf(input(node, 0));
      std::optional<Shape> idx = shapeOf(input(node, 1));
      if (!data || !idx)
        return std::nullopt;
      std::optional<int64_t> axis =
          normAxis(node.getIntAttr("axis", 0), data->size());
      if (!axis)
        return std::nullopt;
      Shape r(data->begin(), data->begin() + *axis);
      r.append(*idx);
      r.append(data->begin() + *axis + 1, data->end());
      return r;
    }
    if (t == "GatherElements")
      return shapeOf(input(node, 1));
    if (t == "GatherND") {
      std::optional<Shape> data = shapeOf(input(node, 0));
      std::optional<Shape> idx = shapeOf(input(node, 1));
      int64_t b = node.getIntAttr("batch_dims", 0);
      if (!data || !idx || idx->empty() || ShapedType::isDynamic(idx->back()))
        return std::nullopt;
      int64_t k = idx->back();
      if (b < 0 || b + k > int64_t(data->size()))
        return std::nullopt;
      Shape r(idx->begin(), idx->end() - 1);
      r.append(data->begin() + b + k, data->end());
      return r;
    }
    if (t == "Expand") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      std::optional<Shape> target = shapeOperand(input(node, 1));
      if (!s || !target)
        return std::nullopt;
      return broadcast({*s, *target});
    }
    if (t == "Tile") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      std::optional<PartialInts> reps = ints(input(node, 1));
      if (!s || !reps || reps->size() != s->size())
        return std::nullopt;
      Shape r;
      for (auto [d, rep] : llvm::zip(*s, *reps))
        r.push_back(ShapedType::isDynamic(d) || !rep ? kDyn : d * *rep);
      return r;
    }
    if (t.starts_with("Reduce"))
      return inferReduce(node);
    if (t == "ArgMax" || t == "ArgMin") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      if (!s)
        return std::nullopt;
      std::optional<int64_t> axis =
          normAxis(node.getIntAttr("axis", 0), s->size());
      if (!axis)
        return std::nullopt;
      if (node.getIntAttr("keepdims", 1))
        (*s)[*axis] = 1;
      else
        s->erase(s->begin() + *axis);
      return s;
    }
    if (t == "Flatten") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      if (!s)
        return std::nullopt;
      int64_t axis = node.getIntAttr("axis", 1);
      if (axis < 0)
        axis += s->size();
      if (axis < 0 || axis > int64_t(s->size()))
        return std::nullopt;
      return Shape{product(ArrayRef(*s).take_front(axis)),
                   product(ArrayRef(*s).drop_front(axis))};
    }
    if (t == "Range")
      return inferRange(node);
    if (t == "Shape") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      if (!s)
        return std::nullopt;
      auto [start, end] = shapeRange(node, s->size());
      return Shape{std::max<int64_t>(end - start, 0)};
    }
    if (t == "Size")
      return Shape{};
    if (t == "ConstantOfShape")
      return shapeOperand(input(node, 0));
    if (t == "Constant") {
      if (auto value = dyn_cast_or_null<TypedAttr>(node.getOnnxAttr("value")))
        if (auto type = dyn_cast<ShapedType>(value.getType());
            type && type.hasRank())
          return Shape(type.getShape());
      if (node.getOnnxAttr("value_int") || node.getOnnxAttr("value_float"))
        return Shape{};
      for (StringRef key : {"value_ints", "value_floats"})
        if (auto arr = dyn_cast_or_null<DenseArrayAttr>(node.getOnnxAttr(key)))
          return Shape{arr.getSize()};
      return std::nullopt;
    }
    return std::nullopt;
  }

  /// The [start, end) of the dimensions a Shape node selects.
  static std::pair<int64_t, int64_t> shapeRange(NodeOp node, int64_t rank) {
    auto clampDim = [&](int64_t d) {
      if (d < 0)
        d += rank;
      return std::clamp<int64_t>(d, 0, rank);
    };
    return {clampDim(node.getIntAttr("start", 0)),
            clampDim(node.getIntAttr("end", rank))};
  }

  std::optional<Shape> inferMatMul(NodeOp node) {
    std::optional<Shape> a = shapeOf(input(node, 0));
    std::optional<Shape> b = shapeOf(input(node, 1));
    if (!a || !b || a->empty() || b->empty())
      return std::nullopt;
    bool aVec = a->size() == 1, bVec = b->size() == 1;
    if (aVec)
      a->insert(a->begin(), 1);
    if (bVec)
      b->push_back(1);
    std::optional<Shape> batch = broadcast(
        {Shape(a->begin(), a->end() - 2), Shape(b->begin(), b->end() - 2)});
    if (!batch)
      return std::nullopt;
    if (!aVec)
      batch->push_back((*a)[a->size() - 2]);
    if (!bVec)
      batch->push_back(b->back());
    return batch;
  }

  std::optional<Shape> inferReshape(NodeOp node) {
    std::optional<PartialInts> target = ints(input(node, 1));
    if (!target && !input(node, 1))
      if (std::optional<SmallVector<int64_t>> attr = intsAttr(node, "shape"))
        target = PartialInts(attr->begin(), attr->end());
    if (!target) {
      std::optional<Shape> type = shapeOf(input(node, 1));
      if (type && type->size() == 1 && !ShapedType::isDynamic((*type)[0]))
        return Shape((*type)[0], kDyn);
      return std::nullopt;
    }
    std::optional<Shape> in = shapeOf(input(node, 0));
    bool allowZero = node.getIntAttr("allowzero", 0) != 0;
    Shape out;
    for (auto [i, e] : llvm::enumerate(*target)) {
      if (!e || *e == -1)
        out.push_back(kDyn);
      else if (*e == 0 && !allowZero)
        out.push_back(in && i < in->size() ? (*in)[i] : kDyn);
      else if (*e < 0)
        return std::nullopt;
      else
        out.push_back(*e);
    }
    // Reshape keeps the element count: one unknown size follows from it,
    // whether it was -1, 0 or not known at all.
    int64_t total = in ? product(*in) : kDyn;
    if (!ShapedType::isDynamic(total) &&
        llvm::count_if(out, ShapedType::isDynamic) == 1) {
      int64_t rest = 1;
      for (int64_t d : out)
        if (!ShapedType::isDynamic(d))
          rest *= d;
      auto *it = llvm::find_if(out, ShapedType::isDynamic);
      if (rest > 0 && total % rest == 0)
        *it = total / rest;
    }
    return out;
  }

  std::optional<Shape> inferUnsqueeze(NodeOp node) {
    std::optional<Shape> s = shapeOf(input(node, 0));
    std::optional<SmallVector<int64_t>> axes = axesOf(node, 1);
    if (!s || !axes)
      return std::nullopt;
    int64_t rank = s->size() + axes->size();
    llvm::SmallSet<int64_t, 8> set;
    for (int64_t a : *axes) {
      std::optional<int64_t> n = normAxis(a, rank);
      if (!n || !set.insert(*n).second)
        return std::nullopt;
    }
    Shape r;
    auto it = s->begin();
    for (int64_t d = 0; d < rank; ++d)
      r.push_back(set.contains(d) ? 1 : *it++);
    return r;
  }

  std::optional<Shape> inferSqueeze(NodeOp node) {
    std::optional<Shape> s = shapeOf(input(node, 0));
    if (!s)
      return std::nullopt;
    bool hasAxes = input(node, 1) || node.getOnnxAttr("axes");
    Shape r;
    if (!hasAxes) {
      if (!allStatic(*s))
        return std::nullopt;
      for (int64_t d : *s)
        if (d != 1)
          r.push_back(d);
      return r;
    }
    std::optional<SmallVector<int64_t>> axes = axesOf(node, 1);
    if (!axes)
      return std::nullopt;
    llvm::SmallSet<int64_t, 8> set;
    for (int64_t a : *axes) {
      std::optional<int64_t> n = normAxis(a, s->size());
      if (!n)
        return std::nullopt;
      set.insert(*n);
    }
    for (auto [d, size] : llvm::enumerate(*s))
      if (!set.contains(d))
        r.push_back(size);
    return r;
  }

  std::optional<Shape> inferConcat(NodeOp node) {
    std::optional<Shape> r;
    int64_t axisSize = 0;
    std::optional<int64_t> axis;
    for (Value in : node.getInputs()) {
      std::optional<Shape> s = shapeOf(in);
      if (!s || s->empty())
        return std::nullopt;
      if (!r) {
        r = s;
        axis = normAxis(node.getIntAttr("axis", 0), s->size());
        if (!axis)
          return std::nullopt;
      } else {
        r = merge(*r, *s);
        if (!r)
          return std::nullopt;
      }
      int64_t d = (*s)[*axis];
      axisSize = ShapedType::isDynamic(d) || ShapedType::isDynamic(axisSize)
                     ? kDyn
                     : axisSize + d;
    }
    if (!r)
      return std::nullopt;
    (*r)[*axis] = axisSize;
    return r;
  }

  std::optional<Shape> inferSlice(NodeOp node) {
    std::optional<Shape> s = shapeOf(input(node, 0));
    if (!s)
      return std::nullopt;
    int64_t rank = s->size();
    std::optional<PartialInts> starts, ends, axes, steps;
    if (node.getOnnxAttr("starts")) {
      // Opset < 10: attributes, unit steps.
      auto toPartial = [](std::optional<SmallVector<int64_t>> v) {
        return v ? std::optional<PartialInts>(PartialInts(v->begin(), v->end()))
                 : std::nullopt;
      };
      starts = toPartial(intsAttr(node, "starts"));
      ends = toPartial(intsAttr(node, "ends"));
      axes = toPartial(intsAttr(node, "axes"));
    } else {
      starts = ints(input(node, 1));
      ends = ints(input(node, 2));
      if (Value v = input(node, 3)) {
        axes = ints(v);
        if (!axes)
          return Shape(rank, kDyn);
      }
      if (Value v = input(node, 4)) {
        steps = ints(v);
        if (!steps)
          steps = PartialInts(starts ? starts->size() : 0, std::nullopt);
      }
    }
    if (!starts || !ends || starts->size() != ends->size())
      return Shape(rank, kDyn);
    size_t n = starts->size();
    if (!axes) {
      axes.emplace();
      for (size_t i = 0; i < n; ++i)
        axes->push_back(int64_t(i));
    }
    if (!steps)
      steps = PartialInts(n, int64_t(1));
    if (axes->size() != n || steps->size() != n)
      return std::nullopt;
    Shape r(*s);
    for (size_t i = 0; i < n; ++i) {
      std::optional<int64_t> a =
          (*axes)[i] ? normAxis(*(*axes)[i], rank) : std::nullopt;
      if (!(*axes)[i])
        return Shape(rank, kDyn);
      if (!a)
        return std::nullopt;
      int64_t dim = (*s)[*a];
      std::optional<int64_t> len;
      if (!ShapedType::isDynamic(dim) && (*starts)[i] && (*ends)[i] &&
          (*steps)[i])
        len = sliceLength(dim, *(*starts)[i], *(*ends)[i], *(*steps)[i]);
      r[*a] = len ? *len : kDyn;
    }
    return r;
  }

  std::optional<Shape> inferReduce(NodeOp node) {
    std::optional<Shape> s = shapeOf(input(node, 0));
    if (!s)
      return std::nullopt;
    bool keep = node.getIntAttr("keepdims", 1) != 0;
    bool noop = node.getIntAttr("noop_with_empty_axes", 0) != 0;
    std::optional<SmallVector<int64_t>> axes;
    if (Value v = input(node, 1)) {
      axes = knownInts(v);
      if (!axes)
        return keep ? std::optional<Shape>(Shape(s->size(), kDyn))
                    : std::nullopt;
    } else {
      axes = intsAttr(node, "axes");
    }
    if (!axes || axes->empty()) {
      if (noop)
        return s;
      return keep ? Shape(s->size(), 1) : Shape{};
    }
    llvm::SmallSet<int64_t, 8> set;
    for (int64_t a : *axes) {
      std::optional<int64_t> n = normAxis(a, s->size());
      if (!n)
        return std::nullopt;
      set.insert(*n);
    }
    Shape r;
    for (auto [d, size] : llvm::enumerate(*s)) {
      if (!set.contains(d))
        r.push_back(size);
      else if (keep)
        r.push_back(1);
    }
    return r;
  }

  std::optional<Shape> inferRange(NodeOp node) {
    bool i0 = false, i1 = false, i2 = false;
    std::optional<double> start = scalar(input(node, 0), i0);
    std::optional<double> limit = scalar(input(node, 1), i1);
    std::optional<double> delta = scalar(input(node, 2), i2);
    if (!start || !limit || !delta || *delta == 0)
      return Shape{kDyn};
    if (i0 && i1 && i2) {
      auto s = int64_t(*start), l = int64_t(*limit), d = int64_t(*delta);
      std::optional<int64_t> span = llvm::checkedSub(l, s);
      if (!span)
        return Shape{kDyn};
      int64_t n = *span / d + ((*span % d != 0) && ((*span > 0) == (d > 0)));
      return Shape{std::max<int64_t>(n, 0)};
    }
    double n = std::ceil((*limit - *start) / *delta);
    if (!std::isfinite(n) || n > double(INT64_MAX / 2))
      return Shape{kDyn};
    return Shape{std::max<int64_t>(int64_t(n), 0)};
  }

  //===--------------------------------------------------------------------===//
  // Values of small integer tensors
  //===--------------------------------------------------------------------===//

  /// The elements of a node's (integer, rank <= 1, static) result.
  std::optional<PartialInts> evaluate(NodeOp node) {
    auto type = dyn_cast<RankedTensorType>(node.getResult(0).getType());
    if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
        !isa<IntegerType>(type.getElementType()) ||
        type.getNumElements() > kMaxTracked)
      return std::nullopt;
    std::optional<PartialInts> out = evaluateImpl(node, type.getNumElements());
    if (!out || int64_t(out->size()) != type.getNumElements())
      return std::nullopt;
    // Values as the result type holds them (Cast to bool or narrower ints).
    auto elt = cast<IntegerType>(type.getElementType());
    unsigned width = elt.getWidth();
    for (std::optional<int64_t> &v : *out) {
      if (!v || width >= 64)
        continue;
      if (width == 1)
        v = *v != 0;
      else
        v = toInt64(APInt(64, uint64_t(*v)).trunc(width), elt);
    }
    return out;
  }

  std::optional<PartialInts> evaluateImpl(NodeOp node, int64_t n) {
    StringRef t = node.getOpType();
    if (t == "Shape") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      if (!s)
        return std::nullopt;
      auto [start, end] = shapeRange(node, s->size());
      PartialInts out;
      for (int64_t d = start; d < end; ++d)
        out.push_back(ShapedType::isDynamic((*s)[d])
                          ? std::nullopt
                          : std::optional<int64_t>((*s)[d]));
      return out;
    }
    if (t == "Size") {
      std::optional<Shape> s = shapeOf(input(node, 0));
      if (!s || ShapedType::isDynamic(product(*s)))
        return std::nullopt;
      return PartialInts{product(*s)};
    }
    if (isOneOf(t, "Identity Squeeze Unsqueeze Reshape Flatten Cast"))
      return ints(input(node, 0));
    if (t == "Concat") {
      // Inputs not tracked contribute unknown elements: as many as their
      // type says, or for one of them, what the result's length leaves.
      SmallVector<std::optional<PartialInts>> parts;
      int64_t knownLength = 0, unsized = 0;
      for (Value in : node.getInputs()) {
        std::optional<PartialInts> v = ints(in);
        std::optional<Shape> s = shapeOf(in);
        if (!v && s && s->size() == 1 && !ShapedType::isDynamic((*s)[0]))
          v = PartialInts((*s)[0], std::nullopt);
        if (v)
          knownLength += v->size();
        else
          ++unsized;
        parts.push_back(std::move(v));
      }
      if (unsized > 1 || knownLength > n)
        return std::nullopt;
      PartialInts out;
      for (std::optional<PartialInts> &v : parts)
        out.append(v ? *v : PartialInts(n - knownLength, std::nullopt));
      return out;
    }
    if (t == "Gather") {
      std::optional<PartialInts> data = ints(input(node, 0));
      std::optional<SmallVector<int64_t>> idx = knownInts(input(node, 1));
      std::optional<Shape> dataShape = shapeOf(input(node, 0));
      if (!data || !idx || !dataShape || dataShape->size() != 1 ||
          (node.getIntAttr("axis", 0) != 0 && node.getIntAttr("axis", 0) != -1))
        return std::nullopt;
      PartialInts out;
      for (int64_t i : *idx) {
        std::optional<int64_t> j = normAxis(i, data->size());
        if (!j)
          return std::nullopt;
        out.push_back((*data)[*j]);
      }
      return out;
    }
    if (t == "Slice") {
      std::optional<PartialInts> data = ints(input(node, 0));
      std::optional<SmallVector<int64_t>> starts = knownInts(input(node, 1));
      std::optional<SmallVector<int64_t>> ends = knownInts(input(node, 2));
      if (!data || !starts || !ends || starts->size() != 1 || ends->size() != 1)
        return std::nullopt;
      if (Value axes = input(node, 3)) {
        std::optional<SmallVector<int64_t>> a = knownInts(axes);
        if (!a || a->size() != 1 || ((*a)[0] != 0 && (*a)[0] != -1))
          return std::nullopt;
      }
      int64_t step = 1;
      if (Value steps = input(node, 4)) {
        std::optional<SmallVector<int64_t>> s = knownInts(steps);
        if (!s || s->size() != 1 || (*s)[0] == 0)
          return std::nullopt;
        step = (*s)[0];
      }
      int64_t dim = data->size();
      s10::onnx::SliceRange range =
          s10::onnx::sliceRange(dim, (*starts)[0], (*ends)[0], step);
      std::optional<int64_t> len = range.length;
      int64_t start = range.first;
      PartialInts out;
      for (int64_t i = 0; i < *len; ++i)
        out.push_back((*data)[start + i * step]);
      return out;
    }
    if (t == "ConstantOfShape") {
      auto value =
          dyn_cast_or_null<DenseIntElementsAttr>(node.getOnnxAttr("value"));
      if (!value || value.getNumElements() != 1)
        return std::nullopt;
      int64_t v =
          toInt64(*value.getValues<APInt>().begin(), value.getElementType());
      return PartialInts(n, v);
    }
    if (t == "Expand") {
      std::optional<PartialInts> v = ints(input(node, 0));
      if (!v || (int64_t(v->size()) != n && v->size() != 1))
        return std::nullopt;
      return v->size() == 1 ? PartialInts(n, (*v)[0]) : *v;
    }
    if (t == "Range") {
      std::optional<SmallVector<int64_t>> s = knownInts(input(node, 0));
      std::optional<SmallVector<int64_t>> d = knownInts(input(node, 2));
      if (!s || !d || s->size() != 1 || d->size() != 1)
        return std::nullopt;
      PartialInts out;
      for (int64_t i = 0; i < n; ++i)
        out.push_back((*s)[0] + i * (*d)[0]);
      return out;
    }
    return evaluateElementwise(node, t, n);
  }

  std::optional<PartialInts> evaluateElementwise(NodeOp node, StringRef t,
                                                 int64_t n) {
    if (!isOneOf(t, "Add Sub Mul Div Max Min Equal Less LessOrEqual Greater "
                    "GreaterOrEqual And Or Xor Where Neg Not Abs"))
      return std::nullopt;
    SmallVector<PartialInts> args;
    for (Value in : node.getInputs()) {
      std::optional<PartialInts> v = ints(in);
      if (!v || (int64_t(v->size()) != n && v->size() != 1))
        return std::nullopt;
      args.push_back(std::move(*v));
    }
    if (args.empty())
      return std::nullopt;
    auto at = [&](size_t k, int64_t i) {
      return args[k].size() == 1 ? args[k][0] : args[k][i];
    };
    PartialInts out;
    for (int64_t i = 0; i < n; ++i) {
      if (t == "Where") {
        if (args.size() != 3)
          return std::nullopt;
        std::optional<int64_t> c = at(0, i);
        out.push_back(c ? at(*c ? 1 : 2, i) : std::nullopt);
        continue;
      }
      SmallVector<int64_t> xs;
      for (size_t k = 0; k < args.size(); ++k)
        if (std::optional<int64_t> x = at(k, i))
          xs.push_back(*x);
      if (xs.size() != args.size()) {
        out.push_back(std::nullopt);
        continue;
      }
      out.push_back(applyInt(t, xs));
    }
    return out;
  }

  static std::optional<int64_t> applyInt(StringRef t, ArrayRef<int64_t> xs) {
    if (xs.size() == 1) {
      int64_t a = xs[0];
      if (t == "Neg")
        return llvm::checkedSub<int64_t>(0, a);
      if (t == "Not")
        return int64_t(a == 0);
      if (t == "Abs")
        return a < 0 ? llvm::checkedSub<int64_t>(0, a) : a;
      if (t == "Max" || t == "Min")
        return a;
      return std::nullopt;
    }
    if (t == "Max")
      return *llvm::max_element(xs);
    if (t == "Min")
      return *llvm::min_element(xs);
    if (xs.size() != 2)
      return std::nullopt;
    int64_t a = xs[0], b = xs[1];
    if (t == "Add")
      return llvm::checkedAdd(a, b);
    if (t == "Sub")
      return llvm::checkedSub(a, b);
    if (t == "Mul")
      return llvm::checkedMul(a, b);
    if (t == "Div") {
      if (b == 0 || (a == INT64_MIN && b == -1))
        return std::nullopt;
      return a / b;
    }
    if (t == "Equal")
      return int64_t(a == b);
    if (t == "Less")
      return int64_t(a < b);
    if (t == "LessOrEqual")
      return int64_t(a <= b);
    if (t == "Greater")
      return int64_t(a > b);
    if (t == "GreaterOrEqual")
      return int64_t(a >= b);
    if (t == "And")
      return int64_t(a && b);
    if (t == "Or")
      return int64_t(a || b);
    if (t == "Xor")
      return int64_t(bool(a) != bool(b));
    return std::nullopt;
  }
};

//===----------------------------------------------------------------------===//
// Dimension names
//===----------------------------------------------------------------------===//

/// One name per dimension ("" for none), from an `onnx.dim_params` array.
SmallVector<std::string> readNames(ArrayAttr attr) {
  SmallVector<std::string> out;
  if (!attr)
    return out;
  for (Attribute a : attr) {
    auto s = dyn_cast<StringAttr>(a);
    out.push_back(s ? s.getValue().str() : std::string());
  }
  return out;
}

/// Writes `names` back as an `onnx.dim_params` array, or null if none is
/// left.
ArrayAttr writeNames(MLIRContext *ctx, ArrayRef<std::string> names) {
  if (llvm::all_of(names, [](const std::string &n) { return n.empty(); }))
    return nullptr;
  SmallVector<Attribute> attrs;
  for (const std::string &n : names)
    attrs.push_back(StringAttr::get(ctx, n));
  return ArrayAttr::get(ctx, attrs);
}

struct ONNXSpecializeShapesPass
    : s10::onnx::impl::ONNXSpecializeShapesBase<ONNXSpecializeShapesPass> {
  using Base::Base;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(Base::initializeOptions(options, errorHandler)))
      return failure();
    std::string error;
    if (!parseBindings(dims, argDims, error))
      return errorHandler(error);
    return success();
  }

  void runOnOperation() override;
  LogicalResult specializeSignature(func::FuncOp func, const Bindings &bindings,
                                    llvm::StringMap<int64_t> &bound);
};

LogicalResult
ONNXSpecializeShapesPass::specializeSignature(func::FuncOp func,
                                              const Bindings &bindings,
                                              llvm::StringMap<int64_t> &bound) {
  MLIRContext *ctx = func.getContext();
  unsigned numArgs = func.getNumArguments();

  // Dimension names of the arguments and results.
  auto funcLevel = func->getAttrOfType<ArrayAttr>(kDimParams);
  bool perArgFuncLevel =
      funcLevel && !funcLevel.empty() &&
      llvm::all_of(funcLevel, [](Attribute a) { return isa<ArrayAttr>(a); });
  SmallVector<SmallVector<std::string>> argNames(numArgs), resultNames;
  llvm::StringSet<> argKnown, otherKnown;
  for (unsigned i = 0; i < numArgs; ++i) {
    auto attr = func.getArgAttrOfType<ArrayAttr>(i, kDimParams);
    if (!attr && perArgFuncLevel && i < funcLevel.size())
      attr = cast<ArrayAttr>(funcLevel[i]);
    argNames[i] = readNames(attr);
    for (const std::string &n : argNames[i])
      if (!n.empty())
        argKnown.insert(n);
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    resultNames.push_back(
        readNames(func.getResultAttrOfType<ArrayAttr>(i, kDimParams)));
    for (const std::string &n : resultNames.back())
      if (!n.empty())
        otherKnown.insert(n);
  }
  if (funcLevel && !perArgFuncLevel)
    for (Attribute a : funcLevel)
      if (auto s = dyn_cast<StringAttr>(a); s && !s.getValue().empty())
        otherKnown.insert(s.getValue());

  for (const auto &[name, value] : bindings.named) {
    if (argKnown.contains(name)) {
      bound[name] = value;
      continue;
    }
    if (otherKnown.contains(name)) {
      emitWarning(func.getLoc()) << "dimension '" << name
                                 << "' names no argument dimension; it is only "
                                    "checked against the results";
      bound[name] = value;
      continue;
    }
    InFlightDiagnostic diag = emitError(func.getLoc())
                              << "no dynamic dimension named '" << name << "'";
    SmallVector<StringRef> names;
    for (const auto &set : {&argKnown, &otherKnown})
      for (const auto &entry : *set)
        names.push_back(entry.getKey());
    llvm::sort(names);
    names.erase(llvm::unique(names), names.end());
    if (names.empty())
      diag.attachNote() << "the function records no dimension names ('"
                        << kDimParams << "'); bind dimensions by position "
                        << "with 'arg-dims'";
    else
      diag.attachNote() << "known dimension names: " << llvm::join(names, ", ");
    return failure();
  }

  // Positional bindings; one on a named dimension binds the name.
  llvm::MapVector<std::pair<unsigned, unsigned>, int64_t> byPosition;
  for (auto [arg, dim, value] : bindings.positional) {
    if (arg >= numArgs)
      return emitError(func.getLoc())
             << "'arg-dims' names argument #" << arg << " but the function has "
             << numArgs << " arguments";
    auto type = dyn_cast<RankedTensorType>(func.getArgument(arg).getType());
    if (!type || dim >= type.getRank())
      return emitError(func.getLoc())
             << "'arg-dims' names dimension " << dim << " of argument #" << arg
             << " of type " << func.getArgument(arg).getType();
    StringRef name =
        dim < argNames[arg].size() ? StringRef(argNames[arg][dim]) : "";
    if (!name.empty()) {
      auto [it, inserted] = bound.try_emplace(name, value);
      if (!inserted && it->second != value)
        return emitError(func.getLoc())
               << "dimension '" << name << "' bound to both " << it->second
               << " and " << value;
      continue;
    }
    auto [it, inserted] = byPosition.try_emplace({arg, dim}, value);
    if (!inserted && it->second != value)
      return emitError(func.getLoc())
             << "argument #" << arg << " dimension " << dim << " bound to both "
             << it->second << " and " << value;
  }
  for (unsigned i = 0; i < numArgs; ++i)
    for (auto [d, name] : llvm::enumerate(argNames[i]))
      if (auto it = bound.find(name); !name.empty() && it != bound.end())
        byPosition[{i, unsigned(d)}] = it->second;

  // New argument types.
  SmallVector<Type> argTypes(func.getArgumentTypes());
  for (auto [pos, value] : byPosition) {
    auto [arg, dim] = pos;
    auto type = dyn_cast<RankedTensorType>(argTypes[arg]);
    if (!type || dim >= type.getRank())
      return emitError(func.getLoc())
             << "dimension " << dim << " of argument #" << arg << " of type "
             << argTypes[arg] << " cannot be specialized";
    int64_t old = type.getDimSize(dim);
    if (!ShapedType::isDynamic(old) && old != value)
      return emitError(func.getLoc())
             << "argument #" << arg << " dimension " << dim << " is " << old
             << ", cannot specialize it to " << value;
    Shape shape(type.getShape());
    shape[dim] = value;
    argTypes[arg] =
        RankedTensorType::get(shape, type.getElementType(), type.getEncoding());
  }
  if (!func.isExternal())
    for (auto [arg, type] : llvm::zip(func.getArguments(), argTypes))
      arg.setType(type);
  func.setType(FunctionType::get(ctx, argTypes, func.getResultTypes()));

  if (bound.empty())
    return success();
  // Bound names are no longer dynamic: clear them from the attributes.
  auto clear = [&](SmallVector<std::string> names) {
    for (std::string &n : names)
      if (bound.contains(n))
        n.clear();
    return writeNames(ctx, names);
  };
  for (unsigned i = 0; i < numArgs; ++i) {
    if (argNames[i].empty() || !func.getArgAttr(i, kDimParams))
      continue;
    if (ArrayAttr a = clear(argNames[i]))
      func.setArgAttr(i, kDimParams, a);
    else
      func.removeArgAttr(i, StringAttr::get(ctx, kDimParams));
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    if (resultNames[i].empty())
      continue;
    if (ArrayAttr a = clear(resultNames[i]))
      func.setResultAttr(i, kDimParams, a);
    else
      func.removeResultAttr(i, StringAttr::get(ctx, kDimParams));
  }
  if (funcLevel) {
    SmallVector<Attribute> kept;
    for (Attribute a : funcLevel) {
      if (auto arr = dyn_cast<ArrayAttr>(a)) {
        ArrayAttr c = clear(readNames(arr));
        kept.push_back(c ? c : ArrayAttr::get(ctx, {}));
      } else if (auto s = dyn_cast<StringAttr>(a);
                 !s || !bound.contains(s.getValue())) {
        kept.push_back(a);
      }
    }
    if (kept.empty() || (perArgFuncLevel && llvm::all_of(kept, [](Attribute a) {
                           return cast<ArrayAttr>(a).empty();
                         })))
      func->removeAttr(kDimParams);
    else
      func->setAttr(kDimParams, ArrayAttr::get(ctx, kept));
  }
  NamedAttrList specialized;
  if (auto old = func->getAttrOfType<DictionaryAttr>(kSpecializedDims))
    specialized.append(old.getValue());
  for (const auto &entry : bound)
    specialized.set(entry.getKey(),
                    IntegerAttr::get(IntegerType::get(ctx, 64), entry.second));
  func->setAttr(kSpecializedDims, specialized.getDictionary(ctx));
  return success();
}

void ONNXSpecializeShapesPass::runOnOperation() {
  func::FuncOp func = getOperation();
  std::string error;
  std::optional<Bindings> bindings = parseBindings(dims, argDims, error);
  if (!bindings) {
    emitError(func.getLoc()) << error;
    return signalPassFailure();
  }
  // Result names, read before the attributes are rewritten.
  SmallVector<SmallVector<std::string>> resultNames;
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    resultNames.push_back(
        readNames(func.getResultAttrOfType<ArrayAttr>(i, kDimParams)));

  llvm::StringMap<int64_t> bound;
  if (failed(specializeSignature(func, *bindings, bound)))
    return signalPassFailure();
  if (func.isExternal())
    return;

  int64_t refined = 0;
  ShapeRefiner refiner(refined);
  if (failed(refiner.run(func)))
    return signalPassFailure();
  numRefined += refined;

  // Function results follow the returned values.
  auto ret = dyn_cast<func::ReturnOp>(func.getBody().back().getTerminator());
  if (!ret)
    return;
  func.setType(FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                 ret.getOperandTypes()));
  for (auto [i, names] : llvm::enumerate(resultNames)) {
    auto type = dyn_cast<RankedTensorType>(func.getResultTypes()[i]);
    if (!type || int64_t(names.size()) != type.getRank())
      continue;
    for (auto [d, name] : llvm::enumerate(names)) {
      auto it = bound.find(name);
      if (name.empty() || it == bound.end() ||
          ShapedType::isDynamic(type.getDimSize(d)) ||
          type.getDimSize(d) == it->second)
        continue;
      emitError(ret.getLoc())
          << "result #" << i << " dimension " << d << " ('" << name << "') is "
          << type.getDimSize(d) << " after specialization, expected "
          << it->second;
      return signalPassFailure();
    }
  }
}

} // namespace
