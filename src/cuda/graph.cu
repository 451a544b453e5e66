// CUDA graphs of the context's stream (include/pixsyn/backend/cuda/graph.hpp).
#include "common.cuh"
#include "pixsyn/backend/cuda/graph.hpp"
#include "pixsyn/core/error.hpp"

namespace pixsyn::backend::cuda {

namespace {

// The errors of work that cannot be recorded (the work itself may be fine: run it plainly).
bool unrecordable(cudaError_t err) {
  switch (err) {
    case cudaErrorStreamCaptureUnsupported:
    case cudaErrorStreamCaptureInvalidated:
    case cudaErrorStreamCaptureMerge:
    case cudaErrorStreamCaptureUnmatched:
    case cudaErrorStreamCaptureUnjoined:
    case cudaErrorStreamCaptureIsolation:
    case cudaErrorStreamCaptureImplicit:
    case cudaErrorStreamCaptureWrongThread:
    case cudaErrorCapturedEvent:
    case cudaErrorNotSupported:
      return true;
    default:
      return false;
  }
}

}  // namespace

StreamGraph::~StreamGraph() { reset(); }

void StreamGraph::reset() {
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  exec_ = nullptr;
}

void StreamGraph::begin() {
  reset();
  // Made now if not yet: making the handles allocates and synchronises, which a recording forbids.
  (void)cublas();
  (void)cublas_lt();
  check_cuda(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal), "cuda graph",
             "cudaStreamBeginCapture");
}

bool StreamGraph::finish(bool instantiate) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  const cudaError_t query = cudaStreamIsCapturing(stream(), &status);
  cudaGraph_t graph = nullptr;
  cudaError_t err = cudaStreamEndCapture(stream(), &graph);
  const bool broken = status == cudaStreamCaptureStatusInvalidated || unrecordable(err);
  if (query != cudaSuccess && !unrecordable(query)) err = query;
  if (!broken && err == cudaSuccess && instantiate) {
    cudaGraphExec_t exec = nullptr;
    err = cudaGraphInstantiate(&exec, graph, 0);
    if (err == cudaSuccess) exec_ = exec;
  }
  if (graph) cudaGraphDestroy(graph);
  if (broken || unrecordable(err)) {
    (void)cudaGetLastError();  // the recording's errors are not sticky: clear them for the plain run
    return false;
  }
  if (instantiate) check_cuda(err, "cuda graph", "cudaStreamEndCapture / cudaGraphInstantiate");
  return true;
}

void StreamGraph::replay() {
  pixsyn::detail::check(exec_ != nullptr, "cuda graph: replay of an empty graph");
  check_cuda(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), stream()), "cuda graph", "cudaGraphLaunch");
}

}  // namespace pixsyn::backend::cuda
