#pragma once
// Element-wise conversion between raw little-endian bytes (as files store them, possibly unaligned)
// and typed arrays, shared by the file formats.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pixsyn::io::detail {

// Reads n values stored as Stored into T.
template <class Stored, class T>
void convert_into(const std::byte* src, T* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    Stored value;
    std::memcpy(&value, src + i * static_cast<std::int64_t>(sizeof(Stored)), sizeof(Stored));
    dst[i] = static_cast<T>(value);
  }
}

// Reads n 16-bit patterns through decode (f16_to_float or bf16_to_float) into T.
template <class T, class Decode>
void decode_into(const std::byte* src, T* dst, std::int64_t n, Decode decode) {
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    dst[i] = static_cast<T>(decode(bits));
  }
}

// Writes n values of T as Stored.
template <class Stored, class T>
void store_from(const T* src, std::byte* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const auto value = static_cast<Stored>(src[i]);
    std::memcpy(dst + i * static_cast<std::int64_t>(sizeof(Stored)), &value, sizeof(Stored));
  }
}

// Writes n values of T as 16-bit patterns through encode (float_to_f16 or float_to_bf16).
template <class T, class Encode>
void encode_from(const T* src, std::byte* dst, std::int64_t n, Encode encode) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint16_t bits = encode(static_cast<float>(src[i]));
    std::memcpy(dst + 2 * i, &bits, 2);
  }
}

}  // namespace pixsyn::io::detail
