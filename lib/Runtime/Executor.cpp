//===- Executor.cpp - CPU executor for s10 modules ------------------------===//
//
// The function is compiled once into a list of steps over numbered value
// slots. Each step knows which operands it is the last user of: those are
// moved into the kernel (which may then reuse their buffers) and every slot
// is dropped right after its last use, so peak memory follows the live set.
// Constants and weights are materialized on first use and cached.
//
//===----------------------------------------------------------------------===//

#include "s10/Runtime/Executor.h"

#include "OnnxKernels.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"
#include "s10/Quant/PackedKernels.h"
#include "s10/Runtime/Kernels.h"
#include "s10/Runtime/ThreadPool.h"
#include "s10/Runtime/WeightStore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <set>

using namespace llvm;
using namespace mlir;
using namespace s10::runtime;
namespace sq = s10::squeeze;

std::optional<FloatMode> s10::runtime::parseFloatMode(StringRef name) {
  if (name == "f32")
    return FloatMode::F32;
  if (name == "exact")
    return FloatMode::Exact;
  return std::nullopt;
}

Expected<func::FuncOp> s10::runtime::findModelFunction(ModuleOp module) {
  if (auto main = module.lookupSymbol<func::FuncOp>("main"))
    if (!main.isDeclaration())
      return main;
  func::FuncOp only;
  int count = 0;
  for (auto f : module.getOps<func::FuncOp>())
    if (!f.isDeclaration()) {
      only = f;
      ++count;
    }
  if (count == 1)
    return only;
  return makeError(count == 0 ? "the module has no function to run"
                              : "the module has several functions and none is "
                                "named 'main'");
}

std::string s10::runtime::describeOp(Operation *op) {
  std::string s;
  raw_string_ostream os(s);
  if (auto node = dyn_cast<s10::onnx::NodeOp>(op)) {
    os << "onnx.node '" << node.getDisplayName() << "' (" << node.getOpType()
       << ")";
    return s;
  }
  os << op->getName().getStringRef();
  if (auto role = op->getAttrOfType<sq::RoleAttr>("role"))
    os << " (block " << role.getBlock() << ", "
       << sq::stringifyLinearKind(role.getKind()) << ")";
  if (auto w = dyn_cast<sq::WeightOp>(op))
    os << " \"" << w.getName() << "\"";
  return s;
}

namespace {

enum class Kind {
  OnnxNode,
  OnnxNone,
  Constant,
  Weight,
  QWeight,
  Linear,
  QLinear,
  Embedding,
  RMSNorm,
  Rotary,
  Attention,
  SwiGLU,
  Identity,
  Return,
  Unsupported,
};

struct Step {
  Operation *op = nullptr;
  Kind kind = Kind::Unsupported;
  KernelFn kernel = nullptr;
  SmallVector<int, 4> operands;
  /// Per operand: this step is its last use (move it in).
  SmallVector<bool, 4> moveIn;
  SmallVector<int, 2> results;
  /// Slots to drop once the step is done.
  SmallVector<int, 4> release;
  /// Constant cache / KV cache index.
  int index = -1;
};

Kind classify(Operation *op, const KernelTable &table, KernelFn &kernel) {
  if (auto node = dyn_cast<s10::onnx::NodeOp>(op)) {
    StringRef domain = node.getDomain() ? *node.getDomain() : "";
    if (!domain.empty() && domain != "ai.onnx")
      return Kind::Unsupported;
    auto it = table.find(node.getOpType());
    if (it == table.end())
      return Kind::Unsupported;
    kernel = it->second;
    return Kind::OnnxNode;
  }
  if (isa<s10::onnx::NoneOp>(op))
    return Kind::OnnxNone;
  if (isa<arith::ConstantOp>(op))
    return isa<ElementsAttr>(cast<arith::ConstantOp>(op).getValue())
               ? Kind::Constant
               : Kind::Unsupported;
  if (isa<sq::WeightOp>(op))
    return Kind::Weight;
  if (isa<sq::QuantizedWeightOp, sq::PackedWeightOp>(op))
    return Kind::QWeight;
  if (isa<sq::LinearOp>(op))
    return Kind::Linear;
  if (isa<sq::QuantizedLinearOp>(op))
    return Kind::QLinear;
  if (isa<sq::EmbeddingOp>(op))
    return Kind::Embedding;
  if (isa<sq::RMSNormOp>(op))
    return Kind::RMSNorm;
  if (isa<sq::RotaryOp>(op))
    return Kind::Rotary;
  if (isa<sq::AttentionOp>(op))
    return Kind::Attention;
  if (isa<sq::SwiGLUOp>(op))
    return Kind::SwiGLU;
  if (isa<tensor::CastOp>(op))
    return Kind::Identity;
  if (isa<func::ReturnOp>(op))
    return Kind::Return;
  return Kind::Unsupported;
}

/// The dtype a squeeze op's result has: f32 in f32 mode, else the static
/// element type (computed in f32 and rounded).
DType resultDType(Operation *op, FloatMode mode) {
  if (mode == FloatMode::F32)
    return DType::F32;
  if (auto st = dyn_cast<ShapedType>(op->getResult(0).getType())) {
    if (auto dt = dtypeFromMlirType(st.getElementType()))
      return *dt;
    else
      consumeError(dt.takeError());
  }
  return DType::F32;
}

struct KVCache {
  int64_t batch = 0, rowLen = 0, len = 0;
  std::vector<std::vector<float>> k, v; // per batch: [len, rowLen]
};

} // namespace

