//===- ThreadPool.cpp - A tiny fork-join thread pool ----------------------===//

#include "s10/Runtime/ThreadPool.h"

#include <algorithm>
#include <system_error>

using namespace s10::runtime;

// Set while a thread runs pool work: nested parallel calls run serially.
static thread_local bool inPoolWork = false;

ThreadPool::ThreadPool(int n) {
  if (n <= 0)
    n = std::max(1u, std::thread::hardware_concurrency());
  numThreads = n;
  try {
    for (int i = 1; i < numThreads; ++i)
      workers.emplace_back([this, i] { workerLoop(i); });
  } catch (const std::system_error &e) {
    // Out of threads (ulimit, memory): report it rather than abort.
    startError = "cannot start " + std::to_string(n) + " threads (started " +
                 std::to_string(workers.size() + 1) + "): " + e.what();
    numThreads = int(workers.size()) + 1;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
    ++generation;
  }
  wake.notify_all();
  for (std::thread &t : workers)
    t.join();
}

void ThreadPool::workerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    // Spin a little before sleeping: kernels come in quick succession and a
    // condition-variable wake-up costs tens of microseconds.
    for (int spin = 0; spin < 2000 && generation.load() == seen; ++spin)
      std::this_thread::yield();
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return generation.load() != seen; });
      seen = generation.load();
      if (stopping)
        return;
    }
    inPoolWork = true;
    for (int64_t t; (t = nextTask.fetch_add(1)) < jobTasks;)
      job(t, index);
    inPoolWork = false;
    if (pending.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mutex);
      done.notify_one();
    }
  }
}

void ThreadPool::runJob(int64_t numTasks,
                        llvm::function_ref<void(int64_t, int)> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    job = fn;
    jobTasks = numTasks;
    nextTask.store(0);
    pending.store(int(workers.size()));
    ++generation;
  }
  wake.notify_all();
  inPoolWork = true;
  for (int64_t t; (t = nextTask.fetch_add(1)) < numTasks;)
    fn(t, 0);
  inPoolWork = false;
  for (int spin = 0; spin < 2000 && pending.load() != 0; ++spin)
    std::this_thread::yield();
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return pending.load() == 0; });
}

void ThreadPool::parallelTasks(int64_t numTasks,
                               llvm::function_ref<void(int64_t, int)> fn) {
  if (numTasks <= 0)
    return;
  if (numTasks == 1 || workers.empty() || inPoolWork) {
    for (int64_t t = 0; t < numTasks; ++t)
      fn(t, 0);
    return;
  }
  runJob(numTasks, fn);
}

void ThreadPool::parallelFor(int64_t n, int64_t grain,
                             llvm::function_ref<void(int64_t, int64_t)> fn) {
  if (n <= 0)
    return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(numThreads, (n + grain - 1) / grain);
  if (chunks <= 1 || inPoolWork) {
    fn(0, n);
    return;
  }
  runJob(chunks, [&](int64_t c, int) {
    int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end)
      fn(begin, end);
  });
}
