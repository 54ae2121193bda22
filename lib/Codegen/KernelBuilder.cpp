//===- KernelBuilder.cpp - CPU kernels for packed layouts -----------------===//
//
// The GEMV of a packed layout walks a row group by group. Within a group it
// decodes eight columns at a time (one byte of a bit plane) into vector
// lanes and accumulates code * x; the group's scale and offset are applied
// once per group (the offset through the group sum of x), so a row costs
// one decode per weight and a handful of scalar operations per group.
//
// Mixed layouts whose groups start on a byte first build, per call, tables
// of partial sums of x: for every chunk of eight inputs the sum over each of
// the 256 subsets. A chunk's non-salient part, salient top bits and salient
// sum of x are then three table lookups indexed by its sign and mask bytes;
// only the salient low bits are spread into vector lanes and multiplied into
// x. Other groups decode every weight in its lanes, one column at a time if
// they do not start on a byte.
//
// The decode kernel uses the same decoder and computes each value as
// PackedMatrix::decodeRow does (scale * float(code) + offset in f32, no
// contraction), which is what makes it bit-exact.
//
//===----------------------------------------------------------------------===//

#include "s10/Codegen/KernelBuilder.h"

#include "Ops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/STLExtras.h"

#include <limits>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace mlir;
using namespace s10::codegen;
namespace layout = s10::quant::layout;
using s10::codegen::detail::identDouble;
using s10::codegen::detail::memref1D;
using s10::codegen::detail::Ops;
using s10::codegen::detail::str;

namespace {

/// Largest input size: x is staged on the stack (4 bytes per input).
constexpr int64_t kMaxIn = int64_t(1) << 18;

std::string weightTag(const GemvWeight &w) {
  std::string s;
  if (!w.packed) {
    s = w.dense == DenseType::F16 ? "dense_f16" : "dense_f32";
    if (w.inOut)
      s += "t";
  } else {
    const layout::Spec &sp = w.spec;
    s = std::string(layout::kindName(sp.kind)) + "_k" + str(sp.bits);
    if (sp.mixed())
      s += "_s" + str(sp.salientBits);
    s += "_g" + str(sp.groupSize) + "_" + layout::paramFormatName(sp.params);
    if (sp.kind == layout::Kind::ChannelBlock)
      s += "_blk" + str(sp.block);
    if (sp.kind == layout::Kind::NM)
      s += "_" + str(sp.nmSalient) + "of" + str(sp.block);
    if (sp.kind == layout::Kind::Bitmap ||
        sp.kind == layout::Kind::ChannelBlock)
      s += "_n" + str(sp.salientCount);
  }
  if (usesMaskedSums(w))
    s += "_m16";
  if (usesCodeTable(w))
    s += "_tbl";
  return s + "_" + str(w.out) + "x" + str(w.in);
}

/// Kernels run 256-bit vectors on AVX-512 CPUs (LLVM splits their 16-lane
/// ops): one token's kernels are bound by the decode or by the cache, and
/// 512-bit code only lowers the core's clock (about 6 % of a token on the
/// default layout). The GEMM micro-kernels and masked-sum GEMVs, which gain
/// from 512 bits, drop it (fullVectors).
func::FuncOp makeFunc(OpBuilder &b, Location loc, StringRef name,
                      ArrayRef<Type> args) {
  auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  fn.addEntryBlock();
  auto pair = [&](StringRef k, StringRef v) {
    return b.getArrayAttr({b.getStringAttr(k), b.getStringAttr(v)});
  };
  fn->setAttr("passthrough",
              b.getArrayAttr({pair("prefer-vector-width", "256"),
                              pair("min-legal-vector-width", "256")}));
  return fn;
}

/// Lets `fn` use the CPU's widest vectors.
void fullVectors(func::FuncOp fn) { fn->removeAttr("passthrough"); }

} // namespace

//===----------------------------------------------------------------------===//
// Names and checks
//===----------------------------------------------------------------------===//

GemvWeight GemvWeight::makePacked(const layout::Spec &spec, int64_t out,
                                  int64_t in) {
  GemvWeight w;
  w.packed = true;
  w.spec = spec;
  w.out = out;
  w.in = in;
  return w;
}

GemvWeight GemvWeight::makeDense(DenseType type, int64_t out, int64_t in,
                                 bool inOut) {
  GemvWeight w;
  w.packed = false;
  w.dense = type;
  w.inOut = inOut;
  w.out = out;
  w.in = in;
  return w;
}

uint64_t GemvWeight::bytes() const {
  if (!packed)
    return uint64_t(out) * uint64_t(in) * (dense == DenseType::F16 ? 2 : 4);
  layout::Geometry g;
  if (layout::describe(spec, out, in, g).failed())
    return 0;
  return g.totalBytes;
}

LogicalResult s10::codegen::checkGemvWeight(const GemvWeight &w,
                                            std::string &reason) {
  if (w.out <= 0 || w.in <= 0) {
    reason = "weight dimensions must be positive, got " + str(w.out) + "x" +
             str(w.in);
    return failure();
  }
  if (w.in > kMaxIn) {
    reason = "input size " + str(w.in) + " exceeds " + str(kMaxIn) +
             " (the kernels stage x on the stack)";
    return failure();
  }
  if (!w.packed) {
    if (w.bytes() > uint64_t(INT64_MAX) / 2) {
      reason = "dense weight too large";
      return failure();
    }
    return success();
  }
  layout::Geometry g;
  layout::Status st = layout::describe(w.spec, w.out, w.in, g);
  if (st.failed()) {
    reason = "invalid " + std::string(layout::kindName(w.spec.kind)) +
             " layout: " + st.message();
    return failure();
  }
  return success();
}

std::string s10::codegen::gemvKernelName(const GemvWeight &w) {
  return "s10_gemv_" + weightTag(w);
}

std::string s10::codegen::decodeKernelName(const GemvWeight &w) {
  return "s10_decode_" + weightTag(w);
}

std::string s10::codegen::rmsNormKernelName(int64_t width, double eps,
                                            DenseType weight) {
  return "s10_rmsnorm_" +
         std::string(weight == DenseType::F16 ? "f16" : "f32") + "_" +
         str(width) + "_eps" + identDouble(eps);
}

std::string s10::codegen::embeddingKernelName(int64_t vocab, int64_t hidden,
                                              DenseType table) {
  return "s10_embedding_" +
         std::string(table == DenseType::F16 ? "f16" : "f32") + "_" +
         str(vocab) + "x" + str(hidden);
}

std::string s10::codegen::rotaryKernelName(int64_t heads, int64_t headDim) {
  return "s10_rotary_h" + str(heads) + "_d" + str(headDim);
}

std::string s10::codegen::attendKernelName(int64_t headDim, int64_t kvWidth,
                                           float scale) {
  return "s10_attend_d" + str(headDim) + "_kv" + str(kvWidth) + "_s" +
         identDouble(double(scale));
}

std::string s10::codegen::binaryKernelName(BinaryKind kind) {
  return kind == BinaryKind::Add ? "s10_add" : "s10_swiglu";
}

void s10::codegen::registerKernelDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect,
                  math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                  vector::VectorDialect>();
}

//===----------------------------------------------------------------------===//
// PackedDecoder
//===----------------------------------------------------------------------===//

PackedDecoder::PackedDecoder(const layout::Spec &spec, int64_t out, int64_t in)
    : spec_(spec) {
  layout::Status st = layout::describe(spec, out, in, geometry_);
  (void)st;
  assert(!st.failed() && "PackedDecoder needs a valid layout");
}

bool PackedDecoder::chunkAligned() const {
  return spec_.groupSize % kChunk == 0 || geometry_.groups == 1;
}

bool PackedDecoder::wordAligned() const {
  return spec_.groupSize % (kChunk * kWordChunks) == 0 || geometry_.groups == 1;
}

int64_t PackedDecoder::maskScratchBytes() const {
  return spec_.kind == layout::Kind::NM ? (geometry_.in + 127) / 128 * 16 : 0;
}

/// memref<size x i32> of the constant global `name` in the nearest symbol
/// table (a builtin.module, or a CUDA kernel's gpu.module), created there
/// from `fill` the first time.
static Value i32Table(OpBuilder &b, Location loc, StringRef name, int64_t size,
                      function_ref<void(MutableArrayRef<int32_t>)> fill) {
  auto type = MemRefType::get({size}, b.getI32Type());
  Operation *module = b.getInsertionBlock()->getParentOp();
  while (!module->hasTrait<OpTrait::SymbolTable>())
    module = module->getParentOp();
  if (!SymbolTable::lookupSymbolIn(module, name)) {
    SmallVector<int32_t> v(size);
    fill(v);
    OpBuilder gb = OpBuilder::atBlockBegin(&module->getRegion(0).front());
    memref::GlobalOp::create(
        gb, loc, name, gb.getStringAttr("private"), type,
        DenseElementsAttr::get(RankedTensorType::get({size}, b.getI32Type()),
                               ArrayRef<int32_t>(v)),
        /*constant=*/true, gb.getI64IntegerAttr(32));
  }
  return memref::GetGlobalOp::create(b, loc, type, name);
}

Value PackedDecoder::salientShiftTable(OpBuilder &b, Location loc) const {
  unsigned rest = spec_.salientBits - 1;
  // Entry [m][l]: rest * popcount(m & (2^l - 1)).
  return i32Table(
      b, loc, "s10_salient_shifts_r" + std::to_string(rest), 256 * kChunk,
      [&](MutableArrayRef<int32_t> v) {
        for (unsigned m = 0; m < 256; ++m)
          for (unsigned l = 0; l < kChunk; ++l)
            v[m * kChunk + l] =
                int32_t(rest * unsigned(llvm::popcount(m & ((1u << l) - 1))));
      });
}

static unsigned log2Of(int64_t v) {
  unsigned n = 0;
  while ((int64_t(1) << n) < v)
    ++n;
  return n;
}

/// `nbits` bits (nbits + 7 <= 16) at bit `pos` (i64) of the bytes at byte
/// offset `base` of `bytes`, as an i64.
static Value bitsAt(Ops &o, Value bytes, Value base, Value pos,
                    unsigned nbits) {
  Value at = o.add(base, o.toIndex(o.shr(pos, o.int_(o.i64(), 3))));
  Value w = o.extui(o.loadInt(bytes, at, 2), o.i64());
  return o.and_(o.shr(w, o.and_(pos, o.int_(o.i64(), 7))),
                o.int_(o.i64(), (int64_t(1) << nbits) - 1));
}

/// 3^t for t in [0, 5) (i32, scalar or vector): byte t of 0x1B090301, or
/// 81.
static Value ternaryPow3(Ops &o, Value t) {
  Type ty = t.getType();
  // Digits 0-3 as the bytes of one 32-bit constant, digit 4 apart.
  constexpr const unsigned *w = layout::kTritWeights;
  constexpr int64_t packed =
      w[0] | w[1] << 8 | w[2] << 16 | int64_t(w[3]) << 24;
  Value low = o.shr(o.int_(ty, packed),
                    o.mul(o.minsi(t, o.int_(ty, 3)), o.int_(ty, 8)));
  return o.select(o.cmpi(arith::CmpIPredicate::eq, t, o.int_(ty, 4)),
                  o.int_(ty, w[4]), o.and_(low, o.int_(ty, 0xff)));
}

/// The code of ternary byte q whose digit has weight pow3:
/// ((q pow3) mod 256) 3 >> 8, as layout::decodeTrit.
static Value ternaryDigit(Ops &o, Value q, Value pow3) {
  Type ty = q.getType();
  Value m = o.and_(o.mul(q, pow3), o.int_(ty, 0xff));
  return o.shr(o.mul(m, o.int_(ty, 3)), o.int_(ty, 8));
}

Value PackedDecoder::ternaryWord(OpBuilder &b, Location loc, Value bytes,
                                 Value index) const {
  Ops o{b, loc};
  const layout::Part *cp = geometry_.find(layout::PartId::Codes);
  return o.loadInt(
      bytes, o.add(o.idx(int64_t(cp->offset)), o.mul(index, o.idx(8))), 8, 8);
}

Value PackedDecoder::ternaryLaneTable(OpBuilder &b, Location loc) const {
  constexpr int64_t n = kChunk;
  return i32Table(b, loc, "s10_ternary_lanes", 10 * n,
                  [](MutableArrayRef<int32_t> v) {
                    for (int64_t p = 0; p < 5 * n; ++p) {
                      v[p] = int32_t(8 * (p / 5));
                      v[5 * n + p] = int32_t(layout::kTritWeights[p % 5]);
                    }
                  });
}

