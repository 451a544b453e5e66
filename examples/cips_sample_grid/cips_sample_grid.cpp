// Renders a grid of B samples of a CIPS generator (seeds seed, seed + 1, ...) into one PNG.
#include "cips_example.hpp"

using namespace pixsyn;

int main(int argc, char** argv) {
  CLI::App app{"Render a grid of CIPS samples (random init unless --weights is given)"};
  int size = 64, batch = 9, columns = 0, resolution = 0;
  std::uint64_t seed = 1, model_seed = 0;
  double psi = 1.0;
  bool noise = false;
  std::string weights, out = "cips_sample_grid.png";
  app.add_option("--size", size, "model size (cips::Skips<size>)")->check(CLI::IsMember(cips_example::sizes));
  app.add_option("--weights", weights, "converted official checkpoint (.safetensors) of that size")
      ->check(CLI::ExistingFile);
  app.add_option("--batch", batch, "number of samples")->check(CLI::Range(1, 256));
  app.add_option("--columns", columns, "samples per row (0: square-ish)")->check(CLI::Range(0, 256));
  app.add_option("--resolution", resolution, "rendered side in pixels (0: the model size)")->check(CLI::Range(0, 4096));
  app.add_option("--seed", seed, "latent seed of the first sample");
  app.add_option("--model-seed", model_seed, "seed of the random initialisation");
  app.add_option("--truncation", psi, "psi: w -> mean_w + psi (w - mean_w)")->check(CLI::Range(0.0, 1.0));
  app.add_flag("--noise", noise, "add the per-pixel StyledConv noise (seeded)");
  cips_example::add_out_option(app, out);

  return cips_example::run(app, argc, argv, [&] {
    cips_example::with_skips(size, [&]<class G>(std::type_identity<G>) {
      G g(model_seed);
      cips_example::load_or_init(g, weights, model_seed);
      std::vector<std::uint64_t> seeds;
      for (int b = 0; b < batch; ++b) seeds.push_back(seed + static_cast<std::uint64_t>(b));
      const auto w = cips_example::styles(g, seeds, psi);

      const int side = resolution > 0 ? resolution : size;
      const auto start = std::chrono::steady_clock::now();
      auto options = cips_example::render_options("render");
      options.noise = noise ? cips::NoiseMode::seeded : cips::NoiseMode::off;
      options.noise_seed = seed;
      const auto images = render::render_image(g, w, coords::grid<float>(side, side), options);
      std::printf("rendered %d samples of %dx%d, truncation %.2f, in %.2f s\n", batch, side, side, psi,
                  cips_example::seconds_since(start));
      cips_example::print_range("output", images);
      cips_example::write_batch_png(out, images, columns);
    });
  });
}
