// libFuzzer harness: any bytes as a PNG or JPEG file. Refusing them with a pixsyn::Error is fine;
// anything else (a crash, a sanitizer report, another exception, a hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include <pixsyn/io/image.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // A pixel limit well under the fuzzer's 2 GB memory limit; larger claims are refused before decoding.
    (void)pixsyn::io::decode_image(std::as_bytes(std::span(data, size)), "fuzz", {.max_pixels = 1 << 22});
  } catch (const pixsyn::Error&) {
  }
  return 0;
}