class Executor::Impl {
public:
  ModuleOp module;
  func::FuncOp func;
  ExecOptions opts;
  std::shared_ptr<WeightStore> weights;
  std::unique_ptr<ThreadPool> pool;
  std::vector<Step> steps;
  int numSlots = 0;
  unsigned numArgs = 0, numResults = 0;
  std::vector<Tensor> constCache;
  std::vector<KVCache> kvCaches;
  // Validated views of packed weights, by their packed_weight op.
  llvm::DenseMap<Operation *, std::unique_ptr<quant::layout::PackedMatrix>>
      packed;
  // Rotary tables per rotary op (ops of the same model share nothing but
  // are few); grown on demand.
  std::map<std::pair<Operation *, int64_t>, std::unique_ptr<RotaryTable>>
      rotary;
  std::function<void(Operation *, const Tensor &)> observer;
  // Decode state.
  bool useCache = false;
  int64_t cachedLen = 0;
  Tensor history; // token history for models without squeeze.attention
  // ONNX exports take more than the tokens: an attention mask, position ids
  // and, in with-past graphs, the past keys/values (Optimum's names). When
  // given the tokens alone, the executor makes these up for an unpadded
  // sequence, and for with-past graphs feeds each `present.*` result back
  // as the next step's past: the graph's own KV cache.
  enum class Aux { None, Mask, Positions, Past };
  std::vector<Aux> aux;
  std::vector<int> presentOf; // per argument: its present result, or -1
  std::vector<Tensor> past;   // per argument: the cached past
  bool onnxPast = false;

  void classifyInputs();
  Expected<std::vector<Tensor>> bindInputs(ArrayRef<Tensor> inputs);

  Error build();
  Expected<std::vector<Tensor>> execute(ArrayRef<Tensor> inputs);
  Error runStep(Step &step, MutableArrayRef<Tensor> in,
                SmallVectorImpl<Tensor> &out);
  Expected<Tensor> prepareInput(unsigned i, const Tensor &t);
  Error runSqueeze(Step &step, MutableArrayRef<Tensor> in,
                   SmallVectorImpl<Tensor> &out);
  Expected<const quant::layout::PackedMatrix *>
  packedView(sq::PackedWeightOp op);
};

Error Executor::Impl::build() {
  const KernelTable &table = getKernelTable();
  llvm::DenseMap<Value, int> slotOf;
  Block &body = func.getBody().front();
  numArgs = body.getNumArguments();
  classifyInputs();
  for (BlockArgument arg : body.getArguments())
    slotOf[arg] = numSlots++;
  for (Operation &op : body) {
    Step step;
    step.op = &op;
    step.kind = classify(&op, table, step.kernel);
    if (op.getNumRegions() != 0)
      step.kind = Kind::Unsupported;
    for (Value v : op.getOperands()) {
      auto it = slotOf.find(v);
      if (it == slotOf.end())
        return makeError(describeOp(&op) +
                         ": operand not defined earlier in the function");
      step.operands.push_back(it->second);
    }
    for (Value r : op.getResults()) {
      slotOf[r] = numSlots;
      step.results.push_back(numSlots++);
    }
    if (step.kind == Kind::Constant || step.kind == Kind::Weight ||
        step.kind == Kind::QWeight || step.kind == Kind::OnnxNone)
      step.index = constCache.size(), constCache.emplace_back();
    if (step.kind == Kind::Attention)
      step.index = kvCaches.size(), kvCaches.emplace_back();
    if (step.kind == Kind::Return)
      numResults = op.getNumOperands();
    steps.push_back(std::move(step));
  }
  // Liveness: the last step reading each slot.
  std::vector<int> lastUse(numSlots, -1);
  for (auto [i, step] : llvm::enumerate(steps))
    for (int s : step.operands)
      lastUse[s] = i;
  for (auto [i, step] : llvm::enumerate(steps)) {
    step.moveIn.assign(step.operands.size(), false);
    for (size_t j = 0; j < step.operands.size(); ++j) {
      int s = step.operands[j];
      if (lastUse[s] != int(i))
        continue;
      bool laterInStep = false;
      for (size_t k = j + 1; k < step.operands.size(); ++k)
        laterInStep |= step.operands[k] == s;
      if (!laterInStep) {
        step.moveIn[j] = true;
        step.release.push_back(s);
      }
    }
    for (int r : step.results)
      if (lastUse[r] < 0)
        step.release.push_back(r);
  }
  return Error::success();
}

