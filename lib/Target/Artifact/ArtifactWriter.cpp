//===- ArtifactWriter.cpp - Write a raised model as a .s10 artifact -------===//

#include "s10/Target/Artifact/ArtifactWriter.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"
#include "s10/Quant/Layout.h"
#include "s10/Runtime/Drivers.h"
#include "s10/Runtime/Executor.h"
#include "s10/Runtime/WeightStore.h"
#include "s10rt/Format.h"
#include "s10rt/PackedSpec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace llvm;
namespace sq = s10::squeeze;
namespace fmt = s10rt::format;
namespace layout = s10::quant::layout;
using s10::runtime::DType;
using s10::runtime::Tensor;

namespace {

Error opError(Operation *op, const Twine &msg) {
  std::string where = s10::runtime::describeOp(op);
  if (auto loc = dyn_cast<FileLineColLoc>(op->getLoc()))
    where +=
        (" at " + loc.getFilename().getValue() + ":" + Twine(loc.getLine()))
            .str();
  return createStringError(inconvertibleErrorCode(), where + ": " + msg);
}

uint64_t alignTo(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

template <typename T> void append(std::string &out, const T &v) {
  out.append(reinterpret_cast<const char *>(&v), sizeof(T));
}

class Writer {
public:
  Writer(ModuleOp module, const s10::target::ArtifactOptions &opts)
      : module(module), opts(opts),
        store(s10::runtime::WeightStore::baseDirFor(module, opts.modulePath)) {
    strings.push_back('\0'); // offset 0 is the empty string
  }

  Error run(std::string &bytes, s10::target::ArtifactSummary &summary);

private:
  uint32_t addString(StringRef s) {
    auto it = stringIndex.find(s);
    if (it != stringIndex.end())
      return it->second;
    uint32_t off = strings.size();
    strings.append(s.begin(), s.end());
    strings.push_back('\0');
    stringIndex[s] = off;
    return off;
  }

  uint32_t addTensorBytes(fmt::TensorRecord rec, StringRef name,
                          const void *data, size_t size) {
    uint64_t off = alignTo(weights.size(), 64);
    weights.resize(off, '\0');
    weights.append(static_cast<const char *>(data), size);
    rec.offset = off;
    rec.size = size;
    rec.nameOffset = addString(name);
    tensors.push_back(rec);
    return tensors.size() - 1;
  }

  /// A dense f16 or f32 tensor from `t` (other float types become f32).
  uint32_t addDense(const Tensor &t, ArrayRef<int64_t> dims, StringRef name) {
    fmt::TensorRecord rec{};
    rec.rank = dims.size();
    for (size_t i = 0; i < dims.size(); ++i)
      rec.dims[i] = dims[i];
    if (t.dtype() == DType::F16) {
      rec.dtype = uint32_t(fmt::DType::F16);
      return addTensorBytes(rec, name, t.raw(), t.byteSize());
    }
    Tensor f = t.toF32();
    rec.dtype = uint32_t(fmt::DType::F32);
    return addTensorBytes(rec, name, f.raw(), f.byteSize());
  }

  uint32_t addF32(ArrayRef<float> v, StringRef name) {
    fmt::TensorRecord rec{};
    rec.dtype = uint32_t(fmt::DType::F32);
    rec.rank = 1;
    rec.dims[0] = v.size();
    return addTensorBytes(rec, name, v.data(), v.size() * sizeof(float));
  }

  Expected<Tensor> constantOf(Value v, Operation *user) {
    Operation *def = v.getDefiningOp();
    if (auto w = dyn_cast_or_null<sq::WeightOp>(def))
      return store.load(w, /*upcastToF32=*/false);
    if (auto c = dyn_cast_or_null<arith::ConstantOp>(def))
      if (auto e = dyn_cast<ElementsAttr>(c.getValue()))
        return s10::runtime::tensorFromElementsAttr(e);
    return opError(user, "operand is not a constant weight");
  }

  std::string tensorName(Value v, Operation *user, StringRef what) {
    if (auto w = dyn_cast_or_null<sq::WeightOp>(v.getDefiningOp()))
      return w.getName().str();
    std::string s;
    raw_string_ostream os(s);
    if (auto role = user->getAttrOfType<sq::RoleAttr>("role"))
      os << "block " << role.getBlock() << " "
         << sq::stringifyLinearKind(role.getKind()) << " ";
    else
      os << user->getName().getStringRef() << " #" << steps.size() << " ";
    os << what;
    return s;
  }

  /// The tensor for a constant operand, deduplicated by value.
  Expected<uint32_t> denseOperand(Value v, Operation *user, StringRef what,
                                  ArrayRef<int64_t> dims) {
    auto it = tensorOf.find(v);
    if (it != tensorOf.end())
      return it->second;
    auto t = constantOf(v, user);
    if (!t)
      return t.takeError();
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    if (t->numel() != n)
      return opError(user, what + " has " + Twine(t->numel()) +
                               " elements, expected " + Twine(n));
    if (!s10::runtime::isFloat(t->dtype()))
      return opError(user, what + " is not a float tensor");
    uint32_t id = addDense(*t, dims, tensorName(v, user, what));
    tensorOf[v] = id;
    return id;
  }

  Expected<uint32_t> linearWeight(Operation *op, Value w, int64_t &inF,
                                  int64_t &outF);

  Expected<int64_t> widthOf(Value v, Operation *op) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || t.getRank() < 2 || t.getRank() > 3)
      return opError(op, "activations must be [batch, seq, features] or "
                         "[seq, features] tensors");
    // The artifact runs one sequence: a dynamic batch is compiled as 1.
    if (t.getRank() == 3 && !t.isDynamicDim(0) && t.getDimSize(0) != 1)
      return opError(op, "only batch 1 is compiled (got " +
                             Twine(t.getDimSize(0)) + ")");
    int64_t w = t.getShape().back();
    if (ShapedType::isDynamic(w) || w <= 0 || w > INT32_MAX)
      return opError(op, "the feature dimension must be static");
    return w;
  }

  Expected<uint32_t> input(Value v, Operation *op) {
    auto it = bufOf.find(v);
    if (it == bufOf.end())
      return opError(op, "operand is not produced by a compiled step");
    return it->second;
  }

