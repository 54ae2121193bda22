//===- Ops.h - Terse op construction for the kernel builders ----*- C++ -*-===//
//
// Private to lib/Codegen: the CPU and CUDA kernel builders emit the same
// arithmetic through these helpers.
//
//===----------------------------------------------------------------------===//

#ifndef S10_LIB_CODEGEN_OPS_H
#define S10_LIB_CODEGEN_OPS_H

#include "s10/Codegen/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

namespace s10::codegen::detail {

using namespace mlir;

/// Terse op construction at one location. Arithmetic helpers work on
/// scalars and vectors alike.
struct Ops {
  OpBuilder &b;
  Location loc;

  Type i1() { return b.getI1Type(); }
  Type i8() { return b.getI8Type(); }
  Type i16() { return b.getIntegerType(16); }
  Type i32() { return b.getI32Type(); }
  Type i64() { return b.getI64Type(); }
  Type f32() { return b.getF32Type(); }
  Type f64() { return b.getF64Type(); }
  VectorType vec(Type t, int64_t n = PackedDecoder::kChunk) {
    return VectorType::get({n}, t);
  }

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value int_(Type t, int64_t v) {
    if (auto vt = dyn_cast<VectorType>(t))
      return arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(vt, b.getIntegerAttr(vt.getElementType(), v)));
    return arith::ConstantIntOp::create(b, loc, t, v);
  }
  Value f32c(float v, Type t = {}) {
    Type ty = t ? t : f32();
    if (auto vt = dyn_cast<VectorType>(ty))
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(vt, b.getF32FloatAttr(v)));
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value f64c(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  /// A constant vector of integers.
  Value lanes(Type elem, ArrayRef<int64_t> values) {
    auto vt = vec(elem, int64_t(values.size()));
    SmallVector<APInt> v;
    for (int64_t x : values)
      v.push_back(APInt(elem.getIntOrFloatBitWidth(), uint64_t(x), false));
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vt, v));
  }
  Value splat(Value s, int64_t n = PackedDecoder::kChunk) {
    return vector::BroadcastOp::create(b, loc, vec(s.getType(), n), s);
  }

  Value add(Value x, Value y) {
    if (isa<FloatType>(getElementTypeOrSelf(x)))
      return arith::AddFOp::create(b, loc, x, y);
    return arith::AddIOp::create(b, loc, x, y);
  }
  Value sub(Value x, Value y) {
    if (isa<FloatType>(getElementTypeOrSelf(x)))
      return arith::SubFOp::create(b, loc, x, y);
    return arith::SubIOp::create(b, loc, x, y);
  }
  Value mul(Value x, Value y) {
    if (isa<FloatType>(getElementTypeOrSelf(x)))
      return arith::MulFOp::create(b, loc, x, y);
    return arith::MulIOp::create(b, loc, x, y);
  }
  /// x * y + z, free to fuse into one FMA where the target has it (not
  /// llvm.fma, which is a library call without one).
  Value fma(Value x, Value y, Value z) {
    auto contract = arith::FastMathFlags::contract;
    Value p = arith::MulFOp::create(b, loc, x, y, contract);
    return arith::AddFOp::create(b, loc, p, z, contract);
  }
  Value divf(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value divu(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value remu(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value minsi(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value and_(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value or_(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value shl(Value x, Value y) { return arith::ShLIOp::create(b, loc, x, y); }
  Value shr(Value x, Value y) { return arith::ShRUIOp::create(b, loc, x, y); }
  Value cmpi(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value cmpf(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value extui(Value x, Type t) { return arith::ExtUIOp::create(b, loc, t, x); }
  Value trunci(Value x, Type t) {
    return arith::TruncIOp::create(b, loc, t, x);
  }
  Value sitofp(Value x, Type t) {
    return arith::SIToFPOp::create(b, loc, t, x);
  }
  Value uitofp(Value x, Type t) {
    return arith::UIToFPOp::create(b, loc, t, x);
  }
  Value bitcast(Value x, Type t) {
    return arith::BitcastOp::create(b, loc, t, x);
  }
  Value toIndex(Value x) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
  }
  Value toI64(Value x) { return arith::IndexCastOp::create(b, loc, i64(), x); }

  Value load(Value mem, Value i) {
    return memref::LoadOp::create(b, loc, mem, i);
  }
  void store(Value v, Value mem, Value i) {
    memref::StoreOp::create(b, loc, v, mem, i);
  }
  Value vload(VectorType t, Value mem, Value i, unsigned align = 0) {
    auto op = vector::LoadOp::create(b, loc, t, mem, ValueRange{i});
    if (align)
      op.setAlignment(align);
    return op;
  }
  void vstore(Value v, Value mem, Value i, unsigned align = 0) {
    auto op = vector::StoreOp::create(b, loc, v, mem, ValueRange{i});
    if (align)
      op.setAlignment(align);
  }
  Value reduceAdd(Value v) {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, v,
                                       Value(), arith::FastMathFlags::reassoc);
  }

  /// `n` (1, 2, 4 or 8) little-endian bytes at byte `off` of an i8 memref,
  /// as an integer of 8n bits; `align` (0: none) is a promise about `off`.
  Value loadInt(Value mem, Value off, unsigned n, unsigned align = 0) {
    if (n == 1)
      return load(mem, off);
    Value v = vload(vec(i8(), n), mem, off, align);
    Value w =
        vector::BitCastOp::create(b, loc, vec(b.getIntegerType(8 * n), 1), v);
    return vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{0});
  }

  /// IEEE binary16 bits (i16, scalar or vector) to f32, exactly: an f16
  /// extension, one instruction per vector with F16C. emitSharedObject
  /// expands it into integer operations for CPUs without F16C, so the
  /// kernels never need a library call.
  Value halfToFloat(Value h) {
    Type th = b.getF16Type(), tf = f32();
    if (auto vt = dyn_cast<VectorType>(h.getType())) {
      th = vec(th, vt.getNumElements());
      tf = vec(tf, vt.getNumElements());
    }
    return arith::ExtFOp::create(b, loc, tf, bitcast(h, th));
  }

  /// exp(x) for f32 (scalar or vector) in arithmetic only: the Cephes
  /// polynomial the runtime's fastExp uses (relative error about 2e-7),
  /// 0 below -87, +inf above 88.72, NaN for NaN.
  Value exp(Value x) {
    Type tf = x.getType(), ti = i32();
    if (auto vt = dyn_cast<VectorType>(tf))
      ti = vec(i32(), vt.getNumElements());
    auto c = [&](float v) { return f32c(v, tf); };
    Value lo = c(-87.0f), hi = c(88.72f);
    Value xc = select(cmpf(arith::CmpFPredicate::OGT, x, hi), hi, x);
    xc = select(cmpf(arith::CmpFPredicate::OLT, xc, lo), lo, xc);
    // n = round(x / ln 2) by adding and subtracting 1.5 * 2^23.
    Value t = add(mul(xc, c(1.44269504088896341f)), c(12582912.0f));
    Value n = sub(t, c(12582912.0f));
    Value ni = sub(bitcast(t, ti), int_(ti, 0x4B400000));
    Value r = sub(xc, mul(n, c(0.693359375f)));
    r = sub(r, mul(n, c(-2.12194440e-4f)));
    Value p = c(1.9875691500e-4f);
    for (float k : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                    1.6666665459e-1f, 5.0000001201e-1f})
      p = add(mul(p, r), c(k));
    p = add(add(mul(mul(p, r), r), r), c(1.0f));
    Value bits = add(bitcast(p, ti), shl(ni, int_(ti, 23)));
    Value res = bitcast(bits, tf);
    res = select(cmpf(arith::CmpFPredicate::OLT, x, lo), c(0.0f), res);
    res = select(cmpf(arith::CmpFPredicate::OGT, x, hi),
                 c(std::numeric_limits<float>::infinity()), res);
    return select(cmpf(arith::CmpFPredicate::UNO, x, x), x, res);
  }

  /// a + b, or silu(a) * b = a / (1 + exp(-a)) * b, as the runtime's
  /// kernels compute them (scalar or vector).
  Value binary(BinaryKind kind, Value a, Value bv) {
    if (kind == BinaryKind::Add)
      return add(a, bv);
    Value one = f32c(1.0f, a.getType());
    Value neg = arith::NegFOp::create(b, loc, a);
    return mul(divf(a, add(one, exp(neg))), bv);
  }

  /// An RMSNorm output: w * (x * inv), w loaded as f16 bits or f32.
  Value normalized(Value rawWeight, bool f16, Value x, Value inv) {
    Value w = f16 ? halfToFloat(rawWeight) : rawWeight;
    return mul(w, mul(x, inv));
  }

  /// for (iv = lb; iv < ub; iv += step) with loop-carried values.
  SmallVector<Value>
  loop(Value lb, Value ub, Value step, ValueRange inits,
       function_ref<SmallVector<Value>(Ops &, Value, ValueRange)> body) {
    auto op = scf::ForOp::create(
        b, loc, lb, ub, step, inits,
        [&](OpBuilder &nb, Location nl, Value iv, ValueRange args) {
          Ops o{nb, nl};
          SmallVector<Value> next = body(o, iv, args);
          scf::YieldOp::create(nb, nl, next);
        });
    return SmallVector<Value>(op.getResults());
  }

  /// `arg`, a memref<1xT> pointer argument, as a memref<?xT> of `n`
  /// elements: the kernels' run-time sized buffers.
  Value sized(Value arg, Value n) {
    auto t = cast<MemRefType>(arg.getType());
    auto dyn = MemRefType::get({ShapedType::kDynamic}, t.getElementType());
    return memref::ReinterpretCastOp::create(
        b, loc, dyn, arg, OpFoldResult(b.getIndexAttr(0)),
        ArrayRef<OpFoldResult>{n}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  }

  /// body(i, lanes) over [0, n): vectors of `lanes` from 0 while whole
  /// ones fit, then single elements (lanes = 1).
  void lanesLoop(Value n, int64_t lanes,
                 function_ref<void(Ops &, Value, int64_t)> body) {
    Value full = mul(divu(n, idx(lanes)), idx(lanes));
    loop(idx(0), full, idx(lanes), {},
         [&](Ops &l, Value i, ValueRange) -> SmallVector<Value> {
           body(l, i, lanes);
           return {};
         });
    loop(full, n, idx(1), {},
         [&](Ops &l, Value i, ValueRange) -> SmallVector<Value> {
           body(l, i, 1);
           return {};
         });
  }
};

inline std::string str(int64_t v) { return std::to_string(v); }

/// The shortest decimal form of `v` that reads back exactly, spelled as
/// part of a C identifier ('.' -> 'p', '-' -> 'm', '+' dropped).
inline std::string identDouble(double v) {
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string s;
  for (char *p = buf; *p; ++p) {
    if (*p == '.')
      s += 'p';
    else if (*p == '-')
      s += 'm';
    else if (*p != '+')
      s += *p;
  }
  return s;
}

inline MemRefType memref1D(int64_t n, Type t) {
  return MemRefType::get({n}, t);
}

} // namespace s10::codegen::detail

#endif // S10_LIB_CODEGEN_OPS_H