PackedDecoder::Row PackedDecoder::beginRow(OpBuilder &b, Location loc,
                                           Value bytes, Value row,
                                           Value scratch,
                                           Value shiftTable) const {
  Ops o{b, loc};
  const layout::Geometry &g = geometry_;
  Row r;
  r.row = row;
  r.shifts = shiftTable;
  auto rowOffset = [&](layout::PartId id, Value index) {
    const layout::Part *p = g.find(id);
    return o.add(o.idx(int64_t(p->offset)),
                 o.mul(index, o.idx(int64_t(p->rowBytes))));
  };
  r.codes = rowOffset(
      spec_.mixed() ? layout::PartId::Signs : layout::PartId::Codes, row);
  r.maskMem = bytes;
  switch (spec_.kind) {
  case layout::Kind::KBit:
    break;
  case layout::Kind::Ternary:
    // The stream's chunks run on across rows: the row's first one.
    r.codes = o.mul(row, o.idx(g.in / kChunk));
    break;
  case layout::Kind::Bitmap: {
    r.mask = rowOffset(layout::PartId::Mask, row);
    r.stream = o.idx(int64_t(g.find(layout::PartId::SalientCodes)->offset));
    Value off = o.add(o.idx(int64_t(g.find(layout::PartId::Offsets)->offset)),
                      o.mul(row, o.idx(4)));
    r.rank = o.extui(o.loadInt(bytes, off, 4, 4), o.i64());
    break;
  }
  case layout::Kind::ChannelBlock: {
    Value block = o.divu(row, o.idx(spec_.block));
    r.mask = rowOffset(layout::PartId::ChannelMask, block);
    r.stream = o.idx(int64_t(g.find(layout::PartId::SalientCodes)->offset));
    // |C_b|: the popcount of the block's channel mask (padding bits are
    // zero, rows are a multiple of 16 bytes).
    int64_t words = int64_t(g.find(layout::PartId::ChannelMask)->rowBytes) / 8;
    Value count =
        o.loop(o.idx(0), o.idx(words), o.idx(1), {o.int_(o.i64(), 0)},
               [&](Ops &l, Value w, ValueRange acc) -> SmallVector<Value> {
                 Value at = l.add(r.mask, l.mul(w, l.idx(8)));
                 Value v = l.loadInt(bytes, at, 8);
                 return {l.add(acc[0], math::CtPopOp::create(l.b, l.loc, v))};
               })[0];
    Value off = o.add(o.idx(int64_t(g.find(layout::PartId::Offsets)->offset)),
                      o.mul(block, o.idx(4)));
    Value base = o.extui(o.loadInt(bytes, off, 4), o.i64());
    Value inBlock = o.toI64(o.sub(row, o.mul(block, o.idx(spec_.block))));
    r.rank = o.add(base, o.mul(inBlock, count));
    break;
  }
  case layout::Kind::NM: {
    r.stream = rowOffset(layout::PartId::SalientCodes, row);
    r.rank = o.int_(o.i64(), 0);
    if (!scratch) {
      r.indices = rowOffset(layout::PartId::Indices, row);
      r.mask = o.idx(0);
      break;
    }
    // The row's salient mask, built from its indices in scratch, turns N:M
    // into the bitmap case with a stream of its own per row.
    int64_t maskBytes = maskScratchBytes();
    o.loop(o.idx(0), o.idx(maskBytes), o.idx(1), {},
           [&](Ops &l, Value i, ValueRange) -> SmallVector<Value> {
             l.store(l.int_(l.i8(), 0), scratch, i);
             return {};
           });
    unsigned ib = log2Of(spec_.block);
    int64_t per = g.in / spec_.block * spec_.nmSalient;
    Value idxRow = rowOffset(layout::PartId::Indices, row);
    o.loop(o.idx(0), o.idx(per), o.idx(1), {},
           [&](Ops &l, Value k, ValueRange) -> SmallVector<Value> {
             Value pos = l.mul(l.toI64(k), l.int_(l.i64(), ib));
             Value index = bitsAt(l, bytes, idxRow, pos, ib);
             Value blk = l.divu(k, l.idx(spec_.nmSalient));
             Value j = l.add(l.mul(blk, l.idx(spec_.block)), l.toIndex(index));
             Value byte = l.divu(j, l.idx(8));
             Value bit = l.trunci(
                 l.shl(l.int_(l.i32(), 1), l.and_(l.trunci(l.toI64(j), l.i32()),
                                                  l.int_(l.i32(), 7))),
                 l.i8());
             l.store(l.or_(l.load(scratch, byte), bit), scratch, byte);
             return {};
           });
    r.maskMem = scratch;
    r.mask = o.idx(0);
    break;
  }
  }
  if (spec_.params != layout::ParamFormat::F16) {
    // Q8T's part has row stride 0: every row reads the tensor's pair.
    Value base = rowOffset(layout::PartId::SuperScales, row);
    for (unsigned k = 0; k < 2 * spec_.paramPairs(); ++k)
      r.super[k] =
          o.halfToFloat(o.loadInt(bytes, o.add(base, o.idx(2 * k)), 2));
  }
  return r;
}

SmallVector<Value, 4> PackedDecoder::params(OpBuilder &b, Location loc,
                                            Value bytes, const Row &r,
                                            Value group) const {
  Ops o{b, loc};
  const layout::Part *pp = geometry_.find(layout::PartId::Params);
  unsigned nv = 2 * spec_.paramPairs();
  bool f16 = spec_.params == layout::ParamFormat::F16;
  Value base = o.add(o.add(o.idx(int64_t(pp->offset)),
                           o.mul(r.row, o.idx(int64_t(pp->rowBytes)))),
                     o.mul(group, o.idx(f16 ? 2 * nv : nv)));
  SmallVector<Value, 4> p;
  for (unsigned k = 0; k < nv; ++k) {
    if (f16) {
      p.push_back(
          o.halfToFloat(o.loadInt(bytes, o.add(base, o.idx(2 * k)), 2, 2)));
      continue;
    }
    // As decodeQ8Scale / decodeQ8Offset: super * float(c) * (1 / 255).
    Value c = o.load(bytes, o.add(base, o.idx(k)));
    bool isScale = k % 2 == 0;
    Value cf = isScale ? o.uitofp(c, o.f32()) : o.sitofp(c, o.f32());
    p.push_back(o.mul(o.mul(r.super[k], cf),
                      o.f32c(isScale ? 1.0f / 255.0f : 1.0f / 127.0f)));
  }
  return p;
}

PackedDecoder::Word PackedDecoder::word(OpBuilder &b, Location loc, Value bytes,
                                        const Row &r, Value firstChunk,
                                        unsigned chunks) const {
  Ops o{b, loc};
  // Plane rows start on 16 bytes, so whole words are 4-byte aligned (the
  // NM mask scratch is a stack buffer of unknown alignment).
  unsigned align = chunks == kWordChunks ? 4 : 0;
  auto bits = [&](Value mem, Value at) {
    return chunks == 1 ? o.extui(o.load(mem, at), o.i32())
                       : o.loadInt(mem, at, 4, mem == bytes ? align : 0);
  };
  Value signs = bits(bytes, o.add(r.codes, firstChunk));
  if (!r.indices)
    return {signs, bits(r.maskMem, o.add(r.mask, firstChunk)), {}};
  return {signs, nmMaskBits(b, loc, bytes, r, firstChunk, chunks), {}};
}

/// N:M without a mask row: the mask bits of `chunks` chunks from
/// `firstChunk` on, from the indices of the blocks they meet.
Value PackedDecoder::nmMaskBits(OpBuilder &b, Location loc, Value bytes,
                                const Row &r, Value firstChunk,
                                unsigned chunks) const {
  Ops o{b, loc};
  const int64_t M = spec_.block, N = spec_.nmSalient;
  const int64_t span = kChunk * int64_t(chunks);
  unsigned ib = log2Of(M);
  Value c0 = o.mul(firstChunk, o.idx(kChunk));
  Value blk0 = o.divu(c0, o.idx(M));
  int64_t blocks = (span + M - 1) / M;
  Value mask = o.loop(
      o.idx(0), o.idx(blocks * N), o.idx(1), {o.int_(o.i32(), 0)},
      [&](Ops &l, Value e, ValueRange acc) -> SmallVector<Value> {
        Value blk = l.add(blk0, l.divu(e, l.idx(N)));
        Value k = l.add(l.mul(blk, l.idx(N)), l.remu(e, l.idx(N)));
        Value pos = l.mul(l.toI64(k), l.int_(l.i64(), ib));
        Value index = bitsAt(l, bytes, r.indices, pos, ib);
        // The column relative to c0.
        Value j =
            l.sub(l.add(l.toI64(l.mul(blk, l.idx(M))), index), l.toI64(c0));
        Value inside =
            l.and_(l.cmpi(arith::CmpIPredicate::sge, j, l.int_(l.i64(), 0)),
                   l.cmpi(arith::CmpIPredicate::slt, j, l.int_(l.i64(), span)));
        Value bit = l.shl(l.int_(l.i32(), 1),
                          l.trunci(l.and_(j, l.int_(l.i64(), 31)), l.i32()));
        return {l.select(inside, l.or_(acc[0], bit), acc[0])};
      })[0];
  if (chunks == 1)
    mask = o.and_(mask, o.int_(o.i32(), 0xff));
  return mask;
}

bool PackedDecoder::tileLoads() const {
  return spec_.mixed() || (spec_.kind == layout::Kind::KBit && spec_.bits != 7);
}

SmallVector<PackedDecoder::Word, 4>
PackedDecoder::tile(OpBuilder &b, Location loc, Value bytes, const Row &r,
                    Value firstChunk, unsigned count) const {
  assert(gpuLoads_ && tileLoads() && (count == 1 || count == kWordChunks));
  Ops o{b, loc};
  // `n` consecutive i32 from byte `at`, which is aligned as 4n is (plane
  // rows start on 16 bytes): 16-byte loads, or one load of n words.
  auto words = [&](Value at, unsigned n) {
    SmallVector<Value> v;
    unsigned per = n % 4 == 0 ? 4 : n;
    for (unsigned q = 0; q < n / per; ++q) {
      Value raw = o.vload(o.vec(o.i8(), 4 * per), bytes,
                          o.add(at, o.idx(int64_t(16 * q))),
                          per == 4 ? 16 : 4 * (per & -per));
      Value w = vector::BitCastOp::create(b, loc, o.vec(o.i32(), per), raw);
      for (unsigned e = 0; e < per; ++e)
        v.push_back(vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{e}));
    }
    return v;
  };
  SmallVector<Word, 4> out(count);
  if (!spec_.mixed()) {
    unsigned k = spec_.bits;
    // A Word's 32 columns of k-bit codes are 4k bytes.
    SmallVector<Value> v =
        words(o.add(r.codes, o.mul(firstChunk, o.idx(k))), count * k);
    for (unsigned w = 0; w < count; ++w)
      out[w].codes.assign(v.begin() + w * k, v.begin() + (w + 1) * k);
    return out;
  }
  SmallVector<Value> signs = words(o.add(r.codes, firstChunk), count);
  SmallVector<Value> masks;
  if (!r.indices)
    masks = words(o.add(r.mask, firstChunk), count);
  for (unsigned w = 0; w < count; ++w) {
    out[w].signs = signs[w];
    out[w].mask =
        r.indices
            ? nmMaskBits(b, loc, bytes, r,
                         o.add(firstChunk, o.idx(kWordChunks * w)), kWordChunks)
            : masks[w];
  }
  return out;
}

PackedDecoder::Codes PackedDecoder::chunk(OpBuilder &b, Location loc,
                                          Value bytes, const Row &r, Value c,
                                          Value rank) const {
  if (!spec_.mixed())
    return chunk(b, loc, bytes, r, Word(), 0, c, rank);
  return chunk(b, loc, bytes, r, word(b, loc, bytes, r, c, 1), 0, c, rank);
}

