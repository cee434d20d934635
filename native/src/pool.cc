// A small work-sharing thread pool. The calling (JS) thread takes part in every job. A job is cut
// into chunks that threads claim one at a time, and a worker joins a job only while it is open, so
// the caller never waits for a worker that has not started (on a busy machine a worker may not be
// scheduled for milliseconds: the caller then simply runs every chunk itself). Idle workers poll
// briefly and then sleep, so they do not hold cores that OpenBLAS's threads need for the matrix
// product that often comes next.
//
// TRAINFORMER_OPENMP_POOL=1 (builds with oneDNN, which link libgomp): jobs run instead as OpenMP
// parallel regions on libgomp's threads, the team oneDNN's products run on, so one worker thread
// per core serves both, and the addon's loader lets libgomp's idle threads spin (GOMP_SPINCOUNT
// 100000) instead of sleeping after every region. Measured 2026-12-07 (2-core VM, bf16 autocast,
// train-step, medians of 10 steps, 3 alternating runs under the bench lock, load 12.9-13.5):
// small 381/374/382 ms per step vs 405/393/408 with the pool, gpt2 947/900/898 vs 971/964/957,
// tiny 42-47 vs 53-68. Off by default: a region waits for every thread of its team, and spinning
// threads hold cores, so on a machine with more runnable threads than cores it is much slower
// (tiny at nice 19 on the loaded machine: 1,210-1,476 ms per step vs 158-207 with the pool).
#include <dlfcn.h>
#if defined(__linux__)
#include <sched.h>
#endif

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

// How long an idle worker polls for the next job before sleeping.
//
// What a sleeping worker costs (measured 2026-12-07 on the 2-vCPU AMD EPYC Zen 5 VM, under the bench
// lock): a worker asleep for 1 ms starts on a job 45-50 µs after it opens (p90 60-90 µs; 55-85 µs
// after 10 ms), and a bare futex wakes no faster than the condition variable: it is the time to wake
// the halted vCPU (3 µs when that vCPU is running another process; libgomp's passive threads wake
// the same way). In a bf16 `small` training step (about 215 jobs, 60 ms of a 285 ms step) the worker
// still runs 46-48% of the chunks (the attention forward's 48 heads: it joins after 40-70 µs and runs
// 20-21 of them); the late starts cost it about 7 ms of job time per step, and the caller waits about
// 3 ms per step for the worker's last chunk, so at most ~2% of the step is to be won here. tried, none
// better than train-step's spread between runs of one build (260-430 ms while other processes ran):
// a longer poll (150 µs; 200 µs with sched_yield), waking the worker as a oneDNN product returns,
// 8 chunks per thread instead of 4, the caller yielding while it waits for a worker on its own CPU,
// GOMP_SPINCOUNT 3,000-10,000 for oneDNN's threads (they then poll 0.1-0.4 ms); with two busy loops
// beside the step the last three were slower or equal. (Process CPU time, as process.cpuUsage() reads
// it, counts another thread's running time only at scheduler ticks, 4 ms here: a kernel shorter than
// that can look single-threaded when it is not.) Those step figures are from oneDNN products (main
// 8d5c221). With the own kernel's products (main 277e4d9), each a 2-task job on this pool, the
// worker starts them 5-6% of their time late and the caller waits 6-16% of it for the worker's half;
// polling 300 µs cut the late start by a third but not the step (8 alternating pairs: 297.8 vs 301.6
// ms median, 266-343), nor did 4 or 8 tasks per product instead of 2 cut the waiting.
constexpr int kSpinMicros = 30;

// A hint inside spin-wait loops that lets the core (or its sibling hyper-thread) rest: x86 `pause`,
// Arm `yield`; elsewhere a compiler barrier, so the loop still re-reads the atomics.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

int defaultThreads() {
  const char* env = std::getenv("TRAINFORMER_NUM_THREADS");
  if (env != nullptr) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
#if defined(__linux__)
  // The CPUs this process may run on (taskset, cgroups' cpusets), which can be fewer than the machine's.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
#endif
  // Elsewhere (macOS, the BSDs) there is no per-process CPU mask to read: all online CPUs.
  unsigned h = std::thread::hardware_concurrency();
  return h >= 1 ? static_cast<int>(h) : 1;
}

// OpenBLAS's OpenMP build sizes each product by omp_get_max_threads() of the calling thread, a
// per-thread setting that starts from OMP_NUM_THREADS. Our workers call cblas_sgemm on their share
// of a product, so they must ask for one thread, or every share would open its own OpenMP team.
// libgomp is present only when that build is loaded, hence the lookup by name.
void singleThreadedBlasHere() {
  using SetThreads = void (*)(int);
  static const SetThreads set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set != nullptr) set(1);
}

#if defined(TRAINFORMER_DNNL)
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned numThreads, unsigned flags);
extern "C" int omp_get_thread_num(void);

