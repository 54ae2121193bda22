//===- GpuKernelBuilder.cpp - CUDA kernels for packed layouts -------------===//
//
// Batch-1 decode is bound by the bytes of weights read, so the GEMV gives
// each row to one warp and makes every warp-wide load contiguous. Where a
// row has 128 columns for every lane (4096 inputs and more), lane l takes
// the tiles of 128 columns t = l, l + 32, ...: one 16-byte load of each
// 1-bit plane (k of them for k-bit codes), the warp reading 512
// consecutive bytes of each, so that four times the bytes are in flight
// per instruction. Narrower rows give a lane 32 columns (one 32-bit word
// of each plane) so that more lanes share the row. The salient low bits of
// a mixed layout sit in one bit stream per row, so a lane needs the number
// of salient weights before its tile: an exclusive warp scan of the
// tiles' mask popcounts, carried from one sweep of the warp to the next.
//
// Values are dequantized by PackedDecoder (the CPU kernels' emitter, bit
// for bit the layout's decode), multiplied into x in two vector<8xf32>
// accumulators and summed across the warp with butterfly shuffles.
//
//===----------------------------------------------------------------------===//

#include "s10/Codegen/GpuKernelBuilder.h"

#include "Ops.h"

#include "s10/Quant/GpuCases.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace s10::codegen;
namespace layout = s10::quant::layout;
namespace gc = s10::quant::gpucases;
using s10::codegen::detail::identDouble;
using s10::codegen::detail::memref1D;
using s10::codegen::detail::Ops;
using s10::codegen::detail::str;

namespace {

constexpr int64_t kWarp = 32;
/// Columns of one lane step: a 32-bit word of each 1-bit plane.
constexpr int64_t kSpan = PackedDecoder::kChunk * PackedDecoder::kWordChunks;

gpu::GPUFuncOp makeKernel(OpBuilder &b, Location loc, StringRef name,
                          ArrayRef<Type> args, int64_t block,
                          int64_t regs = 128) {
  auto fn = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(block), int32_t(1), int32_t(1)}));
  // Launch bounds of `regs` registers a thread (enough blocks per SM for
  // 65,536 registers): with the block size alone ptxas spills a few
  // registers to keep a higher occupancy.
  fn->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
              b.getI32IntegerAttr(int32_t(65536 / (regs * block))));
  return fn;
}

Value i32c(Ops &o, int64_t v) { return o.int_(o.i32(), v); }

/// The sum of `v` (f32) over the warp, in every lane.
Value warpSum(Ops &o, Value v) {
  for (int64_t off = kWarp / 2; off >= 1; off /= 2) {
    auto sh = gpu::ShuffleOp::create(o.b, o.loc, v, i32c(o, off),
                                     i32c(o, kWarp), gpu::ShuffleMode::XOR);
    v = o.add(v, sh.getShuffleResult());
  }
  return v;
}

/// The largest `v` (f32) over the warp, in every lane.
Value warpMax(Ops &o, Value v) {
  for (int64_t off = kWarp / 2; off >= 1; off /= 2) {
    auto sh = gpu::ShuffleOp::create(o.b, o.loc, v, i32c(o, off),
                                     i32c(o, kWarp), gpu::ShuffleMode::XOR);
    v = arith::MaximumFOp::create(o.b, o.loc, v, sh.getShuffleResult());
  }
  return v;
}

/// Orders the warp's global memory accesses (bar.warp.sync).
void warpSync(Ops &o) { NVVM::SyncWarpOp::create(o.b, o.loc, i32c(o, -1)); }

/// The exclusive prefix sum of `v` (i32) over the lanes, and the total.
std::pair<Value, Value> warpScan(Ops &o, Value v, Value lane) {
  Value incl = v;
  Value zero = i32c(o, 0);
  for (int64_t off = 1; off < kWarp; off *= 2) {
    auto sh = gpu::ShuffleOp::create(o.b, o.loc, incl, i32c(o, off),
                                     i32c(o, kWarp), gpu::ShuffleMode::UP);
    // Lanes below `off` get nothing from below.
    Value has = o.cmpi(arith::CmpIPredicate::uge, lane, o.idx(off));
    incl = o.add(incl, o.select(has, sh.getShuffleResult(), zero));
  }
  auto last = gpu::ShuffleOp::create(o.b, o.loc, incl, i32c(o, kWarp - 1),
                                     i32c(o, kWarp), gpu::ShuffleMode::IDX);
  return {o.sub(incl, v), last.getShuffleResult()};
}

/// `arg` (a memref<1xT> pointer) as memref<n x T> from element `offset`.
Value view(Ops &o, Value arg, Value offset, int64_t n) {
  auto elem = cast<MemRefType>(arg.getType()).getElementType();
  auto type = MemRefType::get(
      {n}, elem,
      StridedLayoutAttr::get(o.b.getContext(), ShapedType::kDynamic, {1}));
  return memref::ReinterpretCastOp::create(
      o.b, o.loc, type, arg, OpFoldResult(offset),
      ArrayRef<OpFoldResult>{o.b.getIndexAttr(n)},
      ArrayRef<OpFoldResult>{o.b.getIndexAttr(1)});
}

/// The correctly rounded f64 square root (PTX sqrt.rn.f64, as std::sqrt):
/// the NVVM lowering would otherwise call libdevice.
Value sqrtF64(Ops &o, Value x) {
  MLIRContext *ctx = o.b.getContext();
  return LLVM::InlineAsmOp::create(
             o.b, o.loc, o.f64(), ValueRange{x},
             StringAttr::get(ctx, "sqrt.rn.f64 $0, $1;"),
             StringAttr::get(ctx, "=d,d"), UnitAttr(), UnitAttr(),
             LLVM::TailCallKindAttr(),
             LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
             ArrayAttr())
      .getResult(0);
}

/// if (cond) body(): no results.
void when(Ops &o, Value cond, function_ref<void(Ops &)> body) {
  scf::IfOp::create(o.b, o.loc, cond, [&](OpBuilder &nb, Location nl) {
    Ops in{nb, nl};
    body(in);
    scf::YieldOp::create(nb, nl);
  });
}

/// The thread's lane, its warp's row (block x * kGemvWarps + warp) and
/// block y.
struct WarpRow {
  Value lane, row, blockY;
};

