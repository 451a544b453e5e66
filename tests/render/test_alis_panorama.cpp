#include <doctest/doctest.h>

#include <pixsyn/dist/in_process.hpp>
#include <pixsyn/io/image.hpp>
#include <pixsyn/render/alis_panorama.hpp>
#include <pixsyn/render/split.hpp>

#include "support/errors.hpp"
#include "support/temp_files.hpp"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <vector>

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

// A small model: 16x16 frames, g = 2, D = 4 (strips of 4 frames, anchors 2 frames apart).
constexpr alis::Config small{.size = 16, .z_dim = 8, .w_dim = 8, .channel_base = 64, .channel_max = 8};
using Small = alis::Generator<small>;

std::vector<std::vector<float>> all_frames(const render::AlisPanorama<Small>& pano) {
  std::vector<std::vector<float>> out;
  for (const auto& [index, image] : pano) {
    CHECK(index == static_cast<std::int64_t>(out.size()));
    out.push_back(image.to_vector());
  }
  return out;
}

}  // namespace

TEST_CASE("anchor latents are the rows of one seeded stream") {
  const render::AnchorLatents anchors{.seed = 9, .resampled = {{2, 40}}};
  const auto rows = Tensor<float>::randn({4, 7}, Philox{9});
  const auto other = Tensor<float>::randn({4, 7}, Philox{40});
  for (std::int64_t i = 0; i < 4; ++i) {
    const auto& source = i == 2 ? other : rows;
    CHECK(anchors.z<float>(i, 7).to_vector() == std::vector<float>(source.data() + i * 7, source.data() + (i + 1) * 7));
  }
}

TEST_CASE("on the CPU an AlisFrameRenderer is plain synthesis") {
  Small g(1);
  render::AlisFrameRenderer render(g);
  const auto w = g.map(Tensor<float>::randn({2, 3, 8}, Philox{3}));
  for (int call = 0; call < 3; ++call) {
    const alis::SynthesisOptions<float> options{.noise = alis::NoiseMode::seeded, .seed = 2, .strip = call};
    CHECK(render(w, {call, 2}, options).to_vector() == g.synthesize(w, {call, 2}, options).to_vector());
    CHECK(render.last_path() == render::AlisFrameRenderer<Small>::Path::plain);
  }
}

TEST_CASE("panorama frames are the frames of their strip's anchors") {
  Small g(1);
  const render::AlisPanorama<Small> pano(g, 9, {.seed = 4}, {.truncation = 0.7});
  CHECK(pano.anchors() == 7);  // 3 strips of 4 frames
  CHECK(pano.width() == 9 * 16);
  for (std::int64_t f : {0, 3, 4, 6, 8}) {
    const std::int64_t strip = f / 4;
    auto z = Tensor<float>::empty({1, 3, 8});
    for (int a = 0; a < 3; ++a) {
      const auto za = render::AnchorLatents{.seed = 4}.z<float>(2 * strip + a, 8);
      std::copy(za.data(), za.data() + 8, z.data() + a * 8);
    }
    CHECK(pano.frame(f).to_vector() == g.generate(z, {(f % 4) * 2}, 0.7).to_vector());
  }
}

TEST_CASE("resampling an anchor redraws exactly the two intervals beside it") {
  Small g(2);
  for (const auto noise : {alis::NoiseMode::off, alis::NoiseMode::seeded}) {
    render::AlisPanorama<Small> pano(g, 10, {.seed = 5}, {.noise = noise, .noise_seed = 8});
    const auto before = all_frames(pano);
    for (std::int64_t anchor : {0, 3, 4, 6}) {
      INFO("anchor " << anchor);
      auto changed = render::AlisPanorama<Small>(g, 10, pano.anchor_latents(), {.noise = noise, .noise_seed = 8});
      const auto [first, last] = changed.resample(anchor, 77);
      CHECK(first == std::max<std::int64_t>(0, (anchor - 1) * 2));
      CHECK(last == std::min<std::int64_t>(10, (anchor + 1) * 2));
      const auto after = all_frames(changed);
      for (std::int64_t f = 0; f < 10; ++f) {
        INFO("frame " << f);
        if (f >= first && f < last)
          CHECK(after[f] != before[f]);
        else
          CHECK(after[f] == before[f]);
      }
    }
  }
}