  Error addStep(Operation *op);
  Error addFusedStep(Operation *op, ArrayRef<Operation *> linears,
                     int64_t width, fmt::StepRecord &s);
  Expected<SmallVector<Operation *, 2>> fusedLinearsOf(Operation *op);
  Expected<sq::RMSNormOp> fusedNormOf(Operation *op);
  Expected<std::pair<Operation *, Operation *>> fusedQkvOf(Operation *op);
  Error addQkvStep(Operation *op, sq::RMSNormOp norm, fmt::StepRecord &s);
  Expected<std::vector<float>> rotaryFreqs(sq::RotaryOp rot);
  Expected<uint32_t> normWeight(sq::RMSNormOp norm, int64_t width);
  SmallVector<Value> effectiveOperands(Operation *op);
  Error addGemmKernels();
  uint32_t allocate(uint32_t width);

  /// The index of kernel `symbol`, added with `abi` if new.
  Expected<uint32_t> addKernel(StringRef symbol, fmt::KernelAbi abi,
                               const uint32_t (&reserved)[2] = {0, 0}) {
    auto [it, inserted] = kernelIndex.try_emplace(symbol, kernels.size());
    if (inserted) {
      fmt::KernelRecord rec{};
      rec.abi = uint32_t(abi);
      rec.symbolOffset = addString(symbol);
      rec.reserved[0] = reserved[0];
      rec.reserved[1] = reserved[1];
      kernels.push_back(rec);
    } else if (kernels[it->second].abi != uint32_t(abi) ||
               kernels[it->second].reserved[0] != reserved[0] ||
               kernels[it->second].reserved[1] != reserved[1]) {
      return createStringError(inconvertibleErrorCode(),
                               "kernel '" + symbol +
                                   "' is used with two different ABIs");
    }
    return it->second;
  }

  ModuleOp module;
  const s10::target::ArtifactOptions &opts;
  s10::runtime::WeightStore store;

  std::string strings, weights;
  StringMap<uint32_t> stringIndex;
  std::vector<fmt::TensorRecord> tensors;
  std::vector<fmt::BufferRecord> buffers;
  std::vector<fmt::StepRecord> steps;
  std::vector<fmt::KernelRecord> kernels;
  StringMap<uint32_t> kernelIndex;
  llvm::DenseMap<Value, uint32_t> tensorOf, bufOf;
  llvm::DenseMap<Value, size_t> lastUse;
  /// Fused GEMVs: the Add or SwiGLU that runs one, and the linears it
  /// absorbed (no steps of their own).
  llvm::DenseMap<Operation *, SmallVector<Operation *, 2>> fusedLinears;
  llvm::DenseSet<Operation *> absorbed;
  /// GEMV steps that compute their input's RMSNorm themselves.
  llvm::DenseMap<Operation *, sq::RMSNormOp> fusedNorm;
  /// q linears whose launch computes their attention's k and v too.
  llvm::DenseMap<Operation *, std::pair<Operation *, Operation *>> fusedQkv;
  /// Attention steps whose KV append rotates q and k (their rotaries).
  llvm::DenseMap<Operation *, std::pair<sq::RotaryOp, sq::RotaryOp>>
      fusedRotary;
  std::map<uint32_t, std::vector<uint32_t>> freeByWidth;
  Value ids;
  size_t stepIndex = 0;

  fmt::ModelConfig config{};
  int64_t packedWeights = 0, denseWeights = 0;
  uint64_t packedBytes = 0;
  uint32_t kvSlots = 0, kvWidth = 0;
};

uint32_t Writer::allocate(uint32_t width) {
  auto &free = freeByWidth[width];
  if (!free.empty()) {
    uint32_t b = free.back();
    free.pop_back();
    return b;
  }
  fmt::BufferRecord rec{};
  rec.width = width;
  buffers.push_back(rec);
  return buffers.size() - 1;
}

Expected<uint32_t> Writer::linearWeight(Operation *op, Value w, int64_t &inF,
                                        int64_t &outF) {
  auto it = tensorOf.find(w);
  if (auto pw = w.getDefiningOp<sq::PackedWeightOp>()) {
    auto type = cast<sq::QWeightType>(pw.getType());
    outF = type.getOutFeatures();
    inF = type.getInFeatures();
    if (it != tensorOf.end())
      return it->second;
    layout::Spec spec = pw.getPacking().getSpec();
    ArrayRef<char> data = pw.getBytes();
    layout::Status st = layout::validate(
        spec, outF, inF, reinterpret_cast<const uint8_t *>(data.data()),
        data.size());
    if (st.failed())
      return opError(op, "packed weight: " + st.message());
    fmt::TensorRecord rec{};
    rec.dtype = uint32_t(fmt::DType::Packed);
    rec.rank = 2;
    rec.dims[0] = outF;
    rec.dims[1] = inF;
    fmt::setPackedSpec(rec, spec);
    uint32_t id = addTensorBytes(rec, tensorName(w, op, "weight"), data.data(),
                                 data.size());
    tensorOf[w] = id;
    packedWeights += outF * inF;
    packedBytes += data.size();
    return id;
  }
  if (w.getDefiningOp<sq::QuantizedWeightOp>())
    return opError(op, "the weight is quantized but not packed; run "
                       "squeeze-pack (--squeeze10-quantize packs unless "
                       "pack=false)");
  auto lin = dyn_cast<sq::LinearOp>(op);
  auto type = dyn_cast<RankedTensorType>(w.getType());
  if (!lin || !type || type.getRank() != 2)
    return opError(op, "unsupported weight operand");
  bool inOut = lin.getWeightLayout() == sq::WeightLayout::in_out;
  inF = type.getDimSize(inOut ? 0 : 1);
  outF = type.getDimSize(inOut ? 1 : 0);
  if (it != tensorOf.end())
    return it->second;
  auto t = constantOf(w, op);
  if (!t)
    return t.takeError();
  if (!s10::runtime::isFloat(t->dtype()))
    return opError(op, "weight is not a float tensor");
  if (inOut) {
    // The plan's matrices are [out, in]: transpose ONNX MatMul weights once.
    Tensor f = t->toF32();
    std::vector<float> tr(size_t(inF * outF));
    for (int64_t i = 0; i < inF; ++i)
      for (int64_t o = 0; o < outF; ++o)
        tr[o * inF + i] = f.f32()[i * outF + o];
    Tensor tt = Tensor::f32({outF, inF}, tr);
    *t = t->dtype() == DType::F16 ? tt.castTo(DType::F16) : tt;
  }
  uint32_t id = addDense(*t, {outF, inF}, tensorName(w, op, "weight"));
  tensorOf[w] = id;
  denseWeights += outF * inF;
  return id;
}

