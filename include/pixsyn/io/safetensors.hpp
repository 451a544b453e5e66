#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON describing each tensor (dtype, shape, byte range of the data buffer) plus
// optional string metadata, then the data buffer. Files interoperate with Python's safetensors.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/shape.hpp"
#include "pixsyn/core/storage.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/io/atomic_file.hpp"
#include "pixsyn/io/detail/elements.hpp"
#include "pixsyn/io/float16.hpp"

namespace pixsyn::io {

static_assert(std::endian::native == std::endian::little, "pixsyn::io reads and writes little-endian data");

enum class DType { F32, F64, F16, BF16, I64 };

inline constexpr DType all_dtypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64};

inline std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    case DType::I64:
      return "I64";
  }
  return "?";
}

inline std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
      return 4;
    case DType::F16:
    case DType::BF16:
      return 2;
  }
  return 0;
}

inline bool is_floating(DType dtype) { return dtype != DType::I64; }

// The dtype a tensor of T is saved as unless another is asked for.
template <class T>
inline constexpr DType default_dtype = std::is_integral_v<T> ? DType::I64 : DType::F32;
// The dtype that holds every value of T exactly (training checkpoints: a resumed run repeats the
// uninterrupted one bit for bit, also in double).
template <class T>
inline constexpr DType exact_dtype = std::is_same_v<T, double> ? DType::F64 : default_dtype<T>;

// One tensor as stored: its dtype, shape and raw little-endian bytes.
struct RawTensor {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<std::byte> bytes;

  // Floating tensors may be stored as any floating dtype (F16/BF16 round to nearest even from the
  // value as a float); integer tensors as I64.
  template <class T>
  static RawTensor from(const Tensor<T>& tensor, DType dtype = default_dtype<T>);

  // Any floating dtype converts to a floating T; I64 converts to std::int64_t or a floating T.
  template <class T>
  Tensor<T> to() const;

  // Throws unless bytes.size() == numel × dtype size; `what` names the tensor in the message.
  void check_size(std::string_view what) const {
    const auto expected = shape.bytes(dtype_size(dtype));
    pixsyn::detail::check(bytes.size() == expected, what, " of shape ", shape, " and dtype ", dtype_name(dtype),
                          " needs ", expected, " bytes but has ", bytes.size());
  }
};

struct SafetensorsFile {
  std::map<std::string, RawTensor> tensors;
  std::map<std::string, std::string> metadata;
};

template <class T>
RawTensor RawTensor::from(const Tensor<T>& tensor, DType dtype) {
  static_assert(std::is_floating_point_v<T> || std::is_same_v<T, std::int64_t>,
                "RawTensor::from: T must be float, double or std::int64_t");
  pixsyn::detail::check(tensor.defined(), "RawTensor::from: the tensor is undefined");
  pixsyn::detail::check(is_floating(dtype) == std::is_floating_point_v<T>, "RawTensor::from: cannot store ",
                        std::is_floating_point_v<T> ? "a floating-point" : "an integer", " tensor as ",
                        dtype_name(dtype));
  RawTensor raw{dtype, tensor.shape(), {}};
  const std::int64_t n = tensor.numel();
  raw.bytes.resize(static_cast<std::size_t>(n) * dtype_size(dtype));
  const T* src = tensor.data();
  std::byte* dst = raw.bytes.data();
  switch (dtype) {
    case DType::F32:
      detail::store_from<float>(src, dst, n);
      break;
    case DType::F64:
      detail::store_from<double>(src, dst, n);
      break;
    case DType::I64:
      detail::store_from<std::int64_t>(src, dst, n);
      break;
    case DType::F16:
      detail::encode_from(src, dst, n, float_to_f16);
      break;
    case DType::BF16:
      detail::encode_from(src, dst, n, float_to_bf16);
      break;
  }
  return raw;
}

template <class T>
Tensor<T> RawTensor::to() const {
  static_assert(std::is_floating_point_v<T> || std::is_same_v<T, std::int64_t>,
                "RawTensor::to: T must be float, double or std::int64_t");
  pixsyn::detail::check(std::is_floating_point_v<T> || dtype == DType::I64, "RawTensor::to: cannot convert ",
                        dtype_name(dtype), " data of shape ", shape, " to an integer tensor");
  check_size("RawTensor::to: tensor");
  auto tensor = Tensor<T>::empty(shape);
  const std::int64_t n = tensor.numel();
  const std::byte* src = bytes.data();
  T* dst = tensor.data();
  switch (dtype) {
    case DType::F32:
      detail::convert_into<float>(src, dst, n);
      break;
    case DType::F64:
      detail::convert_into<double>(src, dst, n);
      break;
    case DType::I64:
      detail::convert_into<std::int64_t>(src, dst, n);
      break;
    case DType::F16:
      detail::decode_into(src, dst, n, f16_to_float);
      break;
    case DType::BF16:
      detail::decode_into(src, dst, n, bf16_to_float);
      break;
  }
  return tensor;
}

