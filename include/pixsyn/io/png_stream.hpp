#pragma once
// A PNG written row by row: 8-bit grey, RGB or RGBA rows go through the Paeth filter and zlib as they
// arrive and leave as IDAT chunks, so the whole image is never held (ALIS panoramas of any length).
// Atomic like write_file_atomic: the bytes go to a temporary file beside the target, and finish()
// flushes it and renames it over the target. A writer destroyed unfinished (an error, an exception)
// removes its temporary file, as does a signal in a program that called remove_temp_files_on_signals();
// nothing ever appears under the target's name before the last row.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/io/atomic_file.hpp"

namespace pixsyn::io {

class PngRowWriter {
 public:
  // PNG sizes are 31-bit; the limit keeps a row's byte count far from overflowing too.
  static constexpr std::int64_t max_side = (std::int64_t(1) << 31) - 1;

  PngRowWriter(const std::filesystem::path& path, std::int64_t width, std::int64_t height, int channels = 3)
      : path_(path), width_(width), height_(height), channels_(channels) {
    pixsyn::detail::check(width >= 1 && width <= max_side && height >= 1 && height <= max_side, "PngRowWriter: '",
                          path.string(), "': a PNG is 1 to ", max_side, " pixels wide and high, not ", width, " x ",
                          height);
    pixsyn::detail::check(channels == 1 || channels == 3 || channels == 4, "PngRowWriter: '", path.string(),
                          "': channels must be 1 (grey), 3 (RGB) or 4 (RGBA), not ", channels);
    row_bytes_ = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
    previous_.assign(row_bytes_, 0);
    filtered_.resize(row_bytes_ + 1);
    out_.resize(std::size_t(1) << 16);
    temp_ = std::make_unique<detail::TempFile>(path);
    pixsyn::detail::check(deflateInit(&zs_, Z_DEFAULT_COMPRESSION) == Z_OK, "PngRowWriter: '", path.string(),
                          "': cannot start zlib");
    zlib_open_ = true;

    static constexpr std::array<unsigned char, 8> signature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(signature.data(), signature.size());
    std::array<unsigned char, 13> header{};
    store_u32(header.data(), static_cast<std::uint32_t>(width));
    store_u32(header.data() + 4, static_cast<std::uint32_t>(height));
    header[8] = 8;                                          // bits per sample
    header[9] = channels == 1 ? 0 : channels == 3 ? 2 : 6;  // grey, RGB, RGBA
    chunk("IHDR", header.data(), header.size());            // deflate, adaptive filters, no interlace
  }
  PngRowWriter(const PngRowWriter&) = delete;
  PngRowWriter& operator=(const PngRowWriter&) = delete;
  ~PngRowWriter() {
    if (zlib_open_) deflateEnd(&zs_);
  }

  std::int64_t width() const { return width_; }
  std::int64_t height() const { return height_; }
  std::int64_t rows_written() const { return rows_; }

  // The next row, top to bottom: width * channels bytes, interleaved.
  void write_row(std::span<const std::uint8_t> row) {
    pixsyn::detail::check(!finished_, "PngRowWriter: '", path_.string(), "' is already finished");
    pixsyn::detail::check(rows_ < height_, "PngRowWriter: '", path_.string(), "': all ", height_,
                          " rows are written already");
    pixsyn::detail::check(row.size() == row_bytes_, "PngRowWriter: '", path_.string(), "': a row has ", row_bytes_,
                          " bytes (", width_, " pixels x ", channels_, " channels), got ", row.size());
    // Paeth: each byte minus the predictor of its left, upper and upper-left neighbours.
    filtered_[0] = 4;
    const std::size_t bpp = static_cast<std::size_t>(channels_);
    for (std::size_t i = 0; i < row_bytes_; ++i) {
      const int a = i >= bpp ? row[i - bpp] : 0, b = previous_[i], c = i >= bpp ? previous_[i - bpp] : 0;
      const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
      const int predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      filtered_[i + 1] = static_cast<unsigned char>(row[i] - predictor);
    }
    std::copy(row.begin(), row.end(), previous_.begin());
    deflate_some(filtered_.data(), filtered_.size(), Z_NO_FLUSH);
    ++rows_;
  }

