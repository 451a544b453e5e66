// FastDivider (the CUDA kernels' index division) against the integer division: every numerator below
// 2^16 for small divisors, and numerators near multiples of the divisor and near 2^31 for divisors up to
// 2^31 - 1; bad divisors are errors.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include <pixsyn/backend/fast_divider.hpp>

#include "support/errors.hpp"

using pixsyn::backend::FastDivider;

namespace {

// Numerators where a wrong multiplier would show first: around multiples of d and at the top of the range.
std::vector<std::int64_t> probes(std::int64_t d) {
  std::vector<std::int64_t> out;
  const std::int64_t top = FastDivider::limit - 1;
  for (std::int64_t q : {std::int64_t(1), std::int64_t(2), std::int64_t(3), top / d - 1, top / d})
    for (std::int64_t delta = -2; delta <= 2; ++delta) out.push_back(q * d + delta);
  for (std::int64_t delta = 0; delta < 64; ++delta) out.push_back(top - delta);
  return out;
}

}  // namespace

TEST_CASE("FastDivider divides exactly") {
  for (std::int64_t d = 1; d <= 300; ++d) {
    const FastDivider f(d);
    CHECK(f.divisor() == d);
    for (std::int32_t n = 0; n < (1 << 16); ++n)
      if (f.div(n) != n / d) FAIL_CHECK("n " << n << " d " << d << ": " << f.div(n));
  }
  std::vector<std::int64_t> divisors;
  for (int s = 1; s < 31; ++s)
    for (std::int64_t delta = -1; delta <= 1; ++delta) divisors.push_back((std::int64_t(1) << s) + delta);
  for (std::int64_t d : {1000, 4097, 65535, 65536 * 3, 123456789, 1999999999}) divisors.push_back(d);
  for (std::int64_t d : divisors) {
    if (d < 1 || d >= FastDivider::limit) continue;
    const FastDivider f(d);
    for (std::int64_t n : probes(d)) {
      if (n < 0 || n >= FastDivider::limit) continue;
      if (f.div(static_cast<std::int32_t>(n)) != n / d) FAIL_CHECK("n " << n << " d " << d);
    }
  }
}

TEST_CASE("FastDivider refuses divisors outside [1, 2^31)") {
  CHECK(pixsyn::test::contains(pixsyn::test::error_of([] { FastDivider(0); }), "divisor 0"));
  CHECK(pixsyn::test::contains(pixsyn::test::error_of([] { FastDivider(FastDivider::limit); }), "outside [1, 2^31)"));
}
