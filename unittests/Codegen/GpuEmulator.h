//===- GpuEmulator.h - CUDA kernels run on the CPU, for tests --*- C++ -*-===//
//
// Each gpu.func of a kernel module becomes a CPU function of (arguments,
// thread id, block ids): gpu.shuffle and nvvm.bar.warp.sync become calls
// into a warp emulator in which the 32 lanes of a warp are 32 threads
// exchanging values through a barrier, the PTX square root math.sqrt; the
// MLIR JIT compiles the result and launch() runs it over a grid.
//
//===----------------------------------------------------------------------===//

#ifndef S10_UNITTESTS_CODEGEN_GPUEMULATOR_H
#define S10_UNITTESTS_CODEGEN_GPUEMULATOR_H

#include "s10/Codegen/CpuCodegen.h"
#include "s10/Codegen/CudaCodegen.h"
#include "s10/Codegen/GpuKernelBuilder.h"
#include "s10/Quant/Layout.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/TargetSelect.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

// UBSan's function-type check reads the word before a called function,
// which JIT-compiled kernels do not have (and may start a page): calls into
// them opt out.
#if defined(__clang__)
#define S10_CALLS_JIT __attribute__((no_sanitize("function")))
#else
#define S10_CALLS_JIT
#endif

namespace {

using namespace mlir;
using namespace s10::codegen;

//===----------------------------------------------------------------------===//
// The warp emulator
//===----------------------------------------------------------------------===//

constexpr int kLanes = 32;

/// The 32 lanes of one warp, run as threads; a shuffle is a write of every
/// lane's value, a barrier, a read of the source lane's, a barrier.
struct Warp {
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  uint32_t slot[kLanes] = {};
  /// mma.sync operands of every lane: A (four f16x2), B (two), C (four).
  struct MmaIn {
    uint32_t a[4], b[2];
    float c[4];
  } mma[kLanes];
  bool stuck = false; // a barrier timed out: lanes diverged at a shuffle

  void barrier() {
    std::unique_lock<std::mutex> lock(m);
    uint64_t gen = generation;
    if (++arrived == kLanes) {
      arrived = 0;
      ++generation;
      cv.notify_all();
      return;
    }
    if (!cv.wait_for(lock, std::chrono::seconds(20),
                     [&] { return generation != gen; })) {
      stuck = true;
      // Let the others through so the test ends.
      arrived = 0;
      ++generation;
      cv.notify_all();
    }
  }
};

thread_local Warp *tlWarp = nullptr;
thread_local int tlLane = 0;

uint32_t shuffle(uint32_t bits, int32_t offset, int32_t width, int32_t mode) {
  Warp &w = *tlWarp;
  int lane = tlLane, src = lane;
  switch (gpu::ShuffleMode(mode)) {
  case gpu::ShuffleMode::XOR:
    src = lane ^ offset;
    break;
  case gpu::ShuffleMode::UP:
    src = lane - offset >= 0 ? lane - offset : lane;
    break;
  case gpu::ShuffleMode::DOWN:
    src = lane + offset < width ? lane + offset : lane;
    break;
  case gpu::ShuffleMode::IDX:
    src = offset;
    break;
  }
  w.slot[lane] = bits;
  w.barrier();
  uint32_t v = w.slot[src % kLanes];
  w.barrier();
  return v;
}

inline float emuShuffleF32(float v, int32_t offset, int32_t width,
                           int32_t mode) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = shuffle(bits, offset, width, mode);
  std::memcpy(&v, &bits, 4);
  return v;
}

inline void emuSyncWarp() { tlWarp->barrier(); }

thread_local float tlMmaOut[4];

/// Element `half` (0: low) of an f16x2 register, as a float.
inline double halfOf(uint32_t reg, int half) {
  return s10::quant::layout::halfToFloat(uint16_t(reg >> (16 * half)));
}

/// mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 by the fragment
/// layouts of the PTX ISA (lane = 4 groupID + threadID_in_group):
///   A (16x16): a_i at row groupID (+ 8 for registers 1 and 3), column
///              2 threadID_in_group + (i & 1) (+ 8 for registers 2, 3);
///   B (16x8):  b_i at row 2 threadID_in_group + (i & 1) (+ 8 for
///              register 1), column groupID;
///   C, D:      c_i at row groupID (+ 8 for i >= 2), column
///              2 threadID_in_group + (i & 1).
/// The products are exact and summed in double, then rounded once.
inline void emuMma(uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                   uint32_t b0, uint32_t b1, float c0, float c1, float c2,
                   float c3) {
  Warp &w = *tlWarp;
  int lane = tlLane;
  w.mma[lane] = {{a0, a1, a2, a3}, {b0, b1}, {c0, c1, c2, c3}};
  w.barrier();
  auto A = [&](int r, int k) {
    int reg = (r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
    return halfOf(w.mma[4 * (r % 8) + (k % 8) / 2].a[reg], k % 2);
  };
  auto B = [&](int k, int n) {
    return halfOf(w.mma[4 * n + (k % 8) / 2].b[k >= 8 ? 1 : 0], k % 2);
  };
  int g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    int r = g + (i >= 2 ? 8 : 0), n = 2 * t + (i & 1);
    double sum = 0;
    for (int k = 0; k < 16; ++k)
      sum += A(r, k) * B(k, n);
    tlMmaOut[i] = float(sum + double(w.mma[lane].c[i]));
  }
  w.barrier();
}

inline float emuMmaResult(int32_t i) { return tlMmaOut[i]; }

inline int32_t emuShuffleI32(int32_t v, int32_t offset, int32_t width,
                             int32_t mode) {
  return int32_t(shuffle(uint32_t(v), offset, width, mode));
}

/// Most kernel ABIs are (ptr, ptr, ptr, i64) plus, in the emulation, the
/// thread id and the block ids x and y.
using KernelFn = void (*)(const void *, const void *, void *, int64_t, int64_t,
                          int64_t, int64_t);

/// One thread per lane, kept for the whole run: starting 32 threads per
/// warp cost more than the kernels.
class LanePool {
public:
  static LanePool &get() {
    static LanePool pool;
    return pool;
  }
  /// Runs fn(l) on lane thread l for every lane; returns when all are done.
  void run(const std::function<void(int)> &fn) {
    std::unique_lock<std::mutex> lock(m_);
    job_ = &fn;
    pending_ = kLanes;
    ++generation_;
    start_.notify_all();
    done_.wait(lock, [&] { return pending_ == 0; });
  }
  ~LanePool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      quit_ = true;
      ++generation_;
    }
    start_.notify_all();
    for (std::thread &t : threads_)
      t.join();
  }

private:
  LanePool() {
    for (int l = 0; l < kLanes; ++l)
      threads_.emplace_back([this, l] { loop(l); });
  }
  void loop(int lane) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)> *job;
      {
        std::unique_lock<std::mutex> lock(m_);
        start_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (quit_)
          return;
        job = job_;
      }
      (*job)(lane);
      std::lock_guard<std::mutex> lock(m_);
      if (--pending_ == 0)
        done_.notify_one();
    }
  }
  std::mutex m_;
  std::condition_variable start_, done_;
  const std::function<void(int)> *job_ = nullptr;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool quit_ = false;
  std::vector<std::thread> threads_;
};

/// Runs `lane(tid, bx, by)` over a grid of gridX x gridY blocks of `block`
/// threads, one warp at a time. False if lanes diverged at a shuffle.
bool launchLanes(const std::function<void(int64_t, int64_t, int64_t)> &lane,
                 int64_t gridX, int64_t gridY, int64_t block) {
  bool ok = true;
  for (int64_t by = 0; by < gridY; ++by)
    for (int64_t bx = 0; bx < gridX; ++bx)
      for (int64_t w = 0; w < block / kLanes; ++w) {
        Warp warp;
        LanePool::get().run([&](int l) {
          tlWarp = &warp;
          tlLane = l;
          lane(w * kLanes + l, bx, by);
        });
        ok = ok && !warp.stuck;
      }
  return ok;
}

inline bool launch(KernelFn fn, const void *a, const void *b, void *c,
                   int64_t n, int64_t gridX, int64_t gridY, int64_t block) {
  return launchLanes([&](int64_t tid, int64_t bx, int64_t by)
                         S10_CALLS_JIT { fn(a, b, c, n, tid, bx, by); },
                     gridX, gridY, block);
}

//===----------------------------------------------------------------------===//
// gpu.func -> CPU function
//===----------------------------------------------------------------------===//

std::unique_ptr<MLIRContext> makeContext() {
  DialectRegistry registry;
  registerGpuKernelDialects(registry);
  registerKernelTranslations(registry);
  registerCudaCodegen(registry);
  auto ctx = std::make_unique<MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
  return ctx;
}

/// A vector<2xf16> as the i32 of its bits.
Value f16x2Bits(OpBuilder &b, Location loc, Value v) {
  Type i32 = b.getI32Type();
  Value w = vector::BitCastOp::create(b, loc, VectorType::get({1}, i32), v);
  return vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{0});
}

