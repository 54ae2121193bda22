//===- ThreadPool.h - A persistent pool of worker threads -------*- C++ -*-===//
//
// One pool per session. Decode dispatches a few dozen parallel regions per
// token, each only microseconds long, so a dispatch is one store of a job
// word that idle workers spin on (briefly, then they sleep on a condition
// variable: waking a sleeping thread costs more than most regions take).
// Tasks are claimed from that word, the calling thread's included, and the
// caller waits only for tasks that were claimed, never for a worker that
// has not woken up: on a loaded machine it may run the whole job itself.
//
//===----------------------------------------------------------------------===//

#ifndef S10RT_SRC_THREADPOOL_H
#define S10RT_SRC_THREADPOOL_H

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace s10rt {

class ThreadPool {
public:
  /// `threads` threads in all, the calling thread included (>= 1).
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned size() const { return unsigned(workers_.size()) + 1; }

  /// Calls fn(task) for every task in [0, tasks); the calling thread takes
  /// part. Rethrows the first exception a task threw, after all finished.
  template <typename F> void run(int64_t tasks, F &&fn) {
    if (tasks <= 0)
      return;
    if (tasks == 1 || workers_.empty()) {
      for (int64_t t = 0; t < tasks; ++t)
        fn(t);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    auto call = [](void *ctx, int64_t t) { (*static_cast<Fn *>(ctx))(t); };
    void *ctx = const_cast<void *>(static_cast<const void *>(&fn));
    for (int64_t t0 = 0; t0 < tasks; t0 += kMaxTasks)
      dispatch(t0, std::min(tasks - t0, kMaxTasks), call, ctx);
  }

  /// Calls fn(part, task) for every task in [0, tasks), handing tasks out
  /// as threads come for them; `part` < size() is unique among the calls
  /// running at once (an index for per-thread scratch).
  template <typename F> void forEach(int64_t tasks, F &&fn) {
    std::atomic<int64_t> next{0};
    run(std::min<int64_t>(size(), tasks), [&](int64_t part) {
      for (int64_t t;
           (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;)
        fn(unsigned(part), t);
    });
  }

  /// Splits [0, n) into at most `parts` contiguous ranges whose bounds are
  /// multiples of `align` (but the last) and calls fn(part, begin, end).
  template <typename F>
  void parallelFor(int64_t n, int64_t align, unsigned parts, F &&fn) {
    if (n <= 0)
      return;
    align = std::max<int64_t>(align, 1);
    int64_t units = (n + align - 1) / align;
    int64_t p = std::max<int64_t>(1, std::min<int64_t>(parts, units));
    run(p, [&](int64_t k) {
      int64_t b = units * k / p * align,
              e = std::min(n, units * (k + 1) / p * align);
      if (b < e)
        fn(unsigned(k), b, e);
    });
  }

private:
  /// The job word: a sequence number (so a new job of the same shape is a
  /// new word), the task count and the next task to claim.
  static constexpr int kIndexBits = 24;
  static constexpr int64_t kMaxTasks = (int64_t(1) << kIndexBits) - 1;

  void dispatch(int64_t first, int64_t tasks, void (*call)(void *, int64_t),
                void *ctx);
  void workerLoop();
  /// Claims and runs tasks of the open job until none is left.
  void work();
  void stopWorkers();

  std::vector<std::thread> workers_;
  /// What workers poll, alone on its cache line with the job it opens.
  struct alignas(64) Job {
    std::atomic<uint64_t> word{0};
    // Written before the word opens the job, read after a task is claimed.
    std::atomic<void (*)(void *, int64_t)> call{nullptr};
    std::atomic<void *> ctx{nullptr};
    std::atomic<int64_t> first{0};
  } job_;
  alignas(64) std::atomic<int64_t> done_{0}; // tasks of the job finished
  alignas(64) std::atomic<unsigned> sleepers_{0};
  std::atomic<bool> stop_{false};
  uint64_t sequence_ = 0; // the caller's count of jobs
  std::mutex mutex_;
  std::condition_variable wake_;
  std::mutex errorMutex_;
  std::exception_ptr error_;
};

} // namespace s10rt

#endif // S10RT_SRC_THREADPOOL_H