void Executor::Impl::classifyInputs() {
  aux.assign(numArgs, Aux::None);
  presentOf.assign(numArgs, -1);
  past.assign(numArgs, Tensor());
  std::map<std::string, int> resultByName;
  for (unsigned r = 0; r < func.getNumResults(); ++r)
    if (auto n = func.getResultAttrOfType<StringAttr>(r, "onnx.name"))
      resultByName[n.str()] = r;
  bool allPresent = true;
  for (unsigned i = 1; i < numArgs; ++i) {
    auto n = func.getArgAttrOfType<StringAttr>(i, "onnx.name");
    StringRef name = n ? n.getValue() : "";
    if (name == "attention_mask") {
      aux[i] = Aux::Mask;
    } else if (name == "position_ids") {
      aux[i] = Aux::Positions;
    } else if (name.consume_front("past_key_values.")) {
      auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
      if (!type || type.getRank() != 4)
        continue;
      aux[i] = Aux::Past;
      auto it = resultByName.find(("present." + name).str());
      presentOf[i] = it == resultByName.end() ? -1 : it->second;
      allPresent &= presentOf[i] >= 0;
      onnxPast = true;
    }
  }
  onnxPast &= allPresent;
}

Expected<std::vector<Tensor>>
Executor::Impl::bindInputs(ArrayRef<Tensor> inputs) {
  std::vector<Tensor> all(inputs.begin(), inputs.end());
  if (inputs.size() != 1 || numArgs <= 1 ||
      llvm::any_of(ArrayRef(aux).drop_front(),
                   [](Aux a) { return a == Aux::None; }))
    return all;
  const Tensor &tokens = inputs[0];
  if (tokens.rank() != 2)
    return makeError("the tokens must be shaped [batch, seq], got " +
                     tokens.describe());
  int64_t b = tokens.dim(0), s = tokens.dim(1);
  int64_t pastLen = useCache && onnxPast ? cachedLen : 0;
  all.resize(numArgs);
  for (unsigned i = 1; i < numArgs; ++i) {
    switch (aux[i]) {
    case Aux::Mask:
      all[i] = Tensor::i64({b, pastLen + s},
                           std::vector<int64_t>(b * (pastLen + s), 1));
      break;
    case Aux::Positions: {
      std::vector<int64_t> pos(b * s);
      for (int64_t j = 0; j < b * s; ++j)
        pos[j] = pastLen + j % s;
      all[i] = Tensor::i64({b, s}, pos);
      break;
    }
    case Aux::Past: {
      if (useCache && onnxPast && !past[i].isNull()) {
        all[i] = past[i];
        break;
      }
      auto type = cast<RankedTensorType>(func.getArgument(i).getType());
      Shape shape{b, type.getDimSize(1), 0, type.getDimSize(3)};
      if (ShapedType::isDynamic(shape[1]) || ShapedType::isDynamic(shape[3]))
        return makeError("input " + Twine(i) +
                         " (past keys/values): its heads and head size must "
                         "be static to start from an empty past");
      all[i] = Tensor::empty(DType::F32, shape);
      break;
    }
    case Aux::None:
      break;
    }
  }
  return all;
}

Expected<Tensor> Executor::Impl::prepareInput(unsigned i, const Tensor &t) {
  Type type = func.getArgument(i).getType();
  if (t.isNull())
    return makeError("input " + Twine(i) + " is missing");
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped)
    return t;
  if (shaped.hasRank()) {
    if (shaped.getRank() != t.rank())
      return makeError("input " + Twine(i) + " has shape " +
                       shapeStr(t.shape()) + ", the function expects rank " +
                       Twine(shaped.getRank()));
    for (int64_t d = 0; d < t.rank(); ++d)
      if (!ShapedType::isDynamic(shaped.getDimSize(d)) &&
          shaped.getDimSize(d) != t.dim(d))
        return makeError("input " + Twine(i) + " has shape " +
                         shapeStr(t.shape()) + ", dimension " + Twine(d) +
                         " must be " + Twine(shaped.getDimSize(d)));
  }
  auto want = dtypeFromMlirType(shaped.getElementType());
  if (!want)
    return want.takeError();
  DType target = *want;
  if (opts.floatMode == FloatMode::F32 && isFloat(target))
    target = DType::F32;
  if (t.dtype() == target)
    return t;
  bool compatible = (isFloat(t.dtype()) && isFloat(target)) ||
                    (isInteger(t.dtype()) && isInteger(target));
  if (!compatible)
    return makeError("input " + Twine(i) + " is " + dtypeName(t.dtype()) +
                     ", the function expects " + dtypeName(*want));
  return t.castTo(target);
}

