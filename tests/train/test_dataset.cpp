#include <doctest/doctest.h>

#include <pixsyn/io/idx.hpp>
#include <pixsyn/train/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "support/errors.hpp"
#include "support/temp_files.hpp"

using namespace pixsyn;

namespace {

// A (3, h, w) image of one gray level, with a brighter left column so that flips are visible.
Tensor<float> marked_image(std::int64_t h, std::int64_t w, float level) {
  auto image = Tensor<float>::full({3, h, w}, level);
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t y = 0; y < h; ++y) image.data()[(c * h + y) * w] = 1.0f;
  return image;
}

// A gzip file (RFC 1952) holding `data` in stored (uncompressed) deflate blocks, with its CRC-32.
std::string gzip_stored(const std::vector<std::uint8_t>& data) {
  std::string out = {'\x1f', '\x8b', '\x08', '\0', '\0', '\0', '\0', '\0', '\0', '\xff'};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, data.size() - pos);
    const bool last = pos + n == data.size();
    out += char(last ? 1 : 0);
    out += char(n & 0xFF), out += char(n >> 8), out += char(~n & 0xFF), out += char((~n >> 8) & 0xFF);
    out.append(reinterpret_cast<const char*>(data.data() + pos), n);
    pos += n;
  } while (pos < data.size());
  auto put32 = [&](std::uint32_t v) {
    for (int k = 0; k < 4; ++k) out += char((v >> (8 * k)) & 0xFF);
  };
  put32(io::detail::crc32(data.data(), data.size()));
  put32(static_cast<std::uint32_t>(data.size()));
  return out;
}

// IDX bytes of n images h x w whose pixel values are image index * 10 + row.
std::vector<std::uint8_t> idx_bytes(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> out{0, 0, 8, 3};
  for (std::uint32_t d : {n, h, w})
    for (int k = 3; k >= 0; --k) out.push_back(std::uint8_t((d >> (8 * k)) & 0xFF));
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t y = 0; y < h; ++y)
      for (std::uint32_t x = 0; x < w; ++x) out.push_back(std::uint8_t(i * 10 + y));
  return out;
}

}  // namespace

TEST_CASE("a folder of images: recursive, unreadable files skipped, every image once per epoch") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "sub");
  io::write_png(dir / "a.png", marked_image(8, 12, 0.2f));
  io::write_png(dir / "sub/b.PNG", marked_image(8, 8, 0.4f));
  io::write_png(dir / "c.png", marked_image(10, 8, 0.6f));
  test::write_bytes(dir / "broken.jpg", "not a jpeg");
  test::write_bytes(dir / "notes.txt", "ignored");
  const auto data = train::Dataset::folder(dir.path(), {.size = 8, .x_flip = false});
  CHECK(data.size() == 3);
  CHECK(data.skipped() == 1);

  // One epoch at batch 3: the three gray levels once each (centre crops keep the left mark out of the
  // wide image, whose crop starts at column 2).
  const auto batch = data.batch(0, 3, 7);
  REQUIRE(batch.shape() == Shape{3, 3, 8, 8});
  std::set<int> levels;
  for (std::int64_t j = 0; j < 3; ++j)
    levels.insert(int(std::lround((batch.data()[j * 192 + 8 * 4 + 5] + 1) / 2 * 10)));
  CHECK(levels == std::set<int>{2, 4, 6});
  // The same step and seed give the same batch; another seed another order.
  CHECK(data.batch(5, 2, 7).to_vector() == data.batch(5, 2, 7).to_vector());
  bool differs = false;
  for (int step = 0; step < 4 && !differs; ++step)
    differs = data.batch(step, 3, 7).to_vector() != data.batch(step, 3, 8).to_vector();
  CHECK(differs);
}

TEST_CASE("centre and random crops, flips") {
  test::TempDir dir;
  io::write_png(dir / "wide.png", marked_image(8, 16, 0.5f));
  const auto centre = train::Dataset::folder(dir.path(), {.size = 8, .x_flip = false}).batch(0, 1, 1);
  for (std::int64_t x = 0; x < 8; ++x) CHECK(centre.data()[x] == doctest::Approx(0.0f).epsilon(0.01));  // no mark

  const auto random = train::Dataset::folder(dir.path(), {.size = 8, .crop = train::Crop::random, .x_flip = false});
  const auto flips = train::Dataset::folder(dir.path(), {.size = 8, .crop = train::Crop::random});
  int marked_left = 0, marked_right = 0;
  for (int step = 0; step < 64; ++step) {
    const auto image = random.batch(step, 1, 3);
    marked_left += image.data()[0] > 0.9f;
    const auto flipped = flips.batch(step, 1, 3);
    marked_right += flipped.data()[7] > 0.9f;
  }
  // The mark is in the crop when it starts at column 0: 1 of 9 offsets; flipped, it shows at the right.
  CHECK(marked_left > 0);
  CHECK(marked_left < 32);
  CHECK(marked_right > 0);
}

