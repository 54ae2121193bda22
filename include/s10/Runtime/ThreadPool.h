//===- ThreadPool.h - A tiny fork-join thread pool --------------*- C++ -*-===//
//
// The runtime keeps OpenBLAS single-threaded and takes all parallelism from
// this pool, so BLAS threads and kernel threads never compete for cores.
//
//===----------------------------------------------------------------------===//

#ifndef S10_RUNTIME_THREADPOOL_H
#define S10_RUNTIME_THREADPOOL_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace s10::runtime {

/// The most threads a user may ask for: each costs a stack, and thousands
/// make thread creation fail.
constexpr int kMaxThreads = 256;

class ThreadPool {
public:
  /// `numThreads` <= 0 picks the hardware concurrency. When the system
  /// cannot start them all, the pool keeps those it started and
  /// getStartError() says why.
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return numThreads; }
  /// Why fewer threads than requested run ("" when all started).
  const std::string &getStartError() const { return startError; }

  /// Splits [0, n) into at most size() contiguous chunks of at least `grain`
  /// items and runs `fn(begin, end)` on them, the caller taking one chunk.
  /// Nested calls (from inside a chunk) run serially.
  void parallelFor(int64_t n, int64_t grain,
                   llvm::function_ref<void(int64_t, int64_t)> fn);

  /// Runs `fn(task)` for task in [0, numTasks) with dynamic scheduling; good
  /// when tasks are uneven (attention heads with causal masks).
  void parallelTasks(int64_t numTasks,
                     llvm::function_ref<void(int64_t task, int worker)> fn);

private:
  void workerLoop(int index);
  void runJob(int64_t numTasks,
              llvm::function_ref<void(int64_t task, int worker)> fn);

  int numThreads;
  std::string startError;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable done;
  // The current job.
  llvm::function_ref<void(int64_t, int)> job;
  int64_t jobTasks = 0;
  std::atomic<int64_t> nextTask{0};
  std::atomic<int> pending{0};
  std::atomic<uint64_t> generation{0};
  bool stopping = false;
};

} // namespace s10::runtime

#endif // S10_RUNTIME_THREADPOOL_H