Expected<std::vector<Tensor>> Executor::Impl::execute(ArrayRef<Tensor> given) {
  auto bound = bindInputs(given);
  if (!bound)
    return bound.takeError();
  ArrayRef<Tensor> inputs = *bound;
  if (inputs.size() != numArgs)
    return makeError("the function takes " + Twine(numArgs) + " inputs, got " +
                     Twine(inputs.size()));
  std::vector<Tensor> slots(numSlots);
  for (unsigned i = 0; i < numArgs; ++i) {
    auto t = prepareInput(i, inputs[i]);
    if (!t)
      return t.takeError();
    slots[i] = std::move(*t);
  }
  std::vector<Tensor> results;
  SmallVector<Tensor, 4> in;
  SmallVector<Tensor, 4> out;
  for (Step &step : steps) {
    in.clear();
    out.clear();
    for (size_t j = 0; j < step.operands.size(); ++j) {
      Tensor &slot = slots[step.operands[j]];
      in.push_back(step.moveIn[j] ? std::move(slot) : slot);
    }
    if (step.kind == Kind::Return) {
      for (Tensor &t : in)
        results.push_back(std::move(t));
      if (useCache && onnxPast)
        for (unsigned i = 0; i < numArgs; ++i)
          if (aux[i] == Aux::Past)
            past[i] = results[presentOf[i]];
      break;
    }
    if (Error e = runStep(step, in, out))
      return makeError(describeOp(step.op) + ": " + toString(std::move(e)));
    if (out.size() < step.results.size())
      out.resize(step.results.size());
    for (size_t r = 0; r < step.results.size(); ++r)
      slots[step.results[r]] = std::move(out[r]);
    for (int s : step.release)
      slots[s] = Tensor();
  }
  return results;
}

Error Executor::Impl::runStep(Step &step, MutableArrayRef<Tensor> in,
                              SmallVectorImpl<Tensor> &out) {
  switch (step.kind) {
  case Kind::OnnxNode: {
    KernelContext ctx{cast<s10::onnx::NodeOp>(step.op), opts.floatMode, *pool};
    if (Error e = step.kernel(ctx, in, out))
      return e;
    if (opts.floatMode == FloatMode::F32)
      for (Tensor &t : out)
        t = ctx.normalize(std::move(t));
    return Error::success();
  }
  case Kind::OnnxNone:
    out.emplace_back();
    return Error::success();
  case Kind::Constant:
  case Kind::Weight:
  case Kind::QWeight: {
    Tensor &cached = constCache[step.index];
    if (cached.isNull()) {
      auto materialize = [&]() -> Expected<Tensor> {
        if (step.kind == Kind::Weight)
          return weights->load(cast<sq::WeightOp>(step.op),
                               opts.floatMode == FloatMode::F32);
        if (auto p = dyn_cast<sq::PackedWeightOp>(step.op)) {
          // The bytes stay in the IR's blob; quantized_linear reads them.
          ArrayRef<char> bytes = p.getBytes();
          return Tensor::borrowed(DType::U8, {int64_t(bytes.size())},
                                  bytes.data(), nullptr);
        }
        if (step.kind == Kind::QWeight)
          return dequantizeWeight(cast<sq::QuantizedWeightOp>(step.op));
        auto t = tensorFromElementsAttr(
            cast<ElementsAttr>(cast<arith::ConstantOp>(step.op).getValue()));
        if (t && opts.floatMode == FloatMode::F32 && isFloat(t->dtype()))
          *t = t->toF32();
        return t;
      };
      Expected<Tensor> t = materialize();
      if (!t)
        return t.takeError();
      cached = std::move(*t);
    }
    out.push_back(cached);
    return Error::success();
  }
  case Kind::Identity:
    out.push_back(in[0]);
    return Error::success();
  case Kind::Return:
    return Error::success();
  case Kind::Unsupported:
    if (auto node = dyn_cast<s10::onnx::NodeOp>(step.op)) {
      if (node.getDomain() && !node.getDomain()->empty() &&
          *node.getDomain() != "ai.onnx")
        return makeError("unsupported operator domain '" + *node.getDomain() +
                         "'");
      return makeError("unsupported ONNX operator '" + node.getOpType() + "'");
    }
    return makeError("the executor does not support this operation");
  default:
    return runSqueeze(step, in, out);
  }
}

