// libFuzzer harness: any bytes as a .npy file. Refusing them with a pixsyn::Error is fine; anything
// else (a crash, a sanitizer report, another exception, a hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include <pixsyn/io/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    (void)pixsyn::io::parse_npy<float>(bytes, "fuzz");
  } catch (const pixsyn::Error&) {
  }
  try {
    (void)pixsyn::io::parse_npy<double>(bytes, "fuzz");
  } catch (const pixsyn::Error&) {
  }
  return 0;
}
