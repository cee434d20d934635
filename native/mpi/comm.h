// The communication thread of the MPI binding. Every MPI call of the process is made on this one
// thread (MPI_THREAD_FUNNELED from the thread that initialised MPI), so the JavaScript thread never
// blocks inside MPI: it queues a collective, keeps computing, and later tests or waits for it.
//
// Collectives are started non-blocking (MPI_Iallreduce, MPI_Ibcast, ...) and completed by polling
// MPI_Test against a deadline, because a blocking MPI call cannot be interrupted: a rank that died or
// hung would otherwise hang every other rank forever. A collective past its deadline fails with a
// message; the communicator is then unusable (an MPI collective cannot be cancelled), so every later
// operation fails at once and the caller is expected to abort the job.
#pragma once

#include <mpi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tfmpi {

enum class Kind { AllReduce, Broadcast, AllGatherV, Barrier, Finalize };
enum class Dtype { Float32 = 0, Float64 = 1, Int32 = 2, Uint8 = 3 };
enum class RedOp { Sum = 0, Avg = 1, Max = 2, Min = 3 };
enum class State { Queued, Running, Done, Failed };

struct Op {
  uint64_t id = 0;
  Kind kind = Kind::Barrier;
  void* buf = nullptr;
  int64_t count = 0;  // elements (all-gather: the whole buffer)
  Dtype dtype = Dtype::Float32;
  RedOp redop = RedOp::Sum;
  int root = 0;
  std::vector<int> counts, displs;  // all-gather: elements per rank and their offsets
  std::string label;                // names the operation in error messages
  double timeoutSec = 300;
  State state = State::Queued;
  std::string error;
  double seconds = 0;  // from start to completion on the comm thread
};

struct InitInfo {
  int rank = 0, size = 1, provided = 0;
  std::string library;
};

class Comm {
 public:
  // Starts the thread and initialises MPI on it; throws std::runtime_error when MPI_Init fails.
  InitInfo start();
  // Queues an operation; returns its id. Throws when the comm thread is not running.
  uint64_t submit(std::unique_ptr<Op> op);
  // 0 queued/running, 1 done, 2 failed (error in *error).
  int test(uint64_t id, std::string* error, double* seconds);
  // Blocks until the op completes or fails; false (error set) on failure.
  bool wait(uint64_t id, std::string* error, double* seconds);
  // Forgets a finished op.
  void release(uint64_t id);
  // MPI_Abort from the comm thread (kills the whole job through the launcher); does not return
  // normally when it works.
  void abort(int code);
  // Barrier with a deadline, MPI_Finalize, join. Returns an error message, empty on success.
  std::string finalize(double timeoutSec);
  bool running() const { return running_; }

 private:
  void loop();
  void runOp(Op& op);
  bool poll(MPI_Request* req, Op& op);

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;      // JS -> comm thread: work queued, abort
  std::condition_variable doneCv_;  // comm thread -> waiters: an op finished
  std::deque<Op*> queue_;
  std::unordered_map<uint64_t, std::unique_ptr<Op>> ops_;
  uint64_t nextId_ = 1;
  bool running_ = false;
  bool stop_ = false;
  std::atomic<int> abortCode_{-1};
  double spinSec_ = 2e-4, sleepSec_ = 5e-5;  // polling: yield-spin first, then short sleeps
  std::string fatal_;  // set after a failed collective: the communicator is unusable
  MPI_Comm comm_ = MPI_COMM_NULL;
  int size_ = 1;
  // init handshake
  bool initDone_ = false;
  std::string initError_;
  InitInfo info_;
};

}  // namespace tfmpi
