// A latent interpolation strip: w moves linearly from the style of one seed to another's, and every
// frame is rendered with the same coordinates, so only the style changes along the strip.
#include "cips_example.hpp"

using namespace pixsyn;

int main(int argc, char** argv) {
  CLI::App app{"Render a CIPS latent interpolation strip, interpolating in w space"};
  int size = 64, frames = 8, resolution = 0;
  std::uint64_t from = 1, to = 2, model_seed = 0;
  double psi = 1.0;
  std::string weights, out = "cips_interpolation.png";
  app.add_option("--size", size, "model size (cips::Skips<size>)")->check(CLI::IsMember(cips_example::sizes));
  app.add_option("--weights", weights, "converted official checkpoint (.safetensors) of that size")
      ->check(CLI::ExistingFile);
  app.add_option("--from", from, "latent seed of the first frame");
  app.add_option("--to", to, "latent seed of the last frame");
  app.add_option("--frames", frames, "number of frames, both ends included")->check(CLI::Range(2, 64));
  app.add_option("--resolution", resolution, "rendered side in pixels (0: the model size)")->check(CLI::Range(0, 4096));
  app.add_option("--model-seed", model_seed, "seed of the random initialisation");
  app.add_option("--truncation", psi, "psi applied to both ends")->check(CLI::Range(0.0, 1.0));
  cips_example::add_out_option(app, out);

  return cips_example::run(app, argc, argv, [&] {
    cips_example::with_skips(size, [&]<class G>(std::type_identity<G>) {
      G g(model_seed);
      cips_example::load_or_init(g, weights, model_seed);
      const auto ends = cips_example::styles(g, {from, to}, psi);  // (2, style_dim)

      constexpr std::int64_t dim = G::config.style_dim;
      auto w = Tensor<float>::empty({frames, dim});
      for (int k = 0; k < frames; ++k) {
        const float t = static_cast<float>(k) / static_cast<float>(frames - 1);
        for (std::int64_t c = 0; c < dim; ++c)
          w.data()[k * dim + c] = (1 - t) * ends.data()[c] + t * ends.data()[dim + c];
      }

      const int side = resolution > 0 ? resolution : size;
      const auto start = std::chrono::steady_clock::now();
      const auto images =
          render::render_image(g, w, coords::grid<float>(side, side), cips_example::render_options("render"));
      std::printf("rendered %d frames of %dx%d (seed %llu -> %llu) in %.2f s\n", frames, side, side,
                  static_cast<unsigned long long>(from), static_cast<unsigned long long>(to),
                  cips_example::seconds_since(start));
      cips_example::write_batch_png(out, images, frames);
    });
  });
}
