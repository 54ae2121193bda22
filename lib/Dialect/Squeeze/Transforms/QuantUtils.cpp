//===- QuantUtils.cpp - Shared pieces of the quantization passes ----------===//

#include "QuantUtils.h"

#include "s10/Quant/Metrics.h"
#include "s10/Runtime/Drivers.h"
#include "s10/Runtime/Tensor.h"
#include "s10/Runtime/ThreadPool.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

#include <algorithm>
#include <cmath>
#include <malloc.h>
#include <type_traits>

using namespace mlir;
using namespace s10;
using namespace s10::squeeze;

bool squeeze::isDecoderLinear(Operation *op) {
  auto role = op->getAttrOfType<RoleAttr>("role");
  if (!role || role.getBlock() < 0)
    return false;
  switch (role.getKind()) {
  case LinearKind::q:
  case LinearKind::k:
  case LinearKind::v:
  case LinearKind::o:
  case LinearKind::gate:
  case LinearKind::up:
  case LinearKind::down:
    return true;
  default:
    return false;
  }
}

SmallVector<LinearOp> squeeze::selectLayers(Operation *func) {
  SmallVector<LinearOp> all, calibrated;
  func->walk([&](LinearOp op) {
    if (!isDecoderLinear(op))
      return;
    all.push_back(op);
    if (op->hasAttr(kHessianAttr))
      calibrated.push_back(op);
  });
  return calibrated.empty() ? all : calibrated;
}

std::string squeeze::layerName(Operation *op) {
  auto role = op->getAttrOfType<RoleAttr>("role");
  if (!role)
    return "linear";
  if (role.getBlock() < 0)
    return stringifyLinearKind(role.getKind()).str();
  return "b" + std::to_string(role.getBlock()) + "." +
         stringifyLinearKind(role.getKind()).str();
}

LogicalResult squeeze::emitError(Operation *op, llvm::Error err) {
  std::string msg = llvm::toString(std::move(err));
  return op->emitError() << layerName(op) << ": " << msg;
}

void squeeze::reportSlowLayer(StringRef step, size_t index, size_t count,
                              Operation *op,
                              std::chrono::steady_clock::time_point start) {
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (secs >= 2.0)
    llvm::errs() << llvm::formatv("{0} [{1}/{2}] {3}  {4:F1}s\n", step,
                                  index + 1, count, layerName(op), secs);
}

