// A small fork-join thread pool: the calling (JS) thread takes part, workers spin briefly after a
// job and then sleep on a condition variable, so that idle workers do not steal the cores from
// OpenBLAS's own threads between kernels.
#include <immintrin.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

namespace tf {
namespace {

// How long an idle worker polls for the next job before sleeping. Short, because while it polls it
// holds a core that OpenBLAS's threads may need for the matrix product that often comes next.
constexpr int kSpinMicros = 30;

int defaultThreads() {
  const char* env = std::getenv("TRAINFORMER_NUM_THREADS");
  if (env != nullptr) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
  unsigned h = std::thread::hardware_concurrency();
  return h >= 1 ? static_cast<int>(h) : 1;
}

class Pool {
 public:
  explicit Pool(int n) { start(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    start(n);
  }

  // Runs job(worker) once on every thread (worker 0 = the caller); every worker takes part in every
  // job so that none can miss or repeat one. Returns false if the pool is busy.
  bool run(const std::function<void(int)>& job) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    job_ = &job;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(m_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    job(0);
    while (pending_.load(std::memory_order_acquire) != 0) _mm_pause();
    job_ = nullptr;
    return true;
  }

 private:
  void start(int n) {
    quit_ = false;
    // Each worker starts from the generation current now: reading it inside the new thread could
    // miss a job (or the stop) posted before the thread first runs.
    const uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, gen] { loop(i, gen); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      quit_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void loop(int id, uint64_t seen) {
    for (;;) {
      // Spin ~kSpinMicros (kernels often come back to back), then sleep.
      uint64_t g = seen;
      auto t0 = std::chrono::steady_clock::now();
      for (int spin = 0;; ++spin) {
        g = generation_.load(std::memory_order_acquire);
        if (g != seen) break;
        _mm_pause();
        if ((spin & 63) == 63 &&
            std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(kSpinMicros)) break;
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      if (quit_) return;
      (*job_)(id);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex busy_;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int)>* job_ = nullptr;
  bool quit_ = false;
};

Pool& pool() {
  static Pool* p = new Pool(defaultThreads());  // leaked on purpose: no join at process exit
  return *p;
}

}  // namespace

int numThreads() { return pool().size(); }

void setNumThreads(int n) { pool().resize(n < 1 ? 1 : n); }

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t parts = n / grain;
  int threads = numThreads();
  if (parts > threads) parts = threads;
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  int64_t chunk = (n + parts - 1) / parts;
  std::function<void(int)> job = [&](int w) {
    int64_t b = w * chunk;
    int64_t e = b + chunk < n ? b + chunk : n;
    if (b < e) fn(b, e);
  };
  if (!pool().run(job)) fn(0, n);
}

void parallelTasks(int64_t tasks, const std::function<void(int64_t, int)>& fn) {
  if (tasks <= 0) return;
  int threads = numThreads();
  if (tasks < threads) threads = static_cast<int>(tasks);
  if (threads <= 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  std::function<void(int)> job = [&](int w) {
    for (;;) {
      int64_t t = next.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks) break;
      fn(t, w);
    }
  };
  if (!pool().run(job)) {
    for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
  }
}

}  // namespace tf
