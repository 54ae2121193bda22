//===- Segments.cpp - A model function split where one value flows --------===//

#include "s10/Runtime/Segments.h"

#include "s10/Dialect/ONNX/IR/ONNXDialect.h"
#include "s10/Dialect/Squeeze/IR/SqueezeOps.h"
#include "s10/Runtime/Executor.h"
#include "s10/Runtime/Tensor.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace llvm;
using namespace s10::runtime;
namespace sq = s10::squeeze;

namespace {

/// Operations without operands that every segment may declare again.
bool isRematerializable(Operation *op) {
  if (op->getNumOperands() != 0 || op->getNumRegions() != 0)
    return false;
  if (isa<sq::WeightOp, sq::QuantizedWeightOp, sq::PackedWeightOp,
          arith::ConstantOp>(op))
    return true;
  auto node = dyn_cast<s10::onnx::NodeOp>(op);
  return node && node.getOpType() == "Constant";
}

} // namespace

Expected<std::vector<ModelSegment>> s10::runtime::splitModel(ModuleOp module,
                                                             bool split) {
  auto func = findModelFunction(module);
  if (!func)
    return func.takeError();
  if (func->getBody().getBlocks().size() != 1)
    return makeError("the model function must have a single block");
  Block &body = func->getBody().front();
  Operation *terminator = body.getTerminator();

  std::vector<Operation *> ops;
  llvm::DenseMap<Operation *, int64_t> index;
  for (Operation &op : body.without_terminator()) {
    index[&op] = int64_t(ops.size());
    ops.push_back(&op);
  }
  int64_t n = int64_t(ops.size());
  // Index of the last operation using each value (n: the terminator).
  llvm::DenseMap<Value, int64_t> lastUse;
  auto recordUses = [&](Value v) {
    int64_t last = -1;
    for (Operation *user : v.getUsers()) {
      Operation *top = body.findAncestorOpInBlock(*user);
      last = std::max(last, top == terminator ? n : index.lookup(top));
    }
    lastUse[v] = last;
  };

  // Cut before ops[p] when one value crosses p.
  std::vector<std::pair<int64_t, Value>> cuts;
  if (split) {
    llvm::SetVector<Value> live;
    for (BlockArgument arg : body.getArguments()) {
      recordUses(arg);
      if (lastUse[arg] >= 0)
        live.insert(arg);
    }
    bool work = false; // an operation to run since the last cut
    for (int64_t p = 1; p < n; ++p) {
      Operation *prev = ops[p - 1];
      if (!isRematerializable(prev)) {
        work = true;
        for (Value r : prev->getResults()) {
          recordUses(r);
          if (lastUse[r] >= p)
            live.insert(r);
        }
      }
      live.remove_if([&](Value v) { return lastUse[v] < p; });
      if (work && live.size() == 1 && !isRematerializable(ops[p])) {
        cuts.push_back({p, live.front()});
        work = false;
      }
    }
  }

  // Segment bounds: [start, end) with the value entering at start.
  std::vector<ModelSegment> segments;
  std::vector<int64_t> starts{0};
  std::vector<Value> entering{Value()};
  for (auto [p, v] : cuts) {
    starts.push_back(p);
    entering.push_back(v);
  }
  for (size_t s = 0; s < starts.size(); ++s) {
    int64_t start = starts[s];
    int64_t end = s + 1 < starts.size() ? starts[s + 1] : n;
    ModelSegment seg;
    OpBuilder b(module.getContext());
    seg.module = ModuleOp::create(module.getLoc());
    seg.module.get()->setAttrs(module->getAttrDictionary());
    b.setInsertionPointToEnd(seg.module->getBody());
    IRMapping map;
    SmallVector<Type> inputs;
    if (s == 0)
      for (BlockArgument arg : body.getArguments())
        inputs.push_back(arg.getType());
    else
      inputs.push_back(entering[s].getType());
    Value leaving = s + 1 < starts.size() ? entering[s + 1] : Value();
    SmallVector<Type> results;
    if (leaving)
      results.push_back(leaving.getType());
    else
      llvm::append_range(results, terminator->getOperandTypes());
    auto f = func::FuncOp::create(b, func->getLoc(), "main",
                                  b.getFunctionType(inputs, results));
    Block *entry = f.addEntryBlock();
    if (s == 0)
      map.map(body.getArguments(), entry->getArguments());
    else
      map.map(entering[s], entry->getArgument(0));
    b.setInsertionPointToEnd(entry);
    auto cloneOperands = [&](Operation *op) {
      for (Value v : op->getOperands()) {
        if (map.contains(v))
          continue;
        Operation *def = v.getDefiningOp();
        if (!def || !isRematerializable(def))
          return false;
        seg.original[b.clone(*def, map)] = def;
      }
      return true;
    };
    for (int64_t i = start; i < end; ++i) {
      Operation *op = ops[i];
      if (isRematerializable(op))
        continue;
      if (!cloneOperands(op))
        return makeError("cannot split the model function: " + describeOp(op) +
                         " uses a value from an earlier "
                         "segment");
      seg.original[b.clone(*op, map)] = op;
      seg.ops.push_back(op);
    }
    SmallVector<Value> ret;
    if (leaving) {
      ret.push_back(map.lookup(leaving));
    } else {
      if (!cloneOperands(terminator))
        return makeError("cannot split the model function: a result comes "
                         "from an earlier segment");
      for (Value v : terminator->getOperands())
        ret.push_back(map.lookup(v));
    }
    func::ReturnOp::create(b, func->getLoc(), ret);
    segments.push_back(std::move(seg));
  }
  return segments;
}
