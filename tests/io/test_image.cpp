#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <pixsyn/io/atomic_file.hpp>
#include <pixsyn/io/image.hpp>
#include "support/errors.hpp"
#include "support/temp_files.hpp"

using namespace pixsyn;
using pixsyn::test::TempDir;

namespace {

std::vector<std::string> directory_entries(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("write_png and read_image round-trip 8-bit values") {
  TempDir dir;
  // Values on the 1/255 grid come back exactly (up to float rounding).
  auto image = Tensor<float>::empty({3, 5, 7});
  for (std::int64_t i = 0; i < image.numel(); ++i) image.data()[i] = static_cast<float>((i * 37) % 256) / 255.0f;
  io::write_png(dir / "a.png", image);
  const auto back = io::read_image(dir / "a.png");
  REQUIRE(back.shape() == Shape{3, 5, 7});
  for (std::int64_t i = 0; i < image.numel(); ++i)
    CHECK(back.data()[i] == doctest::Approx(image.data()[i]).epsilon(1e-6));
}

TEST_CASE("write_png clamps and rounds, and grayscale comes back as RGB") {
  TempDir dir;
  const auto gray = Tensor<double>::from({-0.5, 0.0, 0.5, 1.0, 2.0, 0.2}, {1, 2, 3});
  io::write_png(dir / "g.png", gray);
  const auto back = io::read_image(dir / "g.png");
  REQUIRE(back.shape() == Shape{3, 2, 3});
  const std::vector<float> expected{0, 0, 128 / 255.0f, 1, 1, 51 / 255.0f};  // round(127.5) = 128
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t p = 0; p < 6; ++p) CHECK(back.data()[c * 6 + p] == doctest::Approx(expected[p]).epsilon(1e-6));
}

TEST_CASE("the bridge photo reads as a (3, 512, 512) image in [0, 1]") {
  const auto path = std::filesystem::path(PIXSYN_SHARED_DIR) / "data/photos/bridge.png";
  REQUIRE(std::filesystem::exists(path));
  const auto photo = io::read_image(path);
  CHECK(photo.shape() == Shape{3, 512, 512});
  const auto values = photo.to_vector();
  CHECK(*std::min_element(values.begin(), values.end()) >= 0.0f);
  CHECK(*std::max_element(values.begin(), values.end()) <= 1.0f);
  CHECK(*std::max_element(values.begin(), values.end()) > 0.5f);
}

TEST_CASE("atomic writes replace the target and leave no temporary files behind") {
  TempDir dir;
  io::write_png(dir / "x.png", Tensor<float>::zeros({3, 4, 4}));
  io::write_png(dir / "x.png", Tensor<float>::ones({3, 2, 2}));  // overwrite
  io::write_file_atomic(dir / "note.txt", std::string_view("hello"));
  CHECK(directory_entries(dir.path()) == std::vector<std::string>{"note.txt", "x.png"});
  CHECK(io::read_image(dir / "x.png").shape() == Shape{3, 2, 2});
  CHECK(io::read_file(dir / "note.txt").size() == 5);
  const auto mode = std::filesystem::status(dir / "note.txt").permissions();
  CHECK((mode & std::filesystem::perms::owner_read) != std::filesystem::perms::none);
  CHECK((mode & std::filesystem::perms::others_read) != std::filesystem::perms::none);

  // A failed write names the path and the OS error and leaves nothing behind.
  CHECK_THROWS_WITH_AS(io::write_file_atomic(dir / "missing_dir/y.txt", std::string_view("x")),
                       doctest::Contains("missing_dir/y.txt"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(io::write_file_atomic(dir / "missing_dir/y.txt", std::string_view("x")),
                       doctest::Contains("No such file or directory"), pixsyn::Error);
  std::filesystem::create_directory(dir / "sub");
  CHECK_THROWS_WITH_AS(io::write_file_atomic(dir / "sub", std::string_view("x")), doctest::Contains("cannot rename"),
                       pixsyn::Error);
  CHECK(directory_entries(dir.path()) == std::vector<std::string>{"note.txt", "sub", "x.png"});
  CHECK(std::filesystem::is_empty(dir / "sub"));
}

TEST_CASE("image errors name the file and the problem") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(io::read_image(dir / "none.png"), doctest::Contains("read_image: cannot read"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(io::read_image(dir / "none.png"), doctest::Contains("none.png"), pixsyn::Error);
  std::ofstream(dir / "junk.png") << "this is not an image";
  CHECK_THROWS_WITH_AS(io::read_image(dir / "junk.png"), doctest::Contains("cannot decode"), pixsyn::Error);
  for (const Shape& shape : {Shape{2, 4, 4}, Shape{4, 4}, Shape{1, 3, 4, 4}, Shape{3, 0, 4}}) {
    const std::string message = "expected an image of shape (3, H, W) or (1, H, W), got " + shape.to_string();
    CHECK_THROWS_WITH_AS(io::write_png(dir / "w.png", Tensor<float>(shape)), doctest::Contains(message.c_str()),
                         pixsyn::Error);
  }
  auto nan_image = Tensor<float>::zeros({1, 2, 2});
  nan_image.at({0, 1, 0}) = std::nanf("");
  CHECK_THROWS_WITH_AS(io::write_png(dir / "w.png", nan_image), doctest::Contains("NaN (channel 0, row 1, column 0)"),
                       pixsyn::Error);
  CHECK_FALSE(std::filesystem::exists(dir / "w.png"));
}

TEST_CASE("write_png refuses an image too large for the PNG encoder before reading it") {
  // (channels * width + 1) * height bytes: the pixels and a filter byte per row.
  CHECK(io::png_pixel_bytes(3, 2, 5) == 32);
  CHECK(io::png_pixel_bytes(1, 469762048, 1) == io::max_png_pixel_bytes);
  CHECK(io::png_pixel_bytes(3, UINT64_MAX, 2) == UINT64_MAX);
  CHECK(io::png_pixel_bytes(3, 2, UINT64_MAX / 3) == UINT64_MAX);
  CHECK(io::png_pixel_bytes(3, std::uint64_t{1} << 32, std::uint64_t{1} << 32) == UINT64_MAX);
  // 1.9 GB of floats, never touched: the size is refused first (2 bytes a row here, one over the limit).
  using pixsyn::test::error_of;
  TempDir dir;
  const auto tall = Tensor<float>::empty({1, 469762049, 1});
  CHECK(error_of([&] { io::write_png(dir / "tall.png", tall); }) ==
        "write_png: '" + (dir / "tall.png").string() +
            "': an image of shape (1, 469762049, 1) is 939524098 bytes of PNG pixel data, more than the 939524096 "
            "bytes the PNG encoder can take (its sizes are int)");
  CHECK(std::filesystem::is_empty(dir.path()));
}

namespace {

// The first bytes of a PNG (signature and IHDR chunk, CRC not checked by the decoder) that claims an
// 8-bit RGB image of width x height.
std::string png_header(std::uint32_t width, std::uint32_t height) {
  std::string bytes("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (const std::uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((v >> shift) & 0xff);
  return bytes + std::string("\x08\x02\0\0\0\0\0\0\0", 9);
}

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

}  // namespace

TEST_CASE("decode_image reads PNG and JPEG, and refuses other formats, truncation and huge sizes") {
  using pixsyn::test::contains;
  using pixsyn::test::error_of;
  TempDir dir;
  auto image = Tensor<float>::zeros({3, 6, 10});
  for (std::int64_t i = 0; i < image.numel(); ++i) image.data()[i] = static_cast<float>(i % 7) / 6.0f;
  io::write_png(dir / "a.png", image);
  const std::string png = pixsyn::test::read_bytes(dir / "a.png");
  CHECK(io::decode_image(as_bytes(png)).to_vector() == io::read_image(dir / "a.png").to_vector());

  // A JPEG written by stb: it decodes to the right size, close to the original.
  std::string jpeg;
  std::vector<unsigned char> pixels(6 * 10 * 3, 128);
  stbi_write_jpg_to_func(
      [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
      },
      &jpeg, 10, 6, 3, pixels.data(), 95);
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(png.substr(0, png.size() - 20)), "cut.png"); }),
                 "read_image: 'cut.png': cannot decode"));
#ifdef PIXSYN_WITH_LIBJPEG
  const auto decoded = io::decode_image(as_bytes(jpeg), "a.jpg");
  CHECK(decoded.shape() == Shape{3, 6, 10});
  CHECK(std::abs(decoded.at({1, 3, 4}) - 128.0f / 255.0f) < 0.02f);
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(jpeg), "a.jpg", {.max_pixels = 59}); }),
                 "the image is 10 x 6 pixels, more than the limit of 59"));
  // Truncated: libjpeg would fill the missing rows with grey and warn; a warning is an error here.
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(jpeg.substr(0, jpeg.size() - 40)), "cut.jpg"); }),
                 "read_image: 'cut.jpg': cannot decode: Premature end of JPEG file"));
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(jpeg.substr(0, 100)), "cut.jpg"); }), "cannot decode"));
  // A Huffman table of more than 256 codes made stb 2.27's decoder write past its tables.
  std::string bad_table = jpeg;
  const auto dht = bad_table.find("\xff\xc4");
  REQUIRE(dht != std::string::npos);
  for (std::size_t i = 0; i < 16; ++i) bad_table[dht + 5 + i] = '\xff';
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(bad_table), "dht.jpg"); }),
                 "read_image: 'dht.jpg': cannot decode: Bogus Huffman table definition"));
  // The fuzzer's findings against stb's JPEG decoder (out-of-bounds writes and reads): errors now.
  for (const char* name : {"regress-jpeg-huffman-257.jpg", "regress-jpeg-huffman-index.jpg"}) {
    INFO(name);
    const std::string bytes =
        pixsyn::test::read_bytes(std::filesystem::path(PIXSYN_SOURCE_DIR) / "tests/fuzz/corpus/image" / name);
    REQUIRE(!bytes.empty());
    CHECK(contains(error_of([&] { io::decode_image(as_bytes(bytes)); }), "cannot decode"));
  }
