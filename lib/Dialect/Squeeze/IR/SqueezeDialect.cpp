//===- SqueezeDialect.cpp - Squeeze dialect, attributes, types ------------===//

#include "s10/Dialect/Squeeze/IR/SqueezeDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace s10::squeeze;

#include "s10/Dialect/Squeeze/IR/SqueezeOpsDialect.cpp.inc"

#include "s10/Dialect/Squeeze/IR/SqueezeEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "s10/Dialect/Squeeze/IR/SqueezeAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "s10/Dialect/Squeeze/IR/SqueezeOpsTypes.cpp.inc"

void SqueezeDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "s10/Dialect/Squeeze/IR/SqueezeAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "s10/Dialect/Squeeze/IR/SqueezeOpsTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "s10/Dialect/Squeeze/IR/SqueezeOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

LogicalResult RoleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t block, LinearKind kind) {
  if (block < -1)
    return emitError() << "block index must be >= -1, got " << block;
  bool inBlock = kind != LinearKind::lm_head && kind != LinearKind::other;
  if (inBlock && block < 0)
    return emitError() << "a '" << stringifyLinearKind(kind)
                       << "' projection needs a block index >= 0";
  return success();
}

LogicalResult
ExternalStorageAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                            StringRef path, uint64_t offset, uint64_t length) {
  if (path.empty())
    return emitError() << "external storage needs a file path";
  if (offset + length < offset)
    return emitError() << "external storage range overflows";
  return success();
}

LogicalResult
QuantSchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned bits, int64_t groupSize, unsigned salientBits,
                        llvm::APFloat salientFractionAP, MaskGranularity mask,
                        StorageLayout layout, unsigned levels) {
  double salientFraction = salientFractionAP.convertToDouble();
  if (bits < 1 || bits > 8)
    return emitError() << "bits must be in [1, 8], got " << bits;
  // Only the ternary grid has a layout (five codes per byte).
  if (levels != 0 && (levels != 3 || bits != 2 || salientBits != 0))
    return emitError() << "levels must be 0, or 3 with bits = 2 and no "
                          "salient weights, got levels = "
                       << levels << " with bits = " << bits;
  if (groupSize <= 0)
    return emitError() << "group_size must be positive, got " << groupSize;
  if (!(salientFraction >= 0.0 && salientFraction < 1.0))
    return emitError() << "salient_fraction must be in [0, 1), got "
                       << salientFraction;
  bool hasSalient = salientBits != 0;
  if (!hasSalient) {
    if (salientFraction != 0.0 || mask != MaskGranularity::none)
      return emitError() << "a scheme with salient_bits = 0 must have "
                            "salient_fraction = 0 and mask = none";
    return success();
  }
  if (salientBits <= bits || salientBits > 16)
    return emitError() << "salient_bits must be in (bits, 16], got "
                       << salientBits << " with bits = " << bits;
  if (mask == MaskGranularity::none)
    return emitError() << "salient weights need a mask granularity";
  return success();
}

namespace layout = s10::quant::layout;

layout::Spec PackingAttr::getSpec() const {
  layout::Spec s;
  s.kind = layout::Kind(static_cast<uint8_t>(getKind()));
  s.bits = getBits();
  s.groupSize = getGroupSize();
  s.salientBits = getSalientBits();
  s.params = layout::ParamFormat(static_cast<uint8_t>(getParams()));
  s.block = getBlock();
  s.nmSalient = getNmSalient();
  s.salientCount = getSalient();
  return s;
}

PackingAttr PackingAttr::get(MLIRContext *ctx, const layout::Spec &s) {
  return get(ctx, PackingKind(static_cast<uint32_t>(s.kind)), s.bits,
             s.groupSize, s.salientBits,
             ParamFormat(static_cast<uint32_t>(s.params)), s.block, s.nmSalient,
             s.salientCount);
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

LogicalResult QWeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t outFeatures, int64_t inFeatures,
                                  QuantSchemeAttr scheme) {
  if (outFeatures <= 0 || inFeatures <= 0)
    return emitError() << "quantized weight dimensions must be positive, got "
                       << outFeatures << "x" << inFeatures;
  if (!scheme)
    return emitError() << "quantized weight needs a scheme";
  return success();
}

Type QWeightType::parse(AsmParser &parser) {
  SmallVector<int64_t, 2> dims;
  QuantSchemeAttr scheme;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(dims, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseAttribute(scheme) ||
      parser.parseGreater())
    return {};
  if (dims.size() != 2) {
    parser.emitError(loc) << "quantized weight must be 2-D [out x in], got "
                          << dims.size() << " dimensions";
    return {};
  }
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    dims[0], dims[1], scheme);
}

void QWeightType::print(AsmPrinter &printer) const {
  printer << "<" << getOutFeatures() << "x" << getInFeatures() << ", ";
  printer.printAttribute(getScheme());
  printer << ">";
}
