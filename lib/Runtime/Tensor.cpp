//===- Tensor.cpp - Host tensors ------------------------------------------===//

#include "s10/Runtime/Tensor.h"

#include "DTypeDispatch.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

using namespace llvm;
using namespace s10::runtime;

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

size_t s10::runtime::dtypeSize(DType type) {
  return dispatchAll(type, [](auto tag) {
    return sizeof(typename DT<decltype(tag)::value>::S);
  });
}

StringRef s10::runtime::dtypeName(DType type) {
  switch (type) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::I64:
    return "i64";
  case DType::I32:
    return "i32";
  case DType::I16:
    return "i16";
  case DType::I8:
    return "i8";
  case DType::U64:
    return "u64";
  case DType::U32:
    return "u32";
  case DType::U16:
    return "u16";
  case DType::U8:
    return "u8";
  case DType::Bool:
    return "bool";
  }
  llvm_unreachable("unknown dtype");
}

bool s10::runtime::isFloat(DType type) {
  return type == DType::F32 || type == DType::F64 || type == DType::F16 ||
         type == DType::BF16;
}

bool s10::runtime::isSignedInt(DType type) {
  return type == DType::I64 || type == DType::I32 || type == DType::I16 ||
         type == DType::I8;
}

bool s10::runtime::isUnsignedInt(DType type) {
  return type == DType::U64 || type == DType::U32 || type == DType::U16 ||
         type == DType::U8;
}

Expected<DType> s10::runtime::dtypeFromMlirType(mlir::Type type) {
  if (type.isF32())
    return DType::F32;
  if (type.isF64())
    return DType::F64;
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  if (type.isIndex())
    return DType::I64;
  if (auto it = dyn_cast<mlir::IntegerType>(type)) {
    unsigned w = it.getWidth();
    if (w == 1)
      return DType::Bool;
    bool isUnsigned = it.isUnsigned();
    switch (w) {
    case 8:
      return isUnsigned ? DType::U8 : DType::I8;
    case 16:
      return isUnsigned ? DType::U16 : DType::I16;
    case 32:
      return isUnsigned ? DType::U32 : DType::I32;
    case 64:
      return isUnsigned ? DType::U64 : DType::I64;
    default:
      break;
    }
  }
  std::string s;
  raw_string_ostream os(s);
  os << "unsupported element type " << type;
  return makeError(s);
}

mlir::Type s10::runtime::dtypeToMlirType(DType type, mlir::MLIRContext *ctx) {
  using namespace mlir;
  switch (type) {
  case DType::F32:
    return Float32Type::get(ctx);
  case DType::F64:
    return Float64Type::get(ctx);
  case DType::F16:
    return Float16Type::get(ctx);
  case DType::BF16:
    return BFloat16Type::get(ctx);
  case DType::I64:
    return IntegerType::get(ctx, 64);
  case DType::I32:
    return IntegerType::get(ctx, 32);
  case DType::I16:
    return IntegerType::get(ctx, 16);
  case DType::I8:
    return IntegerType::get(ctx, 8);
  case DType::U64:
    return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  case DType::U32:
    return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case DType::U16:
    return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case DType::U8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case DType::Bool:
    return IntegerType::get(ctx, 1);
  }
  llvm_unreachable("unknown dtype");
}

Expected<DType> s10::runtime::dtypeFromOnnx(int64_t onnxType) {
  switch (onnxType) {
  case 1:
    return DType::F32;
  case 2:
    return DType::U8;
  case 3:
    return DType::I8;
  case 4:
    return DType::U16;
  case 5:
    return DType::I16;
  case 6:
    return DType::I32;
  case 7:
    return DType::I64;
  case 9:
    return DType::Bool;
  case 10:
    return DType::F16;
  case 11:
    return DType::F64;
  case 12:
    return DType::U32;
  case 13:
    return DType::U64;
  case 16:
    return DType::BF16;
  default:
    return makeError("unsupported ONNX data type " + Twine(onnxType));
  }
}

//===----------------------------------------------------------------------===//
// Half / bfloat16
//===----------------------------------------------------------------------===//

float s10::runtime::halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13); // inf / nan (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalize into an f32 normal.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400));
    mant &= 0x3ff;
    bits = sign | uint32_t(112 - e) << 23 | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Rounds a double to a binary format with `expBits` exponent bits and