Expected<const s10::quant::layout::PackedMatrix *>
Executor::Impl::packedView(sq::PackedWeightOp op) {
  auto &slot = packed[op];
  if (slot)
    return slot.get();
  auto type = op.getResult().getType();
  ArrayRef<char> bytes = op.getBytes();
  auto view = std::make_unique<quant::layout::PackedMatrix>();
  quant::layout::Status st = quant::layout::PackedMatrix::create(
      op.getPacking().getSpec(), type.getOutFeatures(), type.getInFeatures(),
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
      /*validateContent=*/true, *view);
  if (st.failed())
    return makeError("packed weight: " + st.message());
  slot = std::move(view);
  return slot.get();
}

/// y [rows, out] = x [rows, in] W^T (+ bias) from packed bytes; output
/// rows are split over the pool.
static void packedLinear(ThreadPool *pool,
                         const s10::quant::layout::PackedMatrix &w,
                         const float *x, int64_t rows, const float *bias,
                         float *y) {
  int64_t outF = w.out();
  int64_t chunk = std::max<int64_t>(16, (outF + 63) / 64);
  int64_t tasks = (outF + chunk - 1) / chunk;
  s10::quant::layout::GemvScratch scratch;
  if (rows == 1)
    w.prepare(x, scratch);
  auto task = [&](int64_t t, int) {
    int64_t r0 = t * chunk, r1 = std::min(outF, r0 + chunk);
    if (rows == 1) {
      w.gemvRows(x, scratch, y + r0, r0, r1);
      return;
    }
    thread_local std::vector<float> tile;
    w.gemmRows(x, rows, w.in(), y, outF, r0, r1, tile);
  };
  if (pool)
    pool->parallelTasks(tasks, task);
  else
    for (int64_t t = 0; t < tasks; ++t)
      task(t, 0);
  if (bias)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < outF; ++j)
        y[r * outF + j] += bias[j];
}