WarpRow warpRow(Ops &o) {
  Value tid = gpu::ThreadIdOp::create(o.b, o.loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(o.b, o.loc, gpu::Dimension::x);
  WarpRow w;
  w.lane = arith::RemUIOp::create(o.b, o.loc, tid, o.idx(kWarp));
  w.row = o.add(o.mul(bid, o.idx(kGemvWarps)), o.divu(tid, o.idx(kWarp)));
  w.blockY = gpu::BlockIdOp::create(o.b, o.loc, gpu::Dimension::y);
  return w;
}

/// Lane steps of a row of `units` units: ceil(units / 32) sweeps of the
/// warp, the unit of lane `lane` in each (clamped into the row, with an
/// `active` flag, so that every lane takes part in the shuffles).
void sweep(Ops &o, Value lane, int64_t units, ValueRange inits,
           function_ref<SmallVector<Value>(Ops &, Value unit, Value active,
                                           ValueRange)>
               body,
           SmallVector<Value> &results) {
  int64_t sweeps = (units + kWarp - 1) / kWarp;
  results = o.loop(o.idx(0), o.idx(sweeps), o.idx(1), inits,
                   [&](Ops &l, Value s, ValueRange acc) -> SmallVector<Value> {
                     Value u = l.add(l.mul(s, l.idx(kWarp)), lane);
                     Value active =
                         l.cmpi(arith::CmpIPredicate::ult, u, l.idx(units));
                     Value uc = l.select(active, u, l.idx(units - 1));
                     return body(l, uc, active, acc);
                   });
}

/// What a GEMV row multiplies: x, or with a fused RMSNorm the norm
/// weight times x (the row's sum is scaled by 1 / rms(x) at the end).
struct RowInput {
  Value x; // memref<in x f32>
  Value g; // the norm weight (i16 holding f16, or f32), or null
  bool gF16 = false;
  bool sumSquares = false; // carry sum(x^2) (one weight of a kernel does)
};

/// Chunk c (8 floats) of a row's input; with a norm g * x, and x * x added
/// to `ss` when the input carries the sum of squares.
Value inputChunk(Ops &l, const RowInput &in, Value c, Value &ss) {
  Value at = l.mul(c, l.idx(PackedDecoder::kChunk));
  Value xc = l.vload(l.vec(l.f32()), in.x, at, 16);
  if (!in.g)
    return xc;
  if (in.sumSquares)
    ss = l.fma(xc, xc, ss);
  Value raw = l.vload(l.vec(in.gF16 ? l.i16() : l.f32()), in.g, at, 16);
  return l.mul(in.gF16 ? l.halfToFloat(raw) : raw, xc);
}

/// A row's dot product (in every lane) and, if its input carries it, the
/// lane's share of sum(x^2) (a vector to reduce).
struct RowDot {
  Value dot, squares;
};

/// Words per lane step of a packed row: a tile of four (16-byte loads of
/// each plane, 128 columns) where every lane of the warp gets one, else
/// one.
int64_t laneWords(const GemvWeight &w) {
  PackedDecoder dec(w.spec, w.out, w.in);
  int64_t tile = kSpan * PackedDecoder::kWordChunks;
  return dec.tileLoads() && w.in % tile == 0 && w.in / tile >= kWarp
             ? PackedDecoder::kWordChunks
             : 1;
}

/// Row wr.row of a packed weight times its input.
RowDot packedRowDot(Ops &o, const GemvWeight &w, Value bytes,
                    const RowInput &in, Value shifts, const WarpRow &wr) {
  PackedDecoder dec(w.spec, w.out, w.in);
  dec.setGpuLoads(true);
  const int64_t G = w.spec.groupSize, nw = PackedDecoder::kWordChunks;
  const int64_t W = laneWords(w), span = W * kSpan;
  bool mixed = w.spec.mixed(), tiled = dec.tileLoads();
  // Groups of a multiple of the lane's span (or one per row) give all its
  // Words the same parameters.
  bool oneGroup = G % span == 0 || G >= w.in;
  PackedDecoder::Row R = dec.beginRow(o.b, o.loc, bytes, wr.row, {}, shifts);
  Value zeroV = o.splat(o.f32c(0.0f));
  Value rank0 = mixed ? R.rank : o.int_(o.i64(), 0);
  SmallVector<Value> res;
  // acc0, acc1, salient base, sum of squares
  sweep(
      o, wr.lane, w.in / span, {zeroV, zeroV, rank0, zeroV},
      [&](Ops &l, Value u, Value active, ValueRange a) -> SmallVector<Value> {
        Value c0 = l.mul(u, l.idx(W * nw));
        SmallVector<PackedDecoder::Word, 4> words(W);
        if (tiled)
          words = dec.tile(l.b, l.loc, bytes, R, c0, unsigned(W));
        Value rank, total;
        if (mixed) {
          Value pop = i32c(l, 0);
          for (const PackedDecoder::Word &word : words)
            pop = l.add(pop, math::CtPopOp::create(l.b, l.loc, word.mask));
          pop = l.select(active, pop, i32c(l, 0));
          auto [excl, tot] = warpScan(l, pop, wr.lane);
          rank = l.add(a[2], l.extui(excl, l.i64()));
          total = l.extui(tot, l.i64());
        }
        // Word wi of the tile (its bits in `regs`, its parameters `p`)
        // into (acc0, acc1, sum of squares, rank).
        auto decodeWord = [&](Ops &d, Value wi, ArrayRef<Value> regs,
                              ArrayRef<Value> p,
                              ValueRange st) -> SmallVector<Value> {
          Value cw = d.add(c0, d.mul(wi, d.idx(nw)));
          PackedDecoder::Word word;
          if (mixed)
            word = {regs[0], regs[1], {}};
          else if (tiled)
            word.codes.assign(regs.begin(), regs.end());
          SmallVector<Value, 4> q(p.begin(), p.end());
          if (q.empty())
            q = dec.params(
                d.b, d.loc, bytes, R,
                d.divu(d.mul(cw, d.idx(PackedDecoder::kChunk)), d.idx(G)));
          Value acc[2] = {st[0], st[1]};
          Value ss = st[2], rk = st[3];
          for (int64_t t = 0; t < nw; ++t) {
            Value c = d.add(cw, d.idx(t));
            PackedDecoder::Codes codes =
                tiled
                    ? dec.chunk(d.b, d.loc, bytes, R, word, unsigned(t), c, rk)
                    : dec.chunk(d.b, d.loc, bytes, R, c, Value());
            if (mixed)
              rk = codes.rank;
            Value v = dec.dequantize(d.b, d.loc, codes, q, /*contract=*/true);
            Value xc = inputChunk(d, in, c, ss);
            acc[t % 2] = d.fma(v, xc, acc[t % 2]);
          }
          return {acc[0], acc[1], ss, rk};
        };
        // A Word's registers: signs and mask, or its k-bit codes.
        SmallVector<Value> regs;
        for (const PackedDecoder::Word &word : words) {
          if (mixed)
            regs.append({word.signs, word.mask});
          else
            regs.append(word.codes.begin(), word.codes.end());
        }
        size_t per = regs.size() / size_t(W);
        SmallVector<Value, 4> p;
        if (oneGroup)
          p = dec.params(
              l.b, l.loc, bytes, R,
              l.divu(l.mul(c0, l.idx(PackedDecoder::kChunk)), l.idx(G)));
        Value rankIn = mixed ? rank : l.int_(l.i64(), 0);
        SmallVector<Value> st;
        if (W == 1) {
          st = decodeWord(l, l.idx(0), regs, p, {a[0], a[1], a[3], rankIn});
        } else {
          // The tile's Words one after the other in a loop, each taking the
          // front of the registers and rotating them, so that only one
          // Word's decode is live at a time (unrolled, ptxas spills).
          SmallVector<Value> inits = {a[0], a[1], a[3], rankIn};
          inits.append(regs);
          SmallVector<Value> out = l.loop(
              l.idx(0), l.idx(W), l.idx(1), inits,
              [&](Ops &d, Value wi, ValueRange it) -> SmallVector<Value> {
                SmallVector<Value> rs(it.begin() + 4, it.end());
                SmallVector<Value> next =
                    decodeWord(d, wi, ArrayRef<Value>(rs).take_front(per), p,
                               it.take_front(4));
                next.append(rs.begin() + per, rs.end());
                next.append(rs.begin(), rs.begin() + per);
                return next;
              });
          st.assign(out.begin(), out.begin() + 4);
        }
        Value acc[2] = {st[0], st[1]};
        Value ss = st[2];
        return {l.select(active, acc[0], a[0]), l.select(active, acc[1], a[1]),
                mixed ? l.add(a[2], total) : a[2], l.select(active, ss, a[3])};
      },
      res);
  return {warpSum(o, o.reduceAdd(o.add(res[0], res[1]))), res[3]};
}

/// Row wr.row of a ternary weight times its input. The code stream runs on
/// across rows, 40 codes (5 chunks) to an 8-byte word: lane l takes the
/// row's words l, l + 32, ... (one aligned 8-byte load each, the warp
/// reading 256 consecutive bytes) and decodes the word's chunks that lie
/// in the row, each chunk's digit shifts and weights constants.
RowDot ternaryRowDot(Ops &o, const GemvWeight &w, Value bytes,
                     const RowInput &in, const WarpRow &wr) {
  PackedDecoder dec(w.spec, w.out, w.in);
  dec.setGpuLoads(true);
  const int64_t C = w.in / PackedDecoder::kChunk, G = w.spec.groupSize;
  PackedDecoder::Row R = dec.beginRow(o.b, o.loc, bytes, wr.row);
  Value f0 = R.codes; // the row's first chunk in the stream
  Value fEnd = o.add(f0, o.idx(C));
  Value w0 = o.divu(f0, o.idx(5));
  // A row of C chunks meets at most (C - 1) / 5 + 2 words.
  int64_t words = (C - 1) / 5 + 2;
  Value zeroV = o.splat(o.f32c(0.0f));
  SmallVector<Value> res;
  // acc0, acc1, sum of squares
  sweep(
      o, wr.lane, words, {zeroV, zeroV, zeroV},
      [&](Ops &l, Value u, Value active, ValueRange a) -> SmallVector<Value> {
        Value wi = l.add(w0, u);
        // Past the row's last word a lane reads the first (in the stream).
        Value f5 = l.mul(wi, l.idx(5));
        active = l.and_(active, l.cmpi(arith::CmpIPredicate::ult, f5, fEnd));
        PackedDecoder::Word word;
        word.trits =
            dec.ternaryWord(l.b, l.loc, bytes, l.select(active, wi, w0));
        Value acc[2] = {a[0], a[1]};
        Value ss = a[2];
        for (int64_t t = 0; t < 5; ++t) {
          Value f = l.add(f5, l.idx(t));
          Value inRow = l.and_(
              active, l.and_(l.cmpi(arith::CmpIPredicate::uge, f, f0),
                             l.cmpi(arith::CmpIPredicate::ult, f, fEnd)));
          // The chunk's column in the row (chunk 0 where it lies outside).
          Value c = l.select(inRow, l.sub(f, f0), l.idx(0));
          PackedDecoder::Codes codes =
              dec.chunk(l.b, l.loc, bytes, R, word, unsigned(t), c, Value());
          SmallVector<Value, 4> p = dec.params(
              l.b, l.loc, bytes, R,
              l.divu(l.mul(c, l.idx(PackedDecoder::kChunk)), l.idx(G)));
          Value v = dec.dequantize(l.b, l.loc, codes, p, /*contract=*/true);
          Value chunkSs = ss;
          Value xc = inputChunk(l, in, c, chunkSs);
          acc[t % 2] = l.select(inRow, l.fma(v, xc, acc[t % 2]), acc[t % 2]);
          ss = l.select(inRow, chunkSs, ss);
        }
        return {acc[0], acc[1], ss};
      },
      res);
  return {warpSum(o, o.reduceAdd(o.add(res[0], res[1]))), res[2]};
}

/// Row wr.row of a dense [out, in] weight times its input.
RowDot denseRowDot(Ops &o, const GemvWeight &w, Value wm, const RowInput &in,
                   const WarpRow &wr) {
  const int64_t n = PackedDecoder::kChunk;
  bool f16 = w.dense == DenseType::F16;
  Value base = o.mul(wr.row, o.idx(w.in));
  Value zeroV = o.splat(o.f32c(0.0f));
  SmallVector<Value> res;
  sweep(
      o, wr.lane, w.in / n, {zeroV, zeroV},
      [&](Ops &l, Value c, Value active, ValueRange a) -> SmallVector<Value> {
        Value at = l.add(base, l.mul(c, l.idx(n)));
        Value raw = l.vload(l.vec(f16 ? l.i16() : l.f32()), wm, at, 16);
        Value wv = f16 ? l.halfToFloat(raw) : raw;
        Value ss = a[1];
        Value xc = inputChunk(l, in, c, ss);
        return {l.select(active, l.fma(wv, xc, a[0]), a[0]),
                l.select(active, ss, a[1])};
      },
      res);
  return {warpSum(o, o.reduceAdd(res[0])), res[1]};
}

/// The weight argument of a GEMV kernel: bytes, f16 bits or f32.
MemRefType gemvWeightType(Ops &o, const GemvWeight &w) {
  Type elem = w.packed ? o.i8() : w.dense == DenseType::F16 ? o.i16() : o.f32();
  return memref1D(w.packed ? int64_t(w.bytes()) : w.out * w.in, elem);
}

/// The lane table a packed weight's decode reads, or null.
Value gemvTable(OpBuilder &b, Location loc, const GemvWeight &w) {
  if (w.packed && w.spec.mixed())
    return PackedDecoder(w.spec, w.out, w.in).salientShiftTable(b, loc);
  return {};
}

/// Row wr.row of `w` (at `wm`, with its lane table) times its input.
RowDot rowDot(Ops &o, const GemvWeight &w, Value wm, const RowInput &in,
              Value table, const WarpRow &wr) {
  if (!w.packed)
    return denseRowDot(o, w, wm, in, wr);
  if (w.spec.kind == layout::Kind::Ternary)
    return ternaryRowDot(o, w, wm, in, wr);
  return packedRowDot(o, w, wm, in, table, wr);
}

/// The epilogue of a GEMV row: what lane 0 stores. Stacked weights (q, k
/// and v) split the grid's rows between them, each with an output of its
/// own.
enum class Epilogue { Store, Add, SwiGLU, Stacked };

/// The argument types of a GEMV-family kernel (its GEMV or GEMM) over
/// `weights`: (weights..., [g,] x, [r,] y..., tokens), y one per weight
/// when stacked; and the positions of x and the first y.
struct FamilyArgs {
  SmallVector<Type> types;
  unsigned x, y;
};

FamilyArgs familyArgs(Ops &o, ArrayRef<GemvWeight> weights, Epilogue ep,
                      const std::optional<GemvNorm> &norm) {
  FamilyArgs a;
  for (const GemvWeight &w : weights)
    a.types.push_back(gemvWeightType(o, w));
  if (norm) // g
    a.types.push_back(
        memref1D(weights.front().in,
                 norm->weight == DenseType::F16 ? o.i16() : o.f32()));
  MemRefType one = memref1D(1, o.f32());
  a.x = unsigned(a.types.size());
  a.types.push_back(one); // x
  if (ep == Epilogue::Add)
    a.types.push_back(one); // r
  a.y = unsigned(a.types.size());
  a.types.append(ep == Epilogue::Stacked ? weights.size() : 1, one); // y
  a.types.push_back(o.i64());
  return a;
}

/// A GEMV kernel over `weights` (one; gate and up for SwiGLU; any number
/// for Stacked, all of one input size) whose arguments are (weights...,
/// [g,] x, [r,] y..., tokens). A warp computes row r of every weight and
/// stores y[r] = dot, dot + r[r] or silu(gate) * up; Stacked gives rows
/// [0, out0) to the first weight and y0, the next out1 rows to the second
/// and y1, and so on. With `norm` the input is RMSNorm(x) with weight g,
/// computed in the same pass: dot = (sum of w g x) / rms(x).
gpu::GPUFuncOp buildGemvFamily(OpBuilder &b, Location loc, StringRef sym,
                               ArrayRef<GemvWeight> weights, Epilogue ep,
                               const std::optional<GemvNorm> &norm = {}) {
  Ops o{b, loc};
  OpBuilder::InsertionGuard guard(b);
  const GemvWeight &w0 = weights.front();
  bool stacked = ep == Epilogue::Stacked;
  bool gF16 = norm && norm->weight == DenseType::F16;
  FamilyArgs fa = familyArgs(o, weights, ep, norm);
  gpu::GPUFuncOp fn = makeKernel(b, loc, sym, fa.types, kGemvWarps * kWarp);
  b.setInsertionPointToStart(&fn.getBody().front());
  unsigned xArg = fa.x, yArg = fa.y;
  WarpRow wr = warpRow(o);
  // Token blockIdx.y: its rows of x, r and y.
  RowInput in;
  in.x = view(o, fn.getArgument(xArg), o.mul(wr.blockY, o.idx(w0.in)), w0.in);
  if (norm) {
    in.g = fn.getArgument(xArg - 1);
    in.gF16 = gF16;
  }
  auto yOf = [&](unsigned arg, int64_t width) {
    return view(o, fn.getArgument(arg), o.mul(wr.blockY, o.idx(width)), width);
  };
  Value r = ep == Epilogue::Add ? yOf(xArg + 1, w0.out) : Value();
  // Lane tables at the entry (inside the module).
  SmallVector<Value> tables;
  for (const GemvWeight &w : weights)
    tables.push_back(gemvTable(b, loc, w));
  // The dots of row `at.row` of weights [first, first + n), divided by
  // rms(x) with a norm.
  auto dotsOf = [&](Ops &o2, size_t first, size_t n, const WarpRow &at) {
    SmallVector<Value> dots;
    Value squares;
    for (size_t i = first; i < first + n; ++i) {
      RowInput ri = in;
      ri.sumSquares = norm && i == first;
      RowDot d = rowDot(o2, weights[i], fn.getArgument(unsigned(i)), ri,
                        tables[i], at);
      dots.push_back(d.dot);
      if (i == first)
        squares = d.squares;
    }
    if (norm) {
      // 1 / sqrt(mean(x^2) + eps) as the RMSNorm kernel computes it: the
      // mean in f32, the root in f64 rounded to f32.
      Value ss = warpSum(o2, o2.reduceAdd(squares));
      Value mean = o2.divf(ss, o2.f32c(float(w0.in)));
      Value t = o2.add(mean, o2.f32c(float(norm->eps)));
      Value root =
          sqrtF64(o2, arith::ExtFOp::create(o2.b, o2.loc, o2.f64(), t));
      Value inv = arith::TruncFOp::create(o2.b, o2.loc, o2.f32(),
                                          o2.divf(o2.f64c(1.0), root));
      for (Value &d : dots)
        d = o2.mul(d, inv);
    }
    return dots;
  };
  int64_t rows = w0.out;
  if (stacked)
    for (const GemvWeight &w : weights.drop_front())
      rows += w.out;
  // Whole warps share a row, so the branches are warp-uniform and the
  // shuffles inside them see all 32 lanes.
  when(o, o.cmpi(arith::CmpIPredicate::ult, wr.row, o.idx(rows)), [&](Ops &o2) {
    if (!stacked) {
      SmallVector<Value> dots = dotsOf(o2, 0, weights.size(), wr);
      Value v = dots[0];
      if (ep == Epilogue::SwiGLU)
        v = o2.binary(BinaryKind::SwiGLU, dots[0], dots[1]);
      Value y = yOf(yArg, w0.out);
      when(o2, o2.cmpi(arith::CmpIPredicate::eq, wr.lane, o2.idx(0)),
           [&](Ops &l) {
             Value out = v;
             if (ep == Epilogue::Add)
               out = l.add(v, l.load(r, wr.row));
             l.store(out, y, wr.row);
           });
      return;
    }
    int64_t first = 0;
    for (auto [i, w] : llvm::enumerate(weights)) {
      Value inside = o2.and_(
          o2.cmpi(arith::CmpIPredicate::uge, wr.row, o2.idx(first)),
          o2.cmpi(arith::CmpIPredicate::ult, wr.row, o2.idx(first + w.out)));
      when(o2, inside, [&](Ops &o3) {
        WarpRow at = wr;
        at.row = o3.sub(wr.row, o3.idx(first));
        Value v = dotsOf(o3, i, 1, at)[0];
        Value y = yOf(yArg + unsigned(i), w.out);
        when(o3, o3.cmpi(arith::CmpIPredicate::eq, wr.lane, o3.idx(0)),
             [&](Ops &l) { l.store(v, y, at.row); });
      });
      first += w.out;
    }
  });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

/// Rotates pair k of `x` ([tokens][hs * headDim], pairs token-major, hs
/// heads of headDim / 2 pairs) with the cos and sin of `cosSin` (the raw
/// argument: [position][headDim / 2] pairs) at position pos0 + token, and
/// stores it at y[yBase + token * yStride + column].
void rotatePair(Ops &in, Value x, Value y, Value cosSin, Value pos0, Value k,
                int64_t hs, int64_t headDim, Value yBase, int64_t yStride) {
  const int64_t half = headDim / 2, perToken = hs * half;
  Value t = in.divu(k, in.idx(perToken));
  Value r = arith::RemUIOp::create(in.b, in.loc, k, in.idx(perToken));
  Value h = in.divu(r, in.idx(half));
  Value i = arith::RemUIOp::create(in.b, in.loc, r, in.idx(half));
  Value p = in.add(pos0, t);
  Value cs = in.sized(cosSin, in.mul(in.add(p, in.idx(1)), in.idx(2 * half)));
  Value at = in.mul(in.add(in.mul(p, in.idx(half)), i), in.idx(2));
  Value c = in.load(cs, at), s = in.load(cs, in.add(at, in.idx(1)));
  Value col = in.add(in.mul(h, in.idx(headDim)), i);
  Value lo = in.add(in.mul(t, in.idx(hs * headDim)), col);
  Value x1 = in.load(x, lo), x2 = in.load(x, in.add(lo, in.idx(half)));
  Value ylo = in.add(in.add(yBase, in.mul(t, in.idx(yStride))), col);
  // As the CPU kernels round it: x1 c - x2 s, x2 c + x1 s.
  in.store(in.sub(in.mul(x1, c), in.mul(x2, s)), y, ylo);
  in.store(in.add(in.mul(x2, c), in.mul(x1, s)), y, in.add(ylo, in.idx(half)));
}

/// The 16-token MMA tiles of a GEMM warp's tokens (times one 8-row tile of
/// the weight).
constexpr int64_t kGemmMTiles = kGemmTokens / 16;

/// D = A B + C for one m16n8k16 tile (f16 A row-major, f16 B column-major,
/// f32 C and D): `a` four vector<2xf16>, `bf` two, `c` four f32.
SmallVector<Value, 4> mma16816(Ops &o, ArrayRef<Value> a, ArrayRef<Value> bf,
                               ArrayRef<Value> c) {
  Type f32 = o.f32();
  auto st =
      LLVM::LLVMStructType::getLiteral(o.b.getContext(), {f32, f32, f32, f32});
  auto op = NVVM::MmaOp::create(
      o.b, o.loc, st, a, bf, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
      std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::f16, NVVM::MMATypes::f16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value, 4> d;
  for (int64_t i = 0; i < 4; ++i)
    d.push_back(LLVM::ExtractValueOp::create(o.b, o.loc, op, i));
  return d;
}

/// Elements [at, at + 2) of `v` (vector<Nxf16>).
Value pairOf(Ops &o, Value v, int64_t at) {
  return vector::ShuffleOp::create(o.b, o.loc, v, v,
                                   ArrayRef<int64_t>{at, at + 1});
}

/// One weight of a GEMM tile: its decoder and row state, or a dense row.
struct GemmWeight {
  const GemvWeight *w;
  Value mem; // the argument
  Value row; // index: the lane's row (clamped into the weight)
  std::optional<PackedDecoder> dec;
  PackedDecoder::Row R;
  bool mixed = false, tiled = false;
};

/// The prefill GEMM twin of a GEMV-family kernel (buildGemvFamily: the same
/// arguments and epilogues). Warp w of block (bx, by) computes the tile of
/// rows [8 (4 bx + w), + 8) and tokens [32 by, + 32). Lane l = 4 g + t (g
/// the MMA group, t its thread) decodes row g of the tile, Word 4 i + t of
/// it at step i: the group's four lanes take 128 consecutive columns, one
/// Word each, with the row's planes as the GEMV loads them. The MMA's sum
/// over k does not care which columns its 16 k are, so k-step s of lane t
/// holds its Word's columns 4s .. 4s + 3: B is the lane's own decoded
/// values (to f16) and A one 16-byte load of each of its tokens' x, with
/// no exchange between lanes. The tokens of A are those of the lane's
/// accumulators (g and g + 8 of each 16-token tile), so a fused norm's
/// sums of squares need only the group's four lanes.
gpu::GPUFuncOp buildGemmFamily(OpBuilder &b, Location loc, StringRef sym,
                               ArrayRef<GemvWeight> weights, Epilogue ep,
                               const std::optional<GemvNorm> &norm) {
  Ops o{b, loc};
  OpBuilder::InsertionGuard guard(b);
  const GemvWeight &w0 = weights.front();
  const int64_t in = w0.in;
  bool stacked = ep == Epilogue::Stacked;
  bool gF16 = norm && norm->weight == DenseType::F16;
  FamilyArgs fa = familyArgs(o, weights, ep, norm);
  // Up to 168 registers (3 blocks per SM): the accumulators and a chunk's
  // decode live beside each other; 255 (2 blocks) where two weights'
  // decodes do (gate and up), or three weights' code sits in one kernel
  // (q, k and v).
  bool wide = ep == Epilogue::SwiGLU || ep == Epilogue::Stacked;
  gpu::GPUFuncOp fn = makeKernel(b, loc, sym, fa.types, kGemvWarps * kWarp,
                                 /*regs=*/wide ? 256 : 168);
  b.setInsertionPointToStart(&fn.getBody().front());
  unsigned xArg = fa.x, yArg = fa.y;
  Value tokens = o.toIndex(fn.getArgument(unsigned(fa.types.size() - 1)));
  SmallVector<Value> tables;
  for (const GemvWeight &w : weights)
    tables.push_back(gemvTable(b, loc, w));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value lane = o.remu(tid, o.idx(kWarp));
  Value g = o.divu(lane, o.idx(4)), t = o.remu(lane, o.idx(4));
  Value row0 =
      o.mul(o.add(o.mul(bx, o.idx(kGemvWarps)), o.divu(tid, o.idx(kWarp))),
            o.idx(kGemmRows));
  Value tok0 = o.mul(by, o.idx(kGemmTokens));
  // x of the lane's tokens g + 8m from one base, so that each load's
  // offset is a constant; loads past the chunk's tokens are skipped.
  const int64_t slots = 2 * kGemmMTiles;
  Value x = view(o, fn.getArgument(xArg), o.mul(o.add(tok0, g), o.idx(in)),
                 slots * 8 * in);
  Value left = o.sub(tokens, tok0);
  Value gw = norm ? fn.getArgument(xArg - 1) : Value();
  VectorType h8 = VectorType::get({8}, b.getF16Type()),
             h4 = VectorType::get({4}, b.getF16Type()), v4 = o.vec(o.f32(), 4);
  const int64_t nw = PackedDecoder::kWordChunks, words = in / kSpan;
  const int64_t steps = (words + 3) / 4;

  // The tile of weights [first, first + n) at their row `local` (the
  // tile's first): per weight 4 * kGemmMTiles accumulators, then (with a
  // norm) the lane's sums of squares of its token slots.
  auto tileOf = [&](Ops &o2, size_t first, size_t n, Value local) {
    SmallVector<GemmWeight> gws;
    for (size_t k = first; k < first + n; ++k) {
      GemmWeight gm;
      gm.w = &weights[k];
      gm.mem = fn.getArgument(unsigned(k));
      gm.row = o2.minsi(o2.add(local, g), o2.idx(weights[k].out - 1));
      if (weights[k].packed) {
        gm.dec.emplace(weights[k].spec, weights[k].out, in);
        gm.dec->setGpuLoads(true);
        gm.R = gm.dec->beginRow(o2.b, o2.loc, gm.mem, gm.row, {}, tables[k]);
        gm.mixed = weights[k].spec.mixed();
        gm.tiled = gm.dec->tileLoads();
      }
      gws.push_back(std::move(gm));
    }
    Value zero = o2.f32c(0.0f);
    SmallVector<Value> inits(n * 4 * kGemmMTiles, zero);
    if (norm)
      inits.append(slots, zero);
    for (GemmWeight &gm : gws)
      inits.push_back(gm.mixed ? gm.R.rank : o2.int_(o2.i64(), 0));
    const size_t nAcc = n * 4 * kGemmMTiles, nSs = norm ? slots : 0;
    SmallVector<Value> res = o2.loop(
        o2.idx(0), o2.idx(steps), o2.idx(1), inits,
        [&](Ops &l, Value i, ValueRange st) -> SmallVector<Value> {
          Value wi = l.add(l.mul(i, l.idx(4)), t);
          Value active = l.cmpi(arith::CmpIPredicate::ult, wi, l.idx(words));
          Value wc = l.select(active, wi, l.idx(words - 1));
          Value c0 = l.mul(wc, l.idx(nw));
          SmallVector<Value> acc(st.begin(), st.begin() + nAcc);
          SmallVector<Value> ss(st.begin() + nAcc, st.begin() + nAcc + nSs);
          SmallVector<Value> ranks(st.begin() + nAcc + nSs, st.end());
          SmallVector<Value> next = ranks;
          SmallVector<PackedDecoder::Word> wordsOf(n);
          SmallVector<SmallVector<Value, 4>> params(n);
          for (size_t k = 0; k < n; ++k) {
            GemmWeight &gm = gws[k];
            if (!gm.dec)
              continue;
            if (gm.tiled)
              wordsOf[k] = gm.dec->tile(l.b, l.loc, gm.mem, gm.R, c0, 1)[0];
            if (gm.mixed) {
              // The group's Words in column order: this lane's rank adds
              // the salient counts of the lanes before it.
              Value pop = l.select(
                  active, math::CtPopOp::create(l.b, l.loc, wordsOf[k].mask),
                  i32c(l, 0));
              Value t32 = l.trunci(l.toI64(t), l.i32());
              Value before = i32c(l, 0), total = pop;
              for (int64_t d = 1; d < 4; ++d) {
                Value other = gpu::ShuffleOp::create(l.b, l.loc, pop,
                                                     i32c(l, d), i32c(l, kWarp),
                                                     gpu::ShuffleMode::XOR)
                                  .getShuffleResult();
                total = l.add(total, other);
                Value from = arith::XOrIOp::create(l.b, l.loc, t32, i32c(l, d));
                Value below = l.cmpi(arith::CmpIPredicate::ult, from, t32);
                before = l.add(before, l.select(below, other, i32c(l, 0)));
              }
              next[k] = l.add(ranks[k], l.extui(total, l.i64()));
              ranks[k] = l.add(ranks[k], l.extui(before, l.i64()));
            }
            params[k] = gm.dec->params(
                l.b, l.loc, gm.mem, gm.R,
                l.divu(l.mul(wc, l.idx(kSpan)), l.idx(gm.w->spec.groupSize)));
          }
          // Chunk j of the Word (columns 8j .. 8j + 7) is k-steps 2j and
          // 2j + 1: decoded, rounded to f16 and multiplied into every
          // token tile before the next chunk is decoded.
          for (int64_t j = 0; j < nw; ++j) {
            Value c = l.add(c0, l.idx(j));
            SmallVector<Value, 2> h;
            for (size_t k = 0; k < n; ++k) {
              GemmWeight &gm = gws[k];
              Value v;
              if (!gm.dec) {
                Value at = l.add(l.mul(gm.row, l.idx(in)),
                                 l.mul(c, l.idx(PackedDecoder::kChunk)));
                bool f16 = gm.w->dense == DenseType::F16;
                v = l.vload(l.vec(f16 ? l.i16() : l.f32()), gm.mem, at, 16);
                if (f16) {
                  v = l.bitcast(v, h8);
                  h.push_back(
                      l.select(active, v,
                               l.splat(arith::ConstantOp::create(
                                           l.b, l.loc, l.b.getF16FloatAttr(0)),
                                       8)));
                  continue;
                }
              } else {
                PackedDecoder::Codes codes =
                    gm.tiled
                        ? gm.dec->chunk(l.b, l.loc, gm.mem, gm.R, wordsOf[k],
                                        unsigned(j), c, ranks[k])
                        : gm.dec->chunk(l.b, l.loc, gm.mem, gm.R, c, Value());
                if (gm.mixed)
                  ranks[k] = codes.rank;
                v = gm.dec->dequantize(l.b, l.loc, codes, params[k]);
              }
              v = l.select(active, v, l.splat(l.f32c(0.0f)));
              h.push_back(arith::TruncFOp::create(l.b, l.loc, h8, v));
            }
            for (int64_t s = 0; s < 2; ++s) {
              Value col = l.add(l.mul(wc, l.idx(kSpan)), l.idx(8 * j + 4 * s));
              Value gv;
              if (norm) {
                Value raw = l.vload(l.vec(gF16 ? l.i16() : l.f32(), 4), gw, col,
                                    gF16 ? 8 : 16);
                gv = gF16 ? l.halfToFloat(raw) : raw;
              }
              for (int64_t mt = 0; mt < kGemmMTiles; ++mt) {
                // Rows g and g + 8 of A: k 2t, 2t + 1 (columns 4s, 4s + 1)
                // then 2t + 8, 2t + 9 (4s + 2, 4s + 3).
                Value xh[2];
                for (int64_t hf = 0; hf < 2; ++hf) {
                  int64_t m = 2 * mt + hf;
                  Value ok =
                      l.and_(active, l.cmpi(arith::CmpIPredicate::ult,
                                            l.add(g, l.idx(8 * m)), left));
                  auto load = scf::IfOp::create(
                      l.b, l.loc, ok,
                      [&](OpBuilder &nb, Location nl) {
                        Ops ib{nb, nl};
                        Value at = ib.add(ib.idx(8 * m * in), col);
                        scf::YieldOp::create(nb, nl, ib.vload(v4, x, at, 16));
                      },
                      [&](OpBuilder &nb, Location nl) {
                        Ops ib{nb, nl};
                        scf::YieldOp::create(nb, nl,
                                             ib.splat(ib.f32c(0.0f), 4));
                      });
                  Value xv = load.getResult(0);
                  if (norm) {
                    ss[m] = l.add(ss[m], l.reduceAdd(l.mul(xv, xv)));
                    xv = l.mul(gv, xv);
                  }
                  xh[hf] = arith::TruncFOp::create(l.b, l.loc, h4, xv);
                }
                SmallVector<Value, 4> a = {
                    pairOf(l, xh[0], 0), pairOf(l, xh[1], 0),
                    pairOf(l, xh[0], 2), pairOf(l, xh[1], 2)};
                for (size_t k = 0; k < n; ++k) {
                  SmallVector<Value, 2> bf = {pairOf(l, h[k], 4 * s),
                                              pairOf(l, h[k], 4 * s + 2)};
                  size_t at = k * 4 * kGemmMTiles + 4 * size_t(mt);
                  SmallVector<Value, 4> d =
                      mma16816(l, a, bf, ArrayRef<Value>(acc).slice(at, 4));
                  std::copy(d.begin(), d.end(), acc.begin() + at);
                }
              }
            }
          }
          SmallVector<Value> out = acc;
          out.append(ss);
          out.append(next);
          return out;
        });
    res.resize(nAcc + nSs);
    if (norm) {
      // 1 / sqrt(mean(x^2) + eps) of each token slot as the RMSNorm kernel
      // computes it (the mean in f32, the root in f64), over the group's
      // four lanes, which read all of the token's columns.
      for (int64_t m = 0; m < slots; ++m) {
        Value v = res[nAcc + m];
        for (int64_t off : {1, 2})
          v = o2.add(v, gpu::ShuffleOp::create(o2.b, o2.loc, v, i32c(o2, off),
                                               i32c(o2, kWarp),
                                               gpu::ShuffleMode::XOR)
                            .getShuffleResult());
        Value mean = o2.divf(v, o2.f32c(float(in)));
        Value tt = o2.add(mean, o2.f32c(float(norm->eps)));
        Value root =
            sqrtF64(o2, arith::ExtFOp::create(o2.b, o2.loc, o2.f64(), tt));
        Value inv = arith::TruncFOp::create(o2.b, o2.loc, o2.f32(),
                                            o2.divf(o2.f64c(1.0), root));
        // Slot m = 2 mt + hf holds accumulators 4 mt + 2 hf and + 1.
        for (size_t k = 0; k < n; ++k)
          for (int64_t e = 0; e < 2; ++e) {
            size_t at = k * 4 * kGemmMTiles + 4 * size_t(m / 2) +
                        2 * size_t(m % 2) + size_t(e);
            res[at] = o2.mul(res[at], inv);
          }
      }
      res.resize(nAcc);
    }
    return res;
  };
  // D of tile m: (token g, rows 2t, 2t + 1), then token g + 8.
  auto store = [&](Ops &o2, ArrayRef<Value> acc, Value local, int64_t out,
                   unsigned yIdx, Value rArg) {
    Value rowD = o2.add(local, o2.mul(t, o2.idx(2)));
    for (int64_t m = 0; m < kGemmMTiles; ++m)
      for (int64_t i = 0; i < 4; ++i) {
        Value tk = o2.add(tok0, o2.add(g, o2.idx(16 * m + (i < 2 ? 0 : 8))));
        Value r = o2.add(rowD, o2.idx(i % 2));
        Value ok = o2.and_(o2.cmpi(arith::CmpIPredicate::ult, tk, tokens),
                           o2.cmpi(arith::CmpIPredicate::ult, r, o2.idx(out)));
        when(o2, ok, [&](Ops &l) {
          Value at = l.mul(tk, l.idx(out));
          Value v = acc[size_t(4 * m + i)];
          if (ep == Epilogue::SwiGLU)
            v = l.binary(BinaryKind::SwiGLU, v,
                         acc[size_t(4 * kGemmMTiles + 4 * m + i)]);
          if (rArg)
            v = l.add(v, l.load(view(l, rArg, at, out), r));
          l.store(v, view(l, fn.getArgument(yIdx), at, out), r);
        });
      }
  };
  Value rArg = ep == Epilogue::Add ? fn.getArgument(xArg + 1) : Value();
  if (!stacked) {
    // Rows past the weight's end leave their warp idle; the condition is
    // warp-uniform, so the shuffles see all 32 lanes.
    when(o, o.cmpi(arith::CmpIPredicate::ult, row0, o.idx(w0.out)),
         [&](Ops &o2) {
           SmallVector<Value> acc = tileOf(o2, 0, weights.size(), row0);
           store(o2, acc, row0, w0.out, yArg, rArg);
         });
  } else {
    int64_t first = 0;
    for (auto [i, w] : llvm::enumerate(weights)) {
      Value inside =
          o.and_(o.cmpi(arith::CmpIPredicate::uge, row0, o.idx(first)),
                 o.cmpi(arith::CmpIPredicate::ult, row0, o.idx(first + w.out)));
      when(o, inside, [&](Ops &o2) {
        Value local = o2.sub(row0, o2.idx(first));
        SmallVector<Value> acc = tileOf(o2, i, 1, local);
        store(o2, acc, local, w.out, yArg + unsigned(i), Value());
      });
      first += w.out;
    }
  }
  gpu::ReturnOp::create(b, loc);
  return fn;
}

} // namespace

LogicalResult s10::codegen::checkGpuGemvWeight(const GemvWeight &w,
                                               std::string &reason) {
  if (failed(checkGemvWeight(w, reason)))
    return failure();
  if (w.packed) {
    if (w.in % kSpan != 0) {
      reason = "CUDA kernels need an input size that is a multiple of 32, "
               "got " +
               str(w.in);
      return failure();
    }
    if (w.spec.groupSize % kSpan != 0 && w.spec.groupSize < w.in) {
      reason = "CUDA kernels need groups of a multiple of 32 inputs, got " +
               str(w.spec.groupSize);
      return failure();
    }
    return success();
  }
  if (w.inOut) {
    reason = "CUDA kernels read dense weights stored [out, in] only";
    return failure();
  }
  if (w.in % PackedDecoder::kChunk != 0) {
    reason = "CUDA kernels need a dense input size that is a multiple of 8, "
             "got " +
             str(w.in);
    return failure();
  }
  return success();
}

FailureOr<gpu::GPUFuncOp> s10::codegen::buildGpuGemvKernel(OpBuilder &b,
                                                           Location loc,
                                                           const GemvWeight &w,
                                                           StringRef name) {
  std::string reason;
  if (failed(checkGpuGemvWeight(w, reason)))
    return emitError(loc) << "cannot build a CUDA GEMV: " << reason;
  return buildGemvFamily(b, loc, name.empty() ? gemvKernelName(w) : name.str(),
                         {w}, Epilogue::Store);
}

std::string s10::codegen::gemvAddKernelName(const GemvWeight &w) {
  return gemvKernelName(w) + "_add";
}

namespace {
/// A GEMV kernel's name without its "s10_gemv_" prefix, to join names.
std::string gemvTag(const GemvWeight &w) {
  return gemvKernelName(w).substr(std::string("s10_gemv_").size());
}

std::string normTag(const GemvNorm &n) {
  return std::string("_rmsnorm_") +
         (n.weight == DenseType::F16 ? "f16" : "f32") + "_eps" +
         identDouble(n.eps);
}
} // namespace

std::string
s10::codegen::gemvSwiGLUKernelName(const GemvWeight &gate, const GemvWeight &up,
                                   const std::optional<GemvNorm> &norm) {
  // Both weights' tags: "s10_gemv_<gate>" + "_swiglu_" + "<up>".
  return gemvKernelName(gate) + "_swiglu_" + gemvTag(up) +
         (norm ? normTag(*norm) : "");
}

std::string s10::codegen::gemvNormKernelName(const GemvWeight &w,
                                             const GemvNorm &norm) {
  return gemvKernelName(w) + normTag(norm);
}

FailureOr<gpu::GPUFuncOp>
s10::codegen::buildGpuNormGemvKernel(OpBuilder &b, Location loc,
                                     const GemvWeight &w, const GemvNorm &norm,
                                     StringRef name) {
  std::string reason;
  if (failed(checkGpuGemvWeight(w, reason)))
    return emitError(loc) << "cannot build a CUDA GEMV: " << reason;
  return buildGemvFamily(
      b, loc, name.empty() ? gemvNormKernelName(w, norm) : name.str(), {w},
      Epilogue::Store, norm);
}

std::string s10::codegen::gemvQkvKernelName(const GemvWeight &q,
                                            const GemvWeight &k,
                                            const GemvWeight &v,
                                            const GemvNorm &norm) {
  // "s10_gemv_<q>" + "_k_<k>" + "_v_<v>" + the norm.
  return gemvKernelName(q) + "_k_" + gemvTag(k) + "_v_" + gemvTag(v) +
         normTag(norm);
}

FailureOr<gpu::GPUFuncOp> s10::codegen::buildGpuNormGemvQkvKernel(
    OpBuilder &b, Location loc, const GemvWeight &q, const GemvWeight &k,
    const GemvWeight &v, const GemvNorm &norm, StringRef name) {
  std::string reason;
  for (const GemvWeight *w : {&q, &k, &v})
    if (failed(checkGpuGemvWeight(*w, reason)))
      return emitError(loc) << "cannot build a CUDA GEMV: " << reason;
  if (q.in != k.in || q.in != v.in)
    return emitError(loc) << "cannot fuse q, k and v projections of " << q.in
                          << ", " << k.in << " and " << v.in << " inputs";
  return buildGemvFamily(
      b, loc, name.empty() ? gemvQkvKernelName(q, k, v, norm) : name.str(),
      {q, k, v}, Epilogue::Stacked, norm);
}

FailureOr<gpu::GPUFuncOp>
s10::codegen::buildGpuGemvAddKernel(OpBuilder &b, Location loc,
                                    const GemvWeight &w, StringRef name) {
  std::string reason;
  if (failed(checkGpuGemvWeight(w, reason)))
    return emitError(loc) << "cannot build a CUDA GEMV: " << reason;
  return buildGemvFamily(b, loc,
                         name.empty() ? gemvAddKernelName(w) : name.str(), {w},
                         Epilogue::Add);
}

FailureOr<gpu::GPUFuncOp> s10::codegen::buildGpuGemvSwiGLUKernel(
    OpBuilder &b, Location loc, const GemvWeight &gate, const GemvWeight &up,
    const std::optional<GemvNorm> &norm, StringRef name) {
  std::string reason;
  for (const GemvWeight *w : {&gate, &up})
    if (failed(checkGpuGemvWeight(*w, reason)))
      return emitError(loc) << "cannot build a CUDA GEMV: " << reason;
  if (gate.out != up.out || gate.in != up.in)
    return emitError(loc) << "cannot fuse a gate of " << gate.out << "x"
                          << gate.in << " with an up projection of " << up.out
                          << "x" << up.in;
  return buildGemvFamily(
      b, loc, name.empty() ? gemvSwiGLUKernelName(gate, up, norm) : name.str(),
      {gate, up}, Epilogue::SwiGLU, norm);
}

std::string GemvFamily::gemvName() const {
  const GemvWeight &w = weights.front();
  switch (kind) {
  case Kind::Add:
    return gemvAddKernelName(w);
  case Kind::SwiGLU:
    return gemvSwiGLUKernelName(w, weights[1], norm);
  case Kind::Qkv:
    return gemvQkvKernelName(w, weights[1], weights[2], *norm);
  case Kind::Plain:
    break;
  }
  return norm ? gemvNormKernelName(w, *norm) : gemvKernelName(w);
}

std::string s10::codegen::gemmKernelName(const GemvFamily &f) {
  return "s10_gemm_" + f.gemvName().substr(std::string("s10_gemv_").size());
}

LogicalResult s10::codegen::checkGpuGemm(const GemvFamily &f,
                                         std::string &reason) {
  size_t want = f.kind == GemvFamily::Kind::SwiGLU ? 2
                : f.kind == GemvFamily::Kind::Qkv  ? 3
                                                   : 1;
  if (f.weights.size() != want || (f.kind == GemvFamily::Kind::Qkv && !f.norm))
    return reason = "malformed GEMV family", failure();
  for (const GemvWeight &w : f.weights) {
    if (failed(checkGpuGemvWeight(w, reason)))
      return failure();
    if (w.in != f.weights[0].in || w.in % kSpan != 0) {
      reason = "the GEMM needs one input size, a multiple of 32";
      return failure();
    }
  }
  if (f.kind == GemvFamily::Kind::SwiGLU &&
      f.weights[0].out != f.weights[1].out) {
    reason = "gate and up of different row counts";
    return failure();
  }
  if (f.kind == GemvFamily::Kind::Qkv)
    for (size_t i = 0; i + 1 < f.weights.size(); ++i)
      if (f.weights[i].out % kGemmRows != 0) {
        reason = "q, k and v rows must be multiples of " + str(kGemmRows) +
                 " (a warp's tile never straddles two of them)";
        return failure();
      }
  return success();
}

FailureOr<gpu::GPUFuncOp> s10::codegen::buildGpuGemmKernel(OpBuilder &b,
                                                           Location loc,
                                                           const GemvFamily &f,
                                                           StringRef name) {
  std::string reason;
  if (failed(checkGpuGemm(f, reason)))
    return emitError(loc) << "cannot build a CUDA GEMM: " << reason;
  Epilogue ep = Epilogue::Store;
  if (f.kind == GemvFamily::Kind::Add)
    ep = Epilogue::Add;
  else if (f.kind == GemvFamily::Kind::SwiGLU)
    ep = Epilogue::SwiGLU;
  else if (f.kind == GemvFamily::Kind::Qkv)
    ep = Epilogue::Stacked;
  return buildGemmFamily(b, loc, name.empty() ? gemmKernelName(f) : name.str(),
                         f.weights, ep, f.norm);
}

FailureOr<gpu::GPUFuncOp>
s10::codegen::buildGpuRMSNormKernel(OpBuilder &b, Location loc, int64_t width,
                                    double eps, DenseType weight,
                                    StringRef name) {
  if (width <= 0)
    return emitError(loc) << "cannot build a CUDA RMSNorm of width " << width;
  Ops o{b, loc};
  bool f16 = weight == DenseType::F16;
  Type wElem = f16 ? o.i16() : o.f32();
  std::string sym =
      name.empty() ? rmsNormKernelName(width, eps, weight) : name.str();
  OpBuilder::InsertionGuard guard(b);
  gpu::GPUFuncOp fn = makeKernel(b, loc, sym,
                                 {memref1D(1, o.f32()), memref1D(width, wElem),
                                  memref1D(1, o.f32()), o.i64()},
                                 kGemvWarps * kWarp);
  b.setInsertionPointToStart(&fn.getBody().front());
  WarpRow wr = warpRow(o);
  Value rows = o.toIndex(fn.getArgument(3));
  Value wm = fn.getArgument(1);
  when(o, o.cmpi(arith::CmpIPredicate::ult, wr.row, rows), [&](Ops &in) {
    Value at = in.mul(wr.row, in.idx(width));
    Value x = view(in, fn.getArgument(0), at, width);
    Value y = view(in, fn.getArgument(2), at, width);
    // Lane-strided columns: each step of the warp reads 128 consecutive
    // bytes of x.
    Value ss =
        in.loop(wr.lane, in.idx(width), in.idx(kWarp), {in.f32c(0.0f)},
                [&](Ops &l, Value j, ValueRange a) -> SmallVector<Value> {
                  Value v = l.load(x, j);
                  return {l.fma(v, v, a[0])};
                })[0];
    ss = warpSum(in, ss);
    // The mean, + eps, and 1 / sqrt in f64 rounded to f32, as the CPU
    // kernels do.
    Value mean = in.divf(ss, in.f32c(float(width)));
    Value t = in.add(mean, in.f32c(float(eps)));
    Value root = sqrtF64(in, arith::ExtFOp::create(in.b, in.loc, in.f64(), t));
    Value inv = arith::TruncFOp::create(in.b, in.loc, in.f32(),
                                        in.divf(in.f64c(1.0), root));
    in.loop(wr.lane, in.idx(width), in.idx(kWarp), {},
            [&](Ops &l, Value j, ValueRange) -> SmallVector<Value> {
              l.store(l.normalized(l.load(wm, j), f16, l.load(x, j), inv), y,
                      j);
              return {};
            });
  });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

gpu::GPUFuncOp s10::codegen::buildGpuBinaryKernel(OpBuilder &b, Location loc,
                                                  BinaryKind kind,
                                                  StringRef name) {
  Ops o{b, loc};
  std::string sym = name.empty() ? binaryKernelName(kind) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  gpu::GPUFuncOp fn =
      makeKernel(b, loc, sym, {one, one, one, o.i64()}, kBinaryBlock);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value n = o.toIndex(fn.getArgument(3));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value i = o.add(o.mul(bid, o.idx(kBinaryBlock)), tid);
  when(o, o.cmpi(arith::CmpIPredicate::ult, i, n), [&](Ops &in) {
    Value a = in.load(in.sized(fn.getArgument(0), n), i);
    Value bv = in.load(in.sized(fn.getArgument(1), n), i);
    in.store(in.binary(kind, a, bv), in.sized(fn.getArgument(2), n), i);
  });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

std::string s10::codegen::attentionKernelName(int64_t heads, int64_t kvHeads,
                                              int64_t headDim, float scale) {
  return "s10_attention_h" + str(heads) + "_kv" + str(kvHeads) + "_d" +
         str(headDim) + "_s" + identDouble(double(scale));
}

FailureOr<gpu::GPUFuncOp>
s10::codegen::buildGpuEmbeddingKernel(OpBuilder &b, Location loc, int64_t vocab,
                                      int64_t hidden, DenseType table,
                                      StringRef name) {
  if (vocab <= 0 || hidden <= 0)
    return emitError(loc) << "cannot build a CUDA embedding of " << vocab << "x"
                          << hidden;
  Ops o{b, loc};
  bool f16 = table == DenseType::F16;
  std::string sym =
      name.empty() ? embeddingKernelName(vocab, hidden, table) : name.str();
  OpBuilder::InsertionGuard guard(b);
  gpu::GPUFuncOp fn =
      makeKernel(b, loc, sym,
                 {memref1D(vocab * hidden, f16 ? o.i16() : o.f32()),
                  memref1D(1, o.i32()), memref1D(1, o.f32()), o.i64()},
                 kBinaryBlock);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value t = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value tokens = o.toIndex(fn.getArgument(3));
  Value ids = o.sized(fn.getArgument(1), tokens);
  // An id outside the table reads its nearest row, never past the table
  // (the runtime refuses such ids before they get here).
  Value id = o.toIndex(o.load(ids, t));
  id = arith::MaxSIOp::create(b, loc, id, o.idx(0));
  id = o.minsi(id, o.idx(vocab - 1));
  Value src = o.mul(id, o.idx(hidden));
  Value y = view(o, fn.getArgument(2), o.mul(t, o.idx(hidden)), hidden);
  o.loop(tid, o.idx(hidden), o.idx(kBinaryBlock), {},
         [&](Ops &l, Value j, ValueRange) -> SmallVector<Value> {
           Value raw = l.load(fn.getArgument(0), l.add(src, j));
           l.store(f16 ? l.halfToFloat(raw) : raw, y, j);
           return {};
         });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

FailureOr<gpu::GPUFuncOp>
s10::codegen::buildGpuRotaryKernel(OpBuilder &b, Location loc, int64_t heads,
                                   int64_t headDim, StringRef name) {
  if (heads <= 0 || headDim <= 0 || headDim % 2)
    return emitError(loc) << "cannot build a CUDA rotary embedding of " << heads
                          << " heads of " << headDim;
  Ops o{b, loc};
  std::string sym =
      name.empty() ? rotaryKernelName(heads, headDim) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  gpu::GPUFuncOp fn =
      makeKernel(b, loc, sym, {one, one, one, o.i64(), memref1D(1, o.i64())},
                 kBinaryBlock);
  b.setInsertionPointToStart(&fn.getBody().front());
  const int64_t perToken = heads * (headDim / 2);
  Value tokens = o.toIndex(fn.getArgument(3));
  // The position comes from device memory, so a captured launch replays.
  Value pos0 = o.toIndex(o.load(fn.getArgument(4), o.idx(0)));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value k = o.add(o.mul(bid, o.idx(kBinaryBlock)), tid);
  when(o, o.cmpi(arith::CmpIPredicate::ult, k, o.mul(tokens, o.idx(perToken))),
       [&](Ops &in) {
         Value n = in.mul(tokens, in.idx(heads * headDim));
         rotatePair(in, in.sized(fn.getArgument(0), n),
                    in.sized(fn.getArgument(2), n), fn.getArgument(1), pos0, k,
                    heads, headDim, in.idx(0), heads * headDim);
       });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

FailureOr<gpu::GPUFuncOp>
s10::codegen::buildGpuAttentionKernel(OpBuilder &b, Location loc, int64_t heads,
                                      int64_t kvHeads, int64_t headDim,
                                      float scale, StringRef name) {
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads || headDim <= 0 ||
      headDim % 4)
    return emitError(loc) << "cannot build a CUDA attention of " << heads
                          << " heads over " << kvHeads << " kv heads of "
                          << headDim << " (a multiple of 4)";
  Ops o{b, loc};
  std::string sym = name.empty()
                        ? attentionKernelName(heads, kvHeads, headDim, scale)
                        : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  gpu::GPUFuncOp fn = makeKernel(
      b, loc, sym, {one, one, one, one, o.i64(), memref1D(1, o.i64()), o.i64()},
      kGemvWarps * kWarp);
  b.setInsertionPointToStart(&fn.getBody().front());
  const int64_t qW = heads * headDim, kvW = kvHeads * headDim;
  const int64_t group = heads / kvHeads;
  Value tokens = o.toIndex(fn.getArgument(4));
  Value pos0 = o.toIndex(o.load(fn.getArgument(5), o.idx(0)));
  Value maxCtx = o.toIndex(fn.getArgument(6));
  WarpRow wr = warpRow(o); // row: the head, blockY: the token
  Value h = wr.row, t = wr.blockY;
  Value q = o.sized(fn.getArgument(0), o.mul(tokens, o.idx(qW)));
  Value out = o.sized(fn.getArgument(2), o.mul(tokens, o.idx(qW)));
  Value kv =
      o.sized(fn.getArgument(1), o.mul(o.mul(maxCtx, o.idx(2)), o.idx(kvW)));
  Value scores =
      o.sized(fn.getArgument(3), o.mul(o.mul(tokens, o.idx(heads)), maxCtx));
  // Warp-uniform: a warp past the last head has nothing to do.
  when(o, o.cmpi(arith::CmpIPredicate::ult, h, o.idx(heads)), [&](Ops &in) {
    Value n = in.add(in.add(pos0, t), in.idx(1)); // causal: positions < n
    Value qRow = in.add(in.mul(t, in.idx(qW)), in.mul(h, in.idx(headDim)));
    Value kCol = in.mul(in.divu(h, in.idx(group)), in.idx(headDim));
    Value vBase = in.add(in.mul(maxCtx, in.idx(kvW)), kCol);
    Value sRow = in.mul(in.add(in.mul(t, in.idx(heads)), h), maxCtx);
    Value negInf = in.f32c(-std::numeric_limits<float>::infinity());
    Value fscale = in.f32c(scale);
    // Scores scale * q.k, a position per lane, and their maximum. Rows of
    // q and k start on 16 bytes (head dims are a multiple of 4): the dot
    // takes 16-byte loads into two accumulators.
    VectorType v4 = in.vec(in.f32(), 4);
    Value m = in.loop(
        wr.lane, n, in.idx(kWarp), {negInf},
        [&](Ops &l, Value p, ValueRange a) -> SmallVector<Value> {
          Value kRow = l.add(l.mul(p, l.idx(kvW)), kCol);
          Value acc[2] = {l.splat(l.f32c(0.0f), 4), l.splat(l.f32c(0.0f), 4)};
          for (int64_t c = 0; c < headDim / 4; ++c) {
            Value qv = l.vload(v4, q, l.add(qRow, l.idx(4 * c)), 16);
            Value kv4 = l.vload(v4, kv, l.add(kRow, l.idx(4 * c)), 16);
            acc[c % 2] = l.fma(qv, kv4, acc[c % 2]);
          }
          Value dot = l.reduceAdd(l.add(acc[0], acc[1]));
          Value s = l.mul(dot, fscale);
          l.store(s, scores, l.add(sRow, p));
          return {arith::MaximumFOp::create(l.b, l.loc, a[0], s)};
        })[0];
    m = warpMax(in, m);
    Value sum =
        in.loop(wr.lane, n, in.idx(kWarp), {in.f32c(0.0f)},
                [&](Ops &l, Value p, ValueRange a) -> SmallVector<Value> {
                  Value at = l.add(sRow, p);
                  Value e = l.exp(l.sub(l.load(scores, at), m));
                  l.store(e, scores, at);
                  return {l.add(a[0], e)};
                })[0];
    sum = warpSum(in, sum);
    Value inv = in.divf(in.f32c(1.0f), sum);
    // Every lane reads every lane's exponentials next.
    warpSync(in);
    // p . V: a lane takes 4 consecutive dims (one 16-byte load of each
    // value row, the warp's lanes reading it whole).
    in.loop(wr.lane, in.idx(headDim / 4), in.idx(kWarp), {},
            [&](Ops &l, Value c, ValueRange) -> SmallVector<Value> {
              Value j = l.mul(c, l.idx(4));
              Value acc = l.loop(
                  l.idx(0), n, l.idx(1), {l.splat(l.f32c(0.0f), 4)},
                  [&](Ops &d, Value p, ValueRange a) -> SmallVector<Value> {
                    Value w = d.mul(d.load(scores, d.add(sRow, p)), inv);
                    Value v = d.vload(
                        v4, kv, d.add(d.add(vBase, d.mul(p, d.idx(kvW))), j),
                        16);
                    return {d.fma(d.splat(w, 4), v, a[0])};
                  })[0];
              l.vstore(acc, out, l.add(qRow, j), 16);
              return {};
            });
  });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

std::string s10::codegen::kvAppendKernelName(int64_t kvWidth) {
  return "s10_kv_append_w" + str(kvWidth);
}

FailureOr<gpu::GPUFuncOp> s10::codegen::buildGpuKvAppendKernel(OpBuilder &b,
                                                               Location loc,
                                                               int64_t kvWidth,
                                                               StringRef name) {
  if (kvWidth <= 0)
    return emitError(loc) << "cannot build a CUDA KV append of width "
                          << kvWidth;
  Ops o{b, loc};
  std::string sym = name.empty() ? kvAppendKernelName(kvWidth) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  gpu::GPUFuncOp fn = makeKernel(
      b, loc, sym, {one, one, one, o.i64(), memref1D(1, o.i64()), o.i64()},
      kBinaryBlock);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value tokens = o.toIndex(fn.getArgument(3));
  Value pos0 = o.toIndex(o.load(fn.getArgument(4), o.idx(0)));
  Value maxCtx = o.toIndex(fn.getArgument(5));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value e = o.add(o.mul(bid, o.idx(kBinaryBlock)), tid);
  Value n = o.mul(tokens, o.idx(kvWidth));
  when(o, o.cmpi(arith::CmpIPredicate::ult, e, n), [&](Ops &in) {
    Value k = in.sized(fn.getArgument(0), n);
    Value v = in.sized(fn.getArgument(1), n);
    Value kv = in.sized(fn.getArgument(2),
                        in.mul(in.mul(maxCtx, in.idx(2)), in.idx(kvWidth)));
    // Element e of the chunk's rows goes to position pos0 + e / width.
    Value at = in.add(in.mul(pos0, in.idx(kvWidth)), e);
    in.store(in.load(k, e), kv, at);
    in.store(in.load(v, e), kv, in.add(at, in.mul(maxCtx, in.idx(kvWidth))));
  });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

std::string s10::codegen::ropeAppendKernelName(int64_t heads, int64_t kvHeads,
                                               int64_t headDim) {
  return "s10_rope_append_h" + str(heads) + "_kv" + str(kvHeads) + "_d" +
         str(headDim);
}

FailureOr<gpu::GPUFuncOp>
s10::codegen::buildGpuRopeAppendKernel(OpBuilder &b, Location loc,
                                       int64_t heads, int64_t kvHeads,
                                       int64_t headDim, StringRef name) {
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0 || headDim % 2)
    return emitError(loc) << "cannot build a CUDA rotary KV append of " << heads
                          << " heads over " << kvHeads << " kv heads of "
                          << headDim;
  Ops o{b, loc};
  std::string sym =
      name.empty() ? ropeAppendKernelName(heads, kvHeads, headDim) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  gpu::GPUFuncOp fn = makeKernel(
      b, loc, sym,
      {one, one, one, one, one, o.i64(), memref1D(1, o.i64()), o.i64()},
      kBinaryBlock);
  b.setInsertionPointToStart(&fn.getBody().front());
  const int64_t half = headDim / 2, kvW = kvHeads * headDim;
  Value tokens = o.toIndex(fn.getArgument(5));
  Value pos0 = o.toIndex(o.load(fn.getArgument(6), o.idx(0)));
  Value maxCtx = o.toIndex(fn.getArgument(7));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value u = o.add(o.mul(bid, o.idx(kBinaryBlock)), tid);
  // Units: the pairs of q, the pairs of k, the elements of v.
  Value qPairs = o.mul(tokens, o.idx(heads * half));
  Value kPairs = o.mul(tokens, o.idx(kvHeads * half));
  Value vElems = o.mul(tokens, o.idx(kvW));
  Value kv =
      o.sized(fn.getArgument(4), o.mul(o.mul(maxCtx, o.idx(2)), o.idx(kvW)));
  when(o, o.cmpi(arith::CmpIPredicate::ult, u, qPairs), [&](Ops &in) {
    // q in place: each pair is read and written by one thread.
    Value q =
        in.sized(fn.getArgument(0), in.mul(tokens, in.idx(heads * headDim)));
    rotatePair(in, q, q, fn.getArgument(3), pos0, u, heads, headDim, in.idx(0),
               heads * headDim);
  });
  Value afterQ = o.sub(u, qPairs);
  when(o,
       o.and_(o.cmpi(arith::CmpIPredicate::uge, u, qPairs),
              o.cmpi(arith::CmpIPredicate::ult, afterQ, kPairs)),
       [&](Ops &in) {
         // k, rotated, into the key cache at its positions.
         Value k = in.sized(fn.getArgument(1), vElems);
         rotatePair(in, k, kv, fn.getArgument(3), pos0, afterQ, kvHeads,
                    headDim, in.mul(pos0, in.idx(kvW)), kvW);
       });
  Value e = o.sub(afterQ, kPairs);
  when(o,
       o.and_(o.cmpi(arith::CmpIPredicate::uge, afterQ, kPairs),
              o.and_(o.cmpi(arith::CmpIPredicate::uge, u, qPairs),
                     o.cmpi(arith::CmpIPredicate::ult, e, vElems))),
       [&](Ops &in) {
         Value v = in.sized(fn.getArgument(2), vElems);
         Value at = in.add(in.mul(in.add(pos0, maxCtx), in.idx(kvW)), e);
         in.store(in.load(v, e), kv, at);
       });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

namespace {
DenseType caseType(const gc::Case &c) {
  return c.f16 ? DenseType::F16 : DenseType::F32;
}

/// The weight of a gemv or dense case.
GemvWeight caseWeight(const gc::Case &c) {
  return c.kind == gc::Kind::Gemv
             ? GemvWeight::makePacked(c.spec, c.out, c.in)
             : GemvWeight::makeDense(caseType(c), c.out, c.in);
}

/// The GEMV kernel of a gemv or dense case, fused as it says.
std::string caseKernelName(const gc::Case &c) {
  GemvWeight w = caseWeight(c);
  GemvNorm norm{DenseType::F16, c.eps};
  switch (c.fuse) {
  case gc::Fuse::Add:
    return gemvAddKernelName(w);
  case gc::Fuse::SwiGLU:
    return gemvSwiGLUKernelName(w, w);
  case gc::Fuse::Norm:
    return gemvNormKernelName(w, norm);
  case gc::Fuse::NormSwiGLU:
    return gemvSwiGLUKernelName(w, w, norm);
  case gc::Fuse::NormQKV: {
    GemvWeight kv = caseWeight(gc::qkvKvCase(c));
    return gemvQkvKernelName(w, kv, kv, norm);
  }
  case gc::Fuse::Gemm:
    return gemmKernelName(GemvFamily{GemvFamily::Kind::Plain, {w}, {}});
  case gc::Fuse::None:
    break;
  }
  return gemvKernelName(w);
}
} // namespace

bool s10::codegen::resolveGpuCase(gc::Case &c, std::string &error) {
  switch (c.kind) {
  case gc::Kind::Gemv: {
    // The salient count of the case's seeded weight goes into its spec.
    auto fit = [&](gc::Case &w) {
      layout::Status st =
          layout::fit(w.spec, gc::randomWeight(w.spec, w.out, w.in, w.seed));
      if (st.failed())
        error = st.message();
      return !st.failed();
    };
    if (!fit(c))
      return false;
    if (c.fuse == gc::Fuse::NormQKV) {
      // k and v: one weight of kvOut rows.
      gc::Case kv = gc::qkvKvCase(c);
      if (!fit(kv))
        return false;
      c.kvCount = kv.spec.salientCount;
    }
    c.kernel = caseKernelName(c);
    return true;
  }
  case gc::Kind::Dense:
    c.kernel = caseKernelName(c);
    return true;
  case gc::Kind::RMSNorm:
    c.kernel = rmsNormKernelName(c.in, c.eps, caseType(c));
    return true;
  case gc::Kind::Binary:
    c.kernel =
        binaryKernelName(c.swiglu ? BinaryKind::SwiGLU : BinaryKind::Add);
    return true;
  case gc::Kind::Embedding:
    c.kernel = embeddingKernelName(c.out, c.in, caseType(c));
    return true;
  case gc::Kind::Rotary:
    c.kernel = rotaryKernelName(c.out, c.in);
    return true;
  case gc::Kind::Attention:
    c.kernel = attentionKernelName(c.out, c.kvHeads, c.in, float(c.scale));
    return true;
  case gc::Kind::KvAppend:
    c.kernel = kvAppendKernelName(c.in);
    return true;
  case gc::Kind::RopeAppend:
    c.kernel = ropeAppendKernelName(c.out, c.kvHeads, c.in);
    return true;
  }
  return false;
}

LogicalResult s10::codegen::buildGpuCaseKernel(OpBuilder &b, Location loc,
                                               const gc::Case &c) {
  switch (c.kind) {
  case gc::Kind::Gemv:
  case gc::Kind::Dense: {
    GemvWeight w = caseWeight(c);
    GemvNorm norm{DenseType::F16, c.eps};
    switch (c.fuse) {
    case gc::Fuse::Add:
      return success(succeeded(buildGpuGemvAddKernel(b, loc, w)));
    case gc::Fuse::SwiGLU:
      return success(succeeded(buildGpuGemvSwiGLUKernel(b, loc, w, w)));
    case gc::Fuse::Norm:
      return success(succeeded(buildGpuNormGemvKernel(b, loc, w, norm)));
    case gc::Fuse::NormSwiGLU:
      return success(succeeded(buildGpuGemvSwiGLUKernel(b, loc, w, w, norm)));
    case gc::Fuse::NormQKV: {
      GemvWeight kv = caseWeight(gc::qkvKvCase(c));
      return success(
          succeeded(buildGpuNormGemvQkvKernel(b, loc, w, kv, kv, norm)));
    }
    case gc::Fuse::Gemm:
      return success(succeeded(buildGpuGemmKernel(
          b, loc, GemvFamily{GemvFamily::Kind::Plain, {w}, {}})));
    case gc::Fuse::None:
      break;
    }
    return success(succeeded(buildGpuGemvKernel(b, loc, w)));
  }
  case gc::Kind::RMSNorm:
    return success(
        succeeded(buildGpuRMSNormKernel(b, loc, c.in, c.eps, caseType(c))));
  case gc::Kind::Binary:
    buildGpuBinaryKernel(b, loc,
                         c.swiglu ? BinaryKind::SwiGLU : BinaryKind::Add);
    return success();
  case gc::Kind::Embedding:
    return success(
        succeeded(buildGpuEmbeddingKernel(b, loc, c.out, c.in, caseType(c))));
  case gc::Kind::Rotary:
    return success(succeeded(buildGpuRotaryKernel(b, loc, c.out, c.in)));
  case gc::Kind::Attention:
    return success(succeeded(buildGpuAttentionKernel(b, loc, c.out, c.kvHeads,
                                                     c.in, float(c.scale))));
  case gc::Kind::KvAppend:
    return success(succeeded(buildGpuKvAppendKernel(b, loc, c.in)));
  case gc::Kind::RopeAppend:
    return success(
        succeeded(buildGpuRopeAppendKernel(b, loc, c.out, c.kvHeads, c.in)));
  }
  return failure();
}

void s10::codegen::registerGpuKernelDialects(DialectRegistry &registry) {
  registerKernelDialects(registry);
  registry.insert<gpu::GPUDialect, LLVM::LLVMDialect, NVVM::NVVMDialect>();
}
