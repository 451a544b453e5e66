#pragma once
// Device memory for tensors. The CPU specialisation lives here; the CUDA one in backend/cuda, so that
// core never needs CUDA headers.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include "pixsyn/core/device.hpp"
#include "pixsyn/core/error.hpp"

namespace pixsyn::detail {

// "123 bytes (1.5 GiB)": the exact count for scripts, a readable size for people.
inline std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double size = static_cast<double>(bytes);
  int unit = -1;
  while (size >= 1024 && unit < 5) {
    size /= 1024;
    ++unit;
  }
  if (unit < 0) return concat(bytes, " bytes");
  char readable[32];
  std::snprintf(readable, sizeof(readable), "%.1f %s", size, units[unit]);
  return concat(bytes, " bytes (", readable, ")");
}

// The machine's physical memory in bytes (the most any one buffer could ever use).
inline std::uint64_t physical_memory() {
  static const std::uint64_t bytes = [] {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                                 : std::numeric_limits<std::uint64_t>::max();
  }();
  return bytes;
}

template <class Device>
struct Memory;  // specialised per device: allocate(bytes) -> shared_ptr<void>

template <>
struct Memory<Cpu> {
  static constexpr std::size_t alignment = 64;  // a cache line, and enough for AVX-512 loads
  // A request beyond the machine's memory is refused up front rather than left to the allocator: with
  // overcommit it might "succeed" and fail later, page by page; a refused request is a pixsyn::Error
  // naming the bytes, never a bare std::bad_alloc.
  static std::shared_ptr<void> allocate(std::size_t bytes) {
    check(bytes <= physical_memory(), "needs ", format_bytes(bytes), ", more than the ",
          format_bytes(physical_memory()), " of memory this machine has");
    void* p = nullptr;
    try {
      p = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(alignment));
    } catch (const std::bad_alloc&) {
      fail("cannot allocate ", format_bytes(bytes), ": out of memory");
    }
    return std::shared_ptr<void>(p, [](void* q) { ::operator delete(q, std::align_val_t(alignment)); });
  }
};

}  // namespace pixsyn::detail
