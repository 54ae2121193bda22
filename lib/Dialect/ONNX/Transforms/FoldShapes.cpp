//===- FoldShapes.cpp - Fold shape sub-graphs to constants ----------------===//
//
// Exporters compute reshape targets, ranges and masks at run time from Shape
// nodes. With static shapes these sub-graphs are constant: this pass
// evaluates them with ONNX semantics on small constants and replaces them
// with `arith.constant`s.
//
//===----------------------------------------------------------------------===//

#include "s10/Dialect/ONNX/Transforms/Passes.h"

#include "ShapeUtils.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/ONNX/ShapeRules.h"
#include "s10/Interfaces/ShapeRefinableOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <cmath>
#include <deque>
#include <optional>

namespace s10::onnx {
#define GEN_PASS_DEF_ONNXFOLDSHAPES
#include "s10/Dialect/ONNX/Transforms/Passes.h.inc"
} // namespace s10::onnx

using namespace mlir;
using namespace s10;
using s10::onnx::NodeOp;

namespace {

using Shape = SmallVector<int64_t>;

//===----------------------------------------------------------------------===//
// Literals
//===----------------------------------------------------------------------===//

/// A small constant tensor: integers (and bools, as 0/1) in int64, floats in
/// double, each already rounded to the element type.
struct Literal {
  Shape shape;
  Type elt;
  SmallVector<int64_t> ints;
  SmallVector<double> floats;

  bool isFloat() const { return isa<FloatType>(elt); }
  int64_t size() const { return isFloat() ? floats.size() : ints.size(); }
};

/// The element count of a static shape, or std::nullopt on overflow.
std::optional<int64_t> numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    std::optional<int64_t> m = llvm::checkedMul(n, d);
    if (!m)
      return std::nullopt;
    n = *m;
  }
  return n;
}

Shape stridesOf(ArrayRef<int64_t> shape) {
  Shape strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// `v` wrapped to the integer type `t` (bools become 0/1).
int64_t wrapInt(int64_t v, IntegerType t) {
  unsigned width = t.getWidth();
  if (width == 1)
    return v != 0;
  if (width >= 64)
    return v;
  APInt bits = APInt(64, uint64_t(v)).trunc(width);
  return t.isUnsigned() ? int64_t(bits.getZExtValue()) : bits.getSExtValue();
}

/// `v` rounded to the float type `t`.
double roundFloat(double v, FloatType t) {
  APFloat f(v);
  bool lost;
  f.convert(t.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
  f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return f.convertToDouble();
}

/// A literal of element type `elt` holding `ints` (for integer types) or
/// `floats` (for float types), normalized to the element type.
Literal makeLiteral(Shape shape, Type elt, SmallVector<int64_t> ints,
                    SmallVector<double> floats) {
  Literal l{std::move(shape), elt, std::move(ints), std::move(floats)};
  if (auto it = dyn_cast<IntegerType>(elt))
    for (int64_t &v : l.ints)
      v = wrapInt(v, it);
  if (auto ft = dyn_cast<FloatType>(elt))
    for (double &v : l.floats)
      v = roundFloat(v, ft);
  return l;
}

/// The same data with another shape (or element order).
Literal withShape(const Literal &in, Shape shape) {
  Literal out = in;
  out.shape = std::move(shape);
  return out;
}

/// Selects elements `indices` of `in` into a literal of shape `shape`.
Literal gatherFlat(const Literal &in, Shape shape, ArrayRef<int64_t> indices) {
  Literal out{std::move(shape), in.elt, {}, {}};
  for (int64_t i : indices) {
    if (in.isFloat())
      out.floats.push_back(in.floats[i]);
    else
      out.ints.push_back(in.ints[i]);
  }
  return out;
}

std::optional<Literal> readConstant(Value v, int64_t maxElements) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  auto dense = cst ? dyn_cast<DenseElementsAttr>(cst.getValue()) : nullptr;
  if (!dense || !dense.getType().hasStaticShape())
    return std::nullopt;
  Type elt = dense.getElementType();
  int64_t n = dense.getNumElements();
  Literal l{Shape(dense.getType().getShape()), elt, {}, {}};
  if (auto it = dyn_cast<IntegerType>(elt)) {
    if (n > maxElements)
      return std::nullopt;
    for (const APInt &i : dense.getValues<APInt>())
      l.ints.push_back(it.isUnsigned() || it.getWidth() == 1
                           ? int64_t(i.getZExtValue())
                           : i.getSExtValue());
    return l;
  }
  if (isa<FloatType>(elt)) {
    // Float data only as scalars: masks and tables are not shape arithmetic.
    if (n != 1)
      return std::nullopt;
    for (const APFloat &f : dense.getValues<APFloat>())
      l.floats.push_back(f.convertToDouble());
    return l;
  }
  return std::nullopt;
}

DenseElementsAttr toAttr(const Literal &l) {
  auto type = RankedTensorType::get(l.shape, l.elt);
  if (auto ft = dyn_cast<FloatType>(l.elt)) {
    SmallVector<APFloat> values;
    for (double d : l.floats) {
      APFloat f(d);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(f);
    }
    return DenseElementsAttr::get(type, values);
  }
  auto it = cast<IntegerType>(l.elt);
  if (it.getWidth() == 1) {
    SmallVector<bool> values;
    for (int64_t v : l.ints)
      values.push_back(v != 0);
    return DenseElementsAttr::get(type, values);
  }
  SmallVector<APInt> values;
  for (int64_t v : l.ints)
    values.push_back(APInt(it.getWidth(), uint64_t(v), !it.isUnsigned(),
                           /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, values);
}

using s10::onnx::shape::normAxis;

/// Broadcasting of static shapes.
std::optional<Shape> broadcastShapes(ArrayRef<Shape> shapes) {
  return s10::onnx::shape::broadcast(shapes);
}

/// For each element of `out` (row-major), the flat index of the element of
/// `in` it broadcasts from.
SmallVector<int64_t> broadcastIndices(ArrayRef<int64_t> in,
                                      ArrayRef<int64_t> out) {
  Shape inStrides = stridesOf(in);
  // Strides of `in` aligned to `out`, 0 where broadcast.
  Shape aligned(out.size(), 0);
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] != 1)
      aligned[out.size() - in.size() + i] = inStrides[i];
  int64_t n = *numElements(out);
  SmallVector<int64_t> indices;
  indices.reserve(n);
  Shape pos(out.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t flat = 0;
    for (size_t d = 0; d < out.size(); ++d)
      flat += pos[d] * aligned[d];
    indices.push_back(flat);
    for (int64_t d = int64_t(out.size()) - 1; d >= 0; --d) {
      if (++pos[d] < out[d])
        break;
      pos[d] = 0;
    }
  }
  return indices;
}

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

