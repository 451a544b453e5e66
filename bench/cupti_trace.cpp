// libpixsyn_cupti_trace.so: a timeline of any CUDA program without Nsight Systems (the GPU machine has ncu
// only). CUDA loads it at start-up through CUDA_INJECTION64_PATH and calls InitializeInjection; CUPTI's
// activity records (kernels, copies, memsets, runtime API calls, each with start and end in one clock) go
// to the CSV file named by PIXSYN_TRACE (default trace.csv) as they complete, and at exit:
//   CUDA_INJECTION64_PATH=build/bench/libpixsyn_cupti_trace.so PIXSYN_TRACE=t.csv bench_train_gpu --profile ...
//   python3 bench/trace_gaps.py t.csv      # GPU busy and idle time, the API calls, the largest idle gaps
// A line: kind (K kernel, C copy, S memset, R runtime API), start ns, end ns, stream (API: thread), correlation
// id, name. What ncu cannot show: where the GPU waits for the host (bench/README.md).
#include <cupti.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

std::FILE* out = nullptr;
std::mutex out_mutex;  // CUPTI may deliver buffers from its own thread
constexpr std::size_t buffer_bytes = 16 << 20;

void CUPTIAPI give_buffer(std::uint8_t** buffer, std::size_t* size, std::size_t* max_records) {
  *buffer = static_cast<std::uint8_t*>(std::aligned_alloc(8, buffer_bytes));
  *size = *buffer ? buffer_bytes : 0;
  *max_records = 0;  // as many as fit
}

unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

void write_record(const CUpti_Activity* record) {
  switch (record->kind) {
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel9*>(record);
      std::fprintf(out, "K,%llu,%llu,%u,%u,\"%s\"\n", ull(k->start), ull(k->end), k->streamId, k->correlationId,
                   k->name);
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy5*>(record);
      const char* direction = m->copyKind == CUPTI_ACTIVITY_MEMCPY_KIND_HTOD   ? "to device"
                              : m->copyKind == CUPTI_ACTIVITY_MEMCPY_KIND_DTOH ? "to host"
                              : m->copyKind == CUPTI_ACTIVITY_MEMCPY_KIND_DTOD ? "on device"
                                                                               : "other";
      std::fprintf(out, "C,%llu,%llu,%u,%u,\"copy %s %llu bytes\"\n", ull(m->start), ull(m->end), m->streamId,
                   m->correlationId, direction, ull(m->bytes));
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemset4*>(record);
      std::fprintf(out, "S,%llu,%llu,%u,%u,\"memset %llu bytes\"\n", ull(m->start), ull(m->end), m->streamId,
                   m->correlationId, ull(m->bytes));
      break;
    }
    case CUPTI_ACTIVITY_KIND_RUNTIME: {
      const auto* a = reinterpret_cast<const CUpti_ActivityAPI*>(record);
      const char* name = nullptr;
      cuptiGetCallbackName(CUPTI_CB_DOMAIN_RUNTIME_API, a->cbid, &name);
      std::fprintf(out, "R,%llu,%llu,%u,%u,\"%s\"\n", ull(a->start), ull(a->end), a->threadId, a->correlationId,
                   name ? name : "?");
      break;
    }
    default:
      break;
  }
}

void CUPTIAPI take_buffer(CUcontext, std::uint32_t, std::uint8_t* buffer, std::size_t, std::size_t valid) {
  {
    const std::lock_guard<std::mutex> lock(out_mutex);
    CUpti_Activity* record = nullptr;
    while (cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) write_record(record);
  }
  std::free(buffer);
}

void finish() {
  cuptiActivityFlushAll(1);
  const std::lock_guard<std::mutex> lock(out_mutex);
  std::fclose(out);
  out = nullptr;
}

}  // namespace

extern "C" int InitializeInjection() {
  const char* path = std::getenv("PIXSYN_TRACE");
  out = std::fopen(path ? path : "trace.csv", "w");
  if (!out) {
    std::fprintf(stderr, "pixsyn_cupti_trace: cannot write %s; no trace\n", path ? path : "trace.csv");
    return 0;
  }
  const CUpti_ActivityKind kinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,
                                      CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_RUNTIME};
  bool ok = cuptiActivityRegisterCallbacks(give_buffer, take_buffer) == CUPTI_SUCCESS;
  for (const auto kind : kinds) ok = ok && cuptiActivityEnable(kind) == CUPTI_SUCCESS;
  if (!ok) {
    std::fprintf(stderr, "pixsyn_cupti_trace: CUPTI refused the activity records; no trace\n");
    std::fclose(out);
    out = nullptr;
    return 0;
  }
  std::atexit(finish);
  return 1;
}