  // Ends the image once every row is written: the last IDAT and IEND, then flushed and renamed over
  // the target.
  void finish() {
    pixsyn::detail::check(!finished_, "PngRowWriter: '", path_.string(), "' is already finished");
    pixsyn::detail::check(rows_ == height_, "PngRowWriter: '", path_.string(), "': ", rows_, " of ", height_,
                          " rows written; finish() needs them all");
    deflate_some(nullptr, 0, Z_FINISH);
    deflateEnd(&zs_);
    zlib_open_ = false;
    chunk("IEND", nullptr, 0);
    auto fail = [&](const char* step) {
      pixsyn::detail::fail("PngRowWriter: cannot ", step, " '", path_.string(), "' (via '", temp_->name(),
                           "'): ", detail::os_error(errno));
    };
    if (::fchmod(temp_->fd(), detail::replacement_mode(path_)) != 0) fail("set permissions of");
    if (::fsync(temp_->fd()) != 0) fail("flush");
    if (temp_->close() != 0) fail("close");
    temp_->rename_to(path_);
    detail::sync_directory(temp_->directory());
    finished_ = true;
  }

 private:
  static void store_u32(unsigned char* out, std::uint32_t v) {
    out[0] = static_cast<unsigned char>(v >> 24);
    out[1] = static_cast<unsigned char>(v >> 16);
    out[2] = static_cast<unsigned char>(v >> 8);
    out[3] = static_cast<unsigned char>(v);
  }

  void put(const unsigned char* data, std::size_t n) {
    if (!detail::write_all(temp_->fd(), std::as_bytes(std::span(data, n))))
      pixsyn::detail::fail("PngRowWriter: cannot write '", path_.string(), "' (via '", temp_->name(),
                           "'): ", detail::os_error(errno));
  }

  // A chunk: length, type, data, CRC-32 of type and data.
  void chunk(const char (&type)[5], const unsigned char* data, std::size_t n) {
    std::array<unsigned char, 8> head{};
    store_u32(head.data(), static_cast<std::uint32_t>(n));
    std::copy(type, type + 4, head.begin() + 4);
    uLong crc = crc32(0L, head.data() + 4, 4);
    if (n > 0) crc = crc32(crc, data, static_cast<uInt>(n));
    std::array<unsigned char, 4> tail{};
    store_u32(tail.data(), static_cast<std::uint32_t>(crc));
    put(head.data(), head.size());
    if (n > 0) put(data, n);
    put(tail.data(), tail.size());
  }

  // Compresses n bytes (or finishes the stream); every full output buffer becomes an IDAT chunk.
  void deflate_some(const unsigned char* data, std::size_t n, int flush) {
    zs_.next_in = const_cast<unsigned char*>(data);  // zlib's API is not const-correct; it does not write
    zs_.avail_in = static_cast<uInt>(n);
    for (;;) {
      zs_.next_out = out_.data() + used_;
      zs_.avail_out = static_cast<uInt>(out_.size() - used_);
      const int status = deflate(&zs_, flush);
      // Z_BUF_ERROR means no progress was possible: all input taken, with room to spare.
      const bool stuck = status == Z_BUF_ERROR && zs_.avail_in == 0 && zs_.avail_out > 0;
      pixsyn::detail::check(status == Z_OK || status == Z_STREAM_END || (stuck && flush == Z_NO_FLUSH),
                            "PngRowWriter: '", path_.string(), "': zlib failed (", status, ")");
      used_ = out_.size() - zs_.avail_out;
      if (used_ == out_.size() || (status == Z_STREAM_END && used_ > 0)) {
        chunk("IDAT", out_.data(), used_);
        used_ = 0;
      }
      if (status == Z_STREAM_END || (flush == Z_NO_FLUSH && zs_.avail_in == 0 && zs_.avail_out > 0)) return;
    }
  }

  std::filesystem::path path_;
  std::int64_t width_, height_;
  int channels_;
  std::size_t row_bytes_ = 0;
  std::vector<unsigned char> previous_, filtered_, out_;
  std::size_t used_ = 0;  // compressed bytes waiting in out_
  std::unique_ptr<detail::TempFile> temp_;
  z_stream zs_{};
  bool zlib_open_ = false;
  std::int64_t rows_ = 0;
  bool finished_ = false;
};

}  // namespace pixsyn::io
