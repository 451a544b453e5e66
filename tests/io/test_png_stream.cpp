#include <doctest/doctest.h>

#include <pixsyn/io/image.hpp>
#include <pixsyn/io/png_stream.hpp>

#include "support/errors.hpp"
#include "support/temp_files.hpp"

#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

// The files in `dir` (the written image and any temporary leftovers).
std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) out.push_back(entry.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("rows streamed to a PNG decode to the same pixels") {
  TempDir dir;
  std::mt19937 random(5);
  // Smooth gradients (which the filter and zlib shrink) plus noise, wide enough for several IDAT chunks.
  const std::int64_t width = 700, height = 90;
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width * height * 3));
  for (std::int64_t y = 0; y < height; ++y)
    for (std::int64_t x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        pixels[(y * width + x) * 3 + c] =
            static_cast<std::uint8_t>((x * (c + 1) + y * 3 + (x % 7 == 0 ? random() % 256 : 0)) & 255);
  io::PngRowWriter png(dir / "out.png", width, height);
  for (std::int64_t y = 0; y < height; ++y) {
    png.write_row({pixels.data() + y * width * 3, static_cast<std::size_t>(width * 3)});
    CHECK(!std::filesystem::exists(dir / "out.png"));  // nothing under the name before the end
  }
  png.finish();
  CHECK(files_in(dir.path()) == std::vector<std::string>{"out.png"});
  CHECK(std::filesystem::file_size(dir / "out.png") < pixels.size());
  const auto image = io::read_image(dir / "out.png");
  REQUIRE(image.shape() == Shape{3, height, width});
  std::int64_t differ = 0;
  for (std::int64_t y = 0; y < height; ++y)
    for (std::int64_t x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) differ += std::lround(image.at({c, y, x}) * 255) != pixels[(y * width + x) * 3 + c];
  CHECK(differ == 0);
}

TEST_CASE("grey and RGBA rows, one-pixel images") {
  TempDir dir;
  for (int channels : {1, 4}) {
    io::PngRowWriter png(dir / "c.png", 1, 2, channels);
    std::vector<std::uint8_t> row(static_cast<std::size_t>(channels), 200);
    png.write_row(row);
    row.assign(row.size(), 10);
    png.write_row(row);
    png.finish();
    const auto image = io::read_image(dir / "c.png");
    REQUIRE(image.shape() == Shape{3, 2, 1});
    CHECK(std::lround(image.at({0, 0, 0}) * 255) == 200);
    CHECK(std::lround(image.at({2, 1, 0}) * 255) == 10);
  }
}

TEST_CASE("an unfinished PNG leaves nothing behind and replaces nothing") {
  TempDir dir;
  write_bytes(dir / "old.png", "keep me");
  {
    io::PngRowWriter png(dir / "old.png", 4, 4);
    png.write_row(std::vector<std::uint8_t>(12, 1));
    CHECK_THROWS_WITH_AS(png.finish(), doctest::Contains("1 of 4 rows written"), Error);
  }
  CHECK(read_bytes(dir / "old.png") == "keep me");
  CHECK(files_in(dir.path()) == std::vector<std::string>{"old.png"});
}

TEST_CASE("bad PNG sizes, rows and paths are refused with the reason") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(io::PngRowWriter(dir / "a.png", 0, 4), doctest::Contains("0 x 4"), Error);
  CHECK_THROWS_WITH_AS(io::PngRowWriter(dir / "a.png", std::int64_t(1) << 31, 4), doctest::Contains("1 to"), Error);
  CHECK_THROWS_WITH_AS(io::PngRowWriter(dir / "a.png", 4, 4, 2), doctest::Contains("channels"), Error);
  CHECK_THROWS_WITH_AS(io::PngRowWriter(dir / "missing" / "a.png", 4, 4), doctest::Contains("missing"), Error);
  io::PngRowWriter png(dir / "a.png", 4, 1);
  CHECK_THROWS_WITH_AS(png.write_row(std::vector<std::uint8_t>(11)), doctest::Contains("got 11"), Error);
  png.write_row(std::vector<std::uint8_t>(12));
  CHECK_THROWS_WITH_AS(png.write_row(std::vector<std::uint8_t>(12)), doctest::Contains("already"), Error);
  png.finish();
  CHECK_THROWS_WITH_AS(png.finish(), doctest::Contains("already finished"), Error);
  CHECK(files_in(dir.path()) == std::vector<std::string>{"a.png"});
}