/// The kernels of `gm` as func.funcs of a new module: thread and block ids
/// become arguments, shuffles calls to the emulator, the PTX square root
/// math.sqrt.
OwningOpRef<ModuleOp> toCpu(gpu::GPUModuleOp gm) {
  Location loc = gm.getLoc();
  MLIRContext *ctx = gm.getContext();
  OwningOpRef<ModuleOp> m = ModuleOp::create(loc);
  OpBuilder b = OpBuilder::atBlockEnd(m->getBody());
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), idx = b.getIndexType();
  for (auto [name, t] : {std::pair<const char *, Type>{"emuShuffleF32", f32},
                         {"emuShuffleI32", i32}}) {
    auto decl = func::FuncOp::create(
        b, loc, name, b.getFunctionType({t, i32, i32, i32}, {t}));
    decl.setPrivate();
  }
  func::FuncOp::create(b, loc, "emuSyncWarp", b.getFunctionType({}, {}))
      .setPrivate();
  func::FuncOp::create(
      b, loc, "emuMma",
      b.getFunctionType({i32, i32, i32, i32, i32, i32, f32, f32, f32, f32}, {}))
      .setPrivate();
  func::FuncOp::create(b, loc, "emuMmaResult", b.getFunctionType({i32}, {f32}))
      .setPrivate();
  for (Operation &op : gm.getBody()->getOperations()) {
    if (isa<memref::GlobalOp>(op)) {
      b.clone(op);
      continue;
    }
    auto f = dyn_cast<gpu::GPUFuncOp>(op);
    if (!f)
      continue;
    SmallVector<Type> types(f.getArgumentTypes());
    types.append({idx, idx, idx});
    auto nf =
        func::FuncOp::create(b, loc, f.getName(), b.getFunctionType(types, {}));
    IRMapping map;
    f.getBody().cloneInto(&nf.getBody(), map);
    Block &entry = nf.getBody().front();
    Value tid = entry.addArgument(idx, loc), bx = entry.addArgument(idx, loc),
          by = entry.addArgument(idx, loc);
    // mma.sync first (its struct's fields are read by extracts that the
    // walk below would otherwise visit after they are gone).
    SmallVector<NVVM::MmaOp> mmas;
    nf.walk([&](NVVM::MmaOp m) { mmas.push_back(m); });
    for (NVVM::MmaOp mma : mmas) {
      OpBuilder ob(mma);
      // Operands as f16x2 bits; the struct's fields from emuMmaResult.
      SmallVector<Value> args;
      for (Value v : mma.getOperandA())
        args.push_back(f16x2Bits(ob, loc, v));
      for (Value v : mma.getOperandB())
        args.push_back(f16x2Bits(ob, loc, v));
      for (Value v : mma.getOperandC())
        args.push_back(v);
      EXPECT_EQ(args.size(), 10u);
      func::CallOp::create(ob, loc, "emuMma", TypeRange{}, args);
      for (Operation *u : llvm::make_early_inc_range(mma->getUsers())) {
        auto ev = cast<LLVM::ExtractValueOp>(u);
        OpBuilder ub(ev);
        Value at =
            arith::ConstantIntOp::create(ub, loc, i32, ev.getPosition()[0]);
        auto r = func::CallOp::create(ub, loc, "emuMmaResult", TypeRange{f32},
                                      ValueRange{at});
        ev.getResult().replaceAllUsesWith(r.getResult(0));
        ev.erase();
      }
      mma.erase();
    }
    SmallVector<Operation *> ops;
    nf.walk([&](Operation *o) { ops.push_back(o); });
    for (Operation *o : ops) {
      OpBuilder ob(o);
      if (auto t = dyn_cast<gpu::ThreadIdOp>(o)) {
        EXPECT_EQ(t.getDimension(), gpu::Dimension::x);
        t.replaceAllUsesWith(tid);
        t.erase();
      } else if (auto bl = dyn_cast<gpu::BlockIdOp>(o)) {
        EXPECT_NE(bl.getDimension(), gpu::Dimension::z);
        bl.replaceAllUsesWith(bl.getDimension() == gpu::Dimension::x ? bx : by);
        bl.erase();
      } else if (auto s = dyn_cast<gpu::ShuffleOp>(o)) {
        EXPECT_TRUE(s.getValid().use_empty());
        Type t = s.getValue().getType();
        Value mode =
            arith::ConstantIntOp::create(ob, loc, i32, int64_t(s.getMode()));
        auto call = func::CallOp::create(
            ob, loc, t.isF32() ? "emuShuffleF32" : "emuShuffleI32",
            TypeRange{t},
            ValueRange{s.getValue(), s.getOffset(), s.getWidth(), mode});
        s.getShuffleResult().replaceAllUsesWith(call.getResult(0));
        s.erase();
      } else if (auto a = dyn_cast<LLVM::InlineAsmOp>(o)) {
        EXPECT_EQ(a.getAsmString(), "sqrt.rn.f64 $0, $1;");
        Value r = math::SqrtOp::create(ob, loc, a.getOperand(0));
        a.getResult(0).replaceAllUsesWith(r);
        a.erase();
      } else if (isa<NVVM::SyncWarpOp>(o)) {
        func::CallOp::create(ob, loc, "emuSyncWarp", TypeRange{}, ValueRange{});
        o->erase();
      } else if (isa<gpu::ReturnOp>(o)) {
        func::ReturnOp::create(ob, loc);
        o->erase();
      }
    }
  }
  (void)ctx;
  return m;
}