/// True if `t` is one of the space-separated words of `list`.
bool isOneOf(StringRef t, StringRef list) {
  SmallVector<StringRef> words;
  list.split(words, ' ', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  return llvm::is_contained(words, t);
}

class Evaluator {
public:
  Evaluator(NodeOp node, ArrayRef<std::optional<Literal>> inputs,
            Type resultElt, int64_t maxElements)
      : node(node), inputs(inputs), resultElt(resultElt),
        maxElements(maxElements) {}

  std::optional<Literal> run();

private:
  mutable NodeOp node;
  ArrayRef<std::optional<Literal>> inputs;
  Type resultElt;
  int64_t maxElements;

  const Literal *in(unsigned i) const {
    return i < inputs.size() && inputs[i] ? &*inputs[i] : nullptr;
  }

  /// The integer elements of input `i`.
  std::optional<SmallVector<int64_t>> intsOf(unsigned i) const {
    const Literal *l = in(i);
    if (!l || l->isFloat())
      return std::nullopt;
    return l->ints;
  }

  std::optional<SmallVector<int64_t>> intsAttr(StringRef key) const {
    if (auto arr = dyn_cast_or_null<DenseI64ArrayAttr>(node.getOnnxAttr(key)))
      return SmallVector<int64_t>(arr.asArrayRef());
    return std::nullopt;
  }

  /// Axes from input `i` or else the `axes` attribute.
  std::optional<SmallVector<int64_t>> axesOf(unsigned i) const {
    if (i < inputs.size() && inputs[i])
      return intsOf(i);
    return intsAttr("axes");
  }

  bool fits(ArrayRef<int64_t> shape) const {
    std::optional<int64_t> n = numElements(shape);
    return n && *n <= maxElements;
  }

  std::optional<Literal> elementwise(StringRef t);
  std::optional<Literal> cast();
  std::optional<Literal> reshape();
  std::optional<Literal> squeeze(bool unsqueeze);
  std::optional<Literal> concat();
  std::optional<Literal> gather();
  std::optional<Literal> gatherND();
  std::optional<Literal> slice();
  std::optional<Literal> range();
  std::optional<Literal> expand();
  std::optional<Literal> constantOfShape();
  std::optional<Literal> cumSum();
};

std::optional<Literal> Evaluator::run() {
  StringRef t = node.getOpType();
  if (t == "Identity")
    return in(0) ? std::optional<Literal>(*in(0)) : std::nullopt;
  if (t == "Cast")
    return cast();
  if (t == "Reshape")
    return reshape();
  if (t == "Squeeze" || t == "Unsqueeze")
    return squeeze(t == "Unsqueeze");
  if (t == "Concat")
    return concat();
  if (t == "Gather")
    return gather();
  if (t == "GatherND")
    return gatherND();
  if (t == "Slice")
    return slice();
  if (t == "Range")
    return range();
  if (t == "Expand")
    return expand();
  if (t == "ConstantOfShape")
    return constantOfShape();
  if (t == "CumSum")
    return cumSum();
  return elementwise(t);
}

std::optional<Literal> Evaluator::elementwise(StringRef t) {
  bool unary = isOneOf(t, "Neg Abs Not");
  bool binary = isOneOf(t, "Add Sub Mul Div Equal Less LessOrEqual Greater "
                           "GreaterOrEqual And Or Xor");
  bool variadic = t == "Max" || t == "Min";
  bool where = t == "Where";
  if (!unary && !binary && !variadic && !where)
    return std::nullopt;
  size_t n = inputs.size();
  if ((unary && n != 1) || (binary && n != 2) || (variadic && n < 1) ||
      (where && n != 3))
    return std::nullopt;
  SmallVector<Shape> shapes;
  for (unsigned i = 0; i < n; ++i) {
    if (!in(i))
      return std::nullopt;
    shapes.push_back(in(i)->shape);
  }
  std::optional<Shape> shape = broadcastShapes(shapes);
  if (!shape || !fits(*shape))
    return std::nullopt;
  // The operands that carry the data (Where's condition is separate).
  unsigned first = where ? 1 : 0;
  Type elt = in(first)->elt;
  for (unsigned i = first; i < n; ++i)
    if (in(i)->elt != elt)
      return std::nullopt;
  if (where && !in(0)->elt.isInteger(1))
    return std::nullopt;
  bool isFloat = isa<FloatType>(elt);
  bool logical = t == "And" || t == "Or" || t == "Xor" || t == "Not";
  if (logical && !elt.isInteger(1))
    return std::nullopt;
  bool compare =
      t == "Equal" || t.starts_with("Less") || t.starts_with("Greater");
  if (isFloat && logical)
    return std::nullopt;
  Type outElt = compare ? IntegerType::get(elt.getContext(), 1) : elt;

  SmallVector<SmallVector<int64_t>> idx;
  for (const Shape &s : shapes)
    idx.push_back(broadcastIndices(s, *shape));
  int64_t count = *numElements(*shape);
  SmallVector<int64_t> ints;
  SmallVector<double> floats;
  for (int64_t k = 0; k < count; ++k) {
    if (where) {
      bool c = in(0)->ints[idx[0][k]] != 0;
      unsigned src = c ? 1 : 2;
      if (isFloat)
        floats.push_back(in(src)->floats[idx[src][k]]);
      else
        ints.push_back(in(src)->ints[idx[src][k]]);
      continue;
    }
    if (isFloat) {
      SmallVector<double> xs;
      for (unsigned i = 0; i < n; ++i)
        xs.push_back(in(i)->floats[idx[i][k]]);
      double a = xs[0], b = n > 1 ? xs[1] : 0.0;
      if (t == "Neg")
        floats.push_back(-a);
      else if (t == "Abs")
        floats.push_back(std::fabs(a));
      else if (t == "Add")
        floats.push_back(a + b);
      else if (t == "Sub")
        floats.push_back(a - b);
      else if (t == "Mul")
        floats.push_back(a * b);
      else if (t == "Div")
        floats.push_back(a / b);
      else if (t == "Max" || t == "Min") {
        // ONNX propagates NaN.
        double r = a;
        for (double x : xs)
          r = std::isnan(r) || std::isnan(x) ? NAN
              : t == "Max"                   ? std::max(r, x)
                                             : std::min(r, x);
        floats.push_back(r);
      } else if (t == "Equal")
        ints.push_back(a == b);
      else if (t == "Less")
        ints.push_back(a < b);
      else if (t == "LessOrEqual")
        ints.push_back(a <= b);
      else if (t == "Greater")
        ints.push_back(a > b);
      else if (t == "GreaterOrEqual")
        ints.push_back(a >= b);
      else
        return std::nullopt;
      continue;
    }
    SmallVector<int64_t> xs;
    for (unsigned i = 0; i < n; ++i)
      xs.push_back(in(i)->ints[idx[i][k]]);
    int64_t a = xs[0], b = n > 1 ? xs[1] : 0;
    std::optional<int64_t> r;
    // Two's complement wrap-around, as the executor's integer kernels do.
    auto wrap = [](uint64_t v) { return int64_t(v); };
    if (t == "Neg")
      r = wrap(0 - uint64_t(a));
    else if (t == "Abs")
      r = a < 0 ? wrap(0 - uint64_t(a)) : a;
    else if (t == "Not")
      r = a == 0;
    else if (t == "Add")
      r = wrap(uint64_t(a) + uint64_t(b));
    else if (t == "Sub")
      r = wrap(uint64_t(a) - uint64_t(b));
    else if (t == "Mul")
      r = wrap(uint64_t(a) * uint64_t(b));
    else if (t == "Div") {
      if (b == 0 || (a == INT64_MIN && b == -1))
        return std::nullopt;
      r = a / b;
    } else if (t == "Max")
      r = *llvm::max_element(xs);
    else if (t == "Min")
      r = *llvm::min_element(xs);
    else if (t == "Equal")
      r = a == b;
    else if (t == "Less")
      r = a < b;
    else if (t == "LessOrEqual")
      r = a <= b;
    else if (t == "Greater")
      r = a > b;
    else if (t == "GreaterOrEqual")
      r = a >= b;
    else if (t == "And")
      r = a && b;
    else if (t == "Or")
      r = a || b;
    else if (t == "Xor")
      r = (a != 0) != (b != 0);
    if (!r)
      return std::nullopt;
    ints.push_back(*r);
  }
  return makeLiteral(*shape, outElt, std::move(ints), std::move(floats));
}

std::optional<Literal> Evaluator::cast() {
  const Literal *x = in(0);
  if (!x || inputs.size() != 1)
    return std::nullopt;
  SmallVector<int64_t> ints;
  SmallVector<double> floats;
  if (isa<FloatType>(resultElt)) {
    for (int64_t k = 0; k < x->size(); ++k)
      floats.push_back(x->isFloat() ? x->floats[k] : double(x->ints[k]));
  } else if (auto it = dyn_cast<IntegerType>(resultElt)) {
    for (int64_t k = 0; k < x->size(); ++k) {
      if (!x->isFloat()) {
        ints.push_back(x->ints[k]);
        continue;
      }
      double d = x->floats[k];
      if (it.getWidth() == 1) {
        ints.push_back(d != 0.0);
        continue;
      }
      // Out-of-range and NaN conversions are undefined: leave them.
      if (!std::isfinite(d) || d >= 0x1p63 || d < -0x1p63)
        return std::nullopt;
      ints.push_back(int64_t(d));
    }
  } else {
    return std::nullopt;
  }
  return makeLiteral(x->shape, resultElt, std::move(ints), std::move(floats));
}

std::optional<Literal> Evaluator::reshape() {
  const Literal *x = in(0);
  std::optional<SmallVector<int64_t>> target = intsOf(1);
  if (!x || !target)
    return std::nullopt;
  bool allowZero = node.getIntAttr("allowzero", 0) != 0;
  Shape shape;
  int64_t inferred = -1, known = 1;
  for (auto [i, e] : llvm::enumerate(*target)) {
    int64_t d = e;
    if (d == 0 && !allowZero) {
      if (i >= x->shape.size())
        return std::nullopt;
      d = x->shape[i];
    }
    if (d == -1) {
      if (inferred >= 0)
        return std::nullopt;
      inferred = i;
      shape.push_back(1);
      continue;
    }
    if (d < 0)
      return std::nullopt;
    shape.push_back(d);
    std::optional<int64_t> m = llvm::checkedMul(known, d);
    if (!m)
      return std::nullopt;
    known = *m;
  }
  if (inferred >= 0) {
    if (known == 0 || x->size() % known != 0)
      return std::nullopt;
    shape[inferred] = x->size() / known;
  }
  if (numElements(shape) != x->size())
    return std::nullopt;
  return withShape(*x, shape);
}

std::optional<Literal> Evaluator::squeeze(bool unsqueeze) {
  const Literal *x = in(0);
  if (!x)
    return std::nullopt;
  bool hasAxes = (inputs.size() > 1 && inputs[1]) || node.getOnnxAttr("axes");
  std::optional<SmallVector<int64_t>> axes = axesOf(1);
  if (hasAxes && !axes)
    return std::nullopt;
  int64_t rank = x->shape.size();
  Shape shape;
  if (unsqueeze) {
    if (!axes)
      return std::nullopt;
    int64_t outRank = rank + axes->size();
    SmallVector<bool> isNew(outRank, false);
    for (int64_t a : *axes) {
      std::optional<int64_t> n = normAxis(a, outRank);
      if (!n || isNew[*n])
        return std::nullopt;
      isNew[*n] = true;
    }
    auto it = x->shape.begin();
    for (int64_t d = 0; d < outRank; ++d)
      shape.push_back(isNew[d] ? 1 : *it++);
    return withShape(*x, shape);
  }
  SmallVector<bool> drop(rank, false);
  if (!hasAxes) {
    for (int64_t d = 0; d < rank; ++d)
      drop[d] = x->shape[d] == 1;
  } else {
    for (int64_t a : *axes) {
      std::optional<int64_t> n = normAxis(a, rank);
      if (!n || x->shape[*n] != 1)
        return std::nullopt;
      drop[*n] = true;
    }
  }
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      shape.push_back(x->shape[d]);
  return withShape(*x, shape);
}

std::optional<Literal> Evaluator::concat() {
  if (inputs.empty() || !in(0) || in(0)->shape.empty())
    return std::nullopt;
  int64_t rank = in(0)->shape.size();
  std::optional<int64_t> axis = normAxis(node.getIntAttr("axis", 0), rank);
  if (!axis)
    return std::nullopt;
  Shape shape = in(0)->shape;
  shape[*axis] = 0;
  for (unsigned i = 0; i < inputs.size(); ++i) {
    const Literal *l = in(i);
    if (!l || int64_t(l->shape.size()) != rank || l->elt != in(0)->elt)
      return std::nullopt;
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis && l->shape[d] != shape[d])
        return std::nullopt;
    shape[*axis] += l->shape[*axis];
  }
  if (!fits(shape))
    return std::nullopt;
  // Row-major: for each outer index, the inputs' blocks in turn.
  int64_t outer = *numElements(ArrayRef(shape).take_front(*axis));
  int64_t inner = *numElements(ArrayRef(shape).drop_front(*axis + 1));
  Literal out{shape, in(0)->elt, {}, {}};
  for (int64_t o = 0; o < outer; ++o)
    for (unsigned i = 0; i < inputs.size(); ++i) {
      const Literal *l = in(i);
      int64_t block = l->shape[*axis] * inner;
      for (int64_t k = 0; k < block; ++k) {
        if (l->isFloat())
          out.floats.push_back(l->floats[o * block + k]);
        else
          out.ints.push_back(l->ints[o * block + k]);
      }
    }
  return out;
}

