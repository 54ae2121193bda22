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

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