// The reference implementation's limit on the JSON header: a bigger one is refused before it is read.
inline constexpr std::uint64_t max_header_size = 100'000'000;

namespace detail {

// A JSON value for an error message: scalars as written (long ones shortened), containers by kind,
// so that a hostile header cannot make the message huge.
inline std::string describe(const nlohmann::json& value) {
  if (value.is_array()) return "an array of " + std::to_string(value.size());
  if (value.is_object()) return "an object";
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// Parses the header text as JSON, refusing what nlohmann::json would otherwise accept silently: a key
// twice in one object (it keeps the last), and nesting deeper than a safetensors header has (top
// object, entry or metadata object, shape or data_offsets array), which could only waste memory.
inline nlohmann::json parse_header_json(const std::string& text, const std::string& where) {
  std::vector<std::set<std::string>> keys;  // the keys seen in each open object
  const auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) && depth > 2)
      pixsyn::detail::fail(where, "header nests JSON values deeper than a safetensors header does");
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end) keys.pop_back();
    if (event == Event::key && !keys.back().insert(parsed.get<std::string>()).second)
      pixsyn::detail::fail(where, "header has the key \"", pixsyn::detail::printable(parsed.get<std::string>()),
                           "\" twice in one object", depth == 1 ? "" : " (inside an entry)");
    return true;
  };
  try {
    return nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number too large (out_of_range)
    pixsyn::detail::fail(where, "header is not valid JSON: ", e.what());
  }
}

// One tensor of the header: its name, dtype, shape and byte range [begin, end) of the data buffer.
struct HeaderEntry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

// Parses one header entry, checking it against the data buffer of data_size bytes.
inline HeaderEntry parse_entry(const std::string& where, const std::string& name, const nlohmann::json& entry,
                               std::uint64_t data_size) {
  using pixsyn::detail::check;
  HeaderEntry parsed;
  parsed.name = name;
  const std::string what = where + "tensor '" + pixsyn::detail::printable(name) + "'";
  check(entry.is_object(), what, ": entry is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) check(entry.contains(key), what, " has no \"", key, "\"");

  const auto& dtype = entry["dtype"];
  check(dtype.is_string(), what, ": \"dtype\" is not a string");
  const auto dtype_text = dtype.get<std::string>();
  bool known = false;
  for (DType d : all_dtypes) {
    if (dtype_name(d) == dtype_text) {
      parsed.dtype = d;
      known = true;
    }
  }
  check(known, what, " has unknown dtype '", pixsyn::detail::printable(dtype_text, 40),
        "' (supported: F32, F64, F16, BF16, I64)");

  const auto& shape = entry["shape"];
  check(shape.is_array(), what, ": \"shape\" is not an array");
  check(shape.size() <= static_cast<std::size_t>(max_rank), what, " has rank ", shape.size(),
        " but pixsyn supports at most rank ", max_rank);
  for (const auto& extent : shape) {
    check(extent.is_number_unsigned() &&
              extent.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
          what, " has shape entry ", describe(extent), ": extents must be non-negative integers");
    parsed.shape.push_back(static_cast<std::int64_t>(extent.get<std::uint64_t>()));
  }

  const auto& offsets = entry["data_offsets"];
  check(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
        what, ": \"data_offsets\" must be two non-negative integers, got ", describe(offsets));
  const std::uint64_t begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
  check(begin <= end, what, " has data_offsets [", begin, ", ", end, "] with begin > end");
  check(end <= data_size, what, " has data_offsets [", begin, ", ", end, "] out of range of the ", data_size,
        "-byte data buffer (the file is truncated or the offsets are wrong)");
  // The byte count in 64 bits with overflow checks: a huge shape can then only disagree with the range.
  std::uint64_t expected = dtype_size(parsed.dtype);
  bool overflow = false;
  for (auto e : parsed.shape) overflow = overflow || __builtin_mul_overflow(expected, e, &expected);
  if (parsed.shape.checked_numel() == 0) expected = 0, overflow = false;
  check(!overflow && end - begin == expected, what, " of shape ", parsed.shape, " and dtype ", dtype_text, " needs ",
        overflow ? std::string("more than 2^64") : std::to_string(expected), " bytes but data_offsets [", begin, ", ",
        end, "] hold ", end - begin, " bytes");
  parsed.begin = begin;
  parsed.end = end;
  return parsed;
}

