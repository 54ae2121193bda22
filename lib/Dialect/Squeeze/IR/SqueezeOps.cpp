//===- SqueezeOps.cpp - Squeeze operation verifiers -----------------------===//

#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace s10::squeeze;

/// Dimensions are compatible when equal or when either is dynamic.
static bool compatibleDim(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

/// Checks that `result` is `input` with its last dimension replaced by
/// `lastDim`.
static LogicalResult verifyFeatureMap(Operation *op, RankedTensorType input,
                                      RankedTensorType result,
                                      int64_t lastDim) {
  if (input.getRank() != result.getRank())
    return op->emitOpError("result rank ")
           << result.getRank() << " differs from input rank "
           << input.getRank();
  for (int64_t i = 0, e = input.getRank() - 1; i < e; ++i)
    if (!compatibleDim(input.getDimSize(i), result.getDimSize(i)))
      return op->emitOpError("result dimension ")
             << i << " is " << dimStr(result.getDimSize(i))
             << " but the input's is " << dimStr(input.getDimSize(i));
  if (!compatibleDim(result.getShape().back(), lastDim))
    return op->emitOpError("result feature dimension is ")
           << dimStr(result.getShape().back()) << ", expected "
           << dimStr(lastDim);
  return success();
}

static LogicalResult verifyLinearLike(Operation *op, RankedTensorType input,
                                      Value bias, RankedTensorType result,
                                      int64_t in, int64_t out) {
  if (input.getRank() < 1)
    return op->emitOpError("input must have at least one dimension");
  if (!compatibleDim(input.getShape().back(), in))
    return op->emitOpError("input feature dimension ")
           << dimStr(input.getShape().back())
           << " does not match the weight's input dimension " << dimStr(in);
  if (bias) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || !compatibleDim(biasType.getDimSize(0), out))
      return op->emitOpError("bias must be 1-D of size ") << dimStr(out);
  }
  return verifyFeatureMap(op, input, result, out);
}

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  auto type = cast<RankedTensorType>(getResult().getType());
  Type elt = type.getElementType();
  if (!elt.isIntOrFloat())
    return emitOpError("element type must be an integer or float, got ") << elt;
  uint64_t eltBytes = (elt.getIntOrFloatBitWidth() + 7) / 8;
  uint64_t expected = uint64_t(type.getNumElements()) * eltBytes;
  uint64_t length = getStorage().getLength();
  if (length != expected)
    return emitOpError("storage holds ")
           << length << " bytes but " << type << " needs " << expected;
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizedWeightOp
//===----------------------------------------------------------------------===//

static LogicalResult checkElements(Operation *op, StringRef what,
                                   ElementsAttr attr, ArrayRef<int64_t> shape,
                                   function_ref<bool(Type)> eltOk,
                                   StringRef eltWhat) {
  auto type = cast<ShapedType>(attr.getType());
  if (type.getShape() != shape) {
    std::string expected;
    llvm::raw_string_ostream os(expected);
    llvm::interleave(shape, os, "x");
    return op->emitOpError()
           << what << " must have shape " << expected << ", got " << type;
  }
  if (!eltOk(type.getElementType()))
    return op->emitOpError() << what << " must have " << eltWhat
                             << " elements, got " << type.getElementType();
  return success();
}