/// `mantBits` mantissa bits, to nearest even, in one step. Scaling by powers
/// of two is exact, so nearbyint() (round-half-even in the default mode)
/// does the only rounding.
static uint16_t roundDoubleToSmall(double d, int expBits, int mantBits) {
  uint16_t sign = std::signbit(d) ? uint16_t(1u << (expBits + mantBits)) : 0;
  uint16_t expMask = uint16_t(((1u << expBits) - 1) << mantBits);
  if (std::isnan(d))
    return sign | expMask | uint16_t(1u << (mantBits - 1));
  double a = std::fabs(d);
  if (std::isinf(a))
    return sign | expMask;
  if (a == 0.0)
    return sign;
  int bias = (1 << (expBits - 1)) - 1;
  int minExp = 1 - bias;
  int e = std::ilogb(a);
  if (e < minExp) {
    // Subnormal range: multiples of 2^(minExp - mantBits). A carry into
    // 2^mantBits yields the smallest normal, whose encoding is the same.
    double k = std::nearbyint(std::ldexp(a, mantBits - minExp));
    return sign | uint16_t(k);
  }
  double k = std::nearbyint(std::ldexp(a, mantBits - e));
  if (k >= std::ldexp(1.0, mantBits + 1)) {
    k = std::ldexp(1.0, mantBits);
    ++e;
  }
  if (e > bias)
    return sign | expMask;
  uint32_t m = uint32_t(k) - (1u << mantBits);
  return sign | uint16_t(uint32_t(e + bias) << mantBits) | uint16_t(m);
}

uint16_t s10::runtime::doubleToHalf(double d) {
  return roundDoubleToSmall(d, 5, 10);
}

uint16_t s10::runtime::doubleToBF16(double d) {
  return roundDoubleToSmall(d, 8, 7);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
// F16C converts exactly (round to nearest even on the way down); used when
// the CPU has it, which makes upcasting a model's weights ~10x faster.
__attribute__((target("avx,f16c"))) static void
halfToFloatF16C(const uint16_t *src, float *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i *>(src + i))));
  for (; i < n; ++i)
    dst[i] = halfToFloat(src[i]);
}

__attribute__((target("avx,f16c"))) static void
floatToHalfF16C(const float *src, uint16_t *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(
        reinterpret_cast<__m128i *>(dst + i),
        _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i)
    dst[i] = floatToHalf(src[i]);
}

static bool hasF16C() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  }();
  return has;
}
#else
static bool hasF16C() { return false; }
static void halfToFloatF16C(const uint16_t *, float *, size_t) {}
static void floatToHalfF16C(const float *, uint16_t *, size_t) {}
#endif

void s10::runtime::halfToFloatN(const uint16_t *src, float *dst, size_t n) {
  if (hasF16C())
    return halfToFloatF16C(src, dst, n);
  for (size_t i = 0; i < n; ++i)
    dst[i] = halfToFloat(src[i]);
}

void s10::runtime::bf16ToFloatN(const uint16_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] = bf16ToFloat(src[i]);
}

/// Fast f32 -> f16 for normal results (bit arithmetic), falling back to the
/// generic rounding for everything else.
static inline uint16_t floatToHalfFast(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  // Normal half range [2^-14, 65504]: exponent 113..142 in f32.
  if (absx >= 0x38800000u && absx < 0x477fe000u) {
    uint32_t mant = absx & 0x7fffff;
    uint32_t exp = (absx >> 23) - 112;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
      ++h; // may carry into the exponent, which is still correct
    return uint16_t(sign | h);
  }
  return doubleToHalf(f);
}

void s10::runtime::floatToHalfN(const float *src, uint16_t *dst, size_t n) {
  if (hasF16C())
    return floatToHalfF16C(src, dst, n);
  for (size_t i = 0; i < n; ++i)
    dst[i] = floatToHalfFast(src[i]);
}

void s10::runtime::floatToBF16N(const float *src, uint16_t *dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t x;
    std::memcpy(&x, &src[i], 4);
    if ((x & 0x7fffffff) > 0x7f800000) {
      dst[i] = uint16_t((x >> 16) | 0x40); // quiet nan
      continue;
    }
    uint32_t lsb = (x >> 16) & 1;
    x += 0x7fff + lsb; // round to nearest even; overflows into inf correctly
    dst[i] = uint16_t(x >> 16);
  }
}

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

int64_t s10::runtime::shapeNumel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string s10::runtime::shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ", ";
    s += std::to_string(d);
  }
  return s + "]";
}

namespace {
/// Recycles large tensor buffers. Models allocate the same few sizes over
/// and over (one set per layer and per window); returning big blocks to
/// the OS and faulting fresh zeroed pages back in costs more than the
/// kernels that fill them. Small blocks go straight to malloc.
class BufferCache {
public:
  static constexpr size_t kMinBytes = 64 * 1024;
  static constexpr size_t kMaxCachedBytes = size_t(512) << 20;