// The format's layout rule: sorted by offsets, the tensors tile the data buffer exactly, from byte 0
// to its end, with no gap, no overlap and no trailing bytes.
inline void check_layout(const std::string& where, std::vector<HeaderEntry>& entries, std::uint64_t data_size) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  std::uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const auto& e : entries) {
    if (e.begin != covered) {
      const std::string range = pixsyn::detail::concat("[", e.begin, ", ", e.end, ")");
      if (!previous)
        pixsyn::detail::fail(where, "tensor '", pixsyn::detail::printable(e.name), "' at bytes ", range,
                             " is the first in the data buffer but does not begin at byte 0 (data offsets must be "
                             "contiguous from 0)");
      pixsyn::detail::fail(where, "tensor '", pixsyn::detail::printable(e.name), "' at bytes ", range,
                           e.begin < covered ? " overlaps tensor '" : " leaves a gap after tensor '",
                           pixsyn::detail::printable(previous->name), "' at bytes [", previous->begin, ", ",
                           previous->end, ") (data offsets must be contiguous, without gaps or overlaps)");
    }
    covered = e.end;
    previous = &e;
  }
  pixsyn::detail::check(covered == data_size, where, "the tensors cover ", covered, " bytes of the ", data_size,
                        "-byte data buffer: ", data_size - covered, " trailing bytes that no tensor describes");
}

// Parses the header text and validates it against a data buffer of data_size bytes; returns the
// tensors sorted by their offsets and adds the metadata to `metadata`.
inline std::vector<HeaderEntry> parse_header(const std::string& text, std::uint64_t data_size, const std::string& where,
                                             std::map<std::string, std::string>& metadata) {
  using pixsyn::detail::check;
  const nlohmann::json header = parse_header_json(text, where);
  check(header.is_object(), where, "header is not a JSON object");
  std::vector<HeaderEntry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name != "__metadata__") {
      entries.push_back(parse_entry(where, name, entry, data_size));
      continue;
    }
    check(entry.is_object(), where, "\"__metadata__\" is not a JSON object");
    for (const auto& [key, value] : entry.items()) {
      check(value.is_string(), where, "metadata \"", pixsyn::detail::printable(key), "\" is not a string but ",
            describe(value));
      metadata[key] = value.get<std::string>();
    }
  }
  check_layout(where, entries, data_size);
  return entries;
}

// Reads and validates the header of a safetensors file of file_size bytes through read(position,
// destination, size), which copies bytes of the file and throws when it cannot; `where` prefixes every
// error message. Returns the tensors' entries sorted by offsets, the metadata in `metadata` and the
// data buffer's start in `data_start`.
template <class Read>
std::vector<HeaderEntry> read_header_from(std::uint64_t file_size, const Read& read, const std::string& where,
                                          std::map<std::string, std::string>& metadata, std::uint64_t& data_start) {
  using pixsyn::detail::check;
  check(file_size >= 8, where, "file is ", file_size,
        " bytes, shorter than the 8-byte header length (truncated or not a safetensors file)");
  std::uint64_t header_size = 0;
  read(0, &header_size, 8);
  check(header_size <= file_size - 8, where, "header length ", header_size, " is larger than the ", file_size - 8,
        " bytes that follow it (truncated or not a safetensors file)");
  check(header_size <= max_header_size, where, "header length ", header_size, " exceeds the format's limit of ",
        max_header_size, " bytes");
  std::string header_text(header_size, '\0');
  read(8, header_text.data(), header_size);
  data_start = 8 + header_size;
  return parse_header(header_text, file_size - data_start, where, metadata);
}

// Reads a whole safetensors file (the header as read_header_from, then every tensor).
template <class Read>
SafetensorsFile read_safetensors_from(std::uint64_t file_size, const Read& read, const std::string& where) {
  using pixsyn::detail::check;
  SafetensorsFile file;
  std::uint64_t data_start = 0;
  auto entries = read_header_from(file_size, read, where, file.metadata, data_start);
  const std::uint64_t data_size = file_size - data_start;

  // Every byte of the data buffer is now a tensor's: its size is what reading all of them takes.
  check(data_size <= pixsyn::detail::physical_memory(), where, "the tensors need ",
        pixsyn::detail::format_bytes(data_size), ", more than the ",
        pixsyn::detail::format_bytes(pixsyn::detail::physical_memory()), " of memory this machine has");
  for (auto& e : entries) {
    RawTensor raw{e.dtype, e.shape, {}};
    try {
      raw.bytes.resize(e.end - e.begin);
    } catch (const std::bad_alloc&) {
      pixsyn::detail::fail(where, "cannot allocate ", pixsyn::detail::format_bytes(e.end - e.begin), " for tensor '",
                           e.name, "': out of memory");
    }
    if (e.end > e.begin) read(data_start + e.begin, raw.bytes.data(), e.end - e.begin);
    file.tensors.emplace(std::move(e.name), std::move(raw));
  }
  return file;
}

}  // namespace detail