namespace {
/// The kernel ABI of a plan op on each target.
std::optional<fmt::KernelAbi> cpuAbi(fmt::OpCode op) {
  switch (op) {
  case fmt::OpCode::Linear:
    return fmt::KernelAbi::Gemv;
  case fmt::OpCode::RMSNorm:
    return fmt::KernelAbi::RMSNormRow;
  case fmt::OpCode::Add:
  case fmt::OpCode::SwiGLU:
    return fmt::KernelAbi::Binary;
  case fmt::OpCode::Embedding:
    return fmt::KernelAbi::Embedding;
  case fmt::OpCode::Rotary:
    return fmt::KernelAbi::Rotary;
  case fmt::OpCode::Attention:
    return fmt::KernelAbi::Attend;
  default:
    return std::nullopt;
  }
}

std::optional<fmt::KernelAbi> cudaAbi(fmt::OpCode op) {
  switch (op) {
  case fmt::OpCode::Linear:
    return fmt::KernelAbi::GpuGemv;
  case fmt::OpCode::RMSNorm:
    return fmt::KernelAbi::GpuRMSNorm;
  case fmt::OpCode::Add:
  case fmt::OpCode::SwiGLU:
    return fmt::KernelAbi::GpuBinary;
  case fmt::OpCode::Embedding:
    return fmt::KernelAbi::GpuEmbedding;
  case fmt::OpCode::Rotary:
    return fmt::KernelAbi::GpuRotary;
  case fmt::OpCode::Attention:
    return fmt::KernelAbi::GpuAttention;
  case fmt::OpCode::LinearAdd:
    return fmt::KernelAbi::GpuGemvAdd;
  case fmt::OpCode::LinearSwiGLU:
    return fmt::KernelAbi::GpuGemvSwiGLU;
  case fmt::OpCode::NormLinear:
    return fmt::KernelAbi::GpuNormGemv;
  case fmt::OpCode::NormLinearSwiGLU:
    return fmt::KernelAbi::GpuNormGemvSwiGLU;
  case fmt::OpCode::RopeAttention:
    return fmt::KernelAbi::GpuAttention;
  case fmt::OpCode::NormLinearQKV:
    return fmt::KernelAbi::GpuNormGemvQkv;
  }
  return std::nullopt;
}
} // namespace

/// The linears squeeze-generate-kernels fused into `op` (an Add's
/// `s10.fused_linear`, a SwiGLU's `s10.fused_linears`), or none.
Expected<SmallVector<Operation *, 2>> Writer::fusedLinearsOf(Operation *op) {
  SmallVector<Value, 2> vals;
  if (auto index = op->getAttrOfType<IntegerAttr>("s10.fused_linear")) {
    int64_t i = index.getInt();
    auto node = dyn_cast<s10::onnx::NodeOp>(op);
    if (!node || node.getOpType() != "Add")
      return opError(op, "only an Add fuses one linear");
    if (op->getNumOperands() != 2 || i < 0 || i > 1)
      return opError(op, "s10.fused_linear must name operand 0 or 1");
    vals.push_back(op->getOperand(i));
  } else if (op->hasAttr("s10.fused_linears")) {
    if (!isa<sq::SwiGLUOp>(op))
      return opError(op, "only a swiglu fuses two linears");
    vals.assign(op->operand_begin(), op->operand_end());
  } else {
    return SmallVector<Operation *, 2>{};
  }
  if (!opts.cuda)
    return opError(op, "fused linears run only in cuda artifacts");
  SmallVector<Operation *, 2> linears;
  for (Value v : vals) {
    Operation *def = v.getDefiningOp();
    if (!def || !v.hasOneUse() ||
        !isa<sq::LinearOp, sq::QuantizedLinearOp>(def) ||
        def->getNumOperands() > 2)
      return opError(op, "a fused operand must be a linear without bias "
                         "that only this op reads");
    linears.push_back(def);
  }
  if (linears.size() == 2 &&
      (linears[0] == linears[1] ||
       linears[0]->getOperand(0) != linears[1]->getOperand(0)))
    return opError(op, "the fused gate and up projections must read one "
                       "input");
  return linears;
}

/// The RMSNorm a GEMV step (`s10.fused_norm`: a linear, or a SwiGLU that
/// fused gate and up) computes on its input, or null.
Expected<sq::RMSNormOp> Writer::fusedNormOf(Operation *op) {
  if (!op->hasAttr("s10.fused_norm"))
    return sq::RMSNormOp();
  if (!opts.cuda)
    return opError(op, "fused norms run only in cuda artifacts");
  auto fused = fusedLinears.find(op);
  Operation *gemv = op;
  if (fused != fusedLinears.end()) {
    if (fused->second.size() != 2)
      return opError(op, "a residual add does not fuse a norm");
    gemv = fused->second[0];
  } else if (!isa<sq::LinearOp, sq::QuantizedLinearOp>(op)) {
    return opError(op, "s10.fused_norm names no GEMV");
  }
  auto norm = gemv->getOperand(0).getDefiningOp<sq::RMSNormOp>();
  if (!norm)
    return opError(op, "s10.fused_norm on a GEMV whose input is not an "
                       "RMSNorm");
  return norm;
}