  static BufferCache &get() {
    // Leaked on purpose: tensors may outlive static destruction order.
    static BufferCache *cache = new BufferCache();
    return *cache;
  }

  static size_t roundUp(size_t bytes) {
    size_t unit = bytes >= kMinBytes ? 4096 : 64;
    return (std::max<size_t>(bytes, 1) + unit - 1) / unit * unit;
  }

  void *allocate(size_t rounded) {
    if (rounded >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = free.find(rounded);
      if (it != free.end() && !it->second.empty()) {
        void *p = it->second.back();
        it->second.pop_back();
        cached -= rounded;
        return p;
      }
    }
    void *p = std::aligned_alloc(64, rounded);
    if (!p)
      llvm::report_bad_alloc_error("tensor allocation failed");
    return p;
  }

  void release(void *p, size_t rounded) {
    if (rounded >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mutex);
      if (cached + rounded <= kMaxCachedBytes) {
        free[rounded].push_back(p);
        cached += rounded;
        return;
      }
    }
    std::free(p);
  }

private:
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void *>> free;
  size_t cached = 0;
};
} // namespace

Tensor Tensor::empty(DType type, ArrayRef<int64_t> shape) {
  Tensor t;
  t.type = type;
  t.dims.assign(shape.begin(), shape.end());
  t.count = shapeNumel(shape);
  assert(t.count >= 0 && "negative dimension");
  size_t rounded = BufferCache::roundUp(t.byteSize());
  void *p = BufferCache::get().allocate(rounded);
  t.data = p;
  t.storage = std::shared_ptr<const void>(p, [rounded](const void *q) {
    BufferCache::get().release(const_cast<void *>(q), rounded);
  });
  return t;
}

Tensor Tensor::zeros(DType type, ArrayRef<int64_t> shape) {
  Tensor t = empty(type, shape);
  std::memset(t.data, 0, t.byteSize());
  return t;
}

Tensor Tensor::borrowed(DType type, ArrayRef<int64_t> shape, const void *data,
                        std::shared_ptr<const void> owner) {
  Tensor t;
  t.type = type;
  t.dims.assign(shape.begin(), shape.end());
  t.count = shapeNumel(shape);
  t.data = const_cast<void *>(data);
  t.readOnly = true;
  t.storage = owner ? std::move(owner)
                    : std::shared_ptr<const void>(data, [](const void *) {});
  return t;
}

Tensor Tensor::reshaped(ArrayRef<int64_t> newShape) const {
  assert(shapeNumel(newShape) == count && "reshape changes the element count");
  Tensor t = *this;
  t.dims.assign(newShape.begin(), newShape.end());
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(type, dims);
  if (count)
    std::memcpy(t.data, data, byteSize());
  return t;
}

double Tensor::getDouble(int64_t i) const {
  return dispatchAll(type, [&](auto tag) -> double {
    constexpr DType D = decltype(tag)::value;
    return double(load<D>(data_as<typename DT<D>::S>()[i]));
  });
}

int64_t Tensor::getInt(int64_t i) const {
  return dispatchAll(type, [&](auto tag) -> int64_t {
    constexpr DType D = decltype(tag)::value;
    return int64_t(load<D>(data_as<typename DT<D>::S>()[i]));
  });
}

SmallVector<int64_t, 8> Tensor::toInt64Vector() const {
  SmallVector<int64_t, 8> v(count);
  for (int64_t i = 0; i < count; ++i)
    v[i] = getInt(i);
  return v;
}

std::vector<float> Tensor::toFloatVector() const {
  Tensor f = toF32();
  return std::vector<float>(f.f32(), f.f32() + count);
}

Tensor Tensor::castTo(DType to) const {
  assert(!isNull() && "casting a null tensor");
  if (to == type)
    return *this;
  Tensor out = empty(to, dims);
  size_t n = count;
  // Hot paths first.
  if (type == DType::F16 && to == DType::F32) {
    halfToFloatN(data_as<uint16_t>(), out.mutable_as<float>(), n);
    return out;
  }
  if (type == DType::BF16 && to == DType::F32) {
    bf16ToFloatN(data_as<uint16_t>(), out.mutable_as<float>(), n);
    return out;
  }
  if (type == DType::F32 && to == DType::F16) {
    floatToHalfN(data_as<float>(), out.mutable_as<uint16_t>(), n);
    return out;
  }
  if (type == DType::F32 && to == DType::BF16) {
    floatToBF16N(data_as<float>(), out.mutable_as<uint16_t>(), n);
    return out;
  }
  if (type == DType::F64 && (to == DType::F16 || to == DType::BF16)) {
    // One rounding from double.
    const double *s = data_as<double>();
    uint16_t *d = out.mutable_as<uint16_t>();
    for (size_t i = 0; i < n; ++i)
      d[i] = to == DType::F16 ? doubleToHalf(s[i]) : doubleToBF16(s[i]);
    return out;
  }
  dispatchAll(type, [&](auto fromTag) {
    constexpr DType From = decltype(fromTag)::value;
    dispatchAll(to, [&](auto toTag) {
      constexpr DType To = decltype(toTag)::value;
      const auto *s = data_as<typename DT<From>::S>();
      auto *d = out.mutable_as<typename DT<To>::S>();
      for (size_t i = 0; i < n; ++i)
        d[i] = store<To>(convertValue<From, To>(load<From>(s[i])));
    });
  });
  return out;
}

