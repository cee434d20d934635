// The communication thread (see comm.h).
#include "comm.h"

#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace tfmpi {
namespace {

using Clock = std::chrono::steady_clock;

MPI_Datatype mpiType(Dtype d) {
  switch (d) {
    case Dtype::Float32: return MPI_FLOAT;
    case Dtype::Float64: return MPI_DOUBLE;
    case Dtype::Int32: return MPI_INT;
    case Dtype::Uint8: return MPI_BYTE;
  }
  return MPI_BYTE;
}

MPI_Op mpiOp(RedOp op) {
  switch (op) {
    case RedOp::Max: return MPI_MAX;
    case RedOp::Min: return MPI_MIN;
    default: return MPI_SUM;  // Avg is a sum followed by a division
  }
}

std::string mpiError(int rc) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, buf, &len);
  return std::string(buf, len);
}

double envSeconds(const char* name, double fallbackUs) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallbackUs * 1e-6;
  return std::atof(v) * 1e-6;
}

// When another rank dies, or mpirun itself gets SIGINT (Ctrl-C) or SIGTERM, the launcher stops the
// ranks with SIGTERM (then SIGKILL): Open MPI does not forward the SIGINT, so a rank cannot tell
// which happened and the message names both. JavaScript
// would see the signal only between synchronous steps, often never, so the rank would vanish
// without a word: this handler (async-signal-safe: write and _exit only) says why at once.
char termMessage[256];
size_t termLength = 0;

void onTerm(int) {
  if (termLength) {
    ssize_t w = write(2, termMessage, termLength);
    (void)w;
  }
  _exit(143);
}

void installTermHandler(int rank, int size) {
  const int n = std::snprintf(termMessage, sizeof termMessage,
                              "trainformer: rank %d of %d stopped by the launcher (SIGTERM): the job was interrupted or "
                              "another rank exited or failed "
                              "(see mpirun's message)\n", rank, size);
  termLength = n > 0 ? static_cast<size_t>(n) : 0;
  struct sigaction sa {};
  sa.sa_handler = onTerm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
}

void sleepFor(double sec) {
  timespec ts{0, static_cast<long>(sec * 1e9)};
  nanosleep(&ts, nullptr);
}

template <typename T>
void divide(void* buf, int64_t n, int size) {
  T* x = static_cast<T*>(buf);
  const T s = static_cast<T>(size);
  for (int64_t i = 0; i < n; i++) x[i] /= s;
}

}  // namespace

InitInfo Comm::start() {
  std::unique_lock<std::mutex> lk(mu_);
  if (running_) return info_;
  // Polling knobs (microseconds): how long to spin with sched_yield before sleeping between tests.
  spinSec_ = envSeconds("TRAINFORMER_MPI_SPIN_US", 200);
  sleepSec_ = envSeconds("TRAINFORMER_MPI_SLEEP_US", 50);
  thread_ = std::thread([this] { loop(); });
  cv_.wait(lk, [this] { return initDone_; });
  if (!initError_.empty()) {
    lk.unlock();
    thread_.join();
    throw std::runtime_error(initError_);
  }
  running_ = true;
  return info_;
}

void Comm::loop() {
  int provided = 0;
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (rc != MPI_SUCCESS) {
      initError_ = "MPI_Init_thread failed: " + mpiError(rc);
    } else {
      // A duplicate of COMM_WORLD that returns errors instead of aborting, so that a failure
      // becomes a message naming the operation.
      MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
      MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
      MPI_Comm_rank(comm_, &info_.rank);
      MPI_Comm_size(comm_, &info_.size);
      size_ = info_.size;
      info_.provided = provided;
      installTermHandler(info_.rank, info_.size);
      char lib[MPI_MAX_LIBRARY_VERSION_STRING];
      int len = 0;
      MPI_Get_library_version(lib, &len);
      info_.library.assign(lib, len);
      while (!info_.library.empty() && (info_.library.back() == '\n' || info_.library.back() == '\0')) info_.library.pop_back();
    }
    initDone_ = true;
  }
  cv_.notify_all();
  if (rc != MPI_SUCCESS) return;
  for (;;) {
    Op* op = nullptr;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return !queue_.empty() || abortCode_.load() >= 0; });
      if (abortCode_.load() >= 0) {
        lk.unlock();
        MPI_Abort(MPI_COMM_WORLD, abortCode_.load());
        std::_Exit(abortCode_.load());
      }
      op = queue_.front();
      queue_.pop_front();
      op->state = State::Running;
    }
    const bool finalize = op->kind == Kind::Finalize;
    const auto t0 = Clock::now();
    if (fatal_.empty()) {
      runOp(*op);
    } else {
      op->error = fatal_;
    }
    if (!op->error.empty() && fatal_.empty()) fatal_ = op->error;
    if (finalize && op->error.empty()) {
      MPI_Comm_free(&comm_);
      MPI_Finalize();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      op->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      op->state = op->error.empty() ? State::Done : State::Failed;
      if (finalize) stop_ = true;
    }
    doneCv_.notify_all();
    if (finalize) return;
  }
}