std::optional<Literal> Evaluator::gather() {
  const Literal *data = in(0);
  const Literal *indices = in(1);
  if (!data || !indices || indices->isFloat() || data->shape.empty())
    return std::nullopt;
  int64_t rank = data->shape.size();
  std::optional<int64_t> axis = normAxis(node.getIntAttr("axis", 0), rank);
  if (!axis)
    return std::nullopt;
  int64_t dim = data->shape[*axis];
  Shape shape(data->shape.begin(), data->shape.begin() + *axis);
  shape.append(indices->shape);
  shape.append(data->shape.begin() + *axis + 1, data->shape.end());
  if (!fits(shape))
    return std::nullopt;
  int64_t outer = *numElements(ArrayRef(data->shape).take_front(*axis));
  int64_t inner = *numElements(ArrayRef(data->shape).drop_front(*axis + 1));
  SmallVector<int64_t> flat;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t idx : indices->ints) {
      if (idx < -dim || idx >= dim)
        return std::nullopt;
      if (idx < 0)
        idx += dim;
      for (int64_t k = 0; k < inner; ++k)
        flat.push_back((o * dim + idx) * inner + k);
    }
  return gatherFlat(*data, shape, flat);
}

std::optional<Literal> Evaluator::gatherND() {
  const Literal *data = in(0);
  const Literal *indices = in(1);
  if (!data || !indices || indices->isFloat() || indices->shape.empty() ||
      node.getIntAttr("batch_dims", 0) != 0)
    return std::nullopt;
  int64_t k = indices->shape.back();
  int64_t rank = data->shape.size();
  if (k < 1 || k > rank)
    return std::nullopt;
  Shape shape(indices->shape.begin(), indices->shape.end() - 1);
  shape.append(data->shape.begin() + k, data->shape.end());
  if (!fits(shape))
    return std::nullopt;
  Shape strides = stridesOf(data->shape);
  int64_t inner = *numElements(ArrayRef(data->shape).drop_front(k));
  SmallVector<int64_t> flat;
  for (int64_t t = 0, e = indices->size() / k; t < e; ++t) {
    int64_t base = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t idx = indices->ints[t * k + j], dim = data->shape[j];
      if (idx < -dim || idx >= dim)
        return std::nullopt;
      base += (idx < 0 ? idx + dim : idx) * strides[j];
    }
    for (int64_t i = 0; i < inner; ++i)
      flat.push_back(base + i);
  }
  return gatherFlat(*data, shape, flat);
}

