//===- Broadcast.cpp - numpy-style broadcasting iteration -----------------===//

#include "Broadcast.h"

using namespace llvm;
using namespace s10::runtime;

Expected<Shape> s10::runtime::broadcastShapes(ArrayRef<Shape> shapes) {
  size_t rank = 0;
  for (const Shape &s : shapes)
    rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape &s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i], &o = out[off + i];
      if (d == o || d == 1)
        continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string msg = "shapes cannot be broadcast together:";
      for (const Shape &t : shapes)
        msg += " " + shapeStr(t);
      return makeError(msg);
    }
  }
  return out;
}

BroadcastPlan s10::runtime::planBroadcast(ArrayRef<Shape> inShapes,
                                          ArrayRef<int64_t> outShape) {
  BroadcastPlan plan;
  plan.outShape.assign(outShape.begin(), outShape.end());
  plan.numInputs = inShapes.size();
  assert(plan.numInputs <= BroadcastPlan::kMaxInputs);
  size_t rank = outShape.size();
  // Full-rank strides per input.
  SmallVector<SmallVector<int64_t, 6>, 4> full;
  for (const Shape &s : inShapes) {
    SmallVector<int64_t, 6> st(rank, 0);
    int64_t stride = 1;
    for (int64_t i = int64_t(s.size()) - 1; i >= 0; --i) {
      size_t o = rank - s.size() + i;
      st[o] = s[i] == 1 && outShape[o] != 1 ? 0 : stride;
      stride *= s[i];
    }
    full.push_back(st);
  }
  // Collapse: drop size-1 dims, merge neighbours that are contiguous for
  // every input (or broadcast in both for that input).
  for (size_t i = 0; i < rank; ++i) {
    int64_t d = outShape[i];
    if (d == 1)
      continue;
    if (!plan.dims.empty()) {
      bool merge = true;
      for (int k = 0; k < plan.numInputs && merge; ++k) {
        int64_t prev = plan.strides[k].back(), cur = full[k][i];
        merge = prev == cur * d;
      }
      if (merge) {
        plan.dims.back() *= d;
        for (int k = 0; k < plan.numInputs; ++k)
          plan.strides[k].back() = full[k][i];
        continue;
      }
    }
    plan.dims.push_back(d);
    for (int k = 0; k < plan.numInputs; ++k)
      plan.strides[k].push_back(full[k][i]);
  }
  if (plan.dims.empty()) {
    plan.dims.push_back(1);
    for (int k = 0; k < plan.numInputs; ++k)
      plan.strides[k].push_back(0);
  }
  return plan;
}

void s10::runtime::runBroadcast(
    const BroadcastPlan &plan, ThreadPool *pool, int64_t grain,
    function_ref<void(int64_t, const int64_t *, int64_t, const int64_t *)> fn) {
  int64_t total = plan.numel();
  if (total == 0)
    return;
  int n = plan.numInputs;
  size_t r = plan.dims.size();
  int64_t inner = plan.dims.back();
  int64_t innerStrides[BroadcastPlan::kMaxInputs];
  for (int k = 0; k < n; ++k)
    innerStrides[k] = plan.strides[k].back();
  int64_t rows = total / inner;

  if (rows == 1) {
    auto body = [&](int64_t begin, int64_t end) {
      int64_t offs[BroadcastPlan::kMaxInputs];
      for (int k = 0; k < n; ++k)
        offs[k] = begin * innerStrides[k];
      fn(begin, offs, end - begin, innerStrides);
    };
    if (pool)
      pool->parallelFor(inner, grain, body);
    else
      body(0, inner);
    return;
  }

  auto body = [&](int64_t rowBegin, int64_t rowEnd) {
    // Multi-index of rowBegin over the outer dims.
    SmallVector<int64_t, 6> idx(r - 1, 0);
    int64_t rem = rowBegin;
    for (int64_t d = int64_t(r) - 2; d >= 0; --d) {
      idx[d] = rem % plan.dims[d];
      rem /= plan.dims[d];
    }
    int64_t offs[BroadcastPlan::kMaxInputs];
    for (int k = 0; k < n; ++k) {
      offs[k] = 0;
      for (size_t d = 0; d + 1 < r; ++d)
        offs[k] += idx[d] * plan.strides[k][d];
    }
    for (int64_t row = rowBegin; row < rowEnd; ++row) {
      fn(row * inner, offs, inner, innerStrides);
      // Increment the odometer.
      for (int64_t d = int64_t(r) - 2; d >= 0; --d) {
        ++idx[d];
        for (int k = 0; k < n; ++k)
          offs[k] += plan.strides[k][d];
        if (idx[d] < plan.dims[d])
          break;
        for (int k = 0; k < n; ++k)
          offs[k] -= plan.strides[k][d] * plan.dims[d];
        idx[d] = 0;
      }
    }
  };
  int64_t rowGrain = std::max<int64_t>(1, grain / std::max<int64_t>(inner, 1));
  if (pool)
    pool->parallelFor(rows, rowGrain, body);
  else
    body(0, rows);
}
