//===- ThreadPool.cpp - A persistent pool of worker threads ---------------===//
//
// The job word packs [sequence:16][tasks:24][next:24]. A task is claimed by
// a compare-exchange that bumps `next` while it is below `tasks`, so a claim
// is always of the job the word holds at that moment; the job's function is
// read only after a claim succeeded, and the caller cannot replace it
// before every claimed task is done. A worker holding a stale word only
// fails its exchange.
//
//===----------------------------------------------------------------------===//

#include "ThreadPool.h"

#include "Error.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define S10RT_PAUSE() _mm_pause()
#else
#define S10RT_PAUSE() std::this_thread::yield()
#endif

using namespace s10rt;

namespace {

/// How long an idle worker spins before it sleeps: longer than the gaps
/// between the parallel regions of one token, short enough not to burn a
/// core between calls.
constexpr auto kSpinTime = std::chrono::microseconds(200);

constexpr uint64_t kIndexMask = (uint64_t(1) << 24) - 1;

inline int64_t nextOf(uint64_t w) { return int64_t(w & kIndexMask); }
inline int64_t tasksOf(uint64_t w) { return int64_t((w >> 24) & kIndexMask); }
/// True while the word has a task left to claim.
inline bool open(uint64_t w) { return nextOf(w) < tasksOf(w); }

} // namespace

ThreadPool::ThreadPool(unsigned threads) {
  try {
    for (unsigned i = 1; i < threads; ++i)
      workers_.emplace_back([this] { workerLoop(); });
  } catch (...) {
    stopWorkers();
    throw Error(S10_RESOURCE_EXHAUSTED,
                "cannot start " + std::to_string(threads) + " threads");
  }
}

ThreadPool::~ThreadPool() { stopWorkers(); }

void ThreadPool::stopWorkers() {
  stop_ = true;
  { std::lock_guard<std::mutex> lock(mutex_); }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
  workers_.clear();
}

void ThreadPool::work() {
  uint64_t w = job_.word.load(std::memory_order_acquire);
  for (;;) {
    if (!open(w))
      return;
    if (!job_.word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel,
                                         std::memory_order_acquire))
      continue;
    int64_t t = job_.first.load(std::memory_order_relaxed) + nextOf(w);
    try {
      job_.call.load(std::memory_order_relaxed)(
          job_.ctx.load(std::memory_order_relaxed), t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(errorMutex_);
      if (!error_)
        error_ = std::current_exception();
    }
    done_.fetch_add(1, std::memory_order_release);
    w = job_.word.load(std::memory_order_acquire);
  }
}

void ThreadPool::workerLoop() {
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    for (unsigned spins = 1; !open(job_.word.load(std::memory_order_acquire));
         ++spins) {
      S10RT_PAUSE();
      if (spins % 64)
        continue;
      if (stop_.load(std::memory_order_relaxed))
        return;
      if (std::chrono::steady_clock::now() - start < kSpinTime)
        continue;
      // Sequentially consistent with the caller's store of the word and
      // load of sleepers_: either we see the job or it sees us asleep.
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return stop_.load() || open(job_.word.load()); });
      sleepers_.fetch_sub(1);
      start = std::chrono::steady_clock::now();
    }
    if (stop_.load())
      return;
    work();
  }
}

void ThreadPool::dispatch(int64_t first, int64_t tasks,
                          void (*call)(void *, int64_t), void *ctx) {
  // Every task of the last job is done: nobody touches these now.
  done_.store(0, std::memory_order_relaxed);
  error_ = nullptr;
  job_.call.store(call, std::memory_order_relaxed);
  job_.ctx.store(ctx, std::memory_order_relaxed);
  job_.first.store(first, std::memory_order_relaxed);
  ++sequence_;
  job_.word.store(((sequence_ & 0xFFFF) << 48) | (uint64_t(tasks) << 24));
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    wake_.notify_all();
  }
  work();
  for (unsigned spins = 1; done_.load(std::memory_order_acquire) != tasks;
       ++spins) {
    S10RT_PAUSE();
    if (spins % 256 == 0)
      std::this_thread::yield();
  }
  if (error_)
    std::rethrow_exception(error_);
}