LogicalResult QuantizedWeightOp::verify() {
  QWeightType type = getResult().getType();
  QuantSchemeAttr scheme = type.getScheme();
  if (scheme.getLayout() != StorageLayout::unpacked)
    return emitOpError("only the unpacked layout is materialized by this op, "
                       "got ")
           << stringifyStorageLayout(scheme.getLayout());
  int64_t out = type.getOutFeatures(), in = type.getInFeatures();
  int64_t groups = type.getNumGroups();
  unsigned codeBits = std::max(scheme.getBits(), scheme.getSalientBits());
  auto isCode = [&](Type t) {
    return t.isSignlessInteger() && t.getIntOrFloatBitWidth() >= codeBits &&
           t.getIntOrFloatBitWidth() <= 16;
  };
  auto isFloat = [](Type t) { return isa<FloatType>(t); };
  auto isMask = [](Type t) { return t.isSignlessInteger(1); };
  if (failed(checkElements(*this, "codes", getCodes(), {out, in}, isCode,
                           "integer (wide enough for the scheme's bits)")) ||
      failed(checkElements(*this, "scales", getScales(), {out, groups}, isFloat,
                           "float")) ||
      failed(checkElements(*this, "offsets", getOffsets(), {out, groups},
                           isFloat, "float")))
    return failure();

  bool hasSalient = scheme.getSalientBits() != 0;
  bool any = getSalientMask() || getSalientScales() || getSalientOffsets();
  bool all = getSalientMask() && getSalientScales() && getSalientOffsets();
  if (!hasSalient) {
    if (any)
      return emitOpError("salient attributes given but the scheme has no "
                         "salient weights");
    return success();
  }
  if (!all)
    return emitOpError("scheme has salient weights: salient_mask, "
                       "salient_scales and salient_offsets are required");
  if (failed(checkElements(*this, "salient_mask", *getSalientMask(), {out, in},
                           isMask, "i1")) ||
      failed(checkElements(*this, "salient_scales", *getSalientScales(),
                           {out, groups}, isFloat, "float")) ||
      failed(checkElements(*this, "salient_offsets", *getSalientOffsets(),
                           {out, groups}, isFloat, "float")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// PackedWeightOp
//===----------------------------------------------------------------------===//

ArrayRef<char> PackedWeightOp::getBytes() {
  auto res = dyn_cast<DenseResourceElementsAttr>(getData());
  if (!res)
    return {};
  AsmResourceBlob *blob = res.getRawHandle().getBlob();
  if (!blob)
    return {};
  return blob->getData();
}

/// Checks that a packing can hold a weight of the given scheme.
static LogicalResult verifyPackingMatchesScheme(Operation *op,
                                                PackingAttr packing,
                                                QuantSchemeAttr scheme) {
  auto mismatch = [&](StringRef what) {
    return op->emitOpError("packing ")
           << packing << " does not match the type's scheme: " << what;
  };
  if (scheme.getLayout() != StorageLayout::packed)
    return op->emitOpError("result type must have layout = packed, got ")
           << stringifyStorageLayout(scheme.getLayout());
  if (packing.getGroupSize() != scheme.getGroupSize())
    return mismatch("group size");
  if (packing.getBits() != scheme.getBits())
    return mismatch("bits");
  if (packing.getSalientBits() != scheme.getSalientBits())
    return mismatch("salient bits");
  MaskGranularity mask = scheme.getMask();
  switch (packing.getKind()) {
  case PackingKind::kbit:
    if (mask != MaskGranularity::none)
      return mismatch("kbit holds no salient weights");
    break;
  case PackingKind::ternary:
    if (mask != MaskGranularity::none || scheme.getLevels() != 3)
      return mismatch("ternary holds codes of levels = 3 and no salient "
                      "weights");
    break;
  case PackingKind::bitmap:
    if (mask == MaskGranularity::none)
      return mismatch("bitmap needs salient weights");
    break;
  case PackingKind::chanblock:
    if (mask != MaskGranularity::channel)
      return mismatch("chanblock needs mask = channel");
    break;
  case PackingKind::nm:
    if (mask != MaskGranularity::nm)
      return mismatch("nm needs mask = nm");
    break;
  }
  return success();
}

LogicalResult PackedWeightOp::verify() {
  QWeightType type = getResult().getType();
  PackingAttr packing = getPacking();
  if (failed(verifyPackingMatchesScheme(*this, packing, type.getScheme())))
    return failure();
  namespace layout = s10::quant::layout;
  layout::Geometry geometry;
  layout::Status st = layout::describe(packing.getSpec(), type.getOutFeatures(),
                                       type.getInFeatures(), geometry);
  if (st.failed())
    return emitOpError("invalid packing for ")
           << type.getOutFeatures() << "x" << type.getInFeatures() << ": "
           << st.message();
  auto res = dyn_cast<DenseResourceElementsAttr>(getData());
  if (!res)
    return emitOpError("data must be a dense_resource blob, not ") << getData();
  auto dataType = cast<ShapedType>(res.getType());
  if (dataType.getRank() != 1 || !dataType.getElementType().isInteger(8))
    return emitOpError("data must be a 1-D i8 blob, got ") << dataType;
  if (uint64_t(dataType.getDimSize(0)) != geometry.totalBytes)
    return emitOpError("data has ")
           << dataType.getDimSize(0) << " bytes but the "
           << stringifyPackingKind(packing.getKind()) << " layout of "
           << type.getOutFeatures() << "x" << type.getInFeatures() << " needs "
           << geometry.totalBytes;
  AsmResourceBlob *blob = res.getRawHandle().getBlob();
  if (!blob)
    return emitOpError("data blob '")
           << res.getRawHandle().getKey() << "' has no bytes";
  if (blob->getData().size() != geometry.totalBytes)
    return emitOpError("data blob '")
           << res.getRawHandle().getKey() << "' holds "
           << blob->getData().size() << " bytes, expected "
           << geometry.totalBytes;
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp / QuantizedLinearOp
//===----------------------------------------------------------------------===//

int64_t LinearOp::getInFeatures() {
  auto w = cast<RankedTensorType>(getWeight().getType());
  return getWeightLayout() == WeightLayout::out_in ? w.getDimSize(1)
                                                   : w.getDimSize(0);
}

int64_t LinearOp::getOutFeatures() {
  auto w = cast<RankedTensorType>(getWeight().getType());
  return getWeightLayout() == WeightLayout::out_in ? w.getDimSize(0)
                                                   : w.getDimSize(1);
}

LogicalResult LinearOp::verify() {
  return verifyLinearLike(*this, getInput().getType(), getBias(),
                          getResult().getType(), getInFeatures(),
                          getOutFeatures());
}

LogicalResult QuantizedLinearOp::verify() {
  QWeightType w = getWeight().getType();
  return verifyLinearLike(*this, getInput().getType(), getBias(),
                          getResult().getType(), w.getInFeatures(),
                          w.getOutFeatures());
}

//===----------------------------------------------------------------------===//
// Model-level ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  auto ids = getIds().getType();
  auto table = getTable().getType();
  auto result = getResult().getType();
  if (result.getRank() != ids.getRank() + 1)
    return emitOpError("result rank must be the ids rank plus one, got ")
           << result.getRank();
  for (int64_t i = 0; i < ids.getRank(); ++i)
    if (!compatibleDim(ids.getDimSize(i), result.getDimSize(i)))
      return emitOpError("result dimension ")
             << i << " does not match the ids' dimension";
  if (!compatibleDim(result.getShape().back(), table.getDimSize(1)))
    return emitOpError("result hidden size ")
           << dimStr(result.getShape().back()) << " does not match the table's "
           << dimStr(table.getDimSize(1));
  return success();
}

LogicalResult RMSNormOp::verify() {
  auto input = getInput().getType();
  auto weight = getWeight().getType();
  if (!compatibleDim(input.getShape().back(), weight.getDimSize(0)))
    return emitOpError("weight size ")
           << dimStr(weight.getDimSize(0))
           << " does not match the normalized dimension "
           << dimStr(input.getShape().back());
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError("epsilon must be positive");
  return verifyFeatureMap(*this, input, getResult().getType(),
                          input.getShape().back());
}

/// Checks a [batch, seq, heads * head_dim] or [seq, heads * head_dim]
/// operand.
static LogicalResult verifyHeads(Operation *op, StringRef what,
                                 RankedTensorType type, int64_t heads,
                                 int64_t headDim) {
  if (type.getRank() != 3 && type.getRank() != 2)
    return op->emitOpError()
           << what << " must be [batch, seq, heads * head_dim] or [seq, heads "
           << "* head_dim]";
  if (!compatibleDim(type.getShape().back(), heads * headDim))
    return op->emitOpError()
           << what << " feature dimension " << dimStr(type.getShape().back())
           << " is not " << heads << " heads x " << headDim;
  return success();
}

LogicalResult RotaryOp::verify() {
  int64_t heads = getNumHeads(), headDim = getHeadDim();
  if (heads <= 0 || headDim <= 0 || headDim % 2 != 0)
    return emitOpError("needs num_heads > 0 and an even head_dim > 0");
  if (!(getTheta().convertToDouble() > 0.0))
    return emitOpError("theta must be positive");
  if (failed(verifyHeads(*this, "input", getInput().getType(), heads, headDim)))
    return failure();
  return verifyFeatureMap(*this, getInput().getType(), getResult().getType(),
                          heads * headDim);
}

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  int64_t headDim = getHeadDim();
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0)
    return emitOpError("head counts and head_dim must be positive");
  if (heads % kvHeads != 0)
    return emitOpError("num_heads (")
           << heads << ") must be a multiple of num_kv_heads (" << kvHeads
           << ")";
  if (!(getScale().convertToDouble() > 0.0))
    return emitOpError("scale must be positive");
  auto q = getQuery().getType(), k = getKey().getType(),
       v = getValue().getType();
  if (failed(verifyHeads(*this, "query", q, heads, headDim)) ||
      failed(verifyHeads(*this, "key", k, kvHeads, headDim)) ||
      failed(verifyHeads(*this, "value", v, kvHeads, headDim)))
    return failure();
  if (k.getRank() != q.getRank() || v.getRank() != q.getRank())
    return emitOpError("query, key and value must have the same rank");
  if (!compatibleDim(k.getDimSize(k.getRank() - 2),
                     v.getDimSize(v.getRank() - 2)))
    return emitOpError("key and value sequence lengths differ");
  return verifyFeatureMap(*this, q, getResult().getType(), heads * headDim);
}

LogicalResult SwiGLUOp::verify() {
  auto gate = getGate().getType(), up = getUp().getType();
  if (gate.getRank() != up.getRank())
    return emitOpError("gate and up must have the same rank");
  for (int64_t i = 0; i < gate.getRank(); ++i)
    if (!compatibleDim(gate.getDimSize(i), up.getDimSize(i)))
      return emitOpError("gate and up shapes differ at dimension ") << i;
  return verifyFeatureMap(*this, gate, getResult().getType(),
                          gate.getShape().back());
}

//===----------------------------------------------------------------------===//
// Result shapes from operand types (ShapeRefinableOpInterface)
//===----------------------------------------------------------------------===//

using ShapeVec = SmallVector<int64_t>;

static std::optional<ShapeVec> shapeOfValue(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type)
    return std::nullopt;
  return ShapeVec(type.getShape());
}

