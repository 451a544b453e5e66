#pragma once
// NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// magic "\x93NUMPY", version, header length (u16 in 1.0, u32 in 2.0), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded to 64 bytes, then the data.
// Only little-endian float32/float64 in C order are supported. Reading is strict: numpy's header size
// limit, exactly the three keys, a shape whose byte count does not overflow, and data of exactly that
// size.
#include <bit>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/shape.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/io/atomic_file.hpp"
#include "pixsyn/io/detail/elements.hpp"

namespace pixsyn::io {

namespace detail {

inline constexpr std::string_view npy_magic = "\x93NUMPY";
// numpy's own limit on the header (numpy.lib.format._MAX_HEADER_SIZE); numpy writes far shorter ones.
inline constexpr std::size_t npy_max_header_size = 10000;

// A value of the header dict: a string, a bool, or a tuple of integers.
using NpyValue = std::variant<std::string, bool, std::vector<std::int64_t>>;

// A small parser for the Python literal that numpy writes as the header.
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, std::string where) : text_(text), where_(std::move(where)) {}

  // The dict and nothing but spaces after it; a key given twice is an error (Python keeps the last).
  std::map<std::string, NpyValue> parse_dict() {
    std::map<std::string, NpyValue> dict;
    expect('{');
    while (!accept('}')) {
      const std::string key = parse_string();
      expect(':');
      if (!dict.emplace(key, parse_value()).second)
        fail("the key '" + pixsyn::detail::printable(key) + "' appears twice");
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dictionary");
    return dict;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  [[noreturn]] void fail(const std::string& problem) const {
    pixsyn::detail::fail(where_, "malformed header (", problem, " at character ", pos_,
                         "): ", pixsyn::detail::printable(text_, 200));
  }
  std::string parse_string() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a string");
    const char quote = text_[pos_++];
    const auto close = text_.find(quote, pos_);
    if (close == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_, close - pos_));
    pos_ = close + 1;
    return s;
  }
  NpyValue parse_value() {
    skip_space();
    for (const bool flag : {true, false}) {
      const std::string_view word = flag ? "True" : "False";
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return flag;
      }
    }
    if (accept('(')) {
      std::vector<std::int64_t> tuple;
      while (!accept(')')) {
        skip_space();
        std::size_t digits = 0;
        std::int64_t extent = 0;
        for (; pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])); ++pos_, ++digits) {
          const int digit = text_[pos_] - '0';
          if (extent > (max_count - digit) / 10) fail("shape extent larger than 2^63 - 1");
          extent = extent * 10 + digit;
        }
        if (digits == 0) fail("expected a non-negative integer");
        accept('L');  // Python 2 longs
        tuple.push_back(extent);
        if (!accept(',')) {
          expect(')');
          break;
        }
      }
      return tuple;
    }
    return parse_string();
  }

  std::string_view text_;
  std::string where_;
  std::size_t pos_ = 0;
};

template <class T>
const T& npy_field(const std::map<std::string, NpyValue>& dict, const std::string& key, const char* kind,
                   const std::string& where) {
  const auto it = dict.find(key);
  pixsyn::detail::check(it != dict.end(), where, "header has no '", key, "'");
  pixsyn::detail::check(std::holds_alternative<T>(it->second), where, "header field '", key, "' is not ", kind);
  return std::get<T>(it->second);
}

}  // namespace detail

