#pragma once
// Images as (C, H, W) tensors with values in [0, 1]: PNG reading and writing through stb (the
// implementation comes from the libstb that the pixsyn target links), JPEG reading through libjpeg,
// resizing, and tiling a batch into one picture.
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#ifdef PIXSYN_WITH_LIBJPEG
#include <jpeglib.h>
#include <csetjmp>
#include <cstdio>  // jpeglib.h uses FILE and size_t without including their headers
#endif

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/io/atomic_file.hpp"

namespace pixsyn::io {

struct ImageLimits {
  // Images with more pixels are refused before decoding: a small file can claim a huge image (a
  // "decompression bomb"). The default, a 16384 x 16384 image, takes 4 GiB to decode; raise it for more.
  std::int64_t max_pixels = std::int64_t{1} << 28;
};

namespace detail {

inline void check_pixels(const std::string& where, std::int64_t width, std::int64_t height, const ImageLimits& limits) {
  pixsyn::detail::check(width * height <= limits.max_pixels, where, "the image is ", width, " x ", height,
                        " pixels, more than the limit of ", limits.max_pixels, " (ImageLimits::max_pixels)");
}

// (H, W, 3) bytes, row-major, -> a (3, H, W) float tensor in [0, 1].
template <class Channel>
void planes_from_interleaved(const Channel* src, float* dst, std::int64_t plane, float scale) {
  for (std::int64_t p = 0; p < plane; ++p)
    for (std::int64_t c = 0; c < 3; ++c) dst[c * plane + p] = static_cast<float>(src[p * 3 + c]) * scale;
}

// stb_image 2.27 grows its buffer to a PNG chunk's declared length before it reads the chunk, so a
// few bytes that claim a 2 GB IDAT chunk cost a 2 GB allocation (found by fuzzing). Every chunk up to
// IEND must lie within the file, as stb requires anyway.
inline void check_png_chunks(std::span<const std::byte> png, const std::string& where) {
  const auto byte = [&](std::size_t i) { return std::to_integer<std::uint32_t>(png[i]); };
  for (std::size_t pos = 8;;) {  // after the signature: length (4 bytes), type (4), data, CRC (4)
    pixsyn::detail::check(png.size() - pos >= 12, where, "cannot decode: truncated PNG (it ends at byte ", png.size(),
                          " before its IEND chunk)");
    const std::uint32_t length = byte(pos) << 24 | byte(pos + 1) << 16 | byte(pos + 2) << 8 | byte(pos + 3);
    const std::string type(reinterpret_cast<const char*>(png.data()) + pos + 4, 4);
    pixsyn::detail::check(length <= png.size() - pos - 12, where, "cannot decode: truncated PNG (its chunk '",
                          pixsyn::detail::printable(type), "' at byte ", pos, " claims ", length,
                          " bytes, past the end of the ", png.size(), "-byte file)");
    if (type == "IEND") return;
    pos += 12 + length;
  }
}

inline Tensor<float> decode_png(std::span<const std::byte> file, const std::string& where, const ImageLimits& limits) {
  const auto failure = [] {
    const char* reason = stbi_failure_reason();
    return pixsyn::detail::printable(reason ? reason : "unknown error");
  };
  const auto* buffer = reinterpret_cast<const stbi_uc*>(file.data());
  const int length = static_cast<int>(file.size());
  int width = 0, height = 0, channels = 0;
  pixsyn::detail::check(stbi_info_from_memory(buffer, length, &width, &height, &channels) != 0, where,
                        "cannot decode: ", failure());
  // Counted before the decoder allocates anything (beyond this, stb has limits of its own, and the
  // tensor's allocation refuses more than the memory).
  check_pixels(where, width, height, limits);
  check_png_chunks(file, where);
  const bool wide = stbi_is_16_bit_from_memory(buffer, length);
  std::unique_ptr<void, void (*)(void*)> pixels(
      wide ? static_cast<void*>(stbi_load_16_from_memory(buffer, length, &width, &height, &channels, 3))
           : static_cast<void*>(stbi_load_from_memory(buffer, length, &width, &height, &channels, 3)),
      stbi_image_free);
  pixsyn::detail::check(pixels != nullptr, where, "cannot decode: ", failure());
  auto image = Tensor<float>::empty({3, height, width});
  const std::int64_t plane = static_cast<std::int64_t>(height) * width;
  if (wide)
    planes_from_interleaved(static_cast<const stbi_us*>(pixels.get()), image.data(), plane, 1.0f / 65535.0f);
  else
    planes_from_interleaved(static_cast<const stbi_uc*>(pixels.get()), image.data(), plane, 1.0f / 255.0f);
  return image;
}

#ifdef PIXSYN_WITH_LIBJPEG
// libjpeg reports a fatal error through error_exit, which must not return: it jumps back into
// decode_jpeg with the message. Warnings are errors too: they mean corrupt data that libjpeg would
// paper over (a truncated file comes out with its missing rows grey).
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

inline void jpeg_fail(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  info->err->format_message(info, errors->message);
  std::longjmp(errors->jump, 1);
}

inline void jpeg_message(j_common_ptr info, int level) {
  if (level < 0) jpeg_fail(info);  // a warning; levels >= 0 are traces, ignored
}

struct JpegDecoder {
  jpeg_decompress_struct info{};
  JpegErrors errors{};
  bool created = false;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

// libjpeg(-turbo), maintained and fuzzed, decodes JPEGs: stb 2.27's JPEG decoder (Debian 12) reads
// and writes out of bounds on corrupt files (docs/reliability.md).
inline Tensor<float> decode_jpeg(std::span<const std::byte> file, const std::string& where, const ImageLimits& limits) {
  // Everything with a destructor exists before setjmp, so that a longjmp back skips none.
  JpegDecoder decoder;
  Tensor<float> image;
  std::vector<unsigned char> row;
  jpeg_decompress_struct& info = decoder.info;
  info.err = jpeg_std_error(&decoder.errors.manager);
  decoder.errors.manager.error_exit = jpeg_fail;
  decoder.errors.manager.emit_message = jpeg_message;
  if (setjmp(decoder.errors.jump)) pixsyn::detail::fail(where, "cannot decode: ", decoder.errors.message);
  jpeg_create_decompress(&info);
  decoder.created = true;
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(file.data()), static_cast<unsigned long>(file.size()));
  pixsyn::detail::check(jpeg_read_header(&info, TRUE) == JPEG_HEADER_OK, where, "cannot decode: no image in the JPEG");
  const std::int64_t width = info.image_width, height = info.image_height;
  check_pixels(where, width, height, limits);
  info.out_color_space = JCS_RGB;  // from grayscale too
  jpeg_start_decompress(&info);
  image = Tensor<float>::empty({3, height, width});
  row.resize(static_cast<std::size_t>(width) * 3);
  const std::int64_t plane = height * width;
  while (info.output_scanline < info.output_height) {
    const std::int64_t y = info.output_scanline;
    JSAMPROW rows[] = {row.data()};
    jpeg_read_scanlines(&info, rows, 1);
    for (std::int64_t x = 0; x < width; ++x)
      for (std::int64_t c = 0; c < 3; ++c)
        image.data()[c * plane + y * width + x] = static_cast<float>(row[x * 3 + c]) * (1.0f / 255.0f);
  }
  jpeg_finish_decompress(&info);
  return image;
}
#endif

}  // namespace detail

// Decodes the bytes of a PNG or JPEG file as a (3, H, W) float tensor in [0, 1]. Grayscale is
// replicated to RGB and alpha is dropped; 16-bit PNGs keep their precision. PNGs are decoded by stb,
// JPEGs by libjpeg (when pixsyn was built with it: PIXSYN_WITH_LIBJPEG); other formats are refused.
// `name` stands for the file in messages.
inline Tensor<float> decode_image(std::span<const std::byte> file, std::string_view name = "(memory)",
                                  const ImageLimits& limits = {}) {
  const std::string where = pixsyn::detail::concat("read_image: '", name, "': ");
  pixsyn::detail::check(file.size() <= static_cast<std::size_t>(INT_MAX), where, "the file is too large (", file.size(),
                        " bytes)");
  const auto starts_with = [&](std::initializer_list<unsigned char> magic) {
    return file.size() >= magic.size() &&
           std::equal(magic.begin(), magic.end(), file.begin(), [](auto m, auto b) { return std::byte{m} == b; });
  };
  if (starts_with({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return detail::decode_png(file, where, limits);
  if (starts_with({0xff, 0xd8, 0xff})) {
#ifdef PIXSYN_WITH_LIBJPEG
    return detail::decode_jpeg(file, where, limits);
#else
    pixsyn::detail::fail(where,
                         "cannot decode: a JPEG, and this pixsyn was built without JPEG support (libjpeg: "
                         "apt-get install libjpeg-dev and configure again)");
#endif
  }
  pixsyn::detail::fail(where, "cannot decode: not a PNG or JPEG file (it has neither signature)");
}

// Reads a PNG or JPEG file as a (3, H, W) float tensor in [0, 1] (see decode_image).
inline Tensor<float> read_image(const std::filesystem::path& path, const ImageLimits& limits = {}) {
  return decode_image(read_file(path, "read_image"), path.string(), limits);
}

// stb's PNG writer counts bytes in int: the pixel data with one filter byte per row, its zlib stream
// (at worst 9 bits a byte under the fixed Huffman code stb uses) in a buffer that doubles as it grows,
// and the file. Pixel data of up to 7 * 2^27 bytes (896 MiB) keeps every one of them below 2^31.
inline constexpr std::uint64_t max_png_pixel_bytes = std::uint64_t{7} << 27;

// The pixel data stb's PNG writer holds for a channels x height x width image: (channels * width + 1)
// * height bytes, saturating at UINT64_MAX instead of wrapping.
inline std::uint64_t png_pixel_bytes(std::uint64_t channels, std::uint64_t height, std::uint64_t width) {
  constexpr std::uint64_t most = UINT64_MAX;
  if (channels != 0 && width > (most - 1) / channels) return most;
  const std::uint64_t row = channels * width + 1;
  return height > most / row ? most : row * height;
}

namespace detail {

// A value in [0, 1] as an 8-bit sample: clamped, scaled and rounded (NaN is for the caller to refuse).
template <class T>
unsigned char unit_to_byte(T value) {
  return static_cast<unsigned char>(std::lround(std::clamp(value, T(0), T(1)) * 255));
}

}  // namespace detail

// Writes a (3, H, W) or (1, H, W) image with values in [0, 1] as an 8-bit PNG, atomically. Values
// are clamped to [0, 1] and rounded; NaN is an error, and so is an image too large for the encoder
// (max_png_pixel_bytes), checked before anything is read or written.
template <class T>
void write_png(const std::filesystem::path& path, const Tensor<T>& image) {
  static_assert(std::is_floating_point_v<T>, "write_png: T must be float or double");
  const std::string where = "write_png: '" + path.string() + "': ";
  pixsyn::detail::check(image.defined(), where, "the image is undefined");
  pixsyn::detail::check(
      image.rank() == 3 && (image.dim(0) == 1 || image.dim(0) == 3) && image.dim(1) > 0 && image.dim(2) > 0, where,
      "expected an image of shape (3, H, W) or (1, H, W), got ", image.shape());
  const std::uint64_t pixel_bytes = png_pixel_bytes(image.dim(0), image.dim(1), image.dim(2));
  pixsyn::detail::check(pixel_bytes <= max_png_pixel_bytes, where, "an image of shape ", image.shape(), " is ",
                        pixel_bytes, " bytes of PNG pixel data, more than the ", max_png_pixel_bytes,
                        " bytes the PNG encoder can take (its sizes are int)");
  const std::int64_t channels = image.dim(0), height = image.dim(1), width = image.dim(2);
  const std::int64_t plane = height * width;
  std::vector<unsigned char> pixels(static_cast<std::size_t>(plane * channels));
  for (std::int64_t c = 0; c < channels; ++c) {
    for (std::int64_t p = 0; p < plane; ++p) {
      const T value = image.data()[c * plane + p];
      pixsyn::detail::check(!std::isnan(value), where, "the image contains NaN (channel ", c, ", row ", p / width,
                            ", column ", p % width, ")");
      pixels[p * channels + c] = detail::unit_to_byte(value);
    }
  }

  std::vector<std::byte> png;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::byte>*>(context);
    const auto* bytes = static_cast<const std::byte*>(data);
    out->insert(out->end(), bytes, bytes + size);
  };
  const int ok = stbi_write_png_to_func(append, &png, static_cast<int>(width), static_cast<int>(height),
                                        static_cast<int>(channels), pixels.data(), static_cast<int>(width * channels));
  pixsyn::detail::check(ok != 0, where, "PNG encoding failed");
  write_file_atomic(path, png);
}

namespace detail {

// Taps of a triangle filter for resampling n input samples to m output samples along one axis. When
// shrinking, the filter widens to the output pixel's footprint, so every input pixel contributes
// (antialiasing); when enlarging, this is plain bilinear interpolation with clamped edges.
template <class T>
struct ResampleTaps {
  std::vector<std::int64_t> first;  // first input index of each output
  std::vector<std::int64_t> count;  // number of taps of each output
  std::vector<T> weights;           // `width` weights per output, normalised
  std::int64_t width = 0;

  ResampleTaps(std::int64_t n, std::int64_t m) : first(m), count(m) {
    const double scale = static_cast<double>(n) / static_cast<double>(m), radius = std::max(scale, 1.0);
    width = static_cast<std::int64_t>(std::ceil(radius)) * 2 + 1;
    weights.assign(static_cast<std::size_t>(m * width), T(0));
    for (std::int64_t i = 0; i < m; ++i) {
      const double center = (static_cast<double>(i) + 0.5) * scale;
      const auto lo = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(center - radius)));
      const auto hi = std::min<std::int64_t>(n, static_cast<std::int64_t>(std::ceil(center + radius)));
      double total = 0;
      std::vector<double> w;
      for (std::int64_t j = lo; j < hi; ++j) {
        w.push_back(std::max(0.0, 1.0 - std::abs(static_cast<double>(j) + 0.5 - center) / radius));
        total += w.back();
      }
      first[i] = lo;
      count[i] = hi - lo;
      for (std::int64_t k = 0; k < hi - lo; ++k) weights[i * width + k] = static_cast<T>(w[k] / total);
    }
  }
};

}  // namespace detail

// Resizes the last two axes (H, W) of a tensor of rank >= 2 to (height, width) with a triangle
// filter: bilinear when enlarging, area-weighted (antialiased) when shrinking.
template <class T>
Tensor<T> resize_bilinear(const Tensor<T>& image, std::int64_t height, std::int64_t width) {
  static_assert(std::is_floating_point_v<T>, "resize_bilinear: T must be float or double");
  pixsyn::detail::check(image.defined() && image.rank() >= 2 && image.dim(-2) > 0 && image.dim(-1) > 0,
                        "resize_bilinear: expected an image (..., H, W) with H, W > 0, got ", image.shape());
  pixsyn::detail::check(height > 0 && width > 0, "resize_bilinear: output size ", height, "x", width,
                        " must be positive");
  const std::int64_t in_h = image.dim(-2), in_w = image.dim(-1), planes = image.numel() / (in_h * in_w);
  const detail::ResampleTaps<T> rows(in_h, height), cols(in_w, width);

  Shape shape = image.shape();
  shape[-2] = height;
  shape[-1] = width;
  auto out = Tensor<T>::empty(shape);
  std::vector<T> wide(static_cast<std::size_t>(in_h * width));  // one plane resized along W only
  for (std::int64_t p = 0; p < planes; ++p) {
    const T* src = image.data() + p * in_h * in_w;
    for (std::int64_t y = 0; y < in_h; ++y) {
      for (std::int64_t x = 0; x < width; ++x) {
        const T* row = src + y * in_w + cols.first[x];
        const T* w = cols.weights.data() + x * cols.width;
        T sum = 0;
        for (std::int64_t k = 0; k < cols.count[x]; ++k) sum += w[k] * row[k];
        wide[y * width + x] = sum;
      }
    }
    T* dst = out.data() + p * height * width;
    for (std::int64_t y = 0; y < height; ++y) {
      const T* w = rows.weights.data() + y * rows.width;
      std::fill(dst + y * width, dst + (y + 1) * width, T(0));
      for (std::int64_t k = 0; k < rows.count[y]; ++k) {
        const T* row = wide.data() + (rows.first[y] + k) * width;
        for (std::int64_t x = 0; x < width; ++x) dst[y * width + x] += w[k] * row[x];
      }
    }
  }
  return out;
}

// The value range of the images given to image_grid.
enum class ImageRange {
  unit,         // [0, 1]: kept as is
  signed_unit,  // [-1, 1], as generators output: mapped to [0, 1]
};

// Tiles a batch (B, C, H, W) into one image (C, rows·H, columns·W), row by row; cells past the batch
// stay black. columns = 0 picks ceil(sqrt(B)).
template <class T>
Tensor<T> image_grid(const Tensor<T>& batch, std::int64_t columns = 0, ImageRange range = ImageRange::unit) {
  static_assert(std::is_floating_point_v<T>, "image_grid: T must be float or double");
  pixsyn::detail::check(batch.defined() && batch.rank() == 4 && batch.dim(0) > 0,
                        "image_grid: expected a non-empty batch of shape (B, C, H, W), got ", batch.shape());
  pixsyn::detail::check(columns >= 0, "image_grid: columns must be >= 0 (0 = automatic), got ", columns);
  const std::int64_t count = batch.dim(0), channels = batch.dim(1), height = batch.dim(2), width = batch.dim(3);
  if (columns == 0) columns = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(count))));
  columns = std::min(columns, count);
  const std::int64_t rows = (count + columns - 1) / columns;

  auto grid = Tensor<T>::zeros({channels, rows * height, columns * width});
  const T scale = range == ImageRange::signed_unit ? T(0.5) : T(1),
          shift = range == ImageRange::signed_unit ? T(0.5) : T(0);
  for (std::int64_t b = 0; b < count; ++b) {
    const std::int64_t top = b / columns * height, left = b % columns * width;
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t y = 0; y < height; ++y) {
        const T* src = batch.data() + ((b * channels + c) * height + y) * width;
        T* dst = grid.data() + (c * rows * height + top + y) * columns * width + left;
        for (std::int64_t x = 0; x < width; ++x) dst[x] = src[x] * scale + shift;
      }
    }
  }
  return grid;
}

}  // namespace pixsyn::io