/// The k and v linears a q linear with `s10.fused_qkv` runs in its launch:
/// those of the attention that reads its result (through a rotary), each
/// read only there and of the q linear's input.
Expected<std::pair<Operation *, Operation *>>
Writer::fusedQkvOf(Operation *op) {
  if (!opts.cuda)
    return opError(op, "fused q, k and v run only in cuda artifacts");
  auto fail = [&] {
    return opError(op, "s10.fused_qkv needs a linear computing its input's "
                       "norm whose result, and its attention's k and v "
                       "linears' of the same input, only the attention "
                       "reads (through rotaries)");
  };
  // The value an attention operand comes from: a rotary's input, or itself.
  auto source = [](Value v) -> Value {
    if (auto rot = v.getDefiningOp<sq::RotaryOp>();
        rot && rot->getResult(0).hasOneUse())
      return rot.getInput();
    return v;
  };
  Value q = op->getResult(0);
  if (!isa<sq::LinearOp, sq::QuantizedLinearOp>(op) || !q.hasOneUse() ||
      !fusedNorm.count(op))
    return fail();
  Operation *user = *q.getUsers().begin();
  if (isa<sq::RotaryOp>(user) && user->getResult(0).hasOneUse())
    user = *user->getResult(0).getUsers().begin();
  auto att = dyn_cast<sq::AttentionOp>(user);
  if (!att || source(att.getQuery()) != q)
    return fail();
  Operation *lin[2];
  Value kv[2] = {source(att.getKey()), att.getValue()};
  for (auto [i, v] : llvm::enumerate(kv)) {
    Operation *def = v.getDefiningOp();
    if (!def || !v.hasOneUse() ||
        !isa<sq::LinearOp, sq::QuantizedLinearOp>(def) ||
        def->getNumOperands() > 2 || def == op ||
        def->getOperand(0) != op->getOperand(0))
      return fail();
    lin[i] = def;
  }
  if (lin[0] == lin[1])
    return fail();
  return std::make_pair(lin[0], lin[1]);
}

/// One step for q, k and v of RMSNorm(x): q is the step's output, k and v
/// get buffers of their own (named in i2 and i3).
Error Writer::addQkvStep(Operation *op, sq::RMSNormOp norm,
                         fmt::StepRecord &s) {
  auto xb = input(norm.getInput(), op);
  if (!xb)
    return xb.takeError();
  s.in[0] = *xb;
  auto [k, v] = fusedQkv.lookup(op);
  Operation *lins[3] = {op, k, v};
  uint32_t t[3];
  int64_t outs[3];
  for (int i = 0; i < 3; ++i) {
    int64_t inF = 0, outF = 0;
    auto w = linearWeight(lins[i], lins[i]->getOperand(1), inF, outF);
    if (!w)
      return w.takeError();
    auto rw = widthOf(lins[i]->getResult(0), lins[i]);
    if (!rw)
      return rw.takeError();
    if (buffers[s.in[0]].width != uint64_t(inF) || outF != *rw)
      return opError(lins[i], "weight [" + Twine(outF) + ", " + Twine(inF) +
                                  "] does not match the input/result widths");
    t[i] = *w;
    outs[i] = outF;
  }
  auto g = normWeight(norm, int64_t(buffers[s.in[0]].width));
  if (!g)
    return g.takeError();
  s.op = uint32_t(fmt::OpCode::NormLinearQKV);
  s.tensor[0] = t[0];
  s.tensor[1] = t[1];
  s.i[0] = int32_t(*g);
  s.i[1] = int32_t(t[2]);
  s.f[0] = float(norm.getEpsilon().convertToDouble());
  // k's and v's results get their buffers here, before the step's
  // operands die, as its output does.
  for (int i = 1; i < 3; ++i) {
    uint32_t b = allocate(uint32_t(outs[i]));
    bufOf[lins[i]->getResult(0)] = b;
    s.i[1 + i] = int32_t(b);
  }
  return Error::success();
}

/// The weight of a fused norm as a tensor of `width` elements.
Expected<uint32_t> Writer::normWeight(sq::RMSNormOp norm, int64_t width) {
  auto t = denseOperand(norm.getWeight(), norm, "weight", {width});
  if (!t)
    return t.takeError();
  return *t;
}

/// A rotary's inverse frequencies: its `inv_freq`, or the interpreter's
/// f32 theta^(-2i / d).
Expected<std::vector<float>> Writer::rotaryFreqs(sq::RotaryOp rot) {
  int64_t d = rot.getHeadDim();
  std::vector<float> inv;
  if (Attribute a = rot->getAttr("inv_freq")) {
    if (auto arr = dyn_cast<DenseF32ArrayAttr>(a)) {
      inv.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
    } else if (auto elts = dyn_cast<ElementsAttr>(a)) {
      auto t = s10::runtime::tensorFromElementsAttr(elts);
      if (!t)
        return t.takeError();
      inv = t->toFloatVector();
    }
    if (int64_t(inv.size()) != d / 2)
      return opError(rot, "inv_freq must hold head_dim / 2 floats");
  } else {
    double theta = rot.getTheta().convertToDouble();
    for (int64_t i = 0; i < d / 2; ++i)
      inv.push_back(1.0f / powf(float(theta), float(2 * i) / float(d)));
  }
  return inv;
}

/// The values a step reads: its op's operands, its fused linears', its
/// fused norm's and its fused rotaries'.
SmallVector<Value> Writer::effectiveOperands(Operation *op) {
  SmallVector<Value> vals(op->getOperands());
  if (auto it = fusedRotary.find(op); it != fusedRotary.end()) {
    vals.push_back(it->second.first.getInput());
    vals.push_back(it->second.second.getInput());
  }
  if (auto it = fusedLinears.find(op); it != fusedLinears.end())
    for (Operation *lin : it->second)
      vals.append(lin->operand_begin(), lin->operand_end());
  if (auto it = fusedQkv.find(op); it != fusedQkv.end())
    for (Operation *lin : {it->second.first, it->second.second})
      vals.append(lin->operand_begin(), lin->operand_end());
  if (auto it = fusedNorm.find(op); it != fusedNorm.end())
    vals.append(it->second->operand_begin(), it->second->operand_end());
  return vals;
}

/// One step for a fused GEMV: a residual add (out = x W^T + r) or gate, up
/// and SwiGLU (out = silu(x Wg^T) * (x Wu^T)), the latter also of
/// RMSNorm(x).
Error Writer::addFusedStep(Operation *op, ArrayRef<Operation *> linears,
                           int64_t width, fmt::StepRecord &s) {
  sq::RMSNormOp norm = fusedNorm.lookup(op);
  Value x = norm ? norm.getInput() : linears[0]->getOperand(0);
  auto xb = input(x, op);
  if (!xb)
    return xb.takeError();
  s.in[0] = *xb;
  for (auto [k, lin] : llvm::enumerate(linears)) {
    int64_t inF = 0, outF = 0;
    auto t = linearWeight(lin, lin->getOperand(1), inF, outF);
    if (!t)
      return t.takeError();
    if (buffers[s.in[0]].width != uint64_t(inF) || outF != width)
      return opError(lin, "weight [" + Twine(outF) + ", " + Twine(inF) +
                              "] does not match the input/result widths");
    s.tensor[k] = *t;
  }
  if (linears.size() == 1) {
    int64_t i = op->getAttrOfType<IntegerAttr>("s10.fused_linear").getInt();
    auto r = input(op->getOperand(1 - i), op);
    if (!r)
      return r.takeError();
    if (buffers[*r].width != uint32_t(width))
      return opError(op, "operand and result widths differ");
    s.in[1] = *r;
    s.op = uint32_t(fmt::OpCode::LinearAdd);
  } else if (norm) {
    auto g = normWeight(norm, int64_t(buffers[s.in[0]].width));
    if (!g)
      return g.takeError();
    s.op = uint32_t(fmt::OpCode::NormLinearSwiGLU);
    s.i[0] = int32_t(*g);
    s.f[0] = float(norm.getEpsilon().convertToDouble());
    config.intermediate = width;
  } else {
    s.op = uint32_t(fmt::OpCode::LinearSwiGLU);
    config.intermediate = width;
  }
  return Error::success();
}

