// Recorded ALIS forwards on the GPU: backend::cuda::StreamGraph (replays with the inputs of the moment, refuses
// work that cannot be recorded without running it) and render::AlisFrameRenderer, whose replayed frames equal the
// plain g.synthesize bit for bit for calls with other anchors, left borders and strips (fp32 and bf16
// convolutions; noise off, seeded and constant), and which starts over when the kind of call changes; panoramas
// rendered through it equal plain calls frame for frame across strips.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pixsyn/backend/cuda/conv.hpp"
#include "pixsyn/backend/cuda/graph.hpp"
#include "pixsyn/models/alis.hpp"
#include "pixsyn/render/alis_frame_renderer.hpp"
#include "pixsyn/render/alis_panorama.hpp"
#include "support/alis_fixtures.hpp"
#include "support/cuda.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;
using backend::cuda::Precision;

using Gpu = alis::Generator<alis_official32, float, Cuda>;
using Renderer = render::AlisFrameRenderer<Gpu>;
using Path = Renderer::Path;

const char* name_of(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }
const char* name_of(alis::NoiseMode m) {
  return m == alis::NoiseMode::off ? "off" : m == alis::NoiseMode::seeded ? "seeded" : "constant";
}

// A GPU generator with the weights of the CPU one of `seed`.
void load(Gpu& gpu, std::uint64_t seed) {
  gpu.load_state_dict(alis::weights_on<Cuda>(alis::Generator<alis_official32>(seed)));
}

// Anchors of `batch` samples from Philox{seed}, mapped on the GPU.
Tensor<float, Cuda> anchors(const Gpu& gpu, std::int64_t batch, std::uint64_t seed) {
  return gpu.map(to_device(Tensor<float>::randn({batch, 3, alis_official32.z_dim}, Philox{seed})));
}

// Different left borders for every call and sample.
std::vector<std::int64_t> borders(std::int64_t batch, int call) {
  std::vector<std::int64_t> delta(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) delta[b] = (3 * call + 5 * b + 1) % (alis_official32.max_delta() + 1);
  return delta;
}

}  // namespace

TEST_CASE("a StreamGraph replays recorded work with the inputs of the moment; unrecordable work is refused, unrun") {
  const auto x = to_device(Tensor<float>::from({1, 2, 3}, Shape{3}));
  auto y = to_device(Tensor<float>::zeros({3}));
  backend::cuda::StreamGraph graph;
  CHECK(graph.empty());
  REQUIRE(graph.capture([&] {
    const auto t = add(x, x);  // allocated and freed inside the recording
    backend::cuda::copy_on_device(y.data(), t.data(), 3 * sizeof(float));
  }));
  CHECK(!graph.empty());
  CHECK(to_host(y).to_vector() == std::vector<float>{0, 0, 0});  // recording runs nothing
  graph.replay();
  CHECK(to_host(y).to_vector() == std::vector<float>{2, 4, 6});
  const std::vector<float> next = {5, 6, 7};
  backend::cuda::copy_to_device(x.data(), next.data(), 3 * sizeof(float));
  graph.replay();
  CHECK(to_host(y).to_vector() == std::vector<float>{10, 12, 14});

  // Waiting for the GPU or copying to the host cannot be recorded: refused, the graph dropped, the stream usable.
  CHECK(!graph.capture([&] { backend::cuda::synchronize(); }));
  CHECK(graph.empty());
  CHECK(!graph.capture([&] { (void)to_host(x); }));
  CHECK(graph.empty());
  CHECK(to_host(add(x, x)).to_vector() == std::vector<float>{10, 12, 14});
  // The recorded work's own errors are thrown.
  CHECK_THROWS_WITH_AS(graph.capture([] { throw Error("a problem of the work"); }), "a problem of the work", Error);
  CHECK(graph.empty());
  CHECK(to_host(add(x, y)).to_vector() == std::vector<float>{15, 18, 21});
  CHECK_THROWS_WITH_AS(graph.replay(), doctest::Contains("empty graph"), Error);
}

TEST_CASE("AlisFrameRenderer's replayed frames equal plain synthesis bit for bit, call after call") {
  Gpu gpu;
  load(gpu, 4);
  for (const Precision precision : {Precision::fp32, Precision::bf16})
    for (const alis::NoiseMode noise : {alis::NoiseMode::off, alis::NoiseMode::seeded, alis::NoiseMode::constant})
      for (const std::int64_t batch : {1, 3}) {
        INFO(name_of(precision) << ", noise " << name_of(noise) << ", batch " << batch);
        const backend::cuda::ConvPrecisionScope scope(precision);
        Renderer render(gpu);
        std::vector<float> previous;
        for (int call = 0; call < 5; ++call) {
          CAPTURE(call);
          // New anchors, left borders and strip every call: the replay reads them from the renderer's buffers.
          const auto w = anchors(gpu, batch, 100 + call);
          const alis::SynthesisOptions<float> options{.noise = noise, .seed = 9, .strip = call};
          Poisoned poisoned;
          const auto got = to_host(render(w, borders(batch, call), options)).to_vector();
          CHECK(render.last_path() == (call == 0 ? Path::plain : call == 1 ? Path::recorded : Path::replayed));
          CHECK(got == to_host(gpu.synthesize(w, borders(batch, call), options)).to_vector());
          CHECK(got != previous);
          previous = got;
        }
      }
}