#else
  // Built without libjpeg (-DCMAKE_DISABLE_FIND_PACKAGE_JPEG=ON, or a machine without libjpeg-dev).
  std::ofstream(dir / "a.jpg", std::ios::binary) << jpeg;
  CHECK(error_of([&] { io::read_image(dir / "a.jpg"); }) ==
        "read_image: '" + (dir / "a.jpg").string() +
            "': cannot decode: a JPEG, and this pixsyn was built without JPEG support (libjpeg: apt-get install "
            "libjpeg-dev and configure again)");
#endif
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(std::string("BM\x36\0\0\0", 6)), "a.bmp"); }),
                 "not a PNG or JPEG file"));
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(png), "a.png", {.max_pixels = 59}); }),
                 "the image is 10 x 6 pixels, more than the limit of 59 (ImageLimits::max_pixels)"));
  // Huge sizes claimed by a few bytes are refused before the decoder allocates anything.
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(png_header(16384, 16385))); }),
                 "the image is 16384 x 16385 pixels, more than the limit of 268435456"));
  // Beyond the decoder's own limits, also without ours.
  CHECK(contains(error_of([&] {
                   io::decode_image(as_bytes(png_header(1 << 24, 1 << 24)), "bomb.png",
                                    {.max_pixels = std::numeric_limits<std::int64_t>::max()});
                 }),
                 "read_image: 'bomb.png': cannot decode"));
  // Found by the fuzzer: 190 bytes whose IDAT chunk claims 2 GB made stb allocate 2 GB.
  std::string huge_chunk = png.substr(0, 33) + std::string("\x7f\xff\xff\xffIDAT", 8) + std::string(20, 'x');
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(huge_chunk), "idat.png"); }),
                 "read_image: 'idat.png': cannot decode: truncated PNG (its chunk 'IDAT' at byte 33 claims 2147483647 "
                 "bytes, past the end of the 61-byte file)"));
  CHECK(contains(error_of([&] { io::decode_image(as_bytes(png.substr(0, png.size() - 12)), "no_end.png"); }),
                 "truncated PNG (it ends at byte"));
  // Found by the fuzzer: an empty first IDAT chunk, which is valid (stb copies 0 bytes to a null
  // pointer for it, see CMakeLists.txt), and a critical chunk with a binary name, which stb puts in
  // its message (escaped here).
  const std::string empty_idat = png.substr(0, 33) + std::string("\0\0\0\0IDAT\0\0\0\0", 12) + png.substr(33);
  CHECK(io::decode_image(as_bytes(empty_idat)).to_vector() == io::decode_image(as_bytes(png)).to_vector());
  const std::string odd_chunk = png.substr(0, 33) +
                                std::string(
                                    "\0\0\0\0\x01\x1b"
                                    "AT\0\0\0\0",
                                    12) +
                                png.substr(33);
  const auto chunk_error = error_of([&] { io::decode_image(as_bytes(odd_chunk)); });
  CHECK(contains(chunk_error, "cannot decode: \\x01\\x1bAT PNG chunk not known"));
}