Error Writer::addStep(Operation *op) {
  fmt::StepRecord s{};
  s.kernel = fmt::kNone;
  s.in[0] = s.in[1] = s.in[2] = fmt::kNone;
  s.tensor[0] = s.tensor[1] = fmt::kNone;
  Value result = op->getResult(0);
  auto width = widthOf(result, op);
  if (!width)
    return width.takeError();
  auto inputs = [&](ValueRange vals) -> Error {
    for (auto [i, v] : llvm::enumerate(vals)) {
      auto b = input(v, op);
      if (!b)
        return b.takeError();
      if (buffers[*b].width != uint32_t(*width) &&
          !isa<sq::LinearOp, sq::QuantizedLinearOp, sq::AttentionOp>(op))
        return opError(op, "operand and result widths differ");
      s.in[i] = *b;
    }
    return Error::success();
  };

  auto fused = fusedLinears.find(op);
  if (fused != fusedLinears.end()) {
    if (Error e = addFusedStep(op, fused->second, *width, s))
      return e;
  } else if (auto emb = dyn_cast<sq::EmbeddingOp>(op)) {
    if (emb.getIds() != ids)
      return opError(op, "embedding ids must be the model's input ids");
    auto tt = dyn_cast<RankedTensorType>(emb.getTable().getType());
    if (!tt || tt.getRank() != 2 || !tt.hasStaticShape())
      return opError(op, "the table must be a static 2-D tensor");
    if (tt.getDimSize(1) != *width)
      return opError(op, "table width differs from the result's");
    auto t = denseOperand(emb.getTable(), op, "table", tt.getShape());
    if (!t)
      return t.takeError();
    s.op = uint32_t(fmt::OpCode::Embedding);
    s.tensor[0] = *t;
    config.vocab = tt.getDimSize(0);
    config.hidden = tt.getDimSize(1);
  } else if (auto norm = dyn_cast<sq::RMSNormOp>(op)) {
    if (Error e = inputs(norm.getInput()))
      return e;
    auto t = denseOperand(norm.getWeight(), op, "weight", {*width});
    if (!t)
      return t.takeError();
    s.op = uint32_t(fmt::OpCode::RMSNorm);
    s.tensor[0] = *t;
    s.f[0] = float(norm.getEpsilon().convertToDouble());
  } else if (fusedQkv.count(op)) {
    if (Error e = addQkvStep(op, fusedNorm.lookup(op), s))
      return e;
  } else if (sq::RMSNormOp norm = fusedNorm.lookup(op)) {
    // A linear computing the RMSNorm of its input (no bias: the CUDA
    // GEMV has none).
    auto xb = input(norm.getInput(), op);
    if (!xb)
      return xb.takeError();
    s.in[0] = *xb;
    int64_t inF = 0, outF = 0;
    auto t = linearWeight(op, op->getOperand(1), inF, outF);
    if (!t)
      return t.takeError();
    if (buffers[s.in[0]].width != uint64_t(inF) || outF != *width)
      return opError(op, "weight [" + Twine(outF) + ", " + Twine(inF) +
                             "] does not match the input/result widths");
    auto g = normWeight(norm, inF);
    if (!g)
      return g.takeError();
    s.op = uint32_t(fmt::OpCode::NormLinear);
    s.tensor[0] = *t;
    s.tensor[1] = *g;
    s.f[0] = float(norm.getEpsilon().convertToDouble());
  } else if (isa<sq::LinearOp, sq::QuantizedLinearOp>(op)) {
    Value x = op->getOperand(0), w = op->getOperand(1);
    Value bias = op->getNumOperands() > 2 ? op->getOperand(2) : Value();
    if (Error e = inputs(x))
      return e;
    int64_t inF = 0, outF = 0;
    auto t = linearWeight(op, w, inF, outF);
    if (!t)
      return t.takeError();
    if (buffers[s.in[0]].width != uint64_t(inF) || outF != *width)
      return opError(op, "weight [" + Twine(outF) + ", " + Twine(inF) +
                             "] does not match the input/result widths");
    s.op = uint32_t(fmt::OpCode::Linear);
    s.tensor[0] = *t;
    if (bias) {
      auto b = denseOperand(bias, op, "bias", {outF});
      if (!b)
        return b.takeError();
      s.tensor[1] = *b;
    }
  } else if (auto rot = dyn_cast<sq::RotaryOp>(op)) {
    if (Error e = inputs(rot.getInput()))
      return e;
    int64_t heads = rot.getNumHeads(), d = rot.getHeadDim();
    if (heads <= 0 || d <= 0 || d % 2 || heads * d != *width)
      return opError(op, "num_heads * head_dim must equal the width and "
                         "head_dim must be even");
    auto inv = rotaryFreqs(rot);
    if (!inv)
      return inv.takeError();
    s.op = uint32_t(fmt::OpCode::Rotary);
    s.i[0] = heads;
    s.i[1] = d;
    s.tensor[0] = addF32(*inv, tensorName(Value(), op, "inv_freq"));
  } else if (auto att = dyn_cast<sq::AttentionOp>(op)) {
    // With its rotaries fused the step reads q and k before rotation.
    auto roped = fusedRotary.find(op);
    if (roped != fusedRotary.end()) {
      if (Error e = inputs({roped->second.first.getInput(),
                            roped->second.second.getInput(), att.getValue()}))
        return e;
    } else if (Error e =
                   inputs({att.getQuery(), att.getKey(), att.getValue()})) {
      return e;
    }
    if (!att.getCausal())
      return opError(op, "only causal attention is compiled");
    int64_t h = att.getNumHeads(), kv = att.getNumKvHeads(),
            d = att.getHeadDim();
    if (h <= 0 || kv <= 0 || d <= 0 || h % kv || h * d != *width ||
        buffers[s.in[0]].width != uint64_t(h * d) ||
        buffers[s.in[1]].width != uint64_t(kv * d) ||
        buffers[s.in[2]].width != uint64_t(kv * d))
      return opError(op, "inconsistent head counts and widths");
    if (kvSlots && kvWidth != uint32_t(kv * d))
      return opError(op, "attention layers with different key widths");
    kvWidth = kv * d;
    s.op = uint32_t(fmt::OpCode::Attention);
    if (roped != fusedRotary.end()) {
      auto inv = rotaryFreqs(roped->second.first);
      if (!inv)
        return inv.takeError();
      if (int64_t(inv->size()) != d / 2)
        return opError(op, "the fused rotary's head dim is not the "
                           "attention's");
      s.op = uint32_t(fmt::OpCode::RopeAttention);
      s.tensor[0] =
          addF32(*inv, tensorName(Value(), roped->second.first, "inv_freq"));
    }
    s.i[0] = h;
    s.i[1] = kv;
    s.i[2] = d;
    s.i[3] = kvSlots++;
    s.f[0] = float(att.getScale().convertToDouble());
    if (config.layers == 0) {
      config.heads = h;
      config.kvHeads = kv;
      config.headDim = d;
    }
    ++config.layers;
  } else if (auto sw = dyn_cast<sq::SwiGLUOp>(op)) {
    if (Error e = inputs({sw.getGate(), sw.getUp()}))
      return e;
    s.op = uint32_t(fmt::OpCode::SwiGLU);
    config.intermediate = *width;
  } else if (auto node = dyn_cast<s10::onnx::NodeOp>(op)) {
    if (node.getOpType() != "Add" || op->getNumOperands() != 2)
      return opError(op, "ONNX operation left in the model: only raised "
                         "models compile (run raise-onnx-to-squeeze)");
    if (op->getOperand(0).getType() != result.getType() ||
        op->getOperand(1).getType() != result.getType())
      return opError(op, "only same-shape additions are compiled");
    if (Error e = inputs(op->getOperands()))
      return e;
    s.op = uint32_t(fmt::OpCode::Add);
  } else {
    return opError(op, "operation not supported by the compiled plan");
  }

  // A cpu Linear names the kernel that decodes its packed rows for
  // prefill, or none.
  if (!opts.cuda && s.op == uint32_t(fmt::OpCode::Linear)) {
    s.reserved = fmt::kNone;
    auto decode = op->getAttrOfType<StringAttr>("s10.decode_kernel");
    if (decode && !opts.codeObject.empty() &&
        tensors[s.tensor[0]].dtype == uint32_t(fmt::DType::Packed)) {
      auto index = addKernel(decode.getValue(), fmt::KernelAbi::Decode);
      if (!index)
        return opError(op, toString(index.takeError()));
      s.reserved = *index;
    }
  }

  auto k = op->getAttrOfType<StringAttr>("s10.kernel");
  if (opts.cuda && !k)
    return opError(op, "no CUDA kernel for this operation (see the "
                       "warnings of kernel generation)");
  if (k && !opts.codeObject.empty()) {
    auto abi =
        opts.cuda ? cudaAbi(fmt::OpCode(s.op)) : cpuAbi(fmt::OpCode(s.op));
    if (!abi)
      return opError(op, "no kernel ABI for this operation");
    auto index = addKernel(k.getValue(), *abi);
    if (!index)
      return opError(op, toString(index.takeError()));
    s.kernel = *index;
    if (opts.cuda && (s.op == uint32_t(fmt::OpCode::Attention) ||
                      s.op == uint32_t(fmt::OpCode::RopeAttention))) {
      auto append = op->getAttrOfType<StringAttr>("s10.kv_append");
      if (!append)
        return opError(op, "no CUDA kernel appends this attention's keys "
                           "and values");
      auto at = addKernel(append.getValue(),
                          s.op == uint32_t(fmt::OpCode::RopeAttention)
                              ? fmt::KernelAbi::GpuRopeAppend
                              : fmt::KernelAbi::GpuKvAppend);
      if (!at)
        return opError(op, toString(at.takeError()));
      s.reserved = *at;
    }
    // A cuda GEMV names its prefill GEMM, or none.
    if (opts.cuda && fmt::isGemvOp(fmt::OpCode(s.op))) {
      s.reserved = fmt::kNone;
      if (auto gemm = op->getAttrOfType<StringAttr>("s10.gemm_kernel")) {
        auto at = addKernel(gemm.getValue(), fmt::KernelAbi::GpuGemm);
        if (!at)
          return opError(op, toString(at.takeError()));
        s.reserved = *at;
      }
    }
  }

  // The result gets a buffer before the operands die, so a step never
  // writes a buffer it reads.
  s.out = allocate(*width);
  bufOf[result] = s.out;
  for (Value v : effectiveOperands(op)) {
    auto it = bufOf.find(v);
    if (it != bufOf.end() && lastUse.lookup(v) == stepIndex) {
      freeByWidth[buffers[it->second].width].push_back(it->second);
      bufOf.erase(it);
    }
  }
  std::string name;
  raw_string_ostream os(name);
  os << fmt::opName(s.op);
  Operation *named = fused != fusedLinears.end() ? fused->second[0] : op;
  if (auto role = named->getAttrOfType<sq::RoleAttr>("role"))
    os << " (block " << role.getBlock() << ", "
       << sq::stringifyLinearKind(role.getKind()) << ")";
  s.nameOffset = addString(name);
  steps.push_back(s);
  return Error::success();
}

