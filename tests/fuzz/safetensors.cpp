// libFuzzer harness: any bytes as a safetensors file. Refusing them with a pixsyn::Error is fine;
// anything else (a crash, a sanitizer report, another exception, a hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include <pixsyn/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = pixsyn::io::parse_safetensors(std::as_bytes(std::span(data, size)), "fuzz");
    // What a loader does next: convert every tensor, as floating point and, where it can, as integers.
    for (const auto& [name, raw] : file.tensors) {
      (void)raw.to<double>();
      if (raw.dtype == pixsyn::io::DType::I64) (void)raw.to<std::int64_t>();
    }
  } catch (const pixsyn::Error&) {
  }
  return 0;
}