Error Executor::Impl::runSqueeze(Step &step, MutableArrayRef<Tensor> in,
                                 SmallVectorImpl<Tensor> &out) {
  Operation *op = step.op;
  DType outType = resultDType(op, opts.floatMode);
  auto finish = [&](Tensor t) {
    out.push_back(outType == DType::F32 ? std::move(t) : t.castTo(outType));
    return Error::success();
  };
  for (Tensor &t : in)
    if (t.isNull())
      return makeError("missing operand");
  ThreadPool *p = pool.get();

  switch (step.kind) {
  case Kind::Linear:
  case Kind::QLinear: {
    Tensor x = in[0].toF32();
    if (x.rank() < 1)
      return makeError("input must have rank >= 1");
    // Packed weights run from their bytes; everything else as f32.
    const quant::layout::PackedMatrix *packed = nullptr;
    Tensor w;
    bool inOut = false;
    int64_t inF, outF;
    std::string wDesc;
    if (auto pw = op->getOperand(1).getDefiningOp<sq::PackedWeightOp>()) {
      auto view = packedView(pw);
      if (!view)
        return view.takeError();
      packed = *view;
      inF = packed->in();
      outF = packed->out();
      wDesc = "packed weight [" + std::to_string(outF) + ", " +
              std::to_string(inF) + "]";
    } else {
      w = in[1].toF32();
      if (auto lin = dyn_cast<sq::LinearOp>(op))
        inOut = lin.getWeightLayout() == sq::WeightLayout::in_out;
      if (w.rank() != 2)
        return makeError("weight must be 2-D, got " + w.describe());
      inF = inOut ? w.dim(0) : w.dim(1);
      outF = inOut ? w.dim(1) : w.dim(0);
      wDesc = w.describe();
    }
    if (x.dim(-1) != inF)
      return makeError("input " + x.describe() + " does not match weight " +
                       wDesc);
    Tensor bias;
    if (in.size() > 2) {
      bias = in[2].toF32();
      if (bias.numel() != outF)
        return makeError("bias must have " + Twine(outF) + " elements");
    }
    if (observer)
      observer(op, x);
    Shape shape(x.shape());
    shape.back() = outF;
    Tensor y = Tensor::empty(DType::F32, shape);
    int64_t rows =
        inF ? x.numel() / inF : shapeNumel(shape) / std::max<int64_t>(outF, 1);
    if (packed)
      packedLinear(p, *packed, x.f32(), rows, bias ? bias.f32() : nullptr,
                   y.f32Mutable());
    else
      linear(p, x.f32(), rows, inF, w.f32(), inOut, outF,
             bias ? bias.f32() : nullptr, y.f32Mutable());
    return finish(y);
  }
  case Kind::Embedding: {
    const Tensor &ids = in[0];
    const Tensor &table = in[1];
    if (!isInteger(ids.dtype()))
      return makeError("ids must be integers");
    if (table.rank() != 2)
      return makeError("table must be 2-D");
    int64_t vocab = table.dim(0), hidden = table.dim(1);
    Shape shape(ids.shape());
    shape.push_back(hidden);
    Tensor y = Tensor::empty(table.dtype(), shape);
    size_t row = hidden * dtypeSize(table.dtype());
    for (int64_t i = 0; i < ids.numel(); ++i) {
      int64_t id = ids.getInt(i);
      if (id < 0 || id >= vocab)
        return makeError("token id " + Twine(id) +
                         " is outside the vocabulary (" + Twine(vocab) + ")");
      std::memcpy(static_cast<char *>(y.rawMutable()) + i * row,
                  static_cast<const char *>(table.raw()) + id * row, row);
    }
    out.push_back(y.dtype() == outType ? y : y.castTo(outType));
    return Error::success();
  }
  case Kind::RMSNorm: {
    auto norm = cast<sq::RMSNormOp>(op);
    Tensor x = in[0].toF32(), w = in[1].toF32();
    int64_t n = x.rank() ? x.dim(-1) : 1;
    if (w.numel() != n)
      return makeError("weight has " + Twine(w.numel()) +
                       " elements, the normalized dimension " + Twine(n));
    Tensor y = Tensor::empty(DType::F32, x.shape());
    rmsNorm(p, x.f32(), n ? x.numel() / n : 0, n, w.f32(),
            norm.getEpsilon().convertToDouble(), y.f32Mutable());
    return finish(y);
  }
  case Kind::Rotary: {
    auto rot = cast<sq::RotaryOp>(op);
    // Take the operand over so a last use is rotated in place.
    Tensor x = std::move(in[0]);
    x = x.toF32();
    int64_t heads = rot.getNumHeads(), d = rot.getHeadDim();
    if ((x.rank() != 3 && x.rank() != 2) || x.dim(-1) != heads * d)
      return makeError("input " + x.describe() + " is not [batch, seq, " +
                       Twine(heads) + " * " + Twine(d) + "]");
    // A batch-free [seq, features] tensor is one sequence.
    int64_t batch = x.rank() == 3 ? x.dim(0) : 1, seqLen = x.dim(-2);
    double theta = rot.getTheta().convertToDouble();
    // An optional discardable `inv_freq` attribute overrides the computed
    // frequencies (exporters may have rounded that buffer to f16).
    Attribute invAttr = op->getAttr("inv_freq");
    auto &table = rotary[{op, d}];
    if (!table) {
      if (invAttr) {
        std::vector<float> inv;
        if (auto arr = dyn_cast<DenseF32ArrayAttr>(invAttr)) {
          inv.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
        } else if (auto elts = dyn_cast<ElementsAttr>(invAttr)) {
          auto t = tensorFromElementsAttr(elts);
          if (!t)
            return t.takeError();
          inv = t->toFloatVector();
        }
        if (int64_t(inv.size()) != d / 2)
          return makeError("inv_freq must hold head_dim / 2 = " + Twine(d / 2) +
                           " floats");
        table = std::make_unique<RotaryTable>(inv);
      } else {
        table = std::make_unique<RotaryTable>(d, theta);
      }
    }
    int64_t offset = useCache ? cachedLen : 0;
    table->ensure(offset + seqLen);
    Tensor y = x.isUniqueWritable() ? x : Tensor::empty(DType::F32, x.shape());
    s10::runtime::rotary(p, x.f32(), batch, seqLen, heads, *table, offset,
                         y.f32Mutable());
    return finish(y);
  }
  case Kind::Attention: {
    auto att = cast<sq::AttentionOp>(op);
    Tensor q = in[0].toF32(), k = in[1].toF32(), v = in[2].toF32();
    AttentionShape sh;
    sh.heads = att.getNumHeads();
    sh.kvHeads = att.getNumKvHeads();
    sh.headDim = att.getHeadDim();
    sh.scale = float(att.getScale().convertToDouble());
    sh.causal = att.getCausal();
    // A batch-free [seq, features] operand is one sequence.
    int64_t r = q.rank();
    auto batchOf = [&](const Tensor &t) { return r == 3 ? t.dim(0) : 1; };
    if ((r != 3 && r != 2) || k.rank() != r || v.rank() != r ||
        q.dim(-1) != sh.heads * sh.headDim ||
        k.dim(-1) != sh.kvHeads * sh.headDim ||
        v.dim(-1) != sh.kvHeads * sh.headDim || batchOf(k) != batchOf(q) ||
        batchOf(v) != batchOf(q) || k.dim(-2) != v.dim(-2))
      return makeError("inconsistent shapes: query " + q.describe() + ", key " +
                       k.describe() + ", value " + v.describe());
    if (sh.heads % sh.kvHeads != 0)
      return makeError("num_heads is not a multiple of num_kv_heads");
    sh.batch = batchOf(q);
    sh.seq = q.dim(-2);
    int64_t rowLen = k.dim(-1);
    SmallVector<const float *, 4> kp, vp;
    if (useCache) {
      KVCache &c = kvCaches[step.index];
      if (c.len == 0) {
        c.batch = sh.batch;
        c.rowLen = rowLen;
        c.k.assign(sh.batch, {});
        c.v.assign(sh.batch, {});
      } else if (c.batch != sh.batch || c.rowLen != rowLen) {
        return makeError("the step's batch/key size differs from the cache's");
      }
      int64_t add = k.dim(-2);
      for (int64_t b = 0; b < sh.batch; ++b) {
        const float *ks = k.f32() + b * add * rowLen;
        const float *vs = v.f32() + b * add * rowLen;
        c.k[b].insert(c.k[b].end(), ks, ks + add * rowLen);
        c.v[b].insert(c.v[b].end(), vs, vs + add * rowLen);
      }
      sh.past = c.len;
      c.len += add;
      sh.kvSeq = c.len;
      for (int64_t b = 0; b < sh.batch; ++b) {
        kp.push_back(c.k[b].data());
        vp.push_back(c.v[b].data());
      }
    } else {
      sh.past = 0;
      sh.kvSeq = k.dim(-2);
      for (int64_t b = 0; b < sh.batch; ++b) {
        kp.push_back(k.f32() + b * sh.kvSeq * rowLen);
        vp.push_back(v.f32() + b * sh.kvSeq * rowLen);
      }
    }
    Tensor y = Tensor::empty(DType::F32, q.shape());
    attention(p, sh, q.f32(), kp.data(), vp.data(), y.f32Mutable());
    return finish(y);
  }
  case Kind::SwiGLU: {
    Tensor g = std::move(in[0]);
    g = g.toF32();
    Tensor u = in[1].toF32();
    if (g.shape() != u.shape())
      return makeError("gate " + g.describe() + " and up " + u.describe() +
                       " differ");
    Tensor y = g.isUniqueWritable() ? g : Tensor::empty(DType::F32, g.shape());
    swiglu(p, g.f32(), u.f32(), g.numel(), y.f32Mutable());
    return finish(y);
  }
  default:
    return makeError("unexpected operation");
  }
}