/// The GEMM micro-kernels squeeze-generate-kernels named in the module's
/// `s10.gemm_kernels`, as a whole table.
Error Writer::addGemmKernels() {
  auto table = module->getAttrOfType<DictionaryAttr>("s10.gemm_kernels");
  if (!table)
    return Error::success();
  auto fail = [](const Twine &why) {
    return createStringError(inconvertibleErrorCode(),
                             "s10.gemm_kernels: " + why);
  };
  auto get = [&](StringRef key) -> int64_t {
    auto a = table.getAs<IntegerAttr>(key);
    return a ? a.getInt() : 0;
  };
  int64_t mr = get("mr"), nv = get("nv"), vec = get("vec"), kc = get("kc");
  auto names = table.getAs<ArrayAttr>("kernels");
  if (mr < 1 || mr > 8 || nv < 1 || nv > 4 ||
      (vec != 4 && vec != 8 && vec != 16) || kc < 1 || kc > (1 << 16))
    return fail("a table of " + Twine(mr) + " x " + Twine(nv) + " vectors of " +
                Twine(vec) + " and k blocks of " + Twine(kc) +
                " is out of range");
  if (!names || int64_t(names.size()) != mr * nv * 2)
    return fail("needs " + Twine(mr * nv * 2) + " kernel names");
  for (int64_t r = 1; r <= mr; ++r)
    for (int64_t v = 1; v <= nv; ++v)
      for (int64_t masked = 0; masked < 2; ++masked) {
        auto name =
            dyn_cast<StringAttr>(names[((r - 1) * nv + v - 1) * 2 + masked]);
        if (!name)
          return fail("kernel names must be strings");
        fmt::GemmBlockShape shape{uint32_t(r),      uint32_t(v),  uint32_t(vec),
                                  uint32_t(masked), uint32_t(mr), uint32_t(nv),
                                  uint32_t(kc)};
        uint32_t words[2];
        fmt::gemmBlockWords(shape, words);
        auto index =
            addKernel(name.getValue(), fmt::KernelAbi::GemmBlock, words);
        if (!index)
          return index.takeError();
      }
  return Error::success();
}