std::optional<Literal> Evaluator::slice() {
  const Literal *data = in(0);
  std::optional<SmallVector<int64_t>> starts = intsOf(1), ends = intsOf(2);
  if (!data || !starts || !ends || starts->size() != ends->size())
    return std::nullopt;
  int64_t rank = data->shape.size();
  size_t n = starts->size();
  SmallVector<int64_t> axes, steps(n, 1);
  if (inputs.size() > 3 && inputs[3]) {
    std::optional<SmallVector<int64_t>> a = intsOf(3);
    if (!a)
      return std::nullopt;
    axes = *a;
  } else {
    for (size_t i = 0; i < n; ++i)
      axes.push_back(i);
  }
  if (inputs.size() > 4 && inputs[4]) {
    std::optional<SmallVector<int64_t>> st = intsOf(4);
    if (!st)
      return std::nullopt;
    steps = *st;
  }
  if (axes.size() != n || steps.size() != n)
    return std::nullopt;
  // Per dimension: start and step of the selection.
  Shape shape = data->shape, first(rank, 0), step(rank, 1);
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < n; ++i) {
    std::optional<int64_t> a = normAxis(axes[i], rank);
    if (!a || seen[*a] || steps[i] == 0)
      return std::nullopt;
    seen[*a] = true;
    s10::onnx::SliceRange range = s10::onnx::sliceRange(
        data->shape[*a], (*starts)[i], (*ends)[i], steps[i]);
    shape[*a] = range.length;
    first[*a] = range.first;
    step[*a] = steps[i];
  }
  if (!fits(shape))
    return std::nullopt;
  Shape strides = stridesOf(data->shape);
  int64_t count = *numElements(shape);
  SmallVector<int64_t> flat;
  Shape pos(rank, 0);
  for (int64_t k = 0; k < count; ++k) {
    int64_t f = 0;
    for (int64_t d = 0; d < rank; ++d)
      f += (first[d] + pos[d] * step[d]) * strides[d];
    flat.push_back(f);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++pos[d] < shape[d])
        break;
      pos[d] = 0;
    }
  }
  return gatherFlat(*data, shape, flat);
}