TEST_CASE("resize_bilinear interpolates when enlarging and averages areas when shrinking") {
  SUBCASE("identity size is a copy") {
    Philox gen{1};
    const auto x = Tensor<double>::rand({2, 3, 5, 4}, gen);
    CHECK(io::resize_bilinear(x, 5, 4).to_vector() == x.to_vector());
  }
  SUBCASE("enlarging a row 2 -> 4 matches half-pixel bilinear with clamped edges") {
    const auto x = Tensor<double>::from({0, 1}, {1, 1, 2});
    const auto y = io::resize_bilinear(x, 1, 4);
    // Output centres at input positions -0.25, 0.25, 0.75, 1.25 (pixel units, minus 0.5).
    const std::vector<double> expected{0, 0.25, 0.75, 1};
    for (int i = 0; i < 4; ++i) CHECK(y.data()[i] == doctest::Approx(expected[i]));
  }
  SUBCASE("enlarging against a naive bilinear in double") {
    Philox gen{2};
    const auto x = Tensor<double>::rand({1, 3, 4}, gen);
    const auto y = io::resize_bilinear(x, 7, 9);
    REQUIRE(y.shape() == Shape{1, 7, 9});
    auto sample = [&](double sy, double sx) {
      auto clampi = [](double v, std::int64_t n) { return std::clamp<double>(v, 0, static_cast<double>(n - 1)); };
      sy = clampi(sy, 3);
      sx = clampi(sx, 4);
      const auto y0 = static_cast<std::int64_t>(std::floor(sy)), x0 = static_cast<std::int64_t>(std::floor(sx));
      const auto y1 = std::min<std::int64_t>(y0 + 1, 2), x1 = std::min<std::int64_t>(x0 + 1, 3);
      const double fy = sy - y0, fx = sx - x0;
      return (1 - fy) * ((1 - fx) * x.at({0, y0, x0}) + fx * x.at({0, y0, x1})) +
             fy * ((1 - fx) * x.at({0, y1, x0}) + fx * x.at({0, y1, x1}));
    };
    for (std::int64_t i = 0; i < 7; ++i)
      for (std::int64_t j = 0; j < 9; ++j)
        CHECK(y.at({0, i, j}) == doctest::Approx(sample((i + 0.5) * 3 / 7 - 0.5, (j + 0.5) * 4 / 9 - 0.5)));
  }
  SUBCASE("shrinking keeps ramps and constants and sees every pixel") {
    // Away from the edges the symmetric filter reproduces a linear ramp at the output pixel centres.
    auto ramp = Tensor<double>::empty({1, 1, 8});
    for (std::int64_t j = 0; j < 8; ++j) ramp.at({0, 0, j}) = static_cast<double>(j);
    const auto shrunk = io::resize_bilinear(ramp, 1, 4);
    CHECK(shrunk.at({0, 0, 1}) == doctest::Approx(2.5));
    CHECK(shrunk.at({0, 0, 2}) == doctest::Approx(4.5));
    // A one-pixel impulse inside the image still shows up after shrinking (no aliasing by skipping).
    auto impulse = Tensor<double>::zeros({1, 8, 8});
    impulse.at({0, 3, 3}) = 1;
    const auto small = io::resize_bilinear(impulse, 2, 2).to_vector();
    CHECK(small[0] > 0.02);  // triangle weights 0.625/3.5 along each axis
    const auto constant = io::resize_bilinear(Tensor<float>::full({1, 9, 13}, 0.25f), 3, 5).to_vector();
    for (float v : constant) CHECK(v == doctest::Approx(0.25f));
  }
  SUBCASE("bad sizes") {
    CHECK_THROWS_WITH_AS(io::resize_bilinear(Tensor<float>::zeros({3, 4, 4}), 0, 2), doctest::Contains("0x2"),
                         pixsyn::Error);
    CHECK_THROWS_WITH_AS(io::resize_bilinear(Tensor<float>::zeros({4}), 2, 2), doctest::Contains("(4,)"),
                         pixsyn::Error);
  }
}