// Polls a started request until it completes (true) or fails or passes the deadline (false, with
// op.error set). Spins with sched_yield for a short while (small collectives finish in
// microseconds), then sleeps briefly between tests so the thread does not take a core from the
// computation it is meant to overlap with.
bool Comm::poll(MPI_Request* req, Op& op) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(op.timeoutSec));
  const auto spinUntil = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spinSec_));
  for (;;) {
    int flag = 0;
    const int rc = MPI_Test(req, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      op.error = op.label + " failed: " + mpiError(rc);
      return false;
    }
    if (flag) return true;
    if (abortCode_.load() >= 0) {
      MPI_Abort(MPI_COMM_WORLD, abortCode_.load());
      std::_Exit(abortCode_.load());
    }
    const auto now = Clock::now();
    if (now > deadline) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%g", op.timeoutSec);
      op.error = op.label + " did not complete within " + secs + " s: another rank stopped, hung or is far behind";
      return false;
    }
    if (now < spinUntil) {
      sched_yield();
    } else {
      sleepFor(sleepSec_);
    }
  }
}

void Comm::runOp(Op& op) {
  MPI_Request req = MPI_REQUEST_NULL;
  int rc = MPI_SUCCESS;
  const MPI_Datatype type = mpiType(op.dtype);
  switch (op.kind) {
    case Kind::AllReduce:
      rc = MPI_Iallreduce(MPI_IN_PLACE, op.buf, static_cast<int>(op.count), type, mpiOp(op.redop), comm_, &req);
      break;
    case Kind::Broadcast:
      rc = MPI_Ibcast(op.buf, static_cast<int>(op.count), type, op.root, comm_, &req);
      break;
    case Kind::AllGatherV:
      rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, op.buf, op.counts.data(), op.displs.data(), type, comm_, &req);
      break;
    case Kind::Barrier:
    case Kind::Finalize:
      rc = MPI_Ibarrier(comm_, &req);
      break;
  }
  if (rc != MPI_SUCCESS) {
    op.error = op.label + " could not start: " + mpiError(rc);
    return;
  }
  if (!poll(&req, op)) return;
  if (op.kind == Kind::AllReduce && op.redop == RedOp::Avg) {
    if (op.dtype == Dtype::Float32) divide<float>(op.buf, op.count, size_);
    else if (op.dtype == Dtype::Float64) divide<double>(op.buf, op.count, size_);
  }
}

uint64_t Comm::submit(std::unique_ptr<Op> op) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!running_ || stop_) throw std::runtime_error("the MPI process group is not running (finalized or never initialised)");
  op->id = nextId_++;
  Op* raw = op.get();
  ops_[raw->id] = std::move(op);
  queue_.push_back(raw);
  cv_.notify_all();
  return raw->id;
}

int Comm::test(uint64_t id, std::string* error, double* seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) throw std::runtime_error("unknown or released work handle " + std::to_string(id));
  Op& op = *it->second;
  if (op.state == State::Done) { *seconds = op.seconds; return 1; }
  if (op.state == State::Failed) { *error = op.error; *seconds = op.seconds; return 2; }
  return 0;
}

bool Comm::wait(uint64_t id, std::string* error, double* seconds) {
  std::unique_lock<std::mutex> lk(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) throw std::runtime_error("unknown or released work handle " + std::to_string(id));
  Op& op = *it->second;
  doneCv_.wait(lk, [&op] { return op.state == State::Done || op.state == State::Failed; });
  *seconds = op.seconds;
  if (op.state == State::Failed) {
    *error = op.error;
    return false;
  }
  return true;
}

void Comm::release(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = ops_.find(id);
  if (it != ops_.end() && (it->second->state == State::Done || it->second->state == State::Failed)) ops_.erase(it);
}

void Comm::abort(int code) {
  if (!running_) std::_Exit(code);
  abortCode_.store(code < 0 ? 1 : code);
  cv_.notify_all();
  // The comm thread aborts the job; if it cannot (stuck), leave after a grace period.
  for (int i = 0; i < 200; i++) sleepFor(0.05);
  std::_Exit(code);
}

std::string Comm::finalize(double timeoutSec) {
  if (!running_) return "";
  auto op = std::make_unique<Op>();
  op->kind = Kind::Finalize;
  op->label = "the closing barrier";
  op->timeoutSec = timeoutSec;
  std::string error;
  double secs = 0;
  const uint64_t id = submit(std::move(op));
  wait(id, &error, &secs);
  // After a failure MPI_Finalize was skipped (it could hang on a broken job); the thread has ended
  // either way.
  thread_.join();
  running_ = false;
  return error;
}

}  // namespace tfmpi