std::optional<Literal> Evaluator::range() {
  const Literal *start = in(0), *limit = in(1), *delta = in(2);
  if (!start || !limit || !delta || start->size() != 1 || limit->size() != 1 ||
      delta->size() != 1 || start->elt != limit->elt ||
      start->elt != delta->elt)
    return std::nullopt;
  if (!start->isFloat()) {
    int64_t s = start->ints[0], l = limit->ints[0], d = delta->ints[0];
    std::optional<int64_t> span = llvm::checkedSub(l, s);
    if (d == 0 || !span)
      return std::nullopt;
    int64_t n = *span / d + ((*span % d != 0) && ((*span > 0) == (d > 0)));
    n = std::max<int64_t>(n, 0);
    if (n > maxElements)
      return std::nullopt;
    SmallVector<int64_t> ints;
    for (int64_t i = 0; i < n; ++i)
      ints.push_back(s + i * d);
    return makeLiteral({n}, start->elt, std::move(ints), {});
  }
  double s = start->floats[0], l = limit->floats[0], d = delta->floats[0];
  double count = std::ceil((l - s) / d);
  if (d == 0 || !std::isfinite(count))
    return std::nullopt;
  int64_t n = count > 0 ? int64_t(std::min(count, double(maxElements) + 1)) : 0;
  if (n > maxElements)
    return std::nullopt;
  SmallVector<double> floats;
  for (int64_t i = 0; i < n; ++i)
    floats.push_back(s + double(i) * d);
  return makeLiteral({n}, start->elt, {}, std::move(floats));
}

