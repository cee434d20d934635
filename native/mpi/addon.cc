// N-API bindings of the MPI binding (src/distributed/mpi.ts is the TypeScript side). Each
// collective takes a typed array used in place (no copy), queues the operation on the comm thread
// and returns an integer work id at once; the typed array is referenced until the work is released,
// so it cannot be collected while MPI writes into it.
#include <napi.h>

#include <memory>
#include <stdexcept>
#include <unordered_map>

#include "comm.h"

namespace {

tfmpi::Comm* comm = nullptr;  // never destroyed: MPI may still own the thread at exit
std::unordered_map<uint64_t, Napi::Reference<Napi::Value>> buffers;  // JS thread only

struct View {
  void* data;
  int64_t length;
  tfmpi::Dtype dtype;
};

View view(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string("MPI ") + what + ": expected a typed array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  tfmpi::Dtype d;
  switch (ta.TypedArrayType()) {
    case napi_float32_array: d = tfmpi::Dtype::Float32; break;
    case napi_float64_array: d = tfmpi::Dtype::Float64; break;
    case napi_int32_array: d = tfmpi::Dtype::Int32; break;
    case napi_uint8_array: d = tfmpi::Dtype::Uint8; break;
    default:
      throw Napi::TypeError::New(v.Env(), std::string("MPI ") + what + ": Float32Array, Float64Array, Int32Array or Uint8Array expected");
  }
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (ta.ElementLength() > 0x7fffffff) throw Napi::RangeError::New(v.Env(), std::string("MPI ") + what + ": more than 2^31-1 elements");
  return {base, static_cast<int64_t>(ta.ElementLength()), d};
}

tfmpi::Comm& need(Napi::Env env) {
  if (!comm || !comm->running()) throw Napi::Error::New(env, "MPI is not initialised (call init() first)");
  return *comm;
}

Napi::Value submit(const Napi::CallbackInfo& info, std::unique_ptr<tfmpi::Op> op, Napi::Value keep) {
  uint64_t id;
  try {
    id = need(info.Env()).submit(std::move(op));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  if (!keep.IsEmpty()) buffers.emplace(id, Napi::Persistent(keep));
  return Napi::Number::New(info.Env(), static_cast<double>(id));
}

// init() -> { rank, size, threadLevel, library }
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!comm) comm = new tfmpi::Comm();
  tfmpi::InitInfo r;
  try {
    r = comm->start();
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", r.rank);
  o.Set("size", r.size);
  o.Set("threadLevel", r.provided);
  o.Set("library", r.library);
  return o;
}

std::unique_ptr<tfmpi::Op> newOp(const Napi::CallbackInfo& info, tfmpi::Kind kind, size_t labelArg) {
  auto op = std::make_unique<tfmpi::Op>();
  op->kind = kind;
  op->label = info[labelArg].As<Napi::String>().Utf8Value();
  op->timeoutSec = info[labelArg + 1].As<Napi::Number>().DoubleValue();
  return op;
}

// allReduce(array, op 0 sum | 1 avg | 2 max | 3 min, label, timeoutSec) -> id
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  View v = view(info[0], "allReduce");
  auto op = newOp(info, tfmpi::Kind::AllReduce, 2);
  op->buf = v.data;
  op->count = v.length;
  op->dtype = v.dtype;
  op->redop = static_cast<tfmpi::RedOp>(info[1].As<Napi::Number>().Int32Value());
  if (op->redop == tfmpi::RedOp::Avg && (v.dtype == tfmpi::Dtype::Int32 || v.dtype == tfmpi::Dtype::Uint8)) {
    throw Napi::TypeError::New(info.Env(), "MPI allReduce: 'avg' needs a float array");
  }
  return submit(info, std::move(op), info[0]);
}

// broadcast(array, root, label, timeoutSec) -> id
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  View v = view(info[0], "broadcast");
  auto op = newOp(info, tfmpi::Kind::Broadcast, 2);
  op->buf = v.data;
  op->count = v.length;
  op->dtype = v.dtype;
  op->root = info[1].As<Napi::Number>().Int32Value();
  return submit(info, std::move(op), info[0]);
}