TEST_CASE("AlisFrameRenderer starts over when the kind of call changes: noise, precision, batch, w, new weights") {
  Gpu gpu;
  load(gpu, 4);
  Renderer render(gpu);
  int call = 0;
  // Renders call after call with `w` and `options`, and checks the paths taken and the frames.
  const auto check = [&](const Tensor<float, Cuda>& w, const alis::SynthesisOptions<float>& options,
                         const std::vector<Path>& paths) {
    for (const Path path : paths) {
      CAPTURE(++call);
      const auto delta = borders(w.dim(0), call);
      const auto got = to_host(render(w, delta, options)).to_vector();
      CHECK(render.last_path() == path);
      CHECK(got == to_host(gpu.synthesize(w, delta, options)).to_vector());
    }
  };
  const auto w1 = anchors(gpu, 1, 1), w2 = anchors(gpu, 2, 2);
  const alis::SynthesisOptions<float> seeded{.noise = alis::NoiseMode::seeded, .seed = 1, .strip = 2};
  check(w1, seeded, {Path::plain, Path::recorded, Path::replayed});
  check(w1, {.noise = alis::NoiseMode::seeded, .seed = 2}, {Path::plain, Path::recorded, Path::replayed});
  check(w1, seeded, {Path::plain, Path::recorded});  // one recording at a time
  {
    const backend::cuda::ConvPrecisionScope scope(Precision::bf16);
    check(w1, seeded, {Path::plain, Path::recorded, Path::replayed});
  }
  check(w2, seeded, {Path::plain, Path::recorded, Path::replayed});
  // Anchors per style row (B, 3, num_ws, w_dim).
  const auto per_row = reshape(broadcast_to(reshape(w2, Shape{2, 3, 1, alis_official32.w_dim}),
                                            Shape{2, 3, Gpu::num_ws, alis_official32.w_dim}),
                               Shape{2, 3, Gpu::num_ws, alis_official32.w_dim})
                           .clone();
  check(per_row, seeded, {Path::plain, Path::recorded, Path::replayed});
  // New weights live at new addresses: the recording of the old ones is never replayed.
  load(gpu, 5);
  check(per_row, seeded, {Path::plain, Path::recorded, Path::replayed});
  render.reset();
  check(per_row, seeded, {Path::plain, Path::recorded});
  // Given noise maps, and a renderer without graphs, always run plainly.
  std::vector<Tensor<float>> maps;
  for (const auto& [name, value] : gpu.named_buffers())
    if (name.find("noise_const") != std::string::npos) maps.push_back(to_host(*value));
  std::vector<Tensor<float>> given;
  for (const auto& m : maps) given.push_back(reshape(m, Shape{1, 1, m.dim(0), m.dim(1)}).clone());
  check(w1, {.noise = alis::NoiseMode::given, .maps = given}, {Path::plain, Path::plain, Path::plain});
  Renderer plain(gpu, false);
  for (int i = 0; i < 3; ++i) {
    const auto got = to_host(plain(w1, {1}, seeded)).to_vector();
    CHECK(plain.last_path() == Path::plain);
    CHECK(got == to_host(gpu.synthesize(w1, {1}, seeded)).to_vector());
  }
  // Bad input is refused on the recorded path as on the plain one.
  CHECK_THROWS_WITH_AS(render(per_row, {alis_official32.max_delta() + 1, 0}, seeded),
                       doctest::Contains("is outside 0 .. "), Error);
  CHECK_THROWS_WITH_AS(render(per_row, {0, 0}, {.noise = alis::NoiseMode::seeded, .seed = 1, .strip = -1}),
                       doctest::Contains("strip index -1 is negative"), Error);
}

TEST_CASE("an ALIS panorama on the GPU renders through recorded forwards the frames of plain calls, across strips") {
  Gpu gpu;
  load(gpu, 6);
  constexpr std::int64_t frames = 2 * alis_official32.anchor_distance + 2;  // three strips
  for (const Precision precision : {Precision::fp32, Precision::bf16})
    for (const alis::NoiseMode noise : {alis::NoiseMode::off, alis::NoiseMode::seeded}) {
      INFO(name_of(precision) << ", noise " << name_of(noise));
      const backend::cuda::ConvPrecisionScope scope(precision);
      const render::AlisPanorama<Gpu> recorded(gpu, frames, {.seed = 3}, {.noise = noise, .noise_seed = 2});
      const render::AlisPanorama<Gpu> plain(gpu, frames, {.seed = 3},
                                            {.noise = noise, .noise_seed = 2, .graphs = false});
      for (std::int64_t f = 0; f < frames; ++f) {
        CAPTURE(f);
        CHECK(recorded.frame(f).to_vector() == plain.frame(f).to_vector());
      }
    }
}
