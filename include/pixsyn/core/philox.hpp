#pragma once
// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11). A number depends only on
// (seed, block counter, lane), so the CPU and the GPU produce the same stream in any order.
#include <cmath>
#include <cstdint>

#include "pixsyn/core/host_device.hpp"

namespace pixsyn {

// A random stream: `seed` picks the stream, `offset` counts the 128-bit blocks already used.
// Drawing n normals uses ceil(n/2) blocks, n uniforms ceil(n/4) blocks, and advances `offset`.
struct Philox {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;
};

namespace detail {

struct PhiloxBlock {
  std::uint32_t v[4];
};

PIXSYN_HOST_DEVICE inline void philox_round(std::uint32_t (&c)[4], const std::uint32_t (&k)[2]) {
  constexpr std::uint64_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  const std::uint64_t p0 = m0 * c[0], p1 = m1 * c[2];
  const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
  const std::uint32_t n0 = hi1 ^ c[1] ^ k[0], n2 = hi0 ^ c[3] ^ k[1];
  c[0] = n0;
  c[1] = lo1;
  c[2] = n2;
  c[3] = lo0;
}

// The 10-round Philox4x32 bijection of counter (block, 0) under key seed.
PIXSYN_HOST_DEVICE inline PhiloxBlock philox4x32_10(std::uint64_t seed, std::uint64_t block) {
  std::uint32_t c[4] = {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u, 0u};
  std::uint32_t k[2] = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
  for (int round = 0; round < 10; ++round) {
    philox_round(c, k);
    if (round < 9) {
      k[0] += 0x9E3779B9u;
      k[1] += 0xBB67AE85u;
    }
  }
  return PhiloxBlock{{c[0], c[1], c[2], c[3]}};
}

// 24 random bits to the open interval (0, 1): never 0, so log() below is finite.
PIXSYN_HOST_DEVICE inline double philox_unit(std::uint32_t bits) {
  return (static_cast<double>(bits >> 8) + 0.5) * (1.0 / 16777216.0);
}

// Uniform number i of the stream that starts at block `offset`.
PIXSYN_HOST_DEVICE inline double philox_uniform(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  const PhiloxBlock b = philox4x32_10(seed, offset + i / 4);
  return philox_unit(b.v[i % 4]);
}

// Standard normal number i (Box-Muller on the first two lanes of block offset + i/2), in double so
// that CPU and GPU round to the same float.
PIXSYN_HOST_DEVICE inline double philox_normal(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  const PhiloxBlock b = philox4x32_10(seed, offset + i / 2);
  const double radius = std::sqrt(-2.0 * std::log(philox_unit(b.v[0])));
  const double angle = 6.283185307179586 * philox_unit(b.v[1]);
  return (i % 2 == 0) ? radius * std::cos(angle) : radius * std::sin(angle);
}

}  // namespace detail
}  // namespace pixsyn