std::optional<Literal> Evaluator::expand() {
  const Literal *x = in(0);
  std::optional<SmallVector<int64_t>> target = intsOf(1);
  if (!x || !target || llvm::any_of(*target, [](int64_t d) { return d < 0; }))
    return std::nullopt;
  std::optional<Shape> shape = broadcastShapes({x->shape, Shape(*target)});
  if (!shape || !fits(*shape))
    return std::nullopt;
  return gatherFlat(*x, *shape, broadcastIndices(x->shape, *shape));
}

std::optional<Literal> Evaluator::constantOfShape() {
  std::optional<SmallVector<int64_t>> target = intsOf(0);
  if (!target || llvm::any_of(*target, [](int64_t d) { return d < 0; }) ||
      !fits(*target))
    return std::nullopt;
  int64_t n = *numElements(*target);
  Attribute valueAttr = node.getOnnxAttr("value");
  if (!valueAttr) {
    // The default is a float32 zero.
    Type f32 = Float32Type::get(node.getContext());
    return makeLiteral(Shape(*target), f32, {}, SmallVector<double>(n, 0.0));
  }
  auto value = dyn_cast<DenseElementsAttr>(valueAttr);
  if (!value || value.getNumElements() != 1)
    return std::nullopt;
  Type elt = value.getElementType();
  if (auto it = dyn_cast<IntegerType>(elt)) {
    APInt v = *value.getValues<APInt>().begin();
    int64_t i = it.isUnsigned() || it.getWidth() == 1
                    ? int64_t(v.getZExtValue())
                    : v.getSExtValue();
    return makeLiteral(Shape(*target), elt, SmallVector<int64_t>(n, i), {});
  }
  if (isa<FloatType>(elt)) {
    double d = (*value.getValues<APFloat>().begin()).convertToDouble();
    return makeLiteral(Shape(*target), elt, {}, SmallVector<double>(n, d));
  }
  return std::nullopt;
}

