// Rendering above the training size: a size-64 CIPS evaluated on its own 64x64 grid and on a grid
// `factor` times denser over the same [-1, 1] square (how the paper's FFHQ-1024 comes from a size-256
// model). Left: the 64x64 render enlarged by nearest neighbour; right: the dense render.
#include "cips_example.hpp"

using namespace pixsyn;

namespace {

// (3, H, W) -> (3, H * f, W * f), each pixel repeated f x f times.
Tensor<float> upscale_nearest(const Tensor<float>& image, std::int64_t f) {
  const std::int64_t h = image.dim(1), w = image.dim(2);
  auto out = Tensor<float>::empty({3, h * f, w * f});
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t i = 0; i < h * f; ++i)
      for (std::int64_t j = 0; j < w * f; ++j)
        out.data()[(c * h * f + i) * w * f + j] = image.data()[(c * h + i / f) * w + j / f];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Render a size-64 CIPS at 64x64 and on a denser grid, side by side"};
  int base = 64, factor = 4;
  std::uint64_t seed = 1, model_seed = 0;
  std::string weights, out = "cips_superres.png";
  app.add_option("--weights", weights, "weights (.safetensors) of a cips::Skips<64>")->check(CLI::ExistingFile);
  app.add_option("--base", base, "side of the base render (64: the model's training size)")->check(CLI::Range(1, 4096));
  app.add_option("--factor", factor, "density factor of the second render")->check(CLI::Range(1, 16));
  app.add_option("--seed", seed, "latent seed");
  app.add_option("--model-seed", model_seed, "seed of the random initialisation");
  cips_example::add_out_option(app, out);

  return cips_example::run(app, argc, argv, [&] {
    using G = cips::Skips<64>;
    G g(model_seed);
    cips_example::load_or_init(g, weights, model_seed);
    const auto w = cips_example::styles(g, {seed}, 1.0);
    const std::int64_t side = base;

    auto start = std::chrono::steady_clock::now();
    const auto low =
        render::render_image(g, w, coords::grid<float>(side, side),
                             cips_example::render_options(std::to_string(side) + "x" + std::to_string(side)));
    std::printf("%lldx%lld render: %.2f s\n", static_cast<long long>(side), static_cast<long long>(side),
                cips_example::seconds_since(start));

    const std::int64_t dense = side * factor;
    start = std::chrono::steady_clock::now();
    const auto high =
        render::render_image(g, w, coords::dense_grid<float>(side, side, factor),
                             cips_example::render_options(std::to_string(dense) + "x" + std::to_string(dense)));
    std::printf("%lldx%lld render: %.2f s\n", static_cast<long long>(dense), static_cast<long long>(dense),
                cips_example::seconds_since(start));

    auto pair = Tensor<float>::empty({2, 3, dense, dense});
    const auto enlarged = upscale_nearest(low.reshape({3, side, side}), factor);
    std::copy(enlarged.data(), enlarged.data() + enlarged.numel(), pair.data());
    std::copy(high.data(), high.data() + high.numel(), pair.data() + high.numel());
    cips_example::write_batch_png(out, pair, 2);
  });
}