// allGatherV(array, counts: Int32Array [size], label, timeoutSec) -> id. In place: rank r's part
// sits at offset sum(counts[0..r)) of `array` and every other part is filled in.
Napi::Value AllGatherV(const Napi::CallbackInfo& info) {
  View v = view(info[0], "allGather");
  View c = view(info[1], "allGather counts");
  if (c.dtype != tfmpi::Dtype::Int32) throw Napi::TypeError::New(info.Env(), "MPI allGather: counts must be an Int32Array");
  auto op = newOp(info, tfmpi::Kind::AllGatherV, 2);
  op->buf = v.data;
  op->dtype = v.dtype;
  const int32_t* counts = static_cast<const int32_t*>(c.data);
  int64_t total = 0;
  for (int64_t i = 0; i < c.length; i++) {
    op->counts.push_back(counts[i]);
    op->displs.push_back(static_cast<int>(total));
    total += counts[i];
  }
  if (total > v.length) throw Napi::RangeError::New(info.Env(), "MPI allGather: counts add up to more than the array holds");
  op->count = total;
  return submit(info, std::move(op), info[0]);
}

// barrier(label, timeoutSec) -> id
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return submit(info, newOp(info, tfmpi::Kind::Barrier, 0), Napi::Value());
}

// test(id) -> -1 while running, else the seconds the operation took; throws Error(message) on failure.
Napi::Value Test(const Napi::CallbackInfo& info) {
  const uint64_t id = static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue());
  std::string error;
  double secs = 0;
  int s;
  try {
    s = need(info.Env()).test(id, &error, &secs);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  if (s == 2) throw Napi::Error::New(info.Env(), error);
  return Napi::Number::New(info.Env(), s == 1 ? secs : -1);
}

// wait(id) -> seconds the operation took; blocks the JS thread; throws Error(message) on failure.
Napi::Value Wait(const Napi::CallbackInfo& info) {
  const uint64_t id = static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue());
  std::string error;
  double secs = 0;
  bool ok;
  try {
    ok = need(info.Env()).wait(id, &error, &secs);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  if (!ok) throw Napi::Error::New(info.Env(), error);
  return Napi::Number::New(info.Env(), secs);
}

// Waits on a libuv pool thread and settles a promise.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, uint64_t id) : Napi::AsyncWorker(env), id_(id), deferred_(Napi::Promise::Deferred::New(env)) {}
  void Execute() override {
    try {
      if (!comm->wait(id_, &error_, &secs_)) SetError(error_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), secs_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }
  Napi::Promise promise() { return deferred_.Promise(); }

 private:
  uint64_t id_;
  std::string error_;
  double secs_ = 0;
  Napi::Promise::Deferred deferred_;
};

// waitAsync(id) -> Promise<seconds>
Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
  need(info.Env());
  auto* w = new WaitWorker(info.Env(), static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// release(id): forgets a finished operation and lets its buffer go. A failed operation's buffer
// stays referenced: MPI may still write into it.
Napi::Value Release(const Napi::CallbackInfo& info) {
  const uint64_t id = static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue());
  if (!comm) return info.Env().Undefined();
  std::string error;
  double secs;
  int s = 0;
  try {
    s = comm->test(id, &error, &secs);
  } catch (const std::exception&) {
    return info.Env().Undefined();
  }
  if (s == 1) {
    buffers.erase(id);
    comm->release(id);
  }
  return info.Env().Undefined();
}

// abort(code): MPI_Abort on the whole job; does not return.
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info[0].As<Napi::Number>().Int32Value();
  if (!comm) std::_Exit(code);
  comm->abort(code);
  return info.Env().Undefined();
}

// finalize(timeoutSec) -> '' or the error that kept MPI from finalizing cleanly.
Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (!comm || !comm->running()) return Napi::String::New(info.Env(), "");
  std::string err;
  try {
    err = comm->finalize(info[0].As<Napi::Number>().DoubleValue());
  } catch (const std::exception& e) {
    err = e.what();
  }
  return Napi::String::New(info.Env(), err);
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("allGatherV", Napi::Function::New(env, AllGatherV));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("test", Napi::Function::New(env, Test));
  exports.Set("wait", Napi::Function::New(env, Wait));
  exports.Set("waitAsync", Napi::Function::New(env, WaitAsync));
  exports.Set("release", Napi::Function::New(env, Release));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  return exports;
}

}  // namespace

NODE_API_MODULE(trainformer_mpi, InitModule)
