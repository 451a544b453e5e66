#pragma once
// How much memory work may use, so that a request too large for this machine is refused up front,
// with the bytes it would need, instead of failing with std::bad_alloc (or worse, being half done).
#include <cstdint>
#include <initializer_list>
#include <string>

namespace pixsyn::cli {

// The memory this process may use: the least of the machine's physical memory, its address-space
// and data limits (ulimit -v, -d) and its control group's limit.
std::uint64_t usable_memory();

// a * b * ..., saturating at the largest uint64 instead of wrapping (a saturated need is refused).
std::uint64_t saturating_product(std::initializer_list<std::uint64_t> factors);
std::uint64_t saturating_sum(std::initializer_list<std::uint64_t> terms);

// Throws pixsyn::Error "<what> needs at least N bytes (x GiB) of memory; this machine allows M bytes
// (y GiB)" when `bytes` > usable_memory().
void check_memory(const std::string& what, std::uint64_t bytes);

}  // namespace pixsyn::cli
