#pragma once
// A CUDA graph of the context's stream (definitions in src/cuda/graph.cu): the kernels, copies and stream-ordered
// allocations a piece of host code queues, recorded once and replayed with one launch, which saves the host
// the per-kernel launch cost of small calls. The recording runs nothing; the replay runs the recorded work with
// the arguments and addresses it had, so whatever changes between replays must live in buffers allocated before
// the recording and be rewritten (copy_to_device, copy_on_device) before the replay.
#include <utility>

namespace pixsyn::backend::cuda {

class StreamGraph {
 public:
  StreamGraph() = default;
  ~StreamGraph();
  StreamGraph(const StreamGraph&) = delete;
  StreamGraph& operator=(const StreamGraph&) = delete;
  StreamGraph(StreamGraph&& other) noexcept : exec_(std::exchange(other.exec_, nullptr)) {}
  StreamGraph& operator=(StreamGraph&& other) noexcept {
    std::swap(exec_, other.exec_);
    return *this;
  }

  // Records what record() queues on stream() and instantiates it, replacing any earlier graph. Returns false,
  // empty, when the work cannot be recorded (a cudaErrorStreamCapture* error: record() waited for the GPU,
  // copied from pageable host memory or made a library handle); then nothing was queued and the caller runs
  // the work plainly. Any other error is thrown, as record()'s own are.
  template <class Record>
  bool capture(Record&& record);
  // Queues the recorded work on stream(). The graph must not be empty.
  void replay();
  bool empty() const { return exec_ == nullptr; }
  void reset();

 private:
  void begin();
  // Ends the recording and, if `instantiate`, makes the graph from it; false when the recording broke (nothing
  // made; the error cleared).
  bool finish(bool instantiate);

  void* exec_ = nullptr;  // a cudaGraphExec_t
};

template <class Record>
bool StreamGraph::capture(Record&& record) {
  begin();
  try {
    record();
  } catch (...) {
    if (finish(false)) throw;  // record()'s own error
    return false;              // the recording broke, which is why record() threw
  }
  return finish(true);
}

}  // namespace pixsyn::backend::cuda
