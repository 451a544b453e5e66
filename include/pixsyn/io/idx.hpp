#pragma once
// IDX files (the MNIST and Fashion-MNIST format), plain or gzip-compressed:
//   0x00 0x00, a type byte (0x08: unsigned bytes, the only type read here), the rank, one big-endian u32 per
//   dimension, then the values in row-major order.
// gzip is inflated with stb's inflater (the libstb pixsyn already links), its header parsed here and its
// CRC-32 and length checked, so a truncated or corrupt download is an error, never garbage.
#include <stb/stb_image.h>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/io/atomic_file.hpp"

namespace pixsyn::io {

struct IdxArray {
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> values;  // row-major
};

namespace detail {

inline std::uint32_t crc32(const std::uint8_t* data, std::size_t n) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

inline std::uint32_t little_u32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint32_t big_u32(const std::uint8_t* p) {
  return std::uint32_t(p[3]) | std::uint32_t(p[2]) << 8 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[0]) << 24;
}

// The single-member gzip stream in `file` (RFC 1952), inflated and checked.
inline std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& file, const std::string& where) {
  using pixsyn::detail::check;
  check(file.size() >= 18 && file[0] == 0x1f && file[1] == 0x8b && file[2] == 8, where,
        "not a gzip file (bad magic or method)");
  const std::uint8_t flags = file[3];
  check((flags & 0xE0) == 0, where, "reserved gzip flags are set");
  std::size_t pos = 10;
  const std::size_t end = file.size() - 8;  // the CRC-32 and length trailer
  if (flags & 0x04) {                       // FEXTRA
    check(pos + 2 <= end, where, "truncated gzip header");
    pos += 2 + (std::size_t(file[pos]) | std::size_t(file[pos + 1]) << 8);
  }
  for (std::uint8_t field : {std::uint8_t(0x08), std::uint8_t(0x10)})  // FNAME, FCOMMENT: zero-terminated
    if (flags & field) {
      while (pos < end && file[pos] != 0) ++pos;
      ++pos;
    }
  if (flags & 0x02) pos += 2;  // FHCRC
  check(pos < end, where, "truncated gzip header");
  check(end - pos <= static_cast<std::size_t>(INT_MAX), where, "the compressed stream is too large");
  int length = 0;
  std::unique_ptr<char, void (*)(void*)> raw(
      stbi_zlib_decode_noheader_malloc(reinterpret_cast<const char*>(file.data() + pos), static_cast<int>(end - pos),
                                       &length),
      std::free);
  check(raw != nullptr, where, "corrupt gzip data (", stbi_failure_reason(), ")");
  std::vector<std::uint8_t> out(reinterpret_cast<const std::uint8_t*>(raw.get()),
                                reinterpret_cast<const std::uint8_t*>(raw.get()) + length);
  check(little_u32(file.data() + end + 4) == static_cast<std::uint32_t>(out.size()), where,
        "the inflated length does not match the gzip trailer (truncated or several members)");
  check(little_u32(file.data() + end) == crc32(out.data(), out.size()), where, "gzip CRC-32 mismatch (corrupt file)");
  return out;
}

}  // namespace detail

// Reads an IDX file of unsigned bytes (gzip'd when it starts with the gzip magic).
inline IdxArray read_idx(const std::filesystem::path& path) {
  using pixsyn::detail::check;
  const std::string where = "read_idx: '" + path.string() + "': ";
  const auto bytes = read_file(path, "read_idx");
  std::vector<std::uint8_t> data(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                 reinterpret_cast<const std::uint8_t*>(bytes.data()) + bytes.size());
  if (data.size() >= 2 && data[0] == 0x1f && data[1] == 0x8b) data = detail::gunzip(data, where);
  check(data.size() >= 4 && data[0] == 0 && data[1] == 0, where, "not an IDX file (bad magic)");
  check(data[2] == 0x08, where, "IDX type ", int(data[2]), " is not unsigned bytes (8), the only type read");
  const int rank = data[3];
  check(rank >= 1 && data.size() >= 4 + 4 * std::size_t(rank), where, "IDX header of rank ", rank, " is truncated");
  IdxArray out;
  std::uint64_t count = 1;
  for (int k = 0; k < rank; ++k) {
    const std::uint32_t d = detail::big_u32(data.data() + 4 + 4 * k);
    count *= d;
    check(count <= (std::uint64_t(1) << 40), where, "IDX dimensions are implausibly large");
    out.shape.push_back(d);
  }
  const std::size_t offset = 4 + 4 * std::size_t(rank);
  check(data.size() - offset == count, where, "IDX holds ", data.size() - offset, " values; its shape needs ", count);
  out.values.assign(data.begin() + static_cast<std::ptrdiff_t>(offset), data.end());
  return out;
}

}  // namespace pixsyn::io