bool isConstant(Operation *op) {
  return isa<sq::WeightOp, sq::PackedWeightOp, sq::QuantizedWeightOp,
             arith::ConstantOp>(op);
}

Error Writer::run(std::string &bytes, s10::target::ArtifactSummary &summary) {
  auto func = s10::runtime::findModelFunction(module);
  if (!func)
    return func.takeError();
  if (func->getBody().getBlocks().size() != 1)
    return createStringError(inconvertibleErrorCode(),
                             "the model function must have a single block");
  Block &body = func->getBody().front();
  if (body.getNumArguments() != 1 ||
      !isa<RankedTensorType>(body.getArgument(0).getType()) ||
      !cast<RankedTensorType>(body.getArgument(0).getType())
           .getElementType()
           .isInteger())
    return createStringError(inconvertibleErrorCode(),
                             "the model function must take one argument, "
                             "the token ids");
  ids = body.getArgument(0);

  // Liveness: the step index of each activation's last use.
  SmallVector<Operation *> stepOps;
  Operation *ret = body.getTerminator();
  for (Operation &op : body.without_terminator())
    if (!isConstant(&op))
      stepOps.push_back(&op);
  // A fused step runs where its Add or SwiGLU stands and reads its
  // linears' inputs there.
  for (Operation *op : stepOps) {
    auto linears = fusedLinearsOf(op);
    if (!linears)
      return linears.takeError();
    if (linears->empty())
      continue;
    for (Operation *lin : *linears)
      if (!absorbed.insert(lin).second)
        return opError(lin, "a linear fused into two ops");
    fusedLinears[op] = std::move(*linears);
  }
  // Attentions that rotate q and k in their KV append.
  for (Operation *op : stepOps) {
    auto att = dyn_cast<sq::AttentionOp>(op);
    if (!att || !op->hasAttr("s10.fused_rotary"))
      continue;
    if (!opts.cuda)
      return opError(op, "fused rotaries run only in cuda artifacts");
    auto rq = att.getQuery().getDefiningOp<sq::RotaryOp>();
    auto rk = att.getKey().getDefiningOp<sq::RotaryOp>();
    if (!rq || !rk || rq == rk || !att.getQuery().hasOneUse() ||
        !att.getKey().hasOneUse() || rq.getHeadDim() != att.getHeadDim() ||
        rk.getHeadDim() != att.getHeadDim() || rq.getTheta() != rk.getTheta() ||
        rq->getAttr("inv_freq") != rk->getAttr("inv_freq"))
      return opError(op, "s10.fused_rotary needs q and k from rotaries of "
                         "the same angles that only this attention reads");
    absorbed.insert(rq);
    absorbed.insert(rk);
    fusedRotary[op] = {rq, rk};
  }
  // GEMVs that compute their input's RMSNorm; a norm all of whose users
  // do (directly or through the SwiGLU that absorbed them) has no step.
  for (Operation *op : stepOps) {
    if (absorbed.contains(op))
      continue;
    auto norm = fusedNormOf(op);
    if (!norm)
      return norm.takeError();
    if (*norm)
      fusedNorm[op] = *norm;
  }
  // q linears that run k and v in their launch: those compute q's norm
  // too and have no steps of their own.
  for (Operation *op : stepOps) {
    if (!op->hasAttr("s10.fused_qkv") || absorbed.contains(op))
      continue;
    auto kv = fusedQkvOf(op);
    if (!kv)
      return kv.takeError();
    for (Operation *lin : {kv->first, kv->second}) {
      if (!absorbed.insert(lin).second || fusedNorm.count(lin))
        return opError(lin, "a linear fused into two ops");
      fusedNorm[lin] = fusedNorm.lookup(op);
    }
    fusedQkv[op] = *kv;
  }
  for (Operation *op : stepOps) {
    auto norm = dyn_cast<sq::RMSNormOp>(op);
    if (!norm || norm->use_empty())
      continue;
    bool inside = llvm::all_of(norm->getUsers(), [&](Operation *u) {
      for (auto &[by, lins] : fusedLinears)
        if (llvm::is_contained(lins, u))
          u = by;
      return fusedNorm.lookup(u) == norm;
    });
    if (inside)
      absorbed.insert(op);
  }
  // Each step reads its values where it stands; absorbed ops are read
  // through the steps that absorbed them.
  for (auto [i, op] : llvm::enumerate(stepOps))
    if (!absorbed.contains(op))
      for (Value v : effectiveOperands(op))
        lastUse[v] = std::max(lastUse.lookup(v), size_t(i));
  for (Value v : ret->getOperands())
    lastUse[v] = stepOps.size();

  for (Operation *op : stepOps) {
    if (absorbed.contains(op)) {
      ++stepIndex;
      continue;
    }
    if (op->getNumResults() != 1)
      return opError(op, "operation not supported by the compiled plan");
    if (Error e = addStep(op))
      return e;
    ++stepIndex;
  }
  if (!opts.cuda && !opts.codeObject.empty())
    if (Error e = addGemmKernels())
      return e;
  if (ret->getNumOperands() < 1)
    return createStringError(inconvertibleErrorCode(),
                             "the model function returns nothing");
  auto logits = bufOf.find(ret->getOperand(0));
  if (logits == bufOf.end())
    return createStringError(inconvertibleErrorCode(),
                             "the model's first result is not computed by a "
                             "compiled step");
  if (config.vocab == 0 || config.layers == 0)
    return createStringError(inconvertibleErrorCode(),
                             "no embedding or attention found: not a "
                             "decoder model");
  if (buffers[logits->second].width != config.vocab)
    return createStringError(
        inconvertibleErrorCode(),
        "the first result has " + Twine(buffers[logits->second].width) +
            " features, the vocabulary " + Twine(config.vocab));
  config.maxPositions = s10::runtime::getMaxPositions(module);
  config.bosId = opts.bosId >= 0 ? uint32_t(opts.bosId) : fmt::kNone;
  config.eosId = opts.eosId >= 0 ? uint32_t(opts.eosId) : fmt::kNone;
  std::string name = opts.name;
  if (name.empty())
    name = sys::path::stem(opts.modulePath).str();
  config.nameOffset = addString(name);
  config.weightBytes = weights.size();

  fmt::PlanHeader ph{};
  ph.bufferCount = buffers.size();
  ph.stepCount = steps.size();
  ph.logitsBuffer = logits->second;
  ph.kvSlots = kvSlots;
  ph.kvWidth = kvWidth;
  std::string plan;
  append(plan, ph);
  for (auto &b : buffers)
    append(plan, b);
  for (auto &s : steps)
    append(plan, s);

  std::string kernelSec;
  if (!opts.codeObject.empty()) {
    fmt::KernelsHeader kh{};
    kh.count = kernels.size();
    kh.reserved = opts.cuda ? opts.cudaChip : 0; // the cubin's sm_XY
    kh.cpuFeatures = opts.cuda ? 0 : opts.cpuFeatures;
    kh.codeOffset =
        alignTo(sizeof(kh) + kernels.size() * sizeof(fmt::KernelRecord), 64);
    kh.codeSize = opts.codeObject.size();
    append(kernelSec, kh);
    for (auto &k : kernels)
      append(kernelSec, k);
    kernelSec.resize(kh.codeOffset, '\0');
    kernelSec += opts.codeObject;
  }

  std::string tensorSec;
  for (auto &t : tensors)
    append(tensorSec, t);
  std::string configSec;
  append(configSec, config);

  struct Sec {
    fmt::SectionKind kind;
    const std::string *data;
  };
  SmallVector<Sec> secs = {{fmt::SectionKind::Config, &configSec},
                           {fmt::SectionKind::Strings, &strings},
                           {fmt::SectionKind::Tensors, &tensorSec},
                           {fmt::SectionKind::Plan, &plan}};
  if (!kernelSec.empty())
    secs.push_back({fmt::SectionKind::Kernels, &kernelSec});
  secs.push_back({fmt::SectionKind::Weights, &weights});

  bytes.clear();
  bytes.resize(sizeof(fmt::Header) + secs.size() * sizeof(fmt::SectionRecord),
               '\0');
  std::vector<fmt::SectionRecord> table;
  for (const Sec &s : secs) {
    bytes.resize(alignTo(bytes.size(), fmt::sectionAlign(s.kind)), '\0');
    fmt::SectionRecord rec{};
    rec.kind = uint32_t(s.kind);
    rec.offset = bytes.size();
    rec.size = s.data->size();
    table.push_back(rec);
    bytes += *s.data;
  }
  std::memcpy(&bytes[sizeof(fmt::Header)], table.data(),
              table.size() * sizeof(fmt::SectionRecord));

  fmt::Header h =
      fmt::makeHeader(opts.cuda ? fmt::Target::Cuda : fmt::Target::CpuX86_64,
                      secs.size(), bytes.size(),
                      fmt::checksum(bytes.data() + sizeof(fmt::Header),
                                    bytes.size() - sizeof(fmt::Header)));
  std::memcpy(&bytes[0], &h, sizeof(h));

  summary.fileBytes = bytes.size();
  summary.weightBytes = weights.size();
  summary.packedBytes = packedBytes;
  summary.codeBytes = opts.codeObject.size();
  summary.packedWeights = packedWeights;
  summary.denseWeights = denseWeights;
  summary.steps = steps.size();
  summary.buffers = buffers.size();
  summary.tensors = tensors.size();
  summary.compiledSteps = 0;
  llvm::DenseSet<uint32_t> called;
  for (auto &s : steps) {
    summary.compiledSteps += s.kernel != fmt::kNone;
    if (s.kernel != fmt::kNone)
      called.insert(s.kernel);
  }
  summary.kernels = called.size();
  for (auto &k : kernels) {
    summary.decodeKernels += k.abi == uint32_t(fmt::KernelAbi::Decode);
    summary.gemmKernels += k.abi == uint32_t(fmt::KernelAbi::GemmBlock);
  }
  summary.arenaFloatsPerToken = 0;
  for (auto &b : buffers)
    summary.arenaFloatsPerToken += b.width;
  return Error::success();
}

} // namespace

Error s10::target::writeArtifact(ModuleOp module, const ArtifactOptions &opts,
                                 std::string &bytes, ArtifactSummary &summary) {
  Writer w(module, opts);
  return w.run(bytes, summary);
}

uint64_t s10::target::cpuFeatureBits(llvm::ArrayRef<std::string> features) {
  uint64_t bits = 0;
  for (unsigned i = 0; i < fmt::kCpuFeatureCount; ++i)
    if (llvm::is_contained(features, fmt::kCpuFeatures[i].name))
      bits |= uint64_t(1) << i;
  return bits;
}

std::vector<std::string> s10::target::cpuFeatureNames(uint64_t bits) {
  std::vector<std::string> names;
  for (unsigned i = 0; i < fmt::kCpuFeatureCount; ++i)
    if (bits >> i & 1)
      names.push_back(fmt::kCpuFeatures[i].name);
  return names;
}