std::string Tensor::describe() const {
  if (isNull())
    return "none";
  return (dtypeName(type) + shapeStr(dims)).str();
}

//===----------------------------------------------------------------------===//
// ElementsAttr -> Tensor
//===----------------------------------------------------------------------===//

Expected<Tensor> s10::runtime::tensorFromElementsAttr(mlir::ElementsAttr attr) {
  auto shaped = cast<mlir::ShapedType>(attr.getType());
  if (!shaped.hasStaticShape())
    return makeError("constant with a non-static shape");
  Expected<DType> dt = dtypeFromMlirType(shaped.getElementType());
  if (!dt)
    return dt.takeError();
  SmallVector<int64_t> shape(shaped.getShape());
  size_t eltSize = dtypeSize(*dt);

  if (auto dense = dyn_cast<mlir::DenseElementsAttr>(attr)) {
    Tensor t = Tensor::empty(*dt, shape);
    if (*dt == DType::Bool) {
      // i1 is bit-packed in DenseElementsAttr.
      bool *d = t.mutable_as<bool>();
      int64_t i = 0;
      for (bool b : dense.getValues<bool>())
        d[i++] = b;
      return t;
    }
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      char *d = static_cast<char *>(t.rawMutable());
      for (int64_t i = 0; i < t.numel(); ++i)
        std::memcpy(d + i * eltSize, raw.data(), eltSize);
    } else {
      if (raw.size() != t.byteSize())
        return makeError("dense constant has an unexpected raw size");
      if (!raw.empty()) // an empty tensor may have no storage at all
        std::memcpy(t.rawMutable(), raw.data(), raw.size());
    }
    return t;
  }

  if (auto res = dyn_cast<mlir::DenseResourceElementsAttr>(attr)) {
    const mlir::AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return makeError("dense resource '" + res.getRawHandle().getKey() +
                       "' has no data (elided?)");
    ArrayRef<char> bytes = blob->getData();
    int64_t n = shapeNumel(shape);
    if (*dt == DType::Bool) {
      if (bytes.size() != size_t(n))
        return makeError("bool dense resource has an unexpected size");
    } else if (bytes.size() != size_t(n) * eltSize) {
      return makeError("dense resource '" + res.getRawHandle().getKey() +
                       "' holds " + Twine(bytes.size()) + " bytes, expected " +
                       Twine(size_t(n) * eltSize));
    }
    if (reinterpret_cast<uintptr_t>(bytes.data()) % eltSize == 0)
      return Tensor::borrowed(*dt, shape, bytes.data(), nullptr);
    Tensor t = Tensor::empty(*dt, shape);
    if (!bytes.empty())
      std::memcpy(t.rawMutable(), bytes.data(), bytes.size());
    return t;
  }

  // Any other ElementsAttr implementation: go through APInt / APFloat.
  Tensor t = Tensor::empty(*dt, shape);
  if (isFloat(*dt)) {
    auto values = attr.tryGetValues<APFloat>();
    if (!values)
      return makeError("cannot read float constant values");
    int64_t i = 0;
    for (APFloat v : *values) {
      APInt bits = v.bitcastToAPInt();
      std::memcpy(static_cast<char *>(t.rawMutable()) + i * eltSize,
                  bits.getRawData(), eltSize);
      ++i;
    }
    return t;
  }
  auto values = attr.tryGetValues<APInt>();
  if (!values)
    return makeError("cannot read integer constant values");
  int64_t i = 0;
  for (APInt v : *values) {
    uint64_t x = v.getZExtValue();
    if (*dt == DType::Bool) {
      t.mutable_as<bool>()[i++] = x != 0;
      continue;
    }
    std::memcpy(static_cast<char *>(t.rawMutable()) + i * eltSize, &x, eltSize);
    ++i;
  }
  return t;
}