// Reads the bytes of a float32 or float64 .npy file into a Tensor<T>, converting the values; `name`
// stands for the file in messages.
template <class T>
Tensor<T> parse_npy(std::span<const std::byte> bytes, std::string_view name = "(memory)") {
  static_assert(std::is_floating_point_v<T>, "read_npy: T must be float or double");
  static_assert(std::endian::native == std::endian::little, "read_npy reads little-endian data");
  using pixsyn::detail::check;
  const std::string where = pixsyn::detail::concat("read_npy: '", name, "': ");
  const auto* text = reinterpret_cast<const char*>(bytes.data());
  check(bytes.size() >= 10 && std::string_view(text, 6) == detail::npy_magic, where,
        "bad magic: not a .npy file (it must start with \\x93NUMPY)");
  const auto major = static_cast<unsigned>(bytes[6]), minor = static_cast<unsigned>(bytes[7]);
  check((major == 1 || major == 2) && minor == 0, where, "unsupported .npy version ", major, ".", minor,
        " (supported: 1.0, 2.0)");
  std::size_t header_start = 10, header_size = 0;
  if (major == 1) {
    std::uint16_t size16;
    std::memcpy(&size16, text + 8, 2);
    header_size = size16;
  } else {
    check(bytes.size() >= 12, where, "truncated: the file ends inside the header length");
    std::uint32_t size32;
    std::memcpy(&size32, text + 8, 4);
    header_size = size32;
    header_start = 12;
  }
  check(header_size <= bytes.size() - header_start, where, "truncated: header of ", header_size,
        " bytes does not fit in the ", bytes.size(), "-byte file");
  check(header_size <= detail::npy_max_header_size, where, "header of ", header_size,
        " bytes exceeds numpy's limit of ", detail::npy_max_header_size);
  const auto dict = detail::NpyHeaderParser(std::string_view(text + header_start, header_size), where).parse_dict();
  for (const auto& [key, value] : dict)
    check(key == "descr" || key == "fortran_order" || key == "shape", where, "header has the unexpected key '",
          pixsyn::detail::printable(key, 40), "' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')");

  const auto& descr = detail::npy_field<std::string>(dict, "descr", "a string", where);
  check(descr == "<f4" || descr == "<f8", where, "unsupported dtype '", pixsyn::detail::printable(descr, 40),
        "' (supported: '<f4' float32 and '<f8' float64, little-endian)");
  check(!detail::npy_field<bool>(dict, "fortran_order", "True or False", where), where,
        "fortran_order is True: only C-order arrays are supported");
  const auto& extents = detail::npy_field<std::vector<std::int64_t>>(dict, "shape", "a tuple", where);
  check(extents.size() <= static_cast<std::size_t>(max_rank), where, "rank ", extents.size(),
        " exceeds pixsyn's maximum rank ", max_rank);
  const Shape shape(extents.begin(), extents.end());

  const std::int64_t item = descr == "<f4" ? 4 : 8;
  const std::size_t found = bytes.size() - header_start - header_size;
  // The byte count with overflow checks: a corrupt shape must not wrap around to a small size.
  const auto numel = shape.checked_numel();
  const auto expected = numel ? pixsyn::detail::checked_mul(*numel, item) : std::nullopt;
  check(expected && found >= static_cast<std::size_t>(*expected), where, "truncated: shape ", shape, " of ", descr,
        " needs ", expected ? std::to_string(*expected) : pixsyn::detail::concat("more than ", max_count),
        " bytes of data but the file holds ", found);
  check(found == static_cast<std::size_t>(*expected), where, found - static_cast<std::size_t>(*expected),
        " unexpected trailing bytes after the data of shape ", shape);

  auto tensor = Tensor<T>::empty(shape);
  const std::byte* data = bytes.data() + header_start + header_size;
  if (item == 4)
    detail::convert_into<float>(data, tensor.data(), tensor.numel());
  else
    detail::convert_into<double>(data, tensor.data(), tensor.numel());
  return tensor;
}

// Reads a float32 or float64 .npy file into a Tensor<T>, converting the values.
template <class T>
Tensor<T> read_npy(const std::filesystem::path& path) {
  return parse_npy<T>(read_file(path, "read_npy"), path.string());
}

// Writes a Tensor<float> as '<f4' or a Tensor<double> as '<f8', version 1.0, atomically.
template <class T>
void write_npy(const std::filesystem::path& path, const Tensor<T>& tensor) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "write_npy: T must be float or double");
  pixsyn::detail::check(tensor.defined(), "write_npy: '", path.string(), "': the tensor is undefined");
  std::string header =
      std::string("{'descr': '") + (sizeof(T) == 4 ? "<f4" : "<f8") + "', 'fortran_order': False, 'shape': (";
  for (auto extent : tensor.shape()) header += std::to_string(extent) + ", ";
  if (tensor.rank() > 1) header.resize(header.size() - 2);  // (2, 3) but (3,)
  if (tensor.rank() == 1) header.pop_back();
  header += "), }";
  // numpy pads with spaces and a final newline so that the data starts at a multiple of 64 bytes.
  header.resize((10 + header.size() + 1 + 63) / 64 * 64 - 10 - 1, ' ');
  header += '\n';

  const std::size_t data_size = static_cast<std::size_t>(tensor.numel()) * sizeof(T);
  std::vector<std::byte> bytes(10 + header.size() + data_size);
  std::memcpy(bytes.data(), detail::npy_magic.data(), 6);
  bytes[6] = std::byte{1};
  bytes[7] = std::byte{0};
  const auto header_size = static_cast<std::uint16_t>(header.size());
  std::memcpy(bytes.data() + 8, &header_size, 2);
  std::memcpy(bytes.data() + 10, header.data(), header.size());
  if (data_size) std::memcpy(bytes.data() + 10 + header.size(), tensor.data(), data_size);
  write_file_atomic(path, bytes);
}

}  // namespace pixsyn::io