/// CUDA kernels built by `populate` into a gpu.module, emulated on the CPU.
class Emulated {
public:
  explicit Emulated(
      const std::function<void(OpBuilder &, Location)> &populate) {
    build(populate);
  }
  /// The kernels of `gm` (which must outlive nothing: they are copied).
  explicit Emulated(gpu::GPUModuleOp gm) { compile(gm); }
  /// Arguments of kernel `name` (without the emulation's ids), or -1.
  int args(const std::string &name) const {
    auto it = args_.find(name);
    return it == args_.end() ? -1 : it->second;
  }
  template <typename Fn = KernelFn> Fn get(const std::string &name) const {
    if (!engine_)
      return nullptr;
    auto p = engine_->lookup(name);
    if (!p) {
      ADD_FAILURE() << "missing " << name << ": "
                    << llvm::toString(p.takeError());
      return nullptr;
    }
    return reinterpret_cast<Fn>(*p);
  }

private:
  void build(const std::function<void(OpBuilder &, Location)> &populate) {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    ctx_ = makeContext();
    Location loc = UnknownLoc::get(ctx_.get());
    gpu::GPUModuleOp gm;
    OwningOpRef<ModuleOp> holder = createKernelModule(loc, gm);
    OpBuilder b = OpBuilder::atBlockEnd(gm.getBody());
    populate(b, loc);
    ASSERT_TRUE(succeeded(holder->verify()));
    compile(gm);
  }

  void compile(gpu::GPUModuleOp gm) {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    for (auto f : gm.getOps<gpu::GPUFuncOp>())
      args_[f.getName().str()] = int(f.getNumArguments());
    OwningOpRef<ModuleOp> cpu = toCpu(gm);
    ASSERT_TRUE(succeeded(cpu->verify()));
    std::string error;
    ASSERT_TRUE(succeeded(lowerKernelsToLLVM(*cpu, error))) << error;
    ExecutionEngineOptions opts;
    opts.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Default;
    auto engine = ExecutionEngine::create(*cpu, opts);
    ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());
    engine_ = std::move(*engine);
    engine_->registerSymbols([](llvm::orc::MangleAndInterner mangle) {
      llvm::orc::SymbolMap map;
      map[mangle("emuShuffleF32")] = {
          llvm::orc::ExecutorAddr::fromPtr(&emuShuffleF32),
          llvm::JITSymbolFlags::Exported};
      map[mangle("emuShuffleI32")] = {
          llvm::orc::ExecutorAddr::fromPtr(&emuShuffleI32),
          llvm::JITSymbolFlags::Exported};
      map[mangle("emuMma")] = {llvm::orc::ExecutorAddr::fromPtr(&emuMma),
                               llvm::JITSymbolFlags::Exported};
      map[mangle("emuMmaResult")] = {
          llvm::orc::ExecutorAddr::fromPtr(&emuMmaResult),
          llvm::JITSymbolFlags::Exported};
      map[mangle("emuSyncWarp")] = {
          llvm::orc::ExecutorAddr::fromPtr(&emuSyncWarp),
          llvm::JITSymbolFlags::Exported};
      return map;
    });
  }

  std::unique_ptr<MLIRContext> ctx_;
  std::unique_ptr<ExecutionEngine> engine_;
  std::map<std::string, int> args_;
};

} // namespace

#endif // S10_UNITTESTS_CODEGEN_GPUEMULATOR_H