TEST_CASE("images are resized so that the shorter side is the load size") {
  test::TempDir dir;
  io::write_png(dir / "big.png", Tensor<float>::full({3, 32, 48}, 0.25f));
  const auto data = train::Dataset::folder(dir.path(), {.size = 8, .load_size = 16, .crop = train::Crop::random});
  const auto batch = data.batch(0, 2, 0);
  for (float v : batch.to_vector()) CHECK(v == doctest::Approx(-0.5f).epsilon(1e-2));
}

TEST_CASE("dataset errors: missing, empty and unreadable folders, bad sizes") {
  test::TempDir dir;
  CHECK(test::contains(test::error_of([&] { train::Dataset::folder(dir / "missing", {.size = 8}); }),
                       "does not exist or is not a folder"));
  CHECK(test::contains(test::error_of([&] { train::Dataset::folder(dir.path(), {.size = 8}); }),
                       "holds no .png, .jpg or .jpeg file"));
  test::write_bytes(dir / "x.png", "garbage");
  CHECK(test::contains(test::error_of([&] { train::Dataset::folder(dir.path(), {.size = 8}); }),
                       "holds no readable image (all 1 skipped)"));
  io::write_png(dir / "y.png", Tensor<float>::zeros({3, 8, 8}));
  CHECK(test::contains(test::error_of([&] { train::Dataset::folder(dir.path(), {.size = 2}); }),
                       "training size 2 is not in [4, 4096]"));
}

TEST_CASE("IDX files, plain and gzip'd, with their integrity checked") {
  test::TempDir dir;
  const auto bytes = idx_bytes(5, 4, 6);
  test::write_bytes(dir / "plain.idx", std::string(bytes.begin(), bytes.end()));
  test::write_bytes(dir / "images.idx.gz", gzip_stored(bytes));
  for (const char* name : {"plain.idx", "images.idx.gz"}) {
    CAPTURE(name);
    const auto array = io::read_idx(dir / name);
    CHECK(array.shape == std::vector<std::int64_t>{5, 4, 6});
    CHECK(array.values[3 * 24 + 2 * 6 + 1] == 32);
  }
  auto corrupt = gzip_stored(bytes);
  corrupt[20] = char(corrupt[20] ^ 1);
  test::write_bytes(dir / "corrupt.gz", corrupt);
  CHECK(test::contains(test::error_of([&] { io::read_idx(dir / "corrupt.gz"); }), "CRC-32 mismatch"));
  const auto whole = gzip_stored(bytes);
  test::write_bytes(dir / "short.gz", whole.substr(0, whole.size() / 2));
  CHECK(!test::error_of([&] { io::read_idx(dir / "short.gz"); }).empty());
  auto wrong = bytes;
  wrong.pop_back();
  test::write_bytes(dir / "wrong.idx", std::string(wrong.begin(), wrong.end()));
  CHECK(test::contains(test::error_of([&] { io::read_idx(dir / "wrong.idx"); }), "its shape needs 120"));

  // As training data: 4 x 6 images resized to a shorter side of 4, centre-cropped to 4 x 4, gray to RGB.
  const auto data = train::Dataset::idx(dir / "images.idx.gz", {.size = 4, .x_flip = false});
  CHECK(data.size() == 5);
  const auto batch = data.batch(0, 5, 2);
  REQUIRE(batch.shape() == Shape{5, 3, 4, 4});
  std::set<int> images;
  for (std::int64_t j = 0; j < 5; ++j) {
    CHECK(batch.data()[j * 48] == batch.data()[j * 48 + 16]);  // R = G
    images.insert(int(std::lround(((batch.data()[j * 48] + 1) / 2 * 255) / 10)));
  }
  CHECK(images == std::set<int>{0, 1, 2, 3, 4});
}

TEST_CASE("Fashion-MNIST from the Debian package, when installed") {
  const std::filesystem::path path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(path)) {
    MESSAGE("dataset-fashion-mnist is not installed; skipped");
    return;
  }
  const auto array = io::read_idx(path);
  CHECK(array.shape == std::vector<std::int64_t>{10000, 28, 28});
  const auto data = train::Dataset::idx(path, {.size = 32, .limit = 300});
  CHECK(data.size() == 300);
  const auto batch = data.batch(0, 4, 0);
  CHECK(batch.shape() == Shape{4, 3, 32, 32});
  const auto values = batch.to_vector();
  CHECK(*std::min_element(values.begin(), values.end()) >= -1.0f);
  CHECK(*std::max_element(values.begin(), values.end()) <= 1.0f);
  CHECK(*std::max_element(values.begin(), values.end()) > 0.0f);  // clothes on a black background
}