TEST_CASE("image_grid tiles a batch row by row") {
  // Five 1x1x2 images b holding (b, b + 10).
  auto batch = Tensor<float>::empty({5, 1, 1, 2});
  for (int b = 0; b < 5; ++b) {
    batch.at({b, 0, 0, 0}) = static_cast<float>(b);
    batch.at({b, 0, 0, 1}) = static_cast<float>(b + 10);
  }
  const auto grid = io::image_grid(batch, 2);
  REQUIRE(grid.shape() == Shape{1, 3, 4});
  CHECK(grid.to_vector() == std::vector<float>{0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 0, 0});
  const auto automatic = io::image_grid(batch);  // ceil(sqrt(5)) = 3 columns
  CHECK(automatic.shape() == Shape{1, 2, 6});
  const auto mapped = io::image_grid(Tensor<float>::from({-1, 0, 1}, {1, 3, 1, 1}), 0, io::ImageRange::signed_unit);
  CHECK(mapped.to_vector() == std::vector<float>{0, 0.5f, 1});
  CHECK_THROWS_WITH_AS(io::image_grid(Tensor<float>::zeros({3, 4, 4})),
                       doctest::Contains("(B, C, H, W), got (3, 4, 4)"), pixsyn::Error);
  CHECK_THROWS_AS(io::image_grid(batch, -1), pixsyn::Error);
}