//===----------------------------------------------------------------------===//
// Executor
//===----------------------------------------------------------------------===//

Executor::Executor(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
Executor::~Executor() = default;

Expected<std::unique_ptr<Executor>> Executor::create(ModuleOp module,
                                                     const ExecOptions &opts,
                                                     StringRef modulePath) {
  auto func = findModelFunction(module);
  if (!func)
    return func.takeError();
  if (func->getBody().getBlocks().size() != 1)
    return makeError("the model function must have a single block");
  if (Error e = initBlasThreading())
    return std::move(e);
  auto impl = std::make_unique<Impl>();
  impl->module = module;
  impl->func = *func;
  impl->opts = opts;
  impl->weights = opts.weights
                      ? opts.weights
                      : std::make_shared<WeightStore>(
                            WeightStore::baseDirFor(module, modulePath));
  if (opts.numThreads < 0 || opts.numThreads > kMaxThreads)
    return makeError("the thread count must be in [0, " + Twine(kMaxThreads) +
                     "] (0: all cores), got " + Twine(opts.numThreads));
  impl->pool = std::make_unique<ThreadPool>(opts.numThreads);
  if (!impl->pool->getStartError().empty())
    return makeError(impl->pool->getStartError());
  if (Error e = impl->build())
    return std::move(e);
  return std::unique_ptr<Executor>(new Executor(std::move(impl)));
}

Expected<std::vector<Tensor>> Executor::run(ArrayRef<Tensor> inputs) {
  impl->useCache = false;
  return impl->execute(inputs);
}

Expected<std::vector<Tensor>> Executor::step(ArrayRef<Tensor> inputs) {
  Impl &I = *impl;
  if (inputs.empty())
    return makeError("step() needs the new tokens as its first input");
  const Tensor &tokens = inputs[0];
  if (tokens.rank() < 2)
    return makeError("step() expects tokens shaped [batch, seq], got " +
                     tokens.describe());
  int64_t added = tokens.dim(1);
  if (!hasKVCache()) {
    // Re-run the whole sequence, then keep the new positions only.
    Tensor all = tokens;
    if (I.history) {
      if (I.history.dim(0) != tokens.dim(0) ||
          I.history.dtype() != tokens.dtype())
        return makeError("step() tokens differ in batch or type from the "
                         "previous steps");
      int64_t b = tokens.dim(0), h = I.history.dim(1);
      size_t elt = dtypeSize(tokens.dtype());
      all = Tensor::empty(tokens.dtype(), {b, h + added});
      for (int64_t i = 0; i < b; ++i) {
        char *dst =
            static_cast<char *>(all.rawMutable()) + i * (h + added) * elt;
        std::memcpy(dst,
                    static_cast<const char *>(I.history.raw()) + i * h * elt,
                    h * elt);
        std::memcpy(dst + h * elt,
                    static_cast<const char *>(tokens.raw()) + i * added * elt,
                    added * elt);
      }
    }
    SmallVector<Tensor, 2> args(inputs.begin(), inputs.end());
    args[0] = all;
    I.useCache = false;
    auto res = I.execute(args);
    if (!res)
      return res.takeError();
    I.history = all;
    I.cachedLen = all.dim(1);
    for (Tensor &t : *res) {
      if (t.rank() < 2 || t.dim(1) != all.dim(1) || added == all.dim(1))
        continue;
      // Slice [:, total - added:, ...].
      Shape shape(t.shape());
      shape[1] = added;
      Tensor s = Tensor::empty(t.dtype(), shape);
      int64_t inner =
          shapeNumel(t.shape().drop_front(2)) * dtypeSize(t.dtype());
      for (int64_t b = 0; b < t.dim(0); ++b)
        std::memcpy(static_cast<char *>(s.rawMutable()) + b * added * inner,
                    static_cast<const char *>(t.raw()) +
                        (b * t.dim(1) + t.dim(1) - added) * inner,
                    added * inner);
      t = s;
    }
    return res;
  }
  // Roll the caches back if the step fails half-way.
  std::vector<int64_t> before;
  for (const KVCache &c : I.kvCaches)
    before.push_back(c.len);
  std::vector<Tensor> pastBefore = I.past;
  I.useCache = true;
  auto res = I.execute(inputs);
  I.useCache = false;
  if (!res) {
    I.past = std::move(pastBefore);
    for (auto [c, len] : llvm::zip(I.kvCaches, before)) {
      c.len = len;
      for (auto &k : c.k)
        k.resize(len * c.rowLen);
      for (auto &v : c.v)
        v.resize(len * c.rowLen);
    }
    return res.takeError();
  }
  I.cachedLen += added;
  return res;
}

void Executor::resetCache() {
  for (KVCache &c : impl->kvCaches)
    c = KVCache();
  impl->cachedLen = 0;
  impl->history = Tensor();
  impl->past.assign(impl->numArgs, Tensor());
}

int64_t Executor::getCacheLength() const { return impl->cachedLen; }

bool Executor::hasKVCache() const {
  return !impl->kvCaches.empty() || impl->onnxPast;
}

void Executor::setLinearObserver(
    std::function<void(Operation *, const Tensor &)> observer) {
  impl->observer = std::move(observer);
}

func::FuncOp Executor::getFunction() const { return impl->func; }
unsigned Executor::getNumInputs() const { return impl->numArgs; }
unsigned Executor::getNumResults() const { return impl->numResults; }
const ExecOptions &Executor::getOptions() const { return impl->opts; }
WeightStore &Executor::getWeightStore() { return *impl->weights; }
ThreadPool &Executor::getThreadPool() { return *impl->pool; }

bool Executor::isOnnxOpSupported(StringRef opType) {
  return getKernelTable().count(opType) != 0;
}

std::vector<std::string> Executor::findUnsupportedOps(ModuleOp module) {
  std::set<std::string> names;
  const KernelTable &table = getKernelTable();
  module.walk([&](Operation *op) {
    if (isa<ModuleOp, func::FuncOp>(op))
      return;
    KernelFn kernel = nullptr;
    if (classify(op, table, kernel) != Kind::Unsupported)
      return;
    if (auto node = dyn_cast<s10::onnx::NodeOp>(op))
      names.insert(("onnx.node \"" + node.getOpType() + "\"").str());
    else
      names.insert(op->getName().getStringRef().str());
  });
  return std::vector<std::string>(names.begin(), names.end());
}
