// A persistent pool of worker threads for the kernels. The calling (JavaScript) thread takes
// part in every job, so a pool of n threads starts n - 1 workers.
//
// Why spin before sleeping: a GEMM of 128^3 takes ~30 us, and waking a sleeping thread through
// a futex costs 5-20 us, so workers poll for a short while after each job (a kernel call from
// JavaScript usually follows another within microseconds) and only then block on a condition
// variable, so idle workers cost nothing on a shared machine.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace mw {

class ThreadPool {
 public:
  using TaskFn = void (*)(void* ctx, int64_t task, int thread);

  static ThreadPool& instance();

  /** Total threads including the caller; n < 1 means hardware concurrency. */
  void set_threads(int n);
  int threads() const { return nthreads_; }

  /**
   * Runs fn(ctx, t, thread) for every t in [0, ntasks), spread over the pool, and returns when
   * all are done. `thread` is in [0, threads()) and unique among concurrently running tasks
   * (kernels index per-thread scratch with it). Calls from a second thread while a job runs
   * (Node worker_threads) execute serially on the caller.
   */
  void run(int64_t ntasks, TaskFn fn, void* ctx);

  template <class F>
  void parallel_for(int64_t ntasks, F&& f) {
    using Fn = std::remove_reference_t<F>;
    auto thunk = [](void* c, int64_t t, int th) { (*static_cast<Fn*>(c))(t, th); };
    run(ntasks, thunk, const_cast<void*>(static_cast<const void*>(&f)));
  }

  ~ThreadPool();

 private:
  ThreadPool();
  void start(int n);
  void stop();
  void worker(int id, uint64_t seen);

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex job_mu_;  // one job at a time

  // The current job. Tasks are claimed through `ticket_` = (job id << 32) | next index, so a
  // worker that wakes late, after its job is done, finds a different job id and claims nothing:
  // the caller never waits for idle workers, only for claimed tasks to complete.
  bool claim(uint32_t job, int64_t& index);
  void execute(int64_t index, int thread);
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> ntasks_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<TaskFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failed_{false};
  std::mutex error_mu_;
  std::exception_ptr error_;

  // Sleeping workers.
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::atomic<int> sleepers_{0};
};

/**
 * f(lo, hi) over [0, n) in up to 4 chunks per thread, each a multiple of `unit` long (the last
 * may be shorter), claimed as threads get to them: a thread that falls behind, or is descheduled
 * on a shared core, holds up one small chunk rather than a fixed share. For work whose cost per
 * element varies or is memory-bound (decoding's products and attention).
 */
template <class F>
void parallel_chunks(int64_t n, int64_t unit, F&& f) {
  ThreadPool& pool = ThreadPool::instance();
  const int64_t units = (n + unit - 1) / unit;
  const int64_t chunks = units < 4 * pool.threads() ? units : 4 * pool.threads();
  if (chunks <= 1 || pool.threads() <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  const int64_t per = (units + chunks - 1) / chunks * unit;
  pool.parallel_for(chunks, [&](int64_t c, int) {
    const int64_t lo = c * per;
    const int64_t hi = lo + per < n ? lo + per : n;
    if (lo < hi) f(lo, hi);
  });
}

/** Splits [0, n) into chunks of at least `grain` for parallel element-wise loops. */
template <class F>
void parallel_range(int64_t n, int64_t grain, F&& f) {
  ThreadPool& pool = ThreadPool::instance();
  int64_t chunks = pool.threads();
  if (n < 2 * grain || chunks <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  if (chunks > n / grain) chunks = n / grain;
  const int64_t per = (n + chunks - 1) / chunks;
  pool.parallel_for(chunks, [&](int64_t c, int) {
    const int64_t lo = c * per;
    const int64_t hi = lo + per < n ? lo + per : n;
    if (lo < hi) f(lo, hi);
  });
}

}  // namespace mw
