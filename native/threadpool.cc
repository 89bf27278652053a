#include "threadpool.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MW_PAUSE() _mm_pause()
#else
#define MW_PAUSE() std::this_thread::yield()
#endif

namespace mw {

namespace {
// How long an idle worker polls for the next job before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(200);
}  // namespace

ThreadPool& ThreadPool::instance() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

ThreadPool::ThreadPool() {
  unsigned hc = std::thread::hardware_concurrency();
  start(hc == 0 ? 1 : static_cast<int>(hc));
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::set_threads(int n) {
  if (n < 1) {
    unsigned hc = std::thread::hardware_concurrency();
    n = hc == 0 ? 1 : static_cast<int>(hc);
  }
  std::lock_guard<std::mutex> lk(job_mu_);
  if (n == nthreads_) return;
  stop();
  start(n);
}

void ThreadPool::start(int n) {
  stopping_.store(false);
  nthreads_ = n;
  workers_.reserve(n - 1);
  // The generation is read here, not in the new thread: a job (or stop) published before the
  // thread first runs must still count as new to it.
  const uint64_t g = generation_.load();
  for (int i = 1; i < n; i++) workers_.emplace_back([this, i, g] { worker(i, g); });
}

void ThreadPool::stop() {
  stopping_.store(true);
  generation_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lk(sleep_mu_);
    sleep_cv_.notify_all();
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
}

bool ThreadPool::claim(uint32_t job, int64_t& index) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(t >> 32) != job) return false;
    const int64_t i = static_cast<int64_t>(t & 0xffffffffu);
    // ntasks_ may already belong to a later job; then the ticket has changed too and the
    // compare-exchange below fails.
    if (i >= ntasks_.load(std::memory_order_acquire)) return false;
    if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) {
      index = i;
      return true;
    }
  }
}

// Runs a claimed task. Its job cannot end (nor fn_/ctx_ change) before completed_ counts it.
void ThreadPool::execute(int64_t index, int thread) {
  if (!failed_.load(std::memory_order_relaxed)) {
    try {
      fn_.load(std::memory_order_acquire)(ctx_.load(std::memory_order_acquire), index, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mu_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true);
    }
  }
  completed_.fetch_add(1, std::memory_order_acq_rel);
}

void ThreadPool::worker(int id, uint64_t seen) {
  for (;;) {
    uint64_t g;
    auto t0 = std::chrono::steady_clock::now();
    int polls = 0;
    while ((g = generation_.load(std::memory_order_acquire)) == seen) {
      MW_PAUSE();
      if (++polls % 64 != 0) continue;
      const auto idle = std::chrono::steady_clock::now() - t0;
      if (idle > kSpin / 4) std::this_thread::yield();  // let other work on this core run
      if (idle > kSpin) {
        // Sleep. sleepers_ is raised before generation_ is re-read, and run() raises generation_
        // before it reads sleepers_, so one of the two always sees the other (no lost wake-up).
        std::unique_lock<std::mutex> lk(sleep_mu_);
        sleepers_.fetch_add(1);
        sleep_cv_.wait(lk, [&] { return generation_.load() != seen || stopping_.load(); });
        sleepers_.fetch_sub(1);
        t0 = std::chrono::steady_clock::now();
      }
    }
    seen = g;
    if (stopping_.load()) return;
    const uint32_t job = static_cast<uint32_t>(g);
    for (int64_t t; claim(job, t);) execute(t, id);
  }
}

void ThreadPool::run(int64_t ntasks, TaskFn fn, void* ctx) {
  if (ntasks <= 0) return;
  std::unique_lock<std::mutex> lk(job_mu_, std::try_to_lock);
  if (!lk.owns_lock() || nthreads_ == 1 || ntasks == 1 || ntasks >= (int64_t{1} << 31)) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  const uint64_t g = generation_.load() + 1;
  const uint32_t job = static_cast<uint32_t>(g);
  fn_.store(fn);
  ctx_.store(ctx);
  ntasks_.store(ntasks);
  completed_.store(0);
  failed_.store(false);
  ticket_.store(static_cast<uint64_t>(job) << 32);
  generation_.store(g);  // publishes the job (seq_cst)
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> slk(sleep_mu_);
    sleep_cv_.notify_all();
  }
  for (int64_t t; claim(job, t);) execute(t, 0);
  // Wait for tasks other threads claimed. Poll briefly, then yield: when the cores are
  // oversubscribed the worker we wait for may need this core to finish.
  for (int polls = 0; completed_.load(std::memory_order_acquire) < ntasks; polls++) {
    if (polls < 4096)
      MW_PAUSE();
    else
      std::this_thread::yield();
  }
  // Close the job before its fields can be rewritten by the next one.
  ticket_.store((static_cast<uint64_t>(job) << 32) | 0xffffffffu);
  // An exception in a task (std::bad_alloc) is rethrown here, on the calling thread, where
  // the addon turns it into a JavaScript error instead of letting it terminate the process.
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace mw
