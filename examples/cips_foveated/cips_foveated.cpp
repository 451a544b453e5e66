// Foveated rendering (CIPS paper, Fig. 8): CIPS computes each pixel independently, so it can render
// only some pixels (dense around a gaze point, sparse in the periphery) and fill in the others from
// the nearest rendered pixel. Top row: full render, then the fill-ins; bottom row: the pixels
// actually rendered (black = skipped).
#include <cmath>

#include <pixsyn/coords/foveated.hpp>

#include "cips_example.hpp"

using namespace pixsyn;

int main(int argc, char** argv) {
  CLI::App app{"Foveated CIPS rendering at several pixel fractions, compared with the full render"};
  int size = 64, resolution = 128;
  std::uint64_t seed = 1, model_seed = 0, sample_seed = 7;
  std::vector<double> fractions = {0.05, 0.25, 0.5};
  coords::Fovea fovea{.x = 0.3, .y = -0.2, .sigma = 0.3, .floor = 0.05};
  std::string weights, out = "cips_foveated.png";
  app.add_option("--size", size, "model size (cips::Skips<size>)")->check(CLI::IsMember(cips_example::sizes));
  app.add_option("--weights", weights, "converted official checkpoint (.safetensors) of that size")
      ->check(CLI::ExistingFile);
  app.add_option("--resolution", resolution, "rendered side in pixels")->check(CLI::Range(1, 4096));
  app.add_option("--fractions", fractions, "fractions of the pixels to render")
      ->check(CLI::Range(1e-6, 1.0))
      ->expected(1, 16);
  app.add_option("--gaze-x", fovea.x, "gaze point x (column axis, -1 left .. 1 right)")->check(CLI::Range(-1.0, 1.0));
  app.add_option("--gaze-y", fovea.y, "gaze point y (row axis, -1 top .. 1 bottom)")->check(CLI::Range(-1.0, 1.0));
  app.add_option("--sigma", fovea.sigma, "width of the fovea in normalised units")->check(CLI::PositiveNumber);
  app.add_option("--floor", fovea.floor, "relative sampling density of the periphery")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "latent seed");
  app.add_option("--model-seed", model_seed, "seed of the random initialisation");
  app.add_option("--sample-seed", sample_seed, "seed of the pixel sampling");
  cips_example::add_out_option(app, out);

  return cips_example::run(app, argc, argv, [&] {
    cips_example::with_skips(size, [&]<class G>(std::type_identity<G>) {
      G g(model_seed);
      cips_example::load_or_init(g, weights, model_seed);
      const auto w = cips_example::styles(g, {seed}, 1.0);
      const std::int64_t side = resolution, n = side * side;

      auto start = std::chrono::steady_clock::now();
      const auto full =
          render::render_image(g, w, coords::grid<float>(side, side), cips_example::render_options("full"));
      const double full_seconds = cips_example::seconds_since(start);
      std::printf("full render: %lld pixels in %.2f s\n", static_cast<long long>(n), full_seconds);

      // Columns of the 2-row picture: the full render in both rows, then per fraction the fill-in
      // (top) and the sparse render (bottom).
      const std::int64_t columns = 1 + static_cast<std::int64_t>(fractions.size());
      auto panels = Tensor<float>::full({2 * columns, 3, side, side}, -1.0f);
      const auto put = [&](std::int64_t panel, const Tensor<float>& image) {
        std::copy(image.data(), image.data() + 3 * n, panels.data() + panel * 3 * n);
      };
      put(0, full);
      put(columns, full);

      for (std::size_t k = 0; k < fractions.size(); ++k) {
        const auto sample = coords::foveated<float>(side, side, fractions[k], fovea, Philox{sample_seed});
        const std::int64_t count = sample.indices.dim(0);
        start = std::chrono::steady_clock::now();
        const auto rgb = render::render_points(  // (1, P, 3)
            g, w, sample.points, cips_example::render_options(std::to_string(std::lround(100 * fractions[k])) + "%"));
        const double seconds = cips_example::seconds_since(start);

        auto values = Tensor<float>::empty({3, count});  // channels first, as fill_missing wants
        for (std::int64_t p = 0; p < count; ++p)
          for (int c = 0; c < 3; ++c) values.data()[c * count + p] = rgb.data()[p * 3 + c];
        const auto filled = coords::fill_missing(values, sample.indices, side, side);

        double diff = 0;
        for (std::int64_t i = 0; i < 3 * n; ++i) diff += std::abs(filled.data()[i] - full.data()[i]);
        std::printf("fraction %.3f: %lld of %lld pixels rendered in %.2f s (%.1fx faster), mean |fill - full| %.4f\n",
                    static_cast<double>(count) / static_cast<double>(n), static_cast<long long>(count),
                    static_cast<long long>(n), seconds, full_seconds / seconds, diff / static_cast<double>(3 * n));

        const std::int64_t column = 1 + static_cast<std::int64_t>(k);
        put(column, filled);
        float* sparse = panels.data() + (columns + column) * 3 * n;
        for (std::int64_t p = 0; p < count; ++p)
          for (int c = 0; c < 3; ++c) sparse[c * n + sample.indices.data()[p]] = values.data()[c * count + p];
      }
      cips_example::write_batch_png(out, panels, columns);
    });
  });
}