/** Whether jobs run as OpenMP parallel regions (TRAINFORMER_OPENMP_POOL=1, read once). */
bool openmpPool() {
  static const bool on = [] {
    const char* env = std::getenv("TRAINFORMER_OPENMP_POOL");
    return env != nullptr && env[0] == '1' && env[1] == '\0';
  }();
  return on;
}

// One job of an OpenMP region: every thread of the team claims chunks until none is left.
struct OmpJob {
  const std::function<void(int64_t, int)>* chunk;
  int64_t total;
  std::atomic<int64_t> next{0};
};

void ompJobBody(void* p) {
  OmpJob* job = static_cast<OmpJob*>(p);
  const int id = omp_get_thread_num();
  for (int64_t c; (c = job->next.fetch_add(1, std::memory_order_relaxed)) < job->total;) (*job->chunk)(c, id);
}
#else
bool openmpPool() { return false; }
#endif

class Pool {
 public:
  explicit Pool(int n) { start(n); }

  int size() const { return size_; }

  void resize(int n) {
    stop();
    start(n);
  }

  // Runs chunk(c, worker) for every c in [0, chunks); worker 0 is the caller. Returns false
  // (running nothing) if the pool is busy with a job from another thread.
  bool run(int64_t chunks, const std::function<void(int64_t, int)>& chunk) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
#if defined(TRAINFORMER_DNNL)
    if (openmpPool()) {
      OmpJob job{&chunk, chunks};
      GOMP_parallel(ompJobBody, &job, static_cast<unsigned>(size_), 0);
      return true;
    }
#endif
    chunk_ = &chunk;
    total_ = chunks;
    next_.store(0, std::memory_order_relaxed);
    state_.store(1, std::memory_order_seq_cst);  // open, nobody joined
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(m_);
      cv_.notify_all();
    }
    for (int64_t c; (c = next_.fetch_add(1, std::memory_order_relaxed)) < total_;) chunk(c, 0);
    // Every chunk is claimed: close the job and wait for the workers still inside it.
    state_.fetch_and(~int64_t{1}, std::memory_order_acq_rel);
    while ((state_.load(std::memory_order_acquire) >> 1) != 0) cpuRelax();
    return true;
  }

 private:
  void start(int n) {
    size_ = n;
    if (openmpPool()) return;  // libgomp's threads run the jobs
    quit_.store(false);
    const uint64_t gen = generation_.load();
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, gen] { loop(i, gen); });
  }

  void stop() {
    quit_.store(true);
    generation_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lk(m_);
      cv_.notify_all();
    }
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  // Joins the open job (if any), runs chunks until none is left, leaves.
  void work(int id) {
    int64_t s = state_.load(std::memory_order_acquire);
    do {
      if ((s & 1) == 0) return;  // closed: the caller may already be gone
    } while (!state_.compare_exchange_weak(s, s + 2, std::memory_order_acq_rel));
    const std::function<void(int64_t, int)>& chunk = *chunk_;
    for (int64_t c; (c = next_.fetch_add(1, std::memory_order_relaxed)) < total_;) chunk(c, id);
    state_.fetch_sub(2, std::memory_order_acq_rel);
  }

  void loop(int id, uint64_t seen) {
    singleThreadedBlasHere();
    for (;;) {
      uint64_t g = generation_.load(std::memory_order_seq_cst);
      if (g == seen) {
        auto t0 = std::chrono::steady_clock::now();
        for (int spin = 0;; ++spin) {
          cpuRelax();
          g = generation_.load(std::memory_order_acquire);
          if (g != seen) break;
          if ((spin & 63) == 63 && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(kSpinMicros)) break;
        }
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lk, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        g = generation_.load(std::memory_order_seq_cst);
      }
      seen = g;
      if (quit_.load()) return;
      work(id);
    }
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex busy_;  // one job at a time (JS worker threads may share the addon)
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> quit_{false};
  // The current job: state_ = 2·(workers inside) + (1 while open).
  std::atomic<int64_t> state_{0};
  std::atomic<int64_t> next_{0};
  int64_t total_ = 0;
  const std::function<void(int64_t, int)>* chunk_ = nullptr;
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
  const int threads = numThreads();
  if (threads <= 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  // A few chunks per thread, so that a thread that starts late (or is preempted) costs little.
  int64_t chunks = n / grain;
  if (chunks > 4 * threads) chunks = 4 * threads;
  const int64_t size = (n + chunks - 1) / chunks;
  chunks = (n + size - 1) / size;
  std::function<void(int64_t, int)> job = [&](int64_t c, int) {
    const int64_t b = c * size, e = b + size < n ? b + size : n;
    fn(b, e);
  };
  if (!pool().run(chunks, job)) fn(0, n);
}

void parallelTasks(int64_t tasks, const std::function<void(int64_t, int)>& fn) {
  if (tasks <= 0) return;
  if (numThreads() <= 1 || tasks == 1 || !pool().run(tasks, fn)) {
    for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
  }
}

}  // namespace tf