PackedDecoder::Codes PackedDecoder::chunk(OpBuilder &b, Location loc,
                                          Value bytes, const Row &r,
                                          const Word &w, unsigned t, Value c,
                                          Value rank) const {
  Ops o{b, loc};
  constexpr int64_t n = kChunk;
  Codes out;
  out.rank = rank;
  auto laneList = [](auto fn) {
    SmallVector<int64_t> v;
    for (int64_t l = 0; l < n; ++l)
      v.push_back(fn(l));
    return v;
  };
  if (spec_.kind == layout::Kind::Ternary) {
    // Chunk F is codes 8 (F mod 5) .. + 7 of the 40 in 8-byte word F / 5:
    // lane l's code is trit p mod 5 of byte p / 5, p = 8 (F mod 5) + l.
    VectorType v32 = o.vec(o.i32());
    Value shift, pow3, word = w.trits;
    if (word) {
      // Chunk t of a word in hand: its lanes' shifts and digit weights are
      // constants.
      shift = o.lanes(o.i32(), laneList([&](int64_t l) {
                        return int64_t(8 * ((8 * t + l) / 5));
                      }));
      pow3 = o.lanes(o.i32(), laneList([&](int64_t l) {
                       return int64_t(layout::kTritWeights[(8 * t + l) % 5]);
                     }));
    } else {
      Value f = o.add(r.codes, c);
      Value wi = o.divu(f, o.idx(5));
      Value rr = o.sub(f, o.mul(wi, o.idx(5)));
      word = ternaryWord(b, loc, bytes, wi);
      if (r.shifts) {
        // The lanes' byte shifts and powers of three for this F mod 5.
        Value at = o.mul(rr, o.idx(kChunk));
        shift = o.vload(v32, r.shifts, at);
        pow3 = o.vload(v32, r.shifts, o.add(at, o.idx(5 * kChunk)));
      } else {
        Value p = o.add(
            o.splat(o.mul(o.trunci(o.toI64(rr), o.i32()), o.int_(o.i32(), 8))),
            o.lanes(o.i32(), laneList([](int64_t l) { return l; })));
        Value byte = o.divu(p, o.int_(v32, 5));
        Value d = o.sub(p, o.mul(byte, o.int_(v32, 5)));
        shift = o.mul(byte, o.int_(v32, 8));
        pow3 = ternaryPow3(o, d);
      }
    }
    Value q = o.and_(
        o.trunci(o.shr(o.splat(word), o.extui(shift, o.vec(o.i64()))), v32),
        o.int_(v32, 0xff));
    out.low = o.sitofp(ternaryDigit(o, q, pow3), o.vec(o.f32()));
    return out;
  }
  if (!spec_.mixed()) {
    unsigned k = spec_.bits;
    Value at = o.add(r.codes, o.mul(c, o.idx(k)));
    Value codes;
    if (!w.codes.empty()) {
      // Chunk t's 8k bits start at bit 8tk of the Word's codes; with k != 7
      // they span at most two of its i32 and fit an i64 after the shift.
      int64_t p = 8 * int64_t(t) * k, e = p / 32, s = p % 32;
      Value v = o.extui(w.codes[e], o.i64());
      if (s + 8 * k > 32 && size_t(e + 1) < w.codes.size())
        v = o.or_(v,
                  o.shl(o.extui(w.codes[e + 1], o.i64()), o.int_(o.i64(), 32)));
      if (s)
        v = o.shr(v, o.int_(o.i64(), s));
      bool narrow = 8 * k <= 32;
      Type et = narrow ? o.i32() : o.i64();
      if (narrow)
        v = o.trunci(v, o.i32());
      Value lanes = o.shr(
          o.splat(v), o.lanes(et, laneList([&](int64_t l) { return l * k; })));
      lanes = o.and_(lanes, o.splat(o.int_(et, (int64_t(1) << k) - 1)));
      codes = narrow ? lanes : o.trunci(lanes, o.vec(o.i32()));
    } else if (k == 8) {
      codes = o.extui(o.vload(o.vec(o.i8()), bytes, at), o.vec(o.i32()));
    } else {
      // Eight k-bit codes are the k bytes at 8c * k / 8.
      bool narrow = 8 * k <= 32;
      Type et = narrow ? o.i32() : o.i64();
      // Rows start on 16 bytes: chunk c's bytes are aligned as c * k is.
      unsigned align = std::min(unsigned(k & -k), narrow ? 4u : 8u);
      Value word = o.loadInt(bytes, at, narrow ? 4 : 8, align > 1 ? align : 0);
      Value v = o.shr(o.splat(word),
                      o.lanes(et, laneList([&](int64_t l) { return l * k; })));
      if (codeTable_ && k <= 3) {
        // vpermps reads only an index's low three bits: no mask, and the
        // table holds the floats.
        SmallVector<float> t;
        for (int64_t l = 0; l < n; ++l)
          t.push_back(float(l & ((int64_t(1) << k) - 1)));
        Value table = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(o.vec(o.f32()), ArrayRef(t)));
        out.low =
            LLVM::CallIntrinsicOp::create(
                b, loc, o.vec(o.f32()), b.getStringAttr("llvm.x86.avx2.permps"),
                ValueRange{table, v})
                .getResult(0);
        return out;
      }
      v = o.and_(v, o.splat(o.int_(et, (int64_t(1) << k) - 1)));
      codes = narrow ? v : o.trunci(v, o.vec(o.i32()));
    }
    out.low = o.sitofp(codes, o.vec(o.f32()));
    return out;
  }
  unsigned rest = spec_.salientBits - 1;
  // Lane l of the chunk is bit 8t + l of the words.
  Value laneBit = o.lanes(
      o.i32(), laneList([&](int64_t l) { return int64_t(1) << (8 * t + l); }));
  Value zero = o.splat(o.int_(o.i32(), 0));
  Value sign =
      o.cmpi(arith::CmpIPredicate::ne, o.and_(o.splat(w.signs), laneBit), zero);
  out.low = o.select(sign, o.f32c(1.0f, o.vec(o.f32())),
                     o.f32c(0.0f, o.vec(o.f32())));
  out.salient =
      o.cmpi(arith::CmpIPredicate::ne, o.and_(o.splat(w.mask), laneBit), zero);
  // The chunk's low bits are consecutive in the stream from the rank's bit
  // on, at most 8 * 7 bits, so one 64-bit load holds them all; the table
  // gives each lane's offset in them (lanes that are not salient read
  // bits they do not use).
  Value m = gpuLoads_ || r.indices
                ? o.trunci(o.shr(w.mask, o.int_(o.i32(), 8 * t)), o.i8())
                : o.load(r.maskMem, o.add(r.mask, c));
  Value shifts = o.vload(o.vec(o.i32()), r.shifts,
                         o.mul(o.toIndex(o.extui(m, o.i64())), o.idx(n)));
  Value pos = o.mul(rank, o.int_(o.i64(), rest));
  Value word;
  if (gpuLoads_ && spec_.kind != layout::Kind::NM) {
    // The 64 bits from `pos` out of the two aligned words holding them:
    // lo >> s | (hi << 1) << (63 - s), which is lo for s = 0.
    Value at = o.add(r.stream, o.toIndex(o.shl(o.shr(pos, o.int_(o.i64(), 6)),
                                               o.int_(o.i64(), 3))));
    Value s = o.and_(pos, o.int_(o.i64(), 63));
    Value lo = o.loadInt(bytes, at, 8, 8);
    Value hi = o.loadInt(bytes, o.add(at, o.idx(8)), 8, 8);
    Value one = o.int_(o.i64(), 1);
    word = o.or_(o.shr(lo, s),
                 o.shl(o.shl(hi, one), o.sub(o.int_(o.i64(), 63), s)));
  } else {
    Value at = o.add(r.stream, o.toIndex(o.shr(pos, o.int_(o.i64(), 3))));
    word = o.shr(o.loadInt(bytes, at, 8), o.and_(pos, o.int_(o.i64(), 7)));
  }
  Value restMask = o.splat(o.int_(o.i32(), (int64_t(1) << rest) - 1));
  Value lows;
  if (8 * rest <= 32)
    lows = o.shr(o.splat(o.trunci(word, o.i32())), shifts);
  else
    lows = o.trunci(o.shr(o.splat(word), o.extui(shifts, o.vec(o.i64()))),
                    o.vec(o.i32()));
  lows = o.and_(lows, restMask);
  Value top =
      o.select(sign, o.splat(o.int_(o.i32(), int64_t(1) << rest)), zero);
  out.salientCode = o.sitofp(o.or_(top, lows), o.vec(o.f32()));
  Value count = math::CtPopOp::create(b, loc, m);
  out.rank = o.add(rank, o.extui(count, o.i64()));
  return out;
}

PackedDecoder::Codes PackedDecoder::column(OpBuilder &b, Location loc,
                                           Value bytes, const Row &r, Value col,
                                           Value rank) const {
  Ops o{b, loc};
  Codes out;
  out.rank = rank;
  Value c64 = o.toI64(col);
  Value seven = o.int_(o.i64(), 7), three = o.int_(o.i64(), 3);
  auto field = [&](Value base, Value pos, unsigned nbits) {
    return o.trunci(bitsAt(o, bytes, base, pos, nbits), o.i32());
  };
  if (spec_.kind == layout::Kind::Ternary) {
    const layout::Part *cp = geometry_.find(layout::PartId::Codes);
    Value f = o.add(o.mul(o.toI64(r.row), o.int_(o.i64(), geometry_.in)), c64);
    Value five = o.int_(o.i64(), 5);
    Value byte = o.divu(f, five);
    Value t = o.sub(f, o.mul(byte, five));
    Value q = o.extui(
        o.load(bytes, o.add(o.idx(int64_t(cp->offset)), o.toIndex(byte))),
        o.i32());
    out.low = o.sitofp(ternaryDigit(o, q, ternaryPow3(o, o.trunci(t, o.i32()))),
                       o.f32());
    return out;
  }
  if (!spec_.mixed()) {
    unsigned k = spec_.bits;
    Value code = field(r.codes, o.mul(c64, o.int_(o.i64(), k)), k);
    out.low = o.sitofp(code, o.f32());
    return out;
  }
  unsigned rest = spec_.salientBits - 1;
  Value byte = o.toIndex(o.shr(c64, three));
  Value shift = o.trunci(o.and_(c64, seven), o.i32());
  Value one = o.int_(o.i32(), 1);
  Value sign = o.and_(
      o.shr(o.extui(o.load(bytes, o.add(r.codes, byte)), o.i32()), shift), one);
  Value m = o.and_(
      o.shr(o.extui(o.load(r.maskMem, o.add(r.mask, byte)), o.i32()), shift),
      one);
  out.low = o.sitofp(sign, o.f32());
  out.salient = o.cmpi(arith::CmpIPredicate::ne, m, o.int_(o.i32(), 0));
  Value low = field(r.stream, o.mul(rank, o.int_(o.i64(), rest)), rest);
  Value code = o.or_(o.shl(sign, o.int_(o.i32(), rest)), low);
  out.salientCode = o.sitofp(code, o.f32());
  out.rank = o.add(rank, o.extui(m, o.i64()));
  return out;
}