std::optional<Literal> Evaluator::cumSum() {
  const Literal *x = in(0);
  std::optional<SmallVector<int64_t>> axisVals = intsOf(1);
  if (!x || !axisVals || axisVals->size() != 1 || x->shape.empty())
    return std::nullopt;
  int64_t rank = x->shape.size();
  std::optional<int64_t> axis = normAxis((*axisVals)[0], rank);
  if (!axis)
    return std::nullopt;
  bool exclusive = node.getIntAttr("exclusive", 0) != 0;
  bool reverse = node.getIntAttr("reverse", 0) != 0;
  int64_t dim = x->shape[*axis];
  int64_t outer = *numElements(ArrayRef(x->shape).take_front(*axis));
  int64_t inner = *numElements(ArrayRef(x->shape).drop_front(*axis + 1));
  Literal out = *x;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      int64_t accI = 0;
      double accF = 0;
      for (int64_t j = 0; j < dim; ++j) {
        int64_t jj = reverse ? dim - 1 - j : j;
        int64_t f = (o * dim + jj) * inner + k;
        if (x->isFloat()) {
          double v = x->floats[f];
          out.floats[f] = exclusive ? accF : accF + v;
          accF += v;
        } else {
          int64_t v = x->ints[f];
          out.ints[f] = exclusive ? accI : int64_t(uint64_t(accI) + v);
          accI = int64_t(uint64_t(accI) + uint64_t(v));
        }
      }
    }
  return makeLiteral(out.shape, out.elt, std::move(out.ints),
                     std::move(out.floats));
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

/// Stands for a dynamic dimension in the result of a Shape node.
constexpr int64_t kUnknownDim = ShapedType::kDynamic;

/// The result of a Shape node as a literal, with `kUnknownDim` for dynamic
/// dimensions.
std::optional<Literal> readPartialShape(Value v) {
  auto shape = v.getDefiningOp<NodeOp>();
  if (!shape || shape.getOpType() != "Shape" || shape.getNumOperands() != 1 ||
      (shape.getDomain() && !shape.getDomain()->empty() &&
       *shape.getDomain() != "ai.onnx"))
    return std::nullopt;
  auto inType = dyn_cast<RankedTensorType>(shape.getInputs()[0].getType());
  auto outType = dyn_cast<RankedTensorType>(v.getType());
  if (!inType || !outType || !outType.getElementType().isInteger(64))
    return std::nullopt;
  int64_t rank = inType.getRank();
  auto clampDim = [&](int64_t d) {
    if (d < 0)
      d += rank;
    return std::clamp<int64_t>(d, 0, rank);
  };
  int64_t start = clampDim(shape.getIntAttr("start", 0));
  int64_t end = clampDim(shape.getIntAttr("end", rank));
  SmallVector<int64_t> dims;
  for (int64_t d = start; d < end; ++d)
    dims.push_back(inType.getDimSize(d));
  Shape litShape{int64_t(dims.size())};
  return Literal{litShape, outType.getElementType(), std::move(dims), {}};
}

bool isFoldable(StringRef t) {
  return isOneOf(t, "Shape Size Squeeze Unsqueeze Concat Gather GatherND Slice "
                    "Cast Add Sub Mul Div Neg Abs Equal Not And Or Xor Where "
                    "Range Reshape Expand ConstantOfShape Identity Max Min "
                    "CumSum Less LessOrEqual Greater GreaterOrEqual");
}

struct ONNXFoldShapesPass
    : s10::onnx::impl::ONNXFoldShapesBase<ONNXFoldShapesPass> {
  using Base::Base;

  void runOnOperation() override;

  /// The constant `node` evaluates to, or std::nullopt.
  std::optional<Literal> fold(NodeOp node);
  /// Replaces `node` by `value`; false if its users could not take the type.
  bool replace(NodeOp node, const Literal &value, bool &returnChanged);
};

