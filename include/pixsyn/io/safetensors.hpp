#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON describing each tensor (dtype, shape, byte range of the data buffer) plus
// optional string metadata, then the data buffer. Files interoperate with Python's safetensors.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/shape.hpp"
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
    const auto expected = static_cast<std::uint64_t>(shape.numel()) * dtype_size(dtype);
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

namespace detail {

// Parses one header entry, checking it against the data buffer of data_size bytes.
inline void parse_entry(const std::string& where, const std::string& name, const nlohmann::json& entry,
                        std::uint64_t data_size, RawTensor& raw, std::uint64_t& begin, std::uint64_t& end) {
  using pixsyn::detail::check;
  const std::string what = where + "tensor '" + name + "'";
  check(entry.is_object(), what, ": entry is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) check(entry.contains(key), what, " has no \"", key, "\"");

  const auto& dtype = entry["dtype"];
  check(dtype.is_string(), what, ": \"dtype\" is not a string");
  const auto dtype_text = dtype.get<std::string>();
  bool known = false;
  for (DType d : all_dtypes) {
    if (dtype_name(d) == dtype_text) {
      raw.dtype = d;
      known = true;
    }
  }
  check(known, what, " has unknown dtype '", dtype_text, "' (supported: F32, F64, F16, BF16, I64)");

  const auto& shape = entry["shape"];
  check(shape.is_array(), what, ": \"shape\" is not an array");
  check(shape.size() <= static_cast<std::size_t>(max_rank), what, " has rank ", shape.size(),
        " but pixsyn supports at most rank ", max_rank);
  // The element count saturates: a huge shape can then only disagree with the byte range below.
  std::uint64_t numel = 1;
  bool saturated = false, empty = false;
  raw.shape = Shape{};
  for (const auto& extent : shape) {
    check(extent.is_number_unsigned() &&
              extent.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
          what, " has shape entry ", extent.dump(), ": extents must be non-negative integers");
    const auto e = extent.get<std::uint64_t>();
    raw.shape.push_back(static_cast<std::int64_t>(e));
    empty = empty || e == 0;
    if (saturated || (e != 0 && numel > std::numeric_limits<std::uint64_t>::max() / 8 / e))
      saturated = true;
    else
      numel *= e;
  }
  if (empty) {
    numel = 0;
    saturated = false;
  }

  const auto& offsets = entry["data_offsets"];
  check(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
        what, ": \"data_offsets\" must be two non-negative integers, got ", offsets.dump());
  begin = offsets[0].get<std::uint64_t>();
  end = offsets[1].get<std::uint64_t>();
  check(begin <= end, what, " has data_offsets [", begin, ", ", end, "] with begin > end");
  check(end <= data_size, what, " has data_offsets [", begin, ", ", end, "] out of range of the ", data_size,
        "-byte data buffer (the file is truncated or the offsets are wrong)");
  const std::uint64_t expected = numel * dtype_size(raw.dtype);
  check(!saturated && end - begin == expected, what, " of shape ", raw.shape, " and dtype ", dtype_text, " needs ",
        saturated ? std::string("more than 2^64") : std::to_string(expected), " bytes but data_offsets [", begin, ", ",
        end, "] hold ", end - begin, " bytes");
}

}  // namespace detail

inline SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  using pixsyn::detail::check;
  const std::string where = "read_safetensors: '" + path.string() + "': ";
  std::error_code error;
  const std::uint64_t file_size = std::filesystem::file_size(path, error);
  check(!error, where, "cannot read the file: ", error.message());
  check(file_size >= 8, where, "file is ", file_size,
        " bytes, shorter than the 8-byte header length (truncated or not a safetensors file)");
  std::ifstream in(path, std::ios::binary);
  check(in.good(), where, "cannot open the file: ", detail::os_error(errno));
  auto read_at = [&](std::uint64_t position, void* dst, std::uint64_t size) {
    in.seekg(static_cast<std::streamoff>(position));
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(size));
    check(in.gcount() == static_cast<std::streamsize>(size), where, "cannot read ", size, " bytes at offset ",
          position);
  };

  std::uint64_t header_size = 0;
  read_at(0, &header_size, 8);
  check(header_size <= file_size - 8, where, "header length ", header_size, " is larger than the ", file_size - 8,
        " bytes that follow it (truncated or not a safetensors file)");
  std::string header_text(header_size, '\0');
  read_at(8, header_text.data(), header_size);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::parse_error& e) {
    pixsyn::detail::fail(where, "header is not valid JSON: ", e.what());
  }
  check(header.is_object(), where, "header is not a JSON object");

  SafetensorsFile file;
  const std::uint64_t data_start = 8 + header_size, data_size = file_size - data_start;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      check(entry.is_object(), where, "\"__metadata__\" is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        check(value.is_string(), where, "metadata \"", key, "\" is not a string");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    RawTensor raw;
    std::uint64_t begin = 0, end = 0;
    detail::parse_entry(where, name, entry, data_size, raw, begin, end);
    raw.bytes.resize(end - begin);
    if (end > begin) read_at(data_start + begin, raw.bytes.data(), end - begin);
    file.tensors.emplace(name, std::move(raw));
  }
  return file;
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