// Reads a safetensors file, validating it as strictly as the format's reference implementation: the
// header length at most max_header_size, a JSON object without repeated keys, string-to-string
// metadata, every byte range within the data buffer and of exactly numel × dtype size bytes, and the
// ranges, sorted, tiling the data buffer from 0 to its end without gaps, overlaps or trailing bytes.
namespace detail {

// Calls read_from(file_size, read, where) with a reader of the file at `path`.
template <class ReadFrom>
auto read_safetensors_file(const std::filesystem::path& path, const ReadFrom& read_from) {
  const std::string where = "read_safetensors: '" + path.string() + "': ";
  std::error_code error;
  const std::uint64_t file_size = std::filesystem::file_size(path, error);
  pixsyn::detail::check(!error, where, "cannot read the file: ", error.message());
  std::ifstream in(path, std::ios::binary);
  pixsyn::detail::check(in.good(), where, "cannot open the file: ", os_error(errno));
  const auto read = [&](std::uint64_t position, void* destination, std::uint64_t size) {
    in.seekg(static_cast<std::streamoff>(position));
    in.read(static_cast<char*>(destination), static_cast<std::streamsize>(size));
    pixsyn::detail::check(in.gcount() == static_cast<std::streamsize>(size), where, "cannot read ", size,
                          " bytes at offset ", position);
  };
  return read_from(file_size, read, where);
}

}  // namespace detail

inline SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  return detail::read_safetensors_file(path, [](std::uint64_t size, const auto& read, const std::string& where) {
    return detail::read_safetensors_from(size, read, where);
  });
}

// The metadata of a safetensors file, reading only its header (validated as read_safetensors does,
// against the file's size): what the file says it holds, before any tensor is read.
inline std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& path) {
  return detail::read_safetensors_file(path, [](std::uint64_t size, const auto& read, const std::string& where) {
    std::map<std::string, std::string> metadata;
    std::uint64_t data_start = 0;
    detail::read_header_from(size, read, where, metadata, data_start);
    return metadata;
  });
}

// The same from the bytes of a whole file in memory; `name` stands for the path in messages.
inline SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, std::string_view name = "(memory)") {
  const auto read = [&](std::uint64_t position, void* destination, std::uint64_t size) {
    std::memcpy(destination, bytes.data() + position, size);  // within bytes: the reader checked the ranges
  };
  return detail::read_safetensors_from(bytes.size(), read, pixsyn::detail::concat("read_safetensors: '", name, "': "));
}

inline void write_safetensors(const std::filesystem::path& path, const SafetensorsFile& file) {
  const std::string where = "write_safetensors: '" + path.string() + "': ";
  // Key order as Python writes it: metadata first, and dtype, shape, data_offsets within an entry.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, raw] : file.tensors) {
    pixsyn::detail::check(name != "__metadata__", where, "\"__metadata__\" is reserved and cannot name a tensor");
    raw.check_size(where + "tensor '" + name + "'");
    header[name] = {{"dtype", std::string(dtype_name(raw.dtype))},
                    {"shape", std::vector<std::int64_t>(raw.shape.begin(), raw.shape.end())},
                    {"data_offsets", {offset, offset + raw.bytes.size()}}};
    offset += raw.bytes.size();
  }
  std::string header_text = header.dump();
  // Padding the header with spaces to a multiple of 8 keeps the data buffer 8-byte aligned.
  header_text.resize((header_text.size() + 7) / 8 * 8, ' ');

  std::vector<std::byte> bytes(8 + header_text.size() + offset);
  const std::uint64_t header_size = header_text.size();
  std::memcpy(bytes.data(), &header_size, 8);
  std::memcpy(bytes.data() + 8, header_text.data(), header_text.size());
  std::byte* data = bytes.data() + 8 + header_text.size();
  for (const auto& [name, raw] : file.tensors) {
    if (!raw.bytes.empty()) std::memcpy(data, raw.bytes.data(), raw.bytes.size());
    data += raw.bytes.size();
  }
  write_file_atomic(path, bytes);
}

// Loads every tensor of a file, converting it to T.
template <class T>
std::map<std::string, Tensor<T>> load_tensors(const std::filesystem::path& path) {
  std::map<std::string, Tensor<T>> tensors;
  for (const auto& [name, raw] : read_safetensors(path).tensors) tensors.emplace(name, raw.template to<T>());
  return tensors;
}

template <class T>
void save_tensors(const std::filesystem::path& path, const std::map<std::string, Tensor<T>>& tensors,
                  const std::map<std::string, std::string>& metadata = {}, DType dtype = default_dtype<T>) {
  SafetensorsFile file{{}, metadata};
  for (const auto& [name, tensor] : tensors) file.tensors.emplace(name, RawTensor::from(tensor, dtype));
  write_safetensors(path, file);
}

}  // namespace pixsyn::io