/// `in`'s shape with the last dimension replaced.
static std::optional<ShapeVec> withLast(Value in, int64_t last) {
  std::optional<ShapeVec> s = shapeOfValue(in);
  if (!s || s->empty())
    return std::nullopt;
  s->back() = last;
  return s;
}

std::optional<ShapeVec> LinearOp::inferResultShape() {
  return withLast(getInput(), getOutFeatures());
}

std::optional<ShapeVec> QuantizedLinearOp::inferResultShape() {
  return withLast(getInput(), getWeight().getType().getOutFeatures());
}

std::optional<ShapeVec> EmbeddingOp::inferResultShape() {
  std::optional<ShapeVec> ids = shapeOfValue(getIds());
  if (!ids)
    return std::nullopt;
  ids->push_back(getTable().getType().getDimSize(1));
  return ids;
}

std::optional<ShapeVec> RMSNormOp::inferResultShape() {
  return shapeOfValue(getInput());
}

std::optional<ShapeVec> RotaryOp::inferResultShape() {
  return shapeOfValue(getInput());
}

std::optional<ShapeVec> AttentionOp::inferResultShape() {
  return withLast(getQuery(), getNumHeads() * getHeadDim());
}

std::optional<ShapeVec> SwiGLUOp::inferResultShape() {
  std::optional<ShapeVec> g = shapeOfValue(getGate());
  std::optional<ShapeVec> u = shapeOfValue(getUp());
  if (!g || !u || g->size() != u->size())
    return std::nullopt;
  // The verifier keeps the two compatible: take what either knows.
  for (size_t i = 0; i < g->size(); ++i)
    if (ShapedType::isDynamic((*g)[i]))
      (*g)[i] = (*u)[i];
  return g;
}

#define GET_OP_CLASSES
#include "s10/Dialect/Squeeze/IR/SqueezeOps.cpp.inc"