Value PackedDecoder::dequantize(OpBuilder &b, Location loc, const Codes &c,
                                ArrayRef<Value> p, bool contract) const {
  Ops o{b, loc};
  auto bcast = [&](Value s) {
    if (auto vt = dyn_cast<VectorType>(c.low.getType()))
      return o.splat(s, vt.getNumElements());
    return s;
  };
  auto madd = [&](Value x, Value y, Value z) {
    return contract ? o.fma(x, y, z) : o.add(o.mul(x, y), z);
  };
  Value v = madd(bcast(p[0]), c.low, bcast(p[1]));
  if (!spec_.mixed())
    return v;
  Value sal = madd(bcast(p[2]), c.salientCode, bcast(p[3]));
  return o.select(c.salient, sal, v);
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

namespace {

/// The columns [begin, end) of group g and its chunks [c0, c1).
struct GroupRange {
  Value begin, end, c0, c1;
};

GroupRange groupRange(Ops &o, int64_t G, int64_t in, Value g) {
  GroupRange r;
  r.begin = o.mul(g, o.idx(G));
  r.end = o.minsi(o.add(r.begin, o.idx(G)), o.idx(in));
  r.c0 = o.divu(r.begin, o.idx(PackedDecoder::kChunk));
  r.c1 = o.divu(o.add(r.end, o.idx(PackedDecoder::kChunk - 1)),
                o.idx(PackedDecoder::kChunk));
  return r;
}

/// The words [w0, w1) of group g (whole words: planes are padded).
std::pair<Value, Value> groupWords(Ops &o, const GroupRange &gr) {
  const int64_t words = PackedDecoder::kWordChunks;
  return {o.divu(gr.c0, o.idx(words)),
          o.divu(o.add(gr.c1, o.idx(words - 1)), o.idx(words))};
}

/// Mixed kinds with chunk-aligned groups and at most this many inputs use
/// the lookup tables below (about 129 bytes per input: up to 1 MiB, on the
/// stack of the Gemv kernel).
constexpr int64_t kLutMaxIn = 8192;

/// The tables of partial sums of x a mixed-kind GEMV reads, one f32 buffer:
///   [chunks][256]  T_c[b]: the sum of x[8c + i] over the bits i set in b
///   [inPad]        x padded with zeros
///   [groups]       the sum of x over each group
/// so that a chunk's binary and salient parts are a few table lookups.
struct LutLayout {
  int64_t chunks, inPad, groups;
  int64_t xOffset() const { return chunks * 256; }
  int64_t sumOffset() const { return xOffset() + inPad; }
  int64_t size() const { return sumOffset() + groups; }
};

LutLayout lutLayout(const PackedDecoder &dec) {
  const int64_t span = PackedDecoder::kChunk * PackedDecoder::kWordChunks;
  int64_t inPad = (dec.geometry().in + span - 1) / span * span;
  return {inPad / PackedDecoder::kChunk, inPad, dec.geometry().groups};
}

/// Fills `lut` (LutLayout) from x.
void buildLutTables(Ops &o, const PackedDecoder &dec, Value x, Value lut) {
  const int64_t n = PackedDecoder::kChunk, in = dec.geometry().in;
  const int64_t G = dec.spec().groupSize;
  LutLayout lay = lutLayout(dec);
  Value xo = o.idx(lay.xOffset());
  o.loop(o.idx(0), o.idx(in), o.idx(1), {},
         [&](Ops &l, Value j, ValueRange) -> SmallVector<Value> {
           l.store(l.load(x, j), lut, l.add(xo, j));
           return {};
         });
  o.loop(o.idx(in), o.idx(lay.inPad), o.idx(1), {},
         [&](Ops &l, Value j, ValueRange) -> SmallVector<Value> {
           l.store(l.f32c(0.0f), lut, l.add(xo, j));
           return {};
         });
  o.loop(o.idx(0), o.idx(lay.groups), o.idx(1), {},
         [&](Ops &l, Value g, ValueRange) -> SmallVector<Value> {
           GroupRange gr = groupRange(l, G, in, g);
           Value s = l.loop(
               gr.begin, gr.end, l.idx(1), {l.f32c(0.0f)},
               [&](Ops &m, Value j, ValueRange acc) -> SmallVector<Value> {
                 return {m.add(acc[0], m.load(lut, m.add(xo, j)))};
               })[0];
           l.store(s, lut, l.add(l.idx(lay.sumOffset()), g));
           return {};
         });
  // T_c[16h + l] = low-nibble sums [l] + high-nibble sums [h]: the nibble
  // sums are vectors over l (and h), built from masked broadcasts.
  o.loop(
      o.idx(0), o.idx(lay.chunks), o.idx(1), {},
      [&](Ops &l, Value c, ValueRange) -> SmallVector<Value> {
        Value base = l.add(xo, l.mul(c, l.idx(n)));
        Value xs[8];
        for (int64_t i = 0; i < n; ++i)
          xs[i] = l.load(lut, l.add(base, l.idx(i)));
        auto nibbles = [&](int64_t first) {
          Value v = l.f32c(0.0f, l.vec(l.f32()));
          for (int64_t i = 0; i < 3; ++i) {
            SmallVector<bool> bits;
            for (int64_t lane = 0; lane < n; ++lane)
              bits.push_back((lane >> i) & 1);
            Value sel = arith::ConstantOp::create(
                l.b, l.loc,
                DenseElementsAttr::get(l.vec(l.i1()), ArrayRef<bool>(bits)));
            v = l.add(v, l.select(sel, l.splat(xs[first + i]),
                                  l.f32c(0.0f, l.vec(l.f32()))));
          }
          return std::pair<Value, Value>{v, l.add(v, l.splat(xs[first + 3]))};
        };
        auto [lo0, lo1] = nibbles(0);
        auto [hi0, hi1] = nibbles(4);
        Value t = l.mul(c, l.idx(256));
        for (int64_t h = 0; h < 16; ++h) {
          Value sh = l.splat(vector::ExtractOp::create(
              l.b, l.loc, h < 8 ? hi0 : hi1, ArrayRef<int64_t>{h % 8}));
          Value at = l.add(t, l.idx(16 * h));
          l.vstore(l.add(lo0, sh), lut, at);
          l.vstore(l.add(lo1, sh), lut, l.add(at, l.idx(n)));
        }
        return {};
      });
}

/// Mixed kinds: entry 8m + l of the table is the bit offset of lane l's
/// salient low bits after the chunk's first salient weight (as
/// salientShiftTable), or 8r for a lane that is not salient: the kernel
/// clears every bit from 8r on, so such lanes read zero.
Value salientLaneTable(Ops &o, unsigned rest) {
  std::string name = "s10_salient_lanes_r" + std::to_string(rest);
  const int64_t n = PackedDecoder::kChunk;
  auto type = MemRefType::get({256 * n}, o.i32());
  auto module =
      o.b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  if (!module.lookupSymbol(name)) {
    SmallVector<int32_t> v;
    for (unsigned m = 0; m < 256; ++m)
      for (unsigned l = 0; l < n; ++l)
        v.push_back(
            (m >> l) & 1
                ? int32_t(rest * unsigned(llvm::popcount(m & ((1u << l) - 1))))
                : int32_t(8 * rest));
    OpBuilder gb(module.getBodyRegion());
    memref::GlobalOp::create(
        gb, o.loc, name, gb.getStringAttr("private"), type,
        DenseElementsAttr::get(RankedTensorType::get({256 * n}, o.i32()),
                               ArrayRef<int32_t>(v)),
        /*constant=*/true, gb.getI64IntegerAttr(32));
  }
  return memref::GetGlobalOp::create(o.b, o.loc, type, name);
}

/// Rows [r0, r1) of a mixed kind from the tables of buildLutTables. Per
/// chunk with sign byte s and mask byte m, T[s], T[s & m] and T[m] give the
/// binary part (T[s & ~m] = T[s] - T[s & m]; the non-salient sum of x is
/// the group's sum minus T[m]), the salient top bits and the salient
/// offset's sum; the salient low bits are
/// spread into lanes by a shift table and multiplied into x. The scalar
/// sums are added up per word in a tree to keep the add chains short.
void buildLutRows(Ops &o, const PackedDecoder &dec, Value bytes, Value lut,
                  Value y, Value r0, Value r1, Value scratch) {
  const int64_t n = PackedDecoder::kChunk, nw = PackedDecoder::kWordChunks;
  const int64_t in = dec.geometry().in, G = dec.spec().groupSize;
  const unsigned rest = dec.spec().salientBits - 1;
  LutLayout lay = lutLayout(dec);
  Value shifts = salientLaneTable(o, rest);
  bool words = dec.wordAligned();
  int64_t step = words ? nw : 1;
  // Chunks whose low bits one 64-bit load holds whatever their salient
  // counts (8r bits each, after a shift of up to 7).
  int64_t perLoad = (64 - 7) / (8 * rest);
  perLoad = !words ? 1 : perLoad >= 4 ? 4 : perLoad >= 2 ? 2 : 1;
  // i32 lanes while a lane that is not salient (shift 8r) stays in range.
  bool narrow = 8 * rest < 32;
  Value zeroV = o.splat(o.f32c(0.0f));

  PackedDecoder::Row R;
  // `step` chunks from c0. Carried: the sums of T[s], T[s & m], T[m], two
  // vector sums of low * x, and the bit position of the next low bits.
  auto chunks = [&](Ops &cl, Value c0, ValueRange a) -> SmallVector<Value> {
    PackedDecoder::Word word =
        dec.word(cl.b, cl.loc, bytes, R, c0, unsigned(step));
    SmallVector<Value> s, sm, m;
    Value lows[2] = {a[3], a[4]}, bitpos = a[5];
    Value stream;
    for (int64_t t = 0; t < step; ++t) {
      Value c = cl.add(c0, cl.idx(t));
      Value sh = cl.int_(cl.i32(), 8 * t);
      Value byteMask = cl.int_(cl.i32(), 255);
      Value sb = cl.and_(cl.shr(word.signs, sh), byteMask);
      Value mb = cl.and_(cl.shr(word.mask, sh), byteMask);
      Value tb = cl.shl(cl.toI64(c), cl.int_(cl.i64(), 8));
      auto lookup = [&](Value i) {
        return cl.load(lut, cl.toIndex(cl.or_(tb, cl.extui(i, cl.i64()))));
      };
      s.push_back(lookup(sb));
      sm.push_back(lookup(cl.and_(sb, mb)));
      m.push_back(lookup(mb));
      // The salient low bits: one 64-bit load per perLoad chunks, shifted
      // along chunk by chunk, cleared from bit 8r on.
      if (t % perLoad == 0) {
        Value at =
            cl.add(R.stream, cl.toIndex(cl.shr(bitpos, cl.int_(cl.i64(), 3))));
        stream = cl.shr(cl.loadInt(bytes, at, 8),
                        cl.and_(bitpos, cl.int_(cl.i64(), 7)));
      }
      Value bits =
          cl.and_(stream, cl.int_(cl.i64(), (int64_t(1) << (8 * rest)) - 1));
      Value laneShifts =
          cl.vload(cl.vec(cl.i32()), shifts, cl.mul(cl.toIndex(mb), cl.idx(n)));
      Value lv;
      if (narrow)
        lv = cl.shr(cl.splat(cl.trunci(bits, cl.i32())), laneShifts);
      else
        lv = cl.trunci(
            cl.shr(cl.splat(bits), cl.extui(laneShifts, cl.vec(cl.i64()))),
            cl.vec(cl.i32()));
      lv = cl.and_(lv, cl.splat(cl.int_(cl.i32(), (int64_t(1) << rest) - 1)));
      Value xc = cl.vload(cl.vec(cl.f32()), lut,
                          cl.add(cl.idx(lay.xOffset()), cl.mul(c, cl.idx(n))));
      lows[t % 2] = cl.fma(cl.sitofp(lv, cl.vec(cl.f32())), xc, lows[t % 2]);
      Value adv =
          cl.mul(cl.extui(math::CtPopOp::create(cl.b, cl.loc, mb), cl.i64()),
                 cl.int_(cl.i64(), rest));
      bitpos = cl.add(bitpos, adv);
      if (t % perLoad != perLoad - 1)
        stream = cl.shr(stream, adv);
    }
    auto tree = [&](SmallVector<Value> &v) {
      while (v.size() > 1) {
        SmallVector<Value> next;
        for (size_t i = 0; i + 1 < v.size(); i += 2)
          next.push_back(cl.add(v[i], v[i + 1]));
        if (v.size() % 2)
          next.push_back(v.back());
        v = next;
      }
      return v[0];
    };
    return {cl.add(a[0], tree(s)),
            cl.add(a[1], tree(sm)),
            cl.add(a[2], tree(m)),
            lows[0],
            lows[1],
            bitpos};
  };

  // Per group: scale * T[s & ~m] + offset * T[~m] + salient scale * (2^r *
  // T[s & m] + low * x) + salient offset * T[m], summed over its chunks.
  auto group = [&](Ops &gl, Value g, ValueRange acc) -> SmallVector<Value> {
    SmallVector<Value, 4> p = dec.params(gl.b, gl.loc, bytes, R, g);
    GroupRange gr = groupRange(gl, G, in, g);
    Value first = gr.c0, last = gr.c1;
    if (words) {
      auto [w0, w1] = groupWords(gl, gr);
      first = gl.mul(w0, gl.idx(nw));
      last = gl.mul(w1, gl.idx(nw));
    }
    Value zf = gl.f32c(0.0f);
    SmallVector<Value> sums = gl.loop(
        first, last, gl.idx(step), {zf, zf, zf, zeroV, zeroV, acc[2]}, chunks);
    Value S = sums[0], SM = sums[1], M = sums[2];
    Value gsum = gl.load(lut, gl.add(gl.idx(lay.sumOffset()), g));
    Value accS = acc[0];
    accS = gl.fma(p[0], gl.sub(S, SM), accS);
    accS = gl.fma(p[1], gl.sub(gsum, M), accS);
    accS = gl.fma(gl.mul(p[2], gl.f32c(float(1u << rest))), SM, accS);
    accS = gl.fma(p[3], M, accS);
    Value accV = gl.fma(gl.splat(p[2]), gl.add(sums[3], sums[4]), acc[1]);
    return {accS, accV, sums[5]};
  };

  o.loop(r0, r1, o.idx(1), {},
         [&](Ops &l, Value row, ValueRange) -> SmallVector<Value> {
           R = dec.beginRow(l.b, l.loc, bytes, row, scratch, Value());
           Value bitpos = l.mul(R.rank, l.int_(l.i64(), rest));
           SmallVector<Value> res =
               l.loop(l.idx(0), l.idx(lay.groups), l.idx(1),
                      {l.f32c(0.0f), zeroV, bitpos}, group);
           l.store(l.add(l.reduceAdd(res[1]), res[0]), y, row);
           return {};
         });
}

/// Columns per block of the masked-sum GEMV: one AVX-512 register of f32.
constexpr int64_t kBlock = 16;

/// Rows [r0, r1) of a mixed kind by masked sums (usesMaskedSums). `xp` is x
/// padded with zeros to whole 64-column words, `gsum` the sum of x over
/// each group and `lows` a scratch of as many floats as `xp` (a row has at
/// most that many salient weights, unpacked in whole vectors).
void buildMaskedRows(Ops &o, const PackedDecoder &dec, Value bytes, Value xp,
                     Value gsum, Value lows, Value y, Value r0, Value r1,
                     Value scratch) {
  const int64_t in = dec.geometry().in, G = dec.spec().groupSize;
  const int64_t groups = dec.geometry().groups;
  const unsigned rest = dec.spec().salientBits - 1;
  const int64_t words64 = (in + 63) / 64;
  // Blocks of a group: all of `in` when there is one group.
  const int64_t groupBlocks =
      groups == 1 ? (in + kBlock - 1) / kBlock : G / kBlock;
  // Four blocks per step where groups allow it, to overlap their chains.
  const int64_t unroll = groupBlocks % 4 == 0 ? 4 : 1;
  VectorType v16 = o.vec(o.f32(), kBlock);
  Value zero16 = o.f32c(0.0f, v16);
  VectorType mask16 = o.vec(o.i1(), kBlock);

  o.loop(
      r0, r1, o.idx(1), {},
      [&](Ops &l, Value row, ValueRange) -> SmallVector<Value> {
        PackedDecoder::Row R =
            dec.beginRow(l.b, l.loc, bytes, row, scratch, Value());
        bool blobMask = R.maskMem == bytes;
        // The row's salient count: the popcount of the mask words the blocks
        // cover (rows are padded to 16 bytes, so whole words are inside).
        Value count = l.loop(
            l.idx(0), l.idx(words64), l.idx(1), {l.int_(l.i64(), 0)},
            [&](Ops &wl, Value wi, ValueRange acc) -> SmallVector<Value> {
              Value at = wl.add(R.mask, wl.mul(wi, wl.idx(8)));
              Value v = wl.loadInt(R.maskMem, at, 8, blobMask ? 8 : 0);
              return {wl.add(acc[0], math::CtPopOp::create(wl.b, wl.loc, v))};
            })[0];
        // Unpack the row's salient low bits into consecutive floats, from one
        // 64-bit load per `lanes` of them: sixteen i32 lanes for r <= 3 (the
        // upper lanes read the load shifted down by 24 bits), else eight i64
        // lanes (8 * 7 + 7 bits at most).
        Value pos0 = l.mul(R.rank, l.int_(l.i64(), rest));
        const bool wide = rest <= 3;
        const int64_t lanes = wide ? 16 : 8;
        auto fitsLow = [&](int64_t i) { return int64_t(rest) * (i + 1) <= 32; };
        SmallVector<int64_t> laneShift;
        SmallVector<bool> laneHigh;
        for (int64_t i = 0; i < lanes; ++i) {
          bool high = wide && !fitsLow(i);
          laneHigh.push_back(high);
          laneShift.push_back(i * rest - (high ? 24 : 0));
        }
        Type laneType = wide ? l.i32() : l.i64();
        Value shifts = l.lanes(laneType, laneShift);
        Value high = arith::ConstantOp::create(
            l.b, l.loc,
            DenseElementsAttr::get(l.vec(l.i1(), lanes),
                                   ArrayRef<bool>(laneHigh)));
        Value lowMask =
            l.splat(l.int_(laneType, (int64_t(1) << rest) - 1), lanes);
        l.loop(l.idx(0), l.toIndex(count), l.idx(lanes), {},
               [&](Ops &ul, Value k, ValueRange) -> SmallVector<Value> {
                 Value pos =
                     ul.add(pos0, ul.mul(ul.toI64(k), ul.int_(ul.i64(), rest)));
                 Value at = ul.add(
                     R.stream, ul.toIndex(ul.shr(pos, ul.int_(ul.i64(), 3))));
                 Value word = ul.shr(ul.loadInt(bytes, at, 8),
                                     ul.and_(pos, ul.int_(ul.i64(), 7)));
                 Value v;
                 if (wide) {
                   Value lo = ul.splat(ul.trunci(word, ul.i32()), lanes);
                   Value hi = ul.splat(
                       ul.trunci(ul.shr(word, ul.int_(ul.i64(), 24)), ul.i32()),
                       lanes);
                   v = ul.select(high, hi, lo);
                 } else {
                   v = ul.splat(word, lanes);
                 }
                 v = ul.and_(ul.shr(v, shifts), lowMask);
                 ul.vstore(ul.sitofp(v, ul.vec(ul.f32(), lanes)), lows, k);
                 return {};
               });

        // A block's 16 bits of a plane row, as an i16 and as a lane mask.
        auto bits16 = [&](Ops &bl, Value mem, Value rowAt, Value blk) {
          Value at = bl.add(rowAt, bl.mul(blk, bl.idx(2)));
          return bl.loadInt(mem, at, 2, mem == bytes ? 2 : 0);
        };
        auto lanesOf = [&](Ops &bl, Value bits) -> Value {
          Value one = vector::BroadcastOp::create(bl.b, bl.loc,
                                                  bl.vec(bl.i16(), 1), bits);
          return vector::BitCastOp::create(bl.b, bl.loc, mask16, one);
        };
        // Per block: S += x over signs, M += x over the mask, SM over both, L
        // += the expanded lows times x; a[4] is the next unused low.
        auto block = [&](Ops &bl, Value blk, SmallVector<Value> &a) {
          Value ks = lanesOf(bl, bits16(bl, bytes, R.codes, blk));
          Value mbits = bits16(bl, R.maskMem, R.mask, blk);
          Value km = lanesOf(bl, mbits);
          Value ksm = bl.and_(ks, km);
          Value xv = bl.vload(v16, xp, bl.mul(blk, bl.idx(kBlock)));
          a[0] = bl.select(ks, bl.add(a[0], xv), a[0]);
          a[1] = bl.select(ksm, bl.add(a[1], xv), a[1]);
          a[2] = bl.select(km, bl.add(a[2], xv), a[2]);
          Value lv = vector::ExpandLoadOp::create(bl.b, bl.loc, v16, lows,
                                                  ValueRange{a[4]}, km, zero16);
          a[3] = bl.fma(lv, xv, a[3]);
          Value n = math::CtPopOp::create(bl.b, bl.loc, mbits);
          a[4] = bl.add(a[4], bl.toIndex(bl.extui(n, bl.i64())));
        };

        SmallVector<Value> res = l.loop(
            l.idx(0), l.idx(groups), l.idx(1), {zero16, l.f32c(0.0f), l.idx(0)},
            [&](Ops &gl, Value g, ValueRange acc) -> SmallVector<Value> {
              SmallVector<Value, 4> p = dec.params(gl.b, gl.loc, bytes, R, g);
              Value b0 = gl.mul(g, gl.idx(groupBlocks));
              Value b1 = b0;
              if (groups == 1)
                b1 = gl.idx(groupBlocks);
              else
                b1 = gl.minsi(gl.add(b0, gl.idx(groupBlocks)),
                              gl.idx((in + kBlock - 1) / kBlock));
              if (unroll > 1)
                b1 = gl.mul(
                    gl.divu(gl.add(b1, gl.idx(unroll - 1)), gl.idx(unroll)),
                    gl.idx(unroll));
              SmallVector<Value> sums = gl.loop(
                  b0, b1, gl.idx(unroll),
                  {zero16, zero16, zero16, zero16, acc[2]},
                  [&](Ops &bl, Value blk, ValueRange a) -> SmallVector<Value> {
                    SmallVector<Value> s(a.begin(), a.end());
                    for (int64_t u = 0; u < unroll; ++u)
                      block(bl, bl.add(blk, bl.idx(u)), s);
                    return s;
                  });
              Value a = p[0], bo = p[1], c = p[2], d = p[3];
              auto sp = [&](Value s) { return gl.splat(s, kBlock); };
              Value accY = acc[0];
              accY = gl.fma(sp(a), sums[0], accY);
              accY =
                  gl.fma(sp(gl.sub(gl.mul(c, gl.f32c(float(1u << rest))), a)),
                         sums[1], accY);
              accY = gl.fma(sp(gl.sub(d, bo)), sums[2], accY);
              accY = gl.fma(sp(c), sums[3], accY);
              Value accS = gl.fma(bo, gl.load(gsum, g), acc[1]);
              return {accY, accS, sums[4]};
            });
        l.store(l.add(l.reduceAdd(res[0]), res[1]), y, row);
        return {};
      });
}

void buildPackedGemvBody(OpBuilder &b, Location loc, func::FuncOp fn,
                         const GemvWeight &w) {
  Ops o{b, loc};
  PackedDecoder dec(w.spec, w.out, w.in);
  const int64_t in = w.in, G = w.spec.groupSize, groups = dec.geometry().groups;
  const int64_t n = PackedDecoder::kChunk, nw = PackedDecoder::kWordChunks;
  bool mixed = w.spec.mixed();
  Value bytes = fn.getArgument(0), x = fn.getArgument(1), y = fn.getArgument(2);
  Value r0 = o.toIndex(fn.getArgument(3)), r1 = o.toIndex(fn.getArgument(4));
  dec.setCodeTable(usesCodeTable(w));

  if (usesLut(w)) {
    // The tables on the stack, then the rows through the GemvLut kernel:
    // called, not inlined, so that it addresses the tables from a pointer
    // argument rather than from the stack frame.
    auto module =
        b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
    auto ensure = [&](const std::string &sym, auto build) {
      if (auto f = module.lookupSymbol<func::FuncOp>(sym))
        return f;
      OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
      func::FuncOp f = *build(mb, loc, w, sym);
      return f;
    };
    func::FuncOp prep =
        ensure(gemvLutPrepareKernelName(w), buildGemvLutPrepareKernel);
    func::FuncOp rows = ensure(gemvLutKernelName(w), buildGemvLutKernel);
    rows.setNoInline(true);
    Value lut = memref::AllocaOp::create(
        b, loc, memref1D(lutLayout(dec).size(), o.f32()));
    func::CallOp::create(b, loc, prep, ValueRange{x, lut});
    func::CallOp::create(
        b, loc, rows,
        ValueRange{bytes, lut, y, fn.getArgument(3), fn.getArgument(4)});
    return;
  }

  // x padded with zeros to whole words, so that words reaching past the row
  // (zero bits, or any finite code) add nothing.
  bool masked = usesMaskedSums(w);
  int64_t span = masked ? 64 : n * nw;
  int64_t inPad = (in + span - 1) / span * span;
  Value xp = memref::AllocaOp::create(b, loc, memref1D(inPad, o.f32()));
  o.loop(o.idx(0), o.idx(in), o.idx(1), {},
         [&](Ops &l, Value j, ValueRange) -> SmallVector<Value> {
           l.store(l.load(x, j), xp, j);
           return {};
         });
  o.loop(o.idx(in), o.idx(inPad), o.idx(1), {},
         [&](Ops &l, Value j, ValueRange) -> SmallVector<Value> {
           l.store(l.f32c(0.0f), xp, j);
           return {};
         });
  // k-bit rows (and masked sums) apply a group's offset through the group
  // sum of x.
  Value xs;
  if (masked) {
    // Groups are whole 16-column blocks (x is zero past `in`).
    xs = memref::AllocaOp::create(b, loc, memref1D(groups, o.f32()));
    int64_t blocks = (in + kBlock - 1) / kBlock;
    int64_t per = groups == 1 ? blocks : G / kBlock;
    VectorType v16 = o.vec(o.f32(), kBlock);
    o.loop(o.idx(0), o.idx(groups), o.idx(1), {},
           [&](Ops &l, Value g, ValueRange) -> SmallVector<Value> {
             Value b0 = l.mul(g, l.idx(per));
             Value b1 = l.minsi(l.add(b0, l.idx(per)), l.idx(blocks));
             Value s = l.loop(
                 b0, b1, l.idx(1), {l.f32c(0.0f, v16)},
                 [&](Ops &m, Value k, ValueRange acc) -> SmallVector<Value> {
                   return {m.add(acc[0],
                                 m.vload(v16, xp, m.mul(k, m.idx(kBlock))))};
                 })[0];
             l.store(l.reduceAdd(s), xs, g);
             return {};
           });
  } else if (!mixed) {
    xs = memref::AllocaOp::create(b, loc, memref1D(groups, o.f32()));
    o.loop(o.idx(0), o.idx(groups), o.idx(1), {},
           [&](Ops &l, Value g, ValueRange) -> SmallVector<Value> {
             GroupRange gr = groupRange(l, G, in, g);
             Value s = l.loop(
                 gr.begin, gr.end, l.idx(1), {l.f32c(0.0f)},
                 [&](Ops &m, Value j, ValueRange acc) -> SmallVector<Value> {
                   return {m.add(acc[0], m.load(xp, j))};
                 })[0];
             l.store(s, xs, g);
             return {};
           });
  }
  Value scratch, shifts;
  if (int64_t sb = dec.maskScratchBytes())
    scratch = memref::AllocaOp::create(b, loc, memref1D(sb, o.i8()));
  if (masked) {
    Value lows = memref::AllocaOp::create(b, loc, memref1D(inPad, o.f32()));
    buildMaskedRows(o, dec, bytes, xp, xs, lows, y, r0, r1, scratch);
    return;
  }
  if (mixed)
    shifts = dec.salientShiftTable(b, loc);
  else if (w.spec.kind == layout::Kind::Ternary)
    shifts = dec.ternaryLaneTable(b, loc);

  Value zeroV = o.splat(o.f32c(0.0f));
  auto xChunk = [&](Ops &l, Value c) {
    return l.vload(l.vec(l.f32()), xp, l.mul(c, l.idx(n)));
  };

  // Mixed kinds: every weight dequantized in its lanes (the salient ones
  // select their own pair) and multiplied into x; two vector accumulators
  // over the whole row, the rank carried along.
  auto mixedRow = [&](Ops &l, const PackedDecoder::Row &R) -> Value {
    SmallVector<Value> init = {zeroV, zeroV, l.f32c(0.0f), R.rank};
    SmallVector<Value> res = l.loop(
        l.idx(0), l.idx(groups), l.idx(1), init,
        [&](Ops &gl, Value g, ValueRange acc) -> SmallVector<Value> {
          SmallVector<Value, 4> p = dec.params(gl.b, gl.loc, bytes, R, g);
          GroupRange gr = groupRange(gl, G, in, g);
          if (dec.wordAligned()) {
            auto [w0, w1] = groupWords(gl, gr);
            SmallVector<Value> r = gl.loop(
                w0, w1, gl.idx(1), {acc[0], acc[1], acc[3]},
                [&](Ops &wl, Value wi, ValueRange a) -> SmallVector<Value> {
                  Value c0 = wl.mul(wi, wl.idx(nw));
                  PackedDecoder::Word word =
                      dec.word(wl.b, wl.loc, bytes, R, c0, nw);
                  Value accs[2] = {a[0], a[1]}, rank = a[2];
                  for (unsigned t = 0; t < nw; ++t) {
                    Value c = wl.add(c0, wl.idx(t));
                    PackedDecoder::Codes codes =
                        dec.chunk(wl.b, wl.loc, bytes, R, word, t, c, rank);
                    rank = codes.rank;
                    Value v = dec.dequantize(wl.b, wl.loc, codes, p, true);
                    accs[t % 2] = wl.fma(v, xChunk(wl, c), accs[t % 2]);
                  }
                  return {accs[0], accs[1], rank};
                });
            return {r[0], r[1], acc[2], r[2]};
          }
          if (dec.chunkAligned()) {
            SmallVector<Value> r = gl.loop(
                gr.c0, gr.c1, gl.idx(1), {acc[0], acc[3]},
                [&](Ops &cl, Value c, ValueRange a) -> SmallVector<Value> {
                  PackedDecoder::Codes codes =
                      dec.chunk(cl.b, cl.loc, bytes, R, c, a[1]);
                  Value v = dec.dequantize(cl.b, cl.loc, codes, p, true);
                  return {cl.fma(v, xChunk(cl, c), a[0]), codes.rank};
                });
            return {r[0], acc[1], acc[2], r[1]};
          }
          SmallVector<Value> r = gl.loop(
              gr.begin, gr.end, gl.idx(1), {acc[2], acc[3]},
              [&](Ops &jl, Value j, ValueRange a) -> SmallVector<Value> {
                PackedDecoder::Codes codes =
                    dec.column(jl.b, jl.loc, bytes, R, j, a[1]);
                Value v = dec.dequantize(jl.b, jl.loc, codes, p, true);
                return {jl.fma(v, jl.load(xp, j), a[0]), codes.rank};
              });
          return {acc[0], acc[1], r[0], r[1]};
        });
    return l.add(l.reduceAdd(l.add(res[0], res[1])), res[2]);
  };

  // k-bit rows: per group the sum of code * x (four accumulators, one per
  // chunk of a word, to hide the add latency), then scale * sum + offset *
  // sum of x.
  auto kbitRow = [&](Ops &l, const PackedDecoder::Row &R) -> Value {
    SmallVector<Value> res = l.loop(
        l.idx(0), l.idx(groups), l.idx(1), {zeroV, l.f32c(0.0f)},
        [&](Ops &gl, Value g, ValueRange acc) -> SmallVector<Value> {
          SmallVector<Value, 4> p = dec.params(gl.b, gl.loc, bytes, R, g);
          GroupRange gr = groupRange(gl, G, in, g);
          Value accV = acc[0], accS = acc[1];
          if (dec.wordAligned()) {
            auto [w0, w1] = groupWords(gl, gr);
            SmallVector<Value> init(nw, zeroV);
            SmallVector<Value> r = gl.loop(
                w0, w1, gl.idx(1), init,
                [&](Ops &wl, Value wi, ValueRange a) -> SmallVector<Value> {
                  SmallVector<Value> next;
                  for (unsigned t = 0; t < nw; ++t) {
                    Value c = wl.add(wl.mul(wi, wl.idx(nw)), wl.idx(t));
                    PackedDecoder::Codes codes =
                        dec.chunk(wl.b, wl.loc, bytes, R, PackedDecoder::Word(),
                                  t, c, Value());
                    next.push_back(wl.fma(codes.low, xChunk(wl, c), a[t]));
                  }
                  return next;
                });
            Value d = gl.add(gl.add(r[0], r[1]), gl.add(r[2], r[3]));
            accV = gl.fma(gl.splat(p[0]), d, accV);
          } else if (dec.chunkAligned()) {
            Value d = gl.loop(
                gr.c0, gr.c1, gl.idx(1), {zeroV},
                [&](Ops &cl, Value c, ValueRange a) -> SmallVector<Value> {
                  PackedDecoder::Codes codes =
                      dec.chunk(cl.b, cl.loc, bytes, R, c, Value());
                  return {cl.fma(codes.low, xChunk(cl, c), a[0])};
                })[0];
            accV = gl.fma(gl.splat(p[0]), d, accV);
          } else {
            Value d = gl.loop(
                gr.begin, gr.end, gl.idx(1), {gl.f32c(0.0f)},
                [&](Ops &jl, Value j, ValueRange a) -> SmallVector<Value> {
                  PackedDecoder::Codes codes =
                      dec.column(jl.b, jl.loc, bytes, R, j, Value());
                  return {jl.fma(codes.low, jl.load(xp, j), a[0])};
                })[0];
            accS = gl.fma(p[0], d, accS);
          }
          accS = gl.fma(p[1], gl.load(xs, g), accS);
          return {accV, accS};
        });
    return l.add(l.reduceAdd(res[0]), res[1]);
  };

  o.loop(r0, r1, o.idx(1), {},
         [&](Ops &l, Value row, ValueRange) -> SmallVector<Value> {
           PackedDecoder::Row R =
               dec.beginRow(l.b, l.loc, bytes, row, scratch, shifts);
           l.store(mixed ? mixedRow(l, R) : kbitRow(l, R), y, row);
           return {};
         });
}

void buildDenseGemvBody(OpBuilder &b, Location loc, func::FuncOp fn,
                        const GemvWeight &w) {
  Ops o{b, loc};
  Value wm = fn.getArgument(0), x = fn.getArgument(1), y = fn.getArgument(2);
  Value r0 = o.toIndex(fn.getArgument(3)), r1 = o.toIndex(fn.getArgument(4));
  bool f16 = w.dense == DenseType::F16;
  Type elem = f16 ? o.i16() : o.f32();
  // Sixteen f32 lanes: two AVX2 registers per load.
  constexpr int64_t v = 16;
  auto loadW = [&](Ops &l, Value at, int64_t lanes) -> Value {
    Value raw = l.vload(l.vec(elem, lanes), wm, at);
    return f16 ? l.halfToFloat(raw) : raw;
  };
  auto loadW1 = [&](Ops &l, Value at) -> Value {
    Value raw = l.load(wm, at);
    return f16 ? l.halfToFloat(raw) : raw;
  };
  if (!w.inOut) {
    // Two loads of sixteen per step into two accumulators (four AVX2 FMA
    // chains), then one load of sixteen while it fits, then scalars.
    int64_t full2 = w.in / (2 * v) * (2 * v), full = w.in / v * v;
    o.loop(r0, r1, o.idx(1), {},
           [&](Ops &l, Value row, ValueRange) -> SmallVector<Value> {
             Value base = l.mul(row, l.idx(w.in));
             Value zero = l.splat(l.f32c(0.0f), v);
             SmallVector<Value> accs = l.loop(
                 l.idx(0), l.idx(full2), l.idx(2 * v), {zero, zero},
                 [&](Ops &c, Value j, ValueRange a) -> SmallVector<Value> {
                   SmallVector<Value> next;
                   for (int64_t k = 0; k < 2; ++k) {
                     Value jk = c.add(j, c.idx(k * v));
                     Value wv = loadW(c, c.add(base, jk), v);
                     Value xv = c.vload(c.vec(c.f32(), v), x, jk);
                     next.push_back(c.fma(wv, xv, a[k]));
                   }
                   return next;
                 });
             Value acc = l.loop(
                 l.idx(full2), l.idx(full), l.idx(v), {l.add(accs[0], accs[1])},
                 [&](Ops &c, Value j, ValueRange a) -> SmallVector<Value> {
                   Value wv = loadW(c, c.add(base, j), v);
                   Value xv = c.vload(c.vec(c.f32(), v), x, j);
                   return {c.fma(wv, xv, a[0])};
                 })[0];
             Value s = l.loop(
                 l.idx(full), l.idx(w.in), l.idx(1), {l.reduceAdd(acc)},
                 [&](Ops &c, Value j, ValueRange a) -> SmallVector<Value> {
                   Value wj = loadW1(c, c.add(base, j));
                   return {c.add(a[0], c.mul(wj, c.load(x, j)))};
                 })[0];
             l.store(s, y, row);
             return {};
           });
    return;
  }
  // [in][out]: v rows at a time, walking down the columns of W.
  Value count = o.sub(r1, r0);
  Value fullEnd = o.add(r0, o.mul(o.divu(count, o.idx(v)), o.idx(v)));
  o.loop(r0, fullEnd, o.idx(v), {},
         [&](Ops &l, Value row, ValueRange) -> SmallVector<Value> {
           Value acc = l.loop(
               l.idx(0), l.idx(w.in), l.idx(1), {l.splat(l.f32c(0.0f), v)},
               [&](Ops &c, Value j, ValueRange a) -> SmallVector<Value> {
                 Value wv = loadW(c, c.add(c.mul(j, c.idx(w.out)), row), v);
                 return {c.fma(wv, c.splat(c.load(x, j), v), a[0])};
               })[0];
           l.vstore(acc, y, row);
           return {};
         });
  o.loop(fullEnd, r1, o.idx(1), {},
         [&](Ops &l, Value row, ValueRange) -> SmallVector<Value> {
           Value s =
               l.loop(l.idx(0), l.idx(w.in), l.idx(1), {l.f32c(0.0f)},
                      [&](Ops &c, Value j, ValueRange a) -> SmallVector<Value> {
                        Value wj =
                            loadW1(c, c.add(c.mul(j, c.idx(w.out)), row));
                        return {c.add(a[0], c.mul(wj, c.load(x, j)))};
                      })[0];
           l.store(s, y, row);
           return {};
         });
}

void buildDecodeBody(OpBuilder &b, Location loc, func::FuncOp fn,
                     const GemvWeight &w) {
  Ops o{b, loc};
  PackedDecoder dec(w.spec, w.out, w.in);
  const int64_t in = w.in, G = w.spec.groupSize, groups = dec.geometry().groups;
  const int64_t n = PackedDecoder::kChunk;
  bool mixed = w.spec.mixed();
  Value bytes = fn.getArgument(0), outMem = fn.getArgument(1);
  Value row = o.toIndex(fn.getArgument(2));
  Value scratch, shifts;
  if (int64_t sb = dec.maskScratchBytes())
    scratch = memref::AllocaOp::create(b, loc, memref1D(sb, o.i8()));
  if (mixed)
    shifts = dec.salientShiftTable(b, loc);
  PackedDecoder::Row R = dec.beginRow(b, loc, bytes, row, scratch, shifts);
  SmallVector<Value> init;
  if (mixed)
    init.push_back(R.rank);
  o.loop(o.idx(0), o.idx(groups), o.idx(1), init,
         [&](Ops &gl, Value g, ValueRange acc) -> SmallVector<Value> {
           SmallVector<Value, 4> p = dec.params(gl.b, gl.loc, bytes, R, g);
           GroupRange gr = groupRange(gl, G, in, g);
           SmallVector<Value> carried(acc);
           if (dec.chunkAligned())
             return gl.loop(
                 gr.c0, gr.c1, gl.idx(1), carried,
                 [&](Ops &cl, Value c, ValueRange ca) -> SmallVector<Value> {
                   PackedDecoder::Codes codes = dec.chunk(
                       cl.b, cl.loc, bytes, R, c, mixed ? ca[0] : Value());
                   Value v = dec.dequantize(cl.b, cl.loc, codes, p);
                   Value j = cl.mul(c, cl.idx(n));
                   Value mask = vector::CreateMaskOp::create(
                       cl.b, cl.loc, cl.vec(cl.i1()),
                       ValueRange{cl.sub(cl.idx(in), j)});
                   vector::MaskedStoreOp::create(cl.b, cl.loc, outMem,
                                                 ValueRange{j}, mask, v);
                   if (!mixed)
                     return {};
                   return {codes.rank};
                 });
           return gl.loop(
               gr.begin, gr.end, gl.idx(1), carried,
               [&](Ops &jl, Value j, ValueRange ja) -> SmallVector<Value> {
                 PackedDecoder::Codes codes = dec.column(
                     jl.b, jl.loc, bytes, R, j, mixed ? ja[0] : Value());
                 jl.store(dec.dequantize(jl.b, jl.loc, codes, p), outMem, j);
                 if (!mixed)
                   return {};
                 return {codes.rank};
               });
         });
}

} // namespace

FailureOr<func::FuncOp> s10::codegen::buildGemvKernel(OpBuilder &b,
                                                      Location loc,
                                                      const GemvWeight &w,
                                                      StringRef name) {
  std::string reason;
  if (failed(checkGemvWeight(w, reason)))
    return emitError(loc) << "cannot build a GEMV kernel: " << reason;
  Ops o{b, loc};
  Type wType =
      !w.packed ? (w.dense == DenseType::F16 ? o.i16() : o.f32()) : o.i8();
  int64_t wElems = w.packed ? int64_t(w.bytes()) : w.out * w.in;
  std::string sym = name.empty() ? gemvKernelName(w) : name.str();
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp fn = makeFunc(b, loc, sym,
                             {memref1D(wElems, wType), memref1D(w.in, o.f32()),
                              memref1D(w.out, o.f32()), o.i64(), o.i64()});
  b.setInsertionPointToStart(&fn.getBody().front());
  if (usesMaskedSums(w))
    fullVectors(fn);
  if (w.packed)
    buildPackedGemvBody(b, loc, fn, w);
  else
    buildDenseGemvBody(b, loc, fn, w);
  func::ReturnOp::create(b, loc);
  return fn;
}

bool s10::codegen::usesMaskedSums(const GemvWeight &w) {
  std::string reason;
  if (!w.packed || !w.spec.mixed() || !w.avx512 ||
      failed(checkGemvWeight(w, reason)))
    return false;
  PackedDecoder dec(w.spec, w.out, w.in);
  return w.spec.groupSize % kBlock == 0 || dec.geometry().groups == 1;
}

bool s10::codegen::usesCodeTable(const GemvWeight &w) {
  std::string reason;
  if (!w.packed || w.spec.mixed() || !w.avx2 ||
      failed(checkGemvWeight(w, reason)))
    return false;
  return w.spec.kind == layout::Kind::KBit && w.spec.bits <= 3 &&
         PackedDecoder(w.spec, w.out, w.in).chunkAligned();
}

bool s10::codegen::usesLut(const GemvWeight &w) {
  std::string reason;
  if (!w.packed || !w.spec.mixed() || w.in > kLutMaxIn || usesMaskedSums(w) ||
      failed(checkGemvWeight(w, reason)))
    return false;
  return PackedDecoder(w.spec, w.out, w.in).chunkAligned();
}

int64_t s10::codegen::gemvLutFloats(const GemvWeight &w) {
  if (!usesLut(w))
    return 0;
  return lutLayout(PackedDecoder(w.spec, w.out, w.in)).size();
}

std::string s10::codegen::gemvLutPrepareKernelName(const GemvWeight &w) {
  return "s10_gemvlut_prepare_in" + str(w.in) + "_g" + str(w.spec.groupSize);
}

std::string s10::codegen::gemvLutKernelName(const GemvWeight &w) {
  return "s10_gemvlut_" + weightTag(w);
}

FailureOr<func::FuncOp>
s10::codegen::buildGemvLutPrepareKernel(OpBuilder &b, Location loc,
                                        const GemvWeight &w, StringRef name) {
  if (!usesLut(w))
    return emitError(loc) << "no lookup-table GEMV for this weight";
  Ops o{b, loc};
  PackedDecoder dec(w.spec, w.out, w.in);
  std::string sym = name.empty() ? gemvLutPrepareKernelName(w) : name.str();
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp fn = makeFunc(
      b, loc, sym,
      {memref1D(w.in, o.f32()), memref1D(lutLayout(dec).size(), o.f32())});
  b.setInsertionPointToStart(&fn.getBody().front());
  buildLutTables(o, dec, fn.getArgument(0), fn.getArgument(1));
  func::ReturnOp::create(b, loc);
  return fn;
}

FailureOr<func::FuncOp> s10::codegen::buildGemvLutKernel(OpBuilder &b,
                                                         Location loc,
                                                         const GemvWeight &w,
                                                         StringRef name) {
  if (!usesLut(w))
    return emitError(loc) << "no lookup-table GEMV for this weight";
  Ops o{b, loc};
  PackedDecoder dec(w.spec, w.out, w.in);
  std::string sym = name.empty() ? gemvLutKernelName(w) : name.str();
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp fn = makeFunc(b, loc, sym,
                             {memref1D(int64_t(w.bytes()), o.i8()),
                              memref1D(lutLayout(dec).size(), o.f32()),
                              memref1D(w.out, o.f32()), o.i64(), o.i64()});
  b.setInsertionPointToStart(&fn.getBody().front());
  Value scratch;
  if (int64_t sb = dec.maskScratchBytes())
    scratch = memref::AllocaOp::create(b, loc, memref1D(sb, o.i8()));
  buildLutRows(o, dec, fn.getArgument(0), fn.getArgument(1), fn.getArgument(2),
               o.toIndex(fn.getArgument(3)), o.toIndex(fn.getArgument(4)),
               scratch);
  func::ReturnOp::create(b, loc);
  return fn;
}

FailureOr<func::FuncOp> s10::codegen::buildDecodeKernel(OpBuilder &b,
                                                        Location loc,
                                                        const GemvWeight &w,
                                                        StringRef name) {
  std::string reason;
  if (!w.packed)
    return emitError(loc) << "decode kernels are for packed weights";
  if (failed(checkGemvWeight(w, reason)))
    return emitError(loc) << "cannot build a decode kernel: " << reason;
  Ops o{b, loc};
  std::string sym = name.empty() ? decodeKernelName(w) : name.str();
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp fn = makeFunc(
      b, loc, sym,
      {memref1D(int64_t(w.bytes()), o.i8()), memref1D(w.in, o.f32()), o.i64()});
  b.setInsertionPointToStart(&fn.getBody().front());
  buildDecodeBody(b, loc, fn, w);
  func::ReturnOp::create(b, loc);
  return fn;
}

func::FuncOp s10::codegen::buildRMSNormRowKernel(OpBuilder &b, Location loc,
                                                 int64_t width, double eps,
                                                 DenseType weight,
                                                 StringRef name) {
  Ops o{b, loc};
  bool f16 = weight == DenseType::F16;
  Type wElem = f16 ? o.i16() : o.f32();
  std::string sym =
      name.empty() ? rmsNormKernelName(width, eps, weight) : name.str();
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp fn = makeFunc(b, loc, sym,
                             {memref1D(width, o.f32()), memref1D(width, wElem),
                              memref1D(width, o.f32())});
  b.setInsertionPointToStart(&fn.getBody().front());
  Value x = fn.getArgument(0), wm = fn.getArgument(1), y = fn.getArgument(2);
  // As the runtime computes it: a sum of squares in f64 in input order, the
  // f32 mean, f32 mean + eps, 1 / sqrt in f64 rounded to f32, w * (x * inv).
  Value ss = o.loop(o.idx(0), o.idx(width), o.idx(1), {o.f64c(0.0)},
                    [&](Ops &l, Value i, ValueRange a) -> SmallVector<Value> {
                      Value xd = arith::ExtFOp::create(l.b, l.loc, l.f64(),
                                                       l.load(x, i));
                      return {l.add(a[0], l.mul(xd, xd))};
                    })[0];
  Value mean = arith::TruncFOp::create(b, loc, o.f32(),
                                       o.divf(ss, o.f64c(double(width))));
  Value t = o.add(mean, o.f32c(float(eps)));
  Value root =
      math::SqrtOp::create(b, loc, arith::ExtFOp::create(b, loc, o.f64(), t));
  Value inv =
      arith::TruncFOp::create(b, loc, o.f32(), o.divf(o.f64c(1.0), root));
  constexpr int64_t v = 8;
  int64_t full = width / v * v;
  o.loop(o.idx(0), o.idx(full), o.idx(v), {},
         [&](Ops &l, Value i, ValueRange) -> SmallVector<Value> {
           Value raw = l.vload(l.vec(wElem, v), wm, i);
           Value xv = l.vload(l.vec(l.f32(), v), x, i);
           l.vstore(l.normalized(raw, f16, xv, l.splat(inv, v)), y, i);
           return {};
         });
  o.loop(o.idx(full), o.idx(width), o.idx(1), {},
         [&](Ops &l, Value i, ValueRange) -> SmallVector<Value> {
           l.store(l.normalized(l.load(wm, i), f16, l.load(x, i), inv), y, i);
           return {};
         });
  func::ReturnOp::create(b, loc);
  return fn;
}

func::FuncOp s10::codegen::buildBinaryKernel(OpBuilder &b, Location loc,
                                             BinaryKind kind, StringRef name) {
  Ops o{b, loc};
  std::string sym = name.empty() ? binaryKernelName(kind) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  func::FuncOp fn = makeFunc(b, loc, sym, {one, one, one, o.i64()});
  b.setInsertionPointToStart(&fn.getBody().front());
  Value n = o.toIndex(fn.getArgument(3));
  // The pointers arrive as memref<1xf32>; give them their run-time size.
  SmallVector<Value, 3> mem;
  for (unsigned i = 0; i < 3; ++i)
    mem.push_back(o.sized(fn.getArgument(i), n));
  o.lanesLoop(n, 8, [&](Ops &l, Value i, int64_t lanes) {
    if (lanes == 1) {
      l.store(l.binary(kind, l.load(mem[0], i), l.load(mem[1], i)), mem[2], i);
      return;
    }
    Value a = l.vload(l.vec(l.f32(), lanes), mem[0], i);
    Value bv = l.vload(l.vec(l.f32(), lanes), mem[1], i);
    l.vstore(l.binary(kind, a, bv), mem[2], i);
  });
  func::ReturnOp::create(b, loc);
  return fn;
}

func::FuncOp s10::codegen::buildEmbeddingKernel(OpBuilder &b, Location loc,
                                                int64_t vocab, int64_t hidden,
                                                DenseType table,
                                                StringRef name) {
  Ops o{b, loc};
  bool f16 = table == DenseType::F16;
  std::string sym =
      name.empty() ? embeddingKernelName(vocab, hidden, table) : name.str();
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp fn =
      makeFunc(b, loc, sym,
               {memref1D(vocab * hidden, f16 ? o.i16() : o.f32()),
                memref1D(1, o.i32()), memref1D(1, o.f32()), o.i64()});
  b.setInsertionPointToStart(&fn.getBody().front());
  Value tokens = o.toIndex(fn.getArgument(3));
  Value ids = o.sized(fn.getArgument(1), tokens);
  Value y = o.sized(fn.getArgument(2), o.mul(tokens, o.idx(hidden)));
  Value w = fn.getArgument(0);
  constexpr int64_t v = 8;
  o.loop(o.idx(0), tokens, o.idx(1), {},
         [&](Ops &l, Value t, ValueRange) -> SmallVector<Value> {
           Value src = l.mul(l.toIndex(l.load(ids, t)), l.idx(hidden));
           Value dst = l.mul(t, l.idx(hidden));
           auto copy = [&](Ops &c, Value j, int64_t lanes) {
             Value at = c.add(src, j), to = c.add(dst, j);
             Type elem = f16 ? c.i16() : c.f32();
             Value raw = lanes == 1 ? c.load(w, at)
                                    : c.vload(c.vec(elem, lanes), w, at);
             Value val = f16 ? c.halfToFloat(raw) : raw;
             if (lanes == 1)
               c.store(val, y, to);
             else
               c.vstore(val, y, to);
           };
           l.lanesLoop(l.idx(hidden), v, copy);
           return {};
         });
  func::ReturnOp::create(b, loc);
  return fn;
}

func::FuncOp s10::codegen::buildRotaryKernel(OpBuilder &b, Location loc,
                                             int64_t heads, int64_t headDim,
                                             StringRef name) {
  Ops o{b, loc};
  std::string sym =
      name.empty() ? rotaryKernelName(heads, headDim) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  func::FuncOp fn = makeFunc(b, loc, sym, {one, one, one, one, o.i64()});
  b.setInsertionPointToStart(&fn.getBody().front());
  const int64_t half = headDim / 2, width = heads * headDim;
  Value tokens = o.toIndex(fn.getArgument(4));
  Value x = o.sized(fn.getArgument(0), o.mul(tokens, o.idx(width)));
  Value cs = o.sized(fn.getArgument(1), o.mul(tokens, o.idx(half)));
  Value sn = o.sized(fn.getArgument(2), o.mul(tokens, o.idx(half)));
  Value y = o.sized(fn.getArgument(3), o.mul(tokens, o.idx(width)));
  constexpr int64_t v = 8;
  o.loop(o.idx(0), tokens, o.idx(1), {},
         [&](Ops &l, Value t, ValueRange) -> SmallVector<Value> {
           Value row = l.mul(t, l.idx(width)), trig = l.mul(t, l.idx(half));
           auto pair = [&](Ops &c, Value base, Value i, int64_t lanes) {
             auto ld = [&](Value mem, Value at) {
               return lanes == 1 ? c.load(mem, at)
                                 : c.vload(c.vec(c.f32(), lanes), mem, at);
             };
             auto st = [&](Value val, Value at) {
               if (lanes == 1)
                 c.store(val, y, at);
               else
                 c.vstore(val, y, at);
             };
             Value a1 = c.add(base, i), a2 = c.add(a1, c.idx(half));
             Value x1 = ld(x, a1), x2 = ld(x, a2);
             Value cv = ld(cs, c.add(trig, i)), sv = ld(sn, c.add(trig, i));
             // Separate products and sums, as the interpreter rounds them.
             st(c.sub(c.mul(x1, cv), c.mul(x2, sv)), a1);
             st(c.add(c.mul(x2, cv), c.mul(x1, sv)), a2);
           };
           l.loop(l.idx(0), l.idx(heads), l.idx(1), {},
                  [&](Ops &hl, Value h, ValueRange) -> SmallVector<Value> {
                    Value base = hl.add(row, hl.mul(h, hl.idx(headDim)));
                    hl.lanesLoop(hl.idx(half), v,
                                 [&](Ops &c, Value i, int64_t lanes) {
                                   pair(c, base, i, lanes);
                                 });
                    return {};
                  });
           return {};
         });
  func::ReturnOp::create(b, loc);
  return fn;
}

func::FuncOp s10::codegen::buildAttendKernel(OpBuilder &b, Location loc,
                                             int64_t headDim, int64_t kvWidth,
                                             float scale, StringRef name) {
  Ops o{b, loc};
  std::string sym =
      name.empty() ? attendKernelName(headDim, kvWidth, scale) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  func::FuncOp fn =
      makeFunc(b, loc, sym,
               {one, one, one, one, one, o.i64(), o.i64(), o.i64(), o.i64()});
  b.setInsertionPointToStart(&fn.getBody().front());
  constexpr int64_t kb = kAttendKeyBlock, v = 16;
  const int64_t dim = headDim;
  Value rows = o.toIndex(fn.getArgument(5));
  Value qStride = o.toIndex(fn.getArgument(6));
  Value n0 = o.toIndex(fn.getArgument(7)), inc = o.toIndex(fn.getArgument(8));
  // The longest row's positions, and whole key blocks of them.
  Value nMax = o.add(n0, o.mul(o.sub(rows, o.idx(1)), inc));
  Value blocks = o.divu(o.add(nMax, o.idx(kb - 1)), o.idx(kb));
  Value span = o.add(o.mul(o.sub(rows, o.idx(1)), qStride), o.idx(dim));
  Value q = o.sized(fn.getArgument(0), span);
  Value keys = o.sized(fn.getArgument(1), o.mul(blocks, o.idx(kb * kvWidth)));
  Value vals =
      o.sized(fn.getArgument(2),
              o.add(o.mul(o.sub(nMax, o.idx(1)), o.idx(kvWidth)), o.idx(dim)));
  Value out = o.sized(fn.getArgument(3), span);
  Value scores = o.sized(fn.getArgument(4), o.mul(blocks, o.idx(kb)));
  VectorType vt = o.vec(o.f32(), v);
  Value zero = o.f32c(0.0f, vt);
  const int64_t dimFull = dim / v * v;
  float ninf = -std::numeric_limits<float>::infinity();

  o.loop(
      o.idx(0), rows, o.idx(1), {},
      [&](Ops &l, Value r, ValueRange) -> SmallVector<Value> {
        Value n = l.add(n0, l.mul(r, inc));
        Value qr = l.mul(r, qStride);
        // Scores of whole blocks: 16 positions at a time, the sum over the
        // head's channels of q[c] times the key row c of the block.
        Value nb = l.divu(l.add(n, l.idx(kb - 1)), l.idx(kb));
        l.loop(l.idx(0), nb, l.idx(1), {},
               [&](Ops &bl, Value blk, ValueRange) -> SmallVector<Value> {
                 // The block's vectors of positions in one loop over the
                 // channels: independent FMA chains, one per vector.
                 Value base = bl.mul(blk, bl.idx(kb * kvWidth));
                 SmallVector<Value> init(size_t(kb / v), zero);
                 SmallVector<Value> accs = bl.loop(
                     bl.idx(0), bl.idx(dim), bl.idx(1), init,
                     [&](Ops &cl, Value c, ValueRange a) -> SmallVector<Value> {
                       Value qc = cl.splat(cl.load(q, cl.add(qr, c)), v);
                       Value row = cl.add(base, cl.mul(c, cl.idx(kb)));
                       SmallVector<Value> next;
                       for (int64_t j = 0; j < kb; j += v)
                         next.push_back(cl.fma(
                             qc, cl.vload(vt, keys, cl.add(row, cl.idx(j))),
                             a[j / v]));
                       return next;
                     });
                 for (int64_t j = 0; j < kb; j += v)
                   bl.vstore(bl.mul(accs[j / v], bl.f32c(scale, vt)), scores,
                             bl.add(bl.mul(blk, bl.idx(kb)), bl.idx(j)));
                 return {};
               });
        // Softmax over [0, n): whole vectors, then the tail one at a time.
        Value full = l.mul(l.divu(n, l.idx(v)), l.idx(v));
        Value mv =
            l.loop(l.idx(0), full, l.idx(v), {l.f32c(ninf, vt)},
                   [&](Ops &sl, Value j, ValueRange a) -> SmallVector<Value> {
                     Value x = sl.vload(vt, scores, j);
                     return {arith::MaximumFOp::create(sl.b, sl.loc, a[0], x)};
                   })[0];
        Value m = vector::ReductionOp::create(
            l.b, l.loc, vector::CombiningKind::MAXIMUMF, mv);
        m = l.loop(full, n, l.idx(1), {m},
                   [&](Ops &sl, Value j, ValueRange a) -> SmallVector<Value> {
                     return {arith::MaximumFOp::create(sl.b, sl.loc, a[0],
                                                       sl.load(scores, j))};
                   })[0];
        Value mvec = l.splat(m, v);
        Value sv =
            l.loop(l.idx(0), full, l.idx(v), {zero},
                   [&](Ops &sl, Value j, ValueRange a) -> SmallVector<Value> {
                     Value e = sl.exp(sl.sub(sl.vload(vt, scores, j), mvec));
                     sl.vstore(e, scores, j);
                     return {sl.add(a[0], e)};
                   })[0];
        Value sum = l.reduceAdd(sv);
        sum = l.loop(full, n, l.idx(1), {sum},
                     [&](Ops &sl, Value j, ValueRange a) -> SmallVector<Value> {
                       Value e = sl.exp(sl.sub(sl.load(scores, j), m));
                       sl.store(e, scores, j);
                       return {sl.add(a[0], e)};
                     })[0];
        Value invSum = l.divf(l.f32c(1.0f), sum);
        // out = (sum over positions of e_j v_j) / sum, whole vectors of the
        // head's channels, then a tail.
        SmallVector<Value> init(size_t(dimFull / v), zero);
        SmallVector<Value> acc = l.loop(
            l.idx(0), n, l.idx(1), init,
            [&](Ops &pl, Value j, ValueRange a) -> SmallVector<Value> {
              Value e = pl.splat(pl.load(scores, j), v);
              Value row = pl.mul(j, pl.idx(kvWidth));
              SmallVector<Value> next;
              for (int64_t c = 0; c < dimFull; c += v)
                next.push_back(pl.fma(
                    e, pl.vload(vt, vals, pl.add(row, pl.idx(c))), a[c / v]));
              return next;
            });
        // Every score of the row is read: out may now overwrite q.
        for (int64_t c = 0; c < dimFull; c += v)
          l.vstore(l.mul(acc[c / v], l.splat(invSum, v)), out,
                   l.add(qr, l.idx(c)));
        for (int64_t c = dimFull; c < dim; ++c) {
          Value t = l.loop(
              l.idx(0), n, l.idx(1), {l.f32c(0.0f)},
              [&](Ops &pl, Value j, ValueRange a) -> SmallVector<Value> {
                Value at = pl.add(pl.mul(j, pl.idx(kvWidth)), pl.idx(c));
                return {pl.fma(pl.load(scores, j), pl.load(vals, at), a[0])};
              })[0];
          l.store(l.mul(t, invSum), out, l.add(qr, l.idx(c)));
        }
        return {};
      });
  func::ReturnOp::create(b, loc);
  return fn;
}

//===----------------------------------------------------------------------===//
// GEMM micro-kernels
//===----------------------------------------------------------------------===//

GemmKernelTable s10::codegen::gemmKernelTable(bool avx512) {
  // 24 accumulators and 4 + 1 operands fill the 32 (AVX-512) and 16 (AVX2)
  // vector registers; a 128 x 64 block of P (32 KiB) stays in L1.
  if (avx512)
    return {6, 4, 16, 128};
  return {6, 2, 8, 256};
}

std::string s10::codegen::gemmBlockKernelName(int mr, int nv, int vec,
                                              bool masked) {
  return "s10_gemm_" + str(mr) + "x" + str(nv) + "_v" + str(vec) +
         (masked ? "_tail" : "");
}

func::FuncOp s10::codegen::buildGemmBlockKernel(OpBuilder &b, Location loc,
                                                int mr, int nv, int vec,
                                                bool masked, StringRef name) {
  Ops o{b, loc};
  std::string sym =
      name.empty() ? gemmBlockKernelName(mr, nv, vec, masked) : name.str();
  OpBuilder::InsertionGuard guard(b);
  MemRefType one = memref1D(1, o.f32());
  func::FuncOp fn = makeFunc(
      b, loc, sym,
      {one, o.i64(), one, o.i64(), one, o.i64(), o.i64(), o.i64(), o.i64()});
  fullVectors(fn);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value ldx = o.toIndex(fn.getArgument(1)), ldp = o.toIndex(fn.getArgument(3));
  Value ldy = o.toIndex(fn.getArgument(5));
  Value depth = o.toIndex(fn.getArgument(6));
  Value accumulate =
      o.cmpi(arith::CmpIPredicate::ne, fn.getArgument(7), o.int_(o.i64(), 0));
  const int64_t width = int64_t(nv) * vec;
  Value x = o.sized(fn.getArgument(0), o.add(o.mul(o.idx(mr - 1), ldx), depth));
  Value p = o.sized(fn.getArgument(2), o.add(o.mul(depth, ldp), o.idx(width)));
  Value y = o.sized(fn.getArgument(4),
                    o.add(o.mul(o.idx(mr - 1), ldy), o.idx(width)));
  VectorType vt = o.vec(o.f32(), vec);
  Value zero = o.f32c(0.0f, vt);
  // The last vector's first `tail` lanes; masked loads and stores never
  // touch the others.
  Value mask;
  if (masked)
    mask = vector::CreateMaskOp::create(
        b, loc, o.vec(o.i1(), vec), ValueRange{o.toIndex(fn.getArgument(8))});
  auto isTail = [&](int v) { return masked && v == nv - 1; };
  auto loadVec = [&](Ops &l, Value mem, Value at, int v) -> Value {
    if (isTail(v))
      return vector::MaskedLoadOp::create(l.b, l.loc, vt, mem, ValueRange{at},
                                          mask, zero);
    return l.vload(vt, mem, at);
  };
  auto yAt = [&](Ops &l, int i, int v) {
    return l.add(l.mul(l.idx(i), ldy), l.idx(int64_t(v) * vec));
  };

  // The accumulators start from Y or from zero.
  auto init = scf::IfOp::create(
      b, loc, accumulate,
      [&](OpBuilder &tb, Location tl) {
        Ops t{tb, tl};
        SmallVector<Value> acc;
        for (int i = 0; i < mr; ++i)
          for (int v = 0; v < nv; ++v)
            acc.push_back(loadVec(t, y, yAt(t, i, v), v));
        scf::YieldOp::create(tb, tl, acc);
      },
      [&](OpBuilder &eb, Location el) {
        SmallVector<Value> acc(size_t(mr) * nv, zero);
        scf::YieldOp::create(eb, el, acc);
      });

  // Per k: one load per vector of the row of P, one broadcast per row of X,
  // then mr * nv fused multiply-adds, each chain in increasing k.
  SmallVector<Value> acc = o.loop(
      o.idx(0), depth, o.idx(1), init.getResults(),
      [&](Ops &l, Value k, ValueRange a) -> SmallVector<Value> {
        Value row = l.mul(k, ldp);
        SmallVector<Value> pv;
        for (int v = 0; v < nv; ++v)
          pv.push_back(loadVec(l, p, l.add(row, l.idx(int64_t(v) * vec)), v));
        SmallVector<Value> next(a.begin(), a.end());
        for (int i = 0; i < mr; ++i) {
          Value xi = l.splat(l.load(x, l.add(l.mul(l.idx(i), ldx), k)), vec);
          for (int v = 0; v < nv; ++v) {
            Value &c = next[size_t(i) * nv + v];
            c = vector::FMAOp::create(l.b, l.loc, xi, pv[v], c);
          }
        }
        return next;
      });
  for (int i = 0; i < mr; ++i)
    for (int v = 0; v < nv; ++v) {
      Value c = acc[size_t(i) * nv + v], at = yAt(o, i, v);
      if (isTail(v))
        vector::MaskedStoreOp::create(b, loc, y, ValueRange{at}, mask, c);
      else
        o.vstore(c, y, at);
    }
  func::ReturnOp::create(b, loc);
  return fn;
}