TEST_CASE("a panorama PNG holds the frames side by side, or wrapped into lines") {
  TempDir dir;
  Small g(3);
  const render::AlisPanorama<Small> pano(g, 5, {.seed = 6});
  std::vector<std::int64_t> progress;
  render::write_panorama_png(pano, dir / "strip.png", {.progress = [&](std::int64_t n) { progress.push_back(n); }});
  CHECK(progress == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  render::write_panorama_png(pano, dir / "wrapped.png", {.line_frames = 2});
  const auto strip = io::read_image(dir / "strip.png"), wrapped = io::read_image(dir / "wrapped.png");
  REQUIRE(strip.shape() == Shape{3, 16, 80});
  REQUIRE(wrapped.shape() == Shape{3, 48, 32});
  std::int64_t differ = 0;
  for (const auto& [f, image] : pano)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) {
          const float v = image.at({0, c, y, x});
          const long want = std::lround(std::clamp(v * 0.5f + 0.5f, 0.0f, 1.0f) * 255);
          differ += std::lround(strip.at({c, y, f * 16 + x}) * 255) != want;
          differ += std::lround(wrapped.at({c, f / 2 * 16 + y, f % 2 * 16 + x}) * 255) != want;
        }
  CHECK(differ == 0);
  // The short last line ends in black.
  CHECK(wrapped.at({0, 40, 20}) == 0.0f);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"strip.png", "wrapped.png"});  // no scratch file left
}

TEST_CASE("a panorama split over ranks streams the bytes one process writes") {
  TempDir dir;
  const Small reference(3);
  render::write_panorama_png(render::AlisPanorama<Small>(reference, 7, {.seed = 6}), dir / "one.png",
                             {.line_frames = 3});
  // 3 ranks, each with its own generator (the same seed): frame f is rendered by rank f mod 3 alone and
  // reaches rank 0's writer in order, which pulls one frame at a time.
  std::vector<std::vector<std::int64_t>> rendered(3);
  std::vector<std::int64_t> progress;
  dist::run_ranks(3, [&](dist::Communicator& comm) {
    const Small g(3);
    const render::AlisPanorama<Small> pano(g, 7, {.seed = 6});
    render::UnitGather frames(
        &comm, 7,
        [&](std::int64_t f) {
          rendered[static_cast<std::size_t>(comm.rank())].push_back(f);
          return pano.frame(f);
        },
        [](std::int64_t) {
          return Shape{1, 3, 16, 16};
        });
    if (!frames.gathers()) return frames.serve();
    render::write_frames_png<float>(7, 16, [&](std::int64_t) { return frames.next(); }, dir / "split.png",
                                    {.line_frames = 3, .progress = [&](std::int64_t n) { progress.push_back(n); }});
  });
  CHECK(rendered == std::vector<std::vector<std::int64_t>>{{0, 3, 6}, {1, 4}, {2, 5}});
  CHECK(progress == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7});
  CHECK(read_bytes(dir / "split.png") == read_bytes(dir / "one.png"));
  // A source that hands over a frame of another size is refused, naming the frame; nothing is left behind.
  CHECK(contains(error_of([&] {
                   render::write_frames_png<float>(
                       2, 16,
                       [](std::int64_t f) {
                         return Tensor<float>::zeros({1, 3, 16, f ? 8 : 16});
                       },
                       dir / "bad.png");
                 }),
                 "frame 1 has shape"));
  CHECK(!std::filesystem::exists(dir / "bad.png"));
}

TEST_CASE("bad panoramas are refused with the reason") {
  TempDir dir;
  Small g(4);
  CHECK(contains(error_of([&] { render::AlisPanorama<Small>(g, 0); }), "at least 1, got 0"));
  CHECK(contains(error_of([&] {
                   render::AlisPanorama<Small>(g, 4, {.resampled = {{3, 1}}});
                 }),
                 "anchor 3 is outside 0 .. 2"));
  CHECK(contains(error_of([&] { render::AlisPanorama<Small>(g, 4, {}, {.noise = alis::NoiseMode::given}); }),
                 "given noise"));
  render::AlisPanorama<Small> pano(g, 4);
  CHECK(contains(error_of([&] { pano.frame(4); }), "frame 4 is outside 0 .. 3"));
  CHECK(contains(error_of([&] { pano.resample(-1, 0); }), "anchor -1"));
  CHECK(contains(error_of([&] { render::write_panorama_png(pano, dir / "missing" / "p.png"); }), "missing"));
  CHECK(!std::filesystem::exists(dir / "missing"));
  g.synthesis.max_shift_strength.data()[0] = 0;
  CHECK(contains(error_of([&] { render::AlisPanorama<Small>(g, 4); }), "max_shift_strength is 0"));
}