void squeeze::releaseFreedMemory() {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

std::unique_ptr<runtime::WeightStore>
squeeze::makeWeightStore(ModuleOp module) {
  auto store = std::make_unique<runtime::WeightStore>(
      runtime::WeightStore::baseDirFor(module, ""));
  // The passes read each weight once (the calibration executor keeps the
  // weights of its segment itself).
  store->setCaching(false);
  return store;
}

LogicalResult squeeze::checkThreads(Location loc, StringRef pass, int threads) {
  if (threads < 0 || threads > runtime::kMaxThreads)
    return emitError(loc) << pass << ": threads must be in [0, "
                          << runtime::kMaxThreads << "] (0: all cores), got "
                          << threads;
  return success();
}

LogicalResult squeeze::checkSeqlen(ModuleOp module, StringRef pass,
                                   int64_t seqlen) {
  int64_t maxPos = runtime::getMaxPositions(module);
  if (seqlen > maxPos)
    return emitError(module.getLoc())
           << pass << ": seqlen " << seqlen << " exceeds the model's " << maxPos
           << " positions";
  return success();
}

/// Reads a float ElementsAttr (dense or dense_resource) into f32 values.
static llvm::Expected<std::vector<float>> readFloats(ElementsAttr attr) {
  if (!isa<FloatType>(attr.getElementType()))
    return llvm::createStringError("expected float elements");
  auto t = runtime::tensorFromElementsAttr(attr);
  if (!t)
    return t.takeError();
  runtime::Tensor f = t->toF32();
  const float *p = static_cast<const float *>(f.raw());
  return std::vector<float>(p, p + f.numel());
}

llvm::Expected<SmallVector<RoleValue>>
squeeze::parseRoleValues(ArrayRef<std::string> entries, StringRef option,
                         StringRef what, double lo, double hi, bool integer) {
  SmallVector<RoleValue> out;
  for (const std::string &entry : entries) {
    auto bad = [&](const Twine &msg) {
      return llvm::createStringError(option + " entry '" + entry + "': " + msg);
    };
    auto [role, value] = StringRef(entry).split(':');
    auto [kindName, blockText] = role.split('.');
    std::optional<LinearKind> kind = symbolizeLinearKind(kindName);
    if (!kind || *kind == LinearKind::lm_head || *kind == LinearKind::other)
      return bad("expected kind[.block]:" + what +
                 " with kind q, k, v, o, gate, up or down");
    int64_t block = -1;
    if (!blockText.empty() && (blockText.getAsInteger(10, block) || block < 0))
      return bad("block '" + blockText + "' is not a block index");
    double v;
    if (value.getAsDouble(v) || !(v >= lo && v <= hi) ||
        (integer && v != std::floor(v)))
      return bad(what + " must be " + (integer ? "an integer" : "a number") +
                 " in [" + llvm::formatv("{0}", llvm::format("%g", lo)).str() +
                 ", " + llvm::formatv("{0}", llvm::format("%g", hi)).str() +
                 "]");
    out.push_back({*kind, block, v});
  }
  return out;
}

double squeeze::roleValueFor(Operation *op, ArrayRef<RoleValue> values,
                             double fallback) {
  double r = fallback;
  int best = 0;
  if (auto role = op->getAttrOfType<RoleAttr>("role"))
    for (const RoleValue &e : values) {
      if (e.kind != role.getKind())
        continue;
      int rank = e.block < 0 ? 1 : (e.block == role.getBlock() ? 2 : 0);
      if (rank > best) {
        best = rank;
        r = e.value;
      }
    }
  return r;
}

llvm::Expected<std::vector<float>>
squeeze::loadConstantValues(Value v, runtime::WeightStore &store) {
  if (auto w = v.getDefiningOp<WeightOp>()) {
    auto t = store.load(w, /*upcastToF32=*/true);
    if (!t)
      return llvm::createStringError("squeeze.weight \"" + w.getName().str() +
                                     "\": " + llvm::toString(t.takeError()));
    const float *p = static_cast<const float *>(t->raw());
    return std::vector<float>(p, p + t->numel());
  }
  if (auto c = v.getDefiningOp<arith::ConstantOp>())
    if (auto elts = dyn_cast<ElementsAttr>(c.getValue()))
      return readFloats(elts);
  return llvm::createStringError("weight is not a constant");
}

llvm::Expected<quant::Matrix>
squeeze::loadLinearWeight(LinearOp op, runtime::WeightStore &store) {
  auto type = cast<RankedTensorType>(op.getWeight().getType());
  int64_t d0 = type.getDimSize(0), d1 = type.getDimSize(1);
  auto loaded = loadConstantValues(op.getWeight(), store);
  if (!loaded)
    return loaded.takeError();
  std::vector<float> &values = *loaded;
  if (op.getWeightLayout() == WeightLayout::out_in)
    return quant::Matrix(d0, d1, llvm::ArrayRef<float>(values));
  quant::Matrix w(d1, d0);
  for (int64_t i = 0; i < d0; ++i)
    for (int64_t j = 0; j < d1; ++j)
      w(j, i) = values[i * d1 + j];
  return w;
}

static llvm::Expected<llvm::ArrayRef<uint8_t>>
calibBytes(Operation *op, StringRef name, runtime::WeightStore &store) {
  auto ext = op->getAttrOfType<ExternalStorageAttr>(name);
  if (!ext)
    return llvm::createStringError("not calibrated (no '" + name.str() +
                                   "'; run squeeze-calibrate)");
  return store.getBytes(ext.getPath(), ext.getOffset(), ext.getLength());
}

template <typename T>
static llvm::Expected<quant::DenseMatrix<T>>
loadHessianAs(Operation *op, runtime::WeightStore &store) {
  auto bytes = calibBytes(op, kHessianAttr, store);
  if (!bytes)
    return bytes.takeError();
  size_t n = bytes->size() / sizeof(double);
  auto dim = int64_t(std::llround(std::sqrt(double(n))));
  if (dim * dim * sizeof(double) != bytes->size())
    return llvm::createStringError("Hessian storage is not square");
  quant::DenseMatrix<T> h(dim, dim);
  // Copied (and for f32 rounded) in slices, each slice's mapped pages
  // dropped once copied: the mapping and the copy of a 6.6 GB Hessian are
  // never resident together.
  StringRef path =
      op->getAttrOfType<ExternalStorageAttr>(kHessianAttr).getPath();
  constexpr size_t kSlice = size_t(64) << 20;
  for (size_t off = 0; off < bytes->size(); off += kSlice) {
    size_t len = std::min(kSlice, bytes->size() - off);
    if constexpr (std::is_same_v<T, double>) {
      std::memcpy(reinterpret_cast<uint8_t *>(h.data.data()) + off,
                  bytes->data() + off, len);
    } else {
      for (size_t k = 0; k < len / sizeof(double); ++k) {
        double v;
        std::memcpy(&v, bytes->data() + off + k * sizeof(double), sizeof v);
        h.data[off / sizeof(double) + k] = T(v);
      }
    }
    store.doneWith(path, bytes->slice(off, len));
  }
  store.doneWith(path, *bytes);
  return h;
}

llvm::Expected<quant::MatrixD>
squeeze::loadHessian(Operation *op, runtime::WeightStore &store) {
  return loadHessianAs<double>(op, store);
}

llvm::Expected<quant::Matrix>
squeeze::loadHessianF32(Operation *op, runtime::WeightStore &store) {
  return loadHessianAs<float>(op, store);
}

llvm::Expected<double>
squeeze::hessianRelativeError(Operation *op, runtime::WeightStore &store,
                              const quant::Matrix &w,
                              const quant::Matrix &what) {
  auto bytes = calibBytes(op, kHessianAttr, store);
  if (!bytes)
    return bytes.takeError();
  const int64_t n = w.cols;
  if (uint64_t(n) * uint64_t(n) * sizeof(double) != bytes->size())
    return llvm::createStringError(
        "Hessian storage does not match the layer's " + std::to_string(n) +
        " inputs");
  StringRef path =
      op->getAttrOfType<ExternalStorageAttr>(kHessianAttr).getPath();
  // Copied (the side file aligns nothing) and its mapped pages dropped.
  std::vector<double> slice;
  llvm::ArrayRef<uint8_t> mapped;
  auto rows = [&](int64_t r0, int64_t count) -> llvm::Expected<const double *> {
    store.doneWith(path, mapped);
    size_t len = size_t(count * n) * sizeof(double);
    mapped = bytes->slice(size_t(r0 * n) * sizeof(double), len);
    slice.resize(size_t(count * n));
    std::memcpy(slice.data(), mapped.data(), len);
    return slice.data();
  };
  auto err = quant::relativeOutputErrorFromHessianRows(w, what, rows);
  store.doneWith(path, mapped);
  return err;
}

llvm::Expected<quant::Matrix>
squeeze::loadSamples(Operation *op, runtime::WeightStore &store) {
  auto bytes = calibBytes(op, kSamplesAttr, store);
  if (!bytes)
    return bytes.takeError();
  auto in =
      cast<RankedTensorType>(op->getOperand(0).getType()).getShape().back();
  size_t n = bytes->size() / sizeof(float);
  if (ShapedType::isDynamic(in) || in <= 0 || n % in != 0)
    return llvm::createStringError("activation samples do not match the layer");
  quant::Matrix x(int64_t(n) / in, in);
  std::memcpy(x.data.data(), bytes->data(), bytes->size());
  return x;
}

DictionaryAttr squeeze::encodeStage1(MLIRContext *ctx,
                                     const quant::UniformResult &r) {
  Builder b(ctx);
  int64_t rows = r.numGroups ? int64_t(r.params.size()) / r.numGroups : 0;
  auto paramType = RankedTensorType::get({rows, r.numGroups}, b.getF32Type());
  std::vector<float> scales, zeros;
  for (const quant::UniformParams &p : r.params) {
    scales.push_back(p.scale);
    zeros.push_back(p.zero);
  }
  NamedAttribute attrs[] = {
      b.getNamedAttr("bits", b.getI64IntegerAttr(r.bits)),
      b.getNamedAttr("group_size", b.getI64IntegerAttr(r.groupSize)),
      b.getNamedAttr("scales", DenseElementsAttr::get(
                                   paramType, llvm::ArrayRef<float>(scales))),
      b.getNamedAttr("zeros", DenseElementsAttr::get(
                                  paramType, llvm::ArrayRef<float>(zeros)))};
  return b.getDictionaryAttr(attrs);
}

llvm::Expected<quant::UniformResult>
squeeze::decodeStage1(Operation *op, const quant::Matrix *weight) {
  DictionaryAttr dict =
      squeezeDialect(op->getContext()).getStage1AttrHelper().getAttr(op);
  if (!dict)
    return llvm::createStringError(
        "no stage-1 result (run squeeze-quantize-stage1)");
  auto bits = dict.getAs<IntegerAttr>("bits");
  auto group = dict.getAs<IntegerAttr>("group_size");
  auto scales = dict.getAs<DenseElementsAttr>("scales");
  auto zeros = dict.getAs<DenseElementsAttr>("zeros");
  if (!bits || !group || !scales || !zeros ||
      scales.getType() != zeros.getType() ||
      cast<ShapedType>(scales.getType()).getRank() != 2 ||
      !scales.getElementType().isF32() || bits.getInt() < 2 ||
      bits.getInt() > 8 || group.getInt() < 1)
    return llvm::createStringError("malformed squeeze.stage1 attribute");
  auto linear = dyn_cast<LinearOp>(op);
  if (!linear)
    return llvm::createStringError("stage-1 result on a non-linear op");
  int64_t rows = linear.getOutFeatures(), cols = linear.getInFeatures();
  quant::UniformResult r;
  r.bits = unsigned(bits.getInt());
  r.groupSize = group.getInt();
  r.numGroups = quant::numGroups(cols, r.groupSize);
  auto paramShape = cast<ShapedType>(scales.getType()).getShape();
  if (paramShape[0] != rows || paramShape[1] != r.numGroups)
    return llvm::createStringError(
        "stage-1 parameters do not match the weight");
  auto sv = scales.getValues<float>();
  auto zv = zeros.getValues<float>();
  for (int64_t i = 0, e = scales.getNumElements(); i < e; ++i)
    r.params.push_back({sv[i], zv[i]});
  if (!weight)
    return r;
  // The codes follow from the weight and the parameters; keeping them in
  // the IR would cost a byte per weight until the end of the run.
  if (weight->rows != rows || weight->cols != cols)
    return llvm::createStringError("stage-1 result does not match the weight");
  quant::applyUniformParams(*weight, r);
  return r;
}

llvm::Expected<quant::Mask>
squeeze::decodeSalientMask(Operation *op, int64_t rows, int64_t cols) {
  DenseElementsAttr attr =
      squeezeDialect(op->getContext()).getSalientMaskAttrHelper().getAttr(op);
  if (!attr)
    return quant::Mask();
  auto type = cast<ShapedType>(attr.getType());
  if (type.getRank() != 2 || type.getDimSize(0) != rows ||
      type.getDimSize(1) != cols || !type.getElementType().isInteger(1))
    return llvm::createStringError("salient mask does not match the weight");
  quant::Mask m(rows, cols);
  int64_t k = 0;
  for (bool b : attr.getValues<bool>())
    m.data[k++] = b;
  return m;
}

std::string squeeze::weightName(Operation *weightOp) {
  for (Operation *user : weightOp->getUsers())
    if (user->getAttrOfType<RoleAttr>("role"))
      return layerName(user);
  return "weight";
}

/// Integer or float elements of `attr` as T.
template <typename T>
static llvm::Expected<std::vector<T>> readAll(ElementsAttr attr,
                                              StringRef what) {
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return llvm::createStringError(what.str() + " must be dense elements");
  std::vector<T> out;
  out.reserve(dense.getNumElements());
  Type elt = dense.getElementType();
  if (isa<FloatType>(elt)) {
    for (APFloat f : dense.getValues<APFloat>()) {
      bool lost;
      f.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(T(f.convertToFloat()));
    }
  } else if (elt.isInteger(1)) {
    for (bool v : dense.getValues<bool>())
      out.push_back(T(v));
  } else {
    for (APInt v : dense.getValues<APInt>()) {
      if (v.getActiveBits() > 8)
        return llvm::createStringError(what.str() + " value " +
                                       std::to_string(v.getZExtValue()) +
                                       " does not fit 8 bits");
      out.push_back(T(v.getZExtValue()));
    }
  }
  return out;
}

llvm::Expected<quant::layout::Logical>
squeeze::readLogical(QuantizedWeightOp op) {
  QWeightType type = op.getResult().getType();
  quant::layout::Logical w;
  w.out = type.getOutFeatures();
  w.in = type.getInFeatures();
  w.groupSize = type.getScheme().getGroupSize();
  auto codes = readAll<uint8_t>(op.getCodes(), "codes");
  if (!codes)
    return codes.takeError();
  w.codes = std::move(*codes);
  auto fill = [&](ElementsAttr a, std::vector<float> &dst,
                  StringRef what) -> llvm::Error {
    auto v = readAll<float>(a, what);
    if (!v)
      return v.takeError();
    dst = std::move(*v);
    return llvm::Error::success();
  };
  if (auto e = fill(op.getScales(), w.scales, "scales"))
    return std::move(e);
  if (auto e = fill(op.getOffsets(), w.offsets, "offsets"))
    return std::move(e);
  if (op.getSalientMask()) {
    auto m = readAll<uint8_t>(*op.getSalientMask(), "salient_mask");
    if (!m)
      return m.takeError();
    w.salient = std::move(*m);
    if (auto e =
            fill(*op.getSalientScales(), w.salientScales, "salient_scales"))
      return std::move(e);
    if (auto e =
            fill(*op.getSalientOffsets(), w.salientOffsets, "salient_offsets"))
      return std::move(e);
  }
  return w;
}

QuantizedWeightOp squeeze::buildUnpacked(OpBuilder &b, Location loc,
                                         QWeightType packedType,
                                         const quant::layout::Logical &w) {
  MLIRContext *ctx = b.getContext();
  QuantSchemeAttr s = packedType.getScheme();
  auto scheme =
      QuantSchemeAttr::get(ctx, s.getBits(), s.getGroupSize(),
                           s.getSalientBits(), s.getSalientFraction(),
                           s.getMask(), StorageLayout::unpacked, s.getLevels());
  auto type = QWeightType::get(ctx, w.out, w.in, scheme);
  auto codeType = RankedTensorType::get({w.out, w.in}, b.getI8Type());
  auto paramType = RankedTensorType::get({w.out, w.groups()}, b.getF32Type());
  auto dense = [&](const std::vector<float> &v) {
    return DenseElementsAttr::get(paramType, llvm::ArrayRef<float>(v));
  };
  std::vector<int8_t> codes(w.codes.begin(), w.codes.end());
  ElementsAttr mask, sScales, sOffsets;
  if (s.getSalientBits() != 0) {
    SmallVector<bool> flat(w.salient.begin(), w.salient.end());
    flat.resize(size_t(w.out * w.in), false);
    mask = DenseElementsAttr::get(
        RankedTensorType::get({w.out, w.in}, b.getI1Type()), flat);
    sScales = dense(w.salientScales);
    sOffsets = dense(w.salientOffsets);
  }
  return QuantizedWeightOp::create(
      b, loc, type,
      DenseElementsAttr::get(codeType, llvm::ArrayRef<int8_t>(codes)),
      dense(w.scales), dense(w.offsets), mask, sScales, sOffsets);
}

LogicalResult squeeze::writeJsonReport(Operation *op, StringRef pass,
                                       StringRef path,
                                       llvm::json::Object root) {
  std::string error;
  auto file = mlir::openOutputFile(path, &error);
  if (!file)
    return mlir::emitError(op->getLoc())
           << pass << ": cannot write report '" << path << "': " << error;
  file->os() << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
             << "\n";
  file->keep();
  return success();
}