std::optional<Literal> ONNXFoldShapesPass::fold(NodeOp node) {
  if (node.getNumResults() != 1)
    return std::nullopt;
  std::optional<StringRef> domain = node.getDomain();
  if (domain && !domain->empty() && *domain != "ai.onnx")
    return std::nullopt;
  StringRef t = node.getOpType();
  if (!isFoldable(t))
    return std::nullopt;
  auto resultType = dyn_cast<TensorType>(node.getResult(0).getType());
  if (!resultType)
    return std::nullopt;
  Type elt = resultType.getElementType();
  if (!isa<IntegerType, FloatType>(elt))
    return std::nullopt;
  // Shape and Size only need a static type.
  if (t == "Shape") {
    std::optional<Literal> dims = readPartialShape(node.getResult(0));
    if (!dims || llvm::is_contained(dims->ints, kUnknownDim))
      return std::nullopt;
    return dims;
  }
  if (t == "Size") {
    auto inType =
        node.getNumOperands() == 1
            ? dyn_cast<RankedTensorType>(node.getInputs()[0].getType())
            : nullptr;
    if (!inType || !inType.hasStaticShape() || !isa<IntegerType>(elt))
      return std::nullopt;
    SmallVector<int64_t> count{inType.getNumElements()};
    return makeLiteral({}, elt, std::move(count), {});
  }

  // Gather and Slice only move elements: they may read the static entries
  // of a partly dynamic Shape.
  bool selects = t == "Gather" || t == "Slice";
  bool partial = false;
  SmallVector<std::optional<Literal>> inputs;
  for (auto [i, in] : llvm::enumerate(node.getInputs())) {
    if (isa<NoneType>(in.getType())) {
      inputs.push_back(std::nullopt);
      continue;
    }
    std::optional<Literal> l = readConstant(in, maxElements);
    if (!l && selects && i == 0)
      if ((l = readPartialShape(in)))
        partial = true;
    if (!l)
      return std::nullopt;
    inputs.push_back(std::move(l));
  }
  if (inputs.empty() && t != "ConstantOfShape")
    return std::nullopt;
  std::optional<Literal> result =
      Evaluator(node, inputs, elt, maxElements).run();
  if (result && partial && llvm::is_contained(result->ints, kUnknownDim))
    return std::nullopt;
  // A boolean matrix is a mask, not shape arithmetic: raising recognizes a
  // causal mask by the comparison that builds it.
  if (result && !foldMasks && result->elt.isInteger(1) &&
      result->shape.size() >= 2)
    return std::nullopt;
  return result;
}

bool ONNXFoldShapesPass::replace(NodeOp node, const Literal &value,
                                 bool &returnChanged) {
  Value result = node.getResult(0);
  auto resultType = cast<TensorType>(result.getType());
  if (value.elt != resultType.getElementType() || value.size() > maxElements)
    return false;
  auto type = RankedTensorType::get(value.shape, value.elt);
  if (resultType.hasRank()) {
    auto ranked = cast<RankedTensorType>(resultType);
    bool compatible = ranked.getRank() == type.getRank();
    for (int64_t d = 0; compatible && d < type.getRank(); ++d)
      compatible =
          ranked.isDynamicDim(d) || ranked.getDimSize(d) == type.getDimSize(d);
    if (!compatible) {
      node.emitWarning() << "'" << node.getOpType() << "' node '"
                         << node.getDisplayName() << "' evaluates to a " << type
                         << " but is declared " << ranked << "; not folded";
      return false;
    }
  }
  if (type != resultType) {
    // A more static type: fine for nodes (any type), shape-refinable ops
    // (they accept more static operands) and the return (the signature
    // follows).
    for (Operation *user : result.getUsers()) {
      if (isa<func::ReturnOp>(user))
        returnChanged = true;
      else if (!isa<NodeOp, ShapeRefinableOpInterface>(user))
        return false;
    }
  }
  OpBuilder builder(node);
  auto cst =
      arith::ConstantOp::create(builder, node.getLoc(), type, toAttr(value));
  result.replaceAllUsesWith(cst.getResult());
  return true;
}

void ONNXFoldShapesPass::runOnOperation() {
  func::FuncOp func = getOperation();
  if (maxElements < 0) {
    emitError(func.getLoc())
        << "'max-elements' must be non-negative, got " << maxElements;
    return signalPassFailure();
  }
  std::deque<NodeOp> worklist;
  llvm::DenseSet<Operation *> queued;
  func.walk([&](NodeOp node) {
    worklist.push_back(node);
    queued.insert(node);
  });
  bool returnChanged = false;
  while (!worklist.empty()) {
    NodeOp node = worklist.front();
    worklist.pop_front();
    queued.erase(node);
    std::optional<Literal> value = fold(node);
    if (!value)
      continue;
    SmallVector<Operation *> users(node.getResult(0).getUsers());
    if (!replace(node, *value, returnChanged))
      continue;
    ++numFolded;
    for (Operation *user : users)
      if (auto n = dyn_cast<NodeOp>(user); n && queued.insert(n).second)
        worklist.push_back(n);
    node.erase();
  }

  // Dead pure operations, users before their operands.
  for (Block &block : func.getBody())
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
      if (isOpTriviallyDead(&op)) {
        op.erase();
        ++numErased;
      }

  if (returnChanged && !func.isExternal())
    if (auto ret =
            dyn_cast<func::ReturnOp>(func.getBody().back().getTerminator()))
      func.setType(FunctionType::get(&getContext(), func.getArgumentTypes(),
                                     ret.getOperandTypes()));
}

} // namespace
