// A 360-degree cylindrical panorama: column j of a W-wide strip sits at x = -1 + period * j / W, so
// the strip covers `period` units of x (period / 2 training widths) and column W - 1 wraps round to
// column 0. Three rows, each rolled by --roll of a turn so the wrap-around seam is visible:
//  1. cips::Skips<64>: the learned embedding is read with border padding, so beyond x = 1 it repeats
//     its last column (horizontal streaks); only the Fourier features keep varying.
//  2. cips::NoEmbedding<64>: Fourier features extend to any x, but their x-frequencies are not
//     multiples of 2 pi / period, so the picture does not join up at the seam.
//  3. The same model with every Fourier x-frequency rounded to a multiple of 2 pi / period (a weight
//     edit): the generator is then periodic in x and the seam disappears.
#include <cmath>
#include <numbers>

#include <pixsyn/coords/cylinder.hpp>
#include <pixsyn/coords/transform.hpp>

#include "cips_example.hpp"

using namespace pixsyn;

namespace {

// Mean |a - b| over the channels and rows of columns a and b of a (3, H, W) image.
double column_difference(const Tensor<float>& image, std::int64_t a, std::int64_t b) {
  const std::int64_t h = image.dim(1), w = image.dim(2);
  double sum = 0;
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t i = 0; i < h; ++i)
      sum += std::abs(image.data()[(c * h + i) * w + a] - image.data()[(c * h + i) * w + b]);
  return sum / static_cast<double>(3 * h);
}

// Renders one panorama row (3, H, W), reports how visible its seam is, and rolls it by `shift` columns.
template <class G>
Tensor<float> panorama(const G& g, const Tensor<float>& w, const coords::PointSet<float>& points, std::int64_t shift,
                       const std::string& label) {
  const auto start = std::chrono::steady_clock::now();
  const auto image =
      render::render_image(g, w, points, cips_example::render_options(label)).reshape({3, points.height, points.width});
  const std::int64_t h = points.height, width = points.width;
  double inner = 0;
  for (std::int64_t j = 0; j + 1 < width; ++j) inner += column_difference(image, j, j + 1);
  inner /= static_cast<double>(width - 1);
  std::printf("%s: %.2f s; mean |column difference|: %.3f at the seam, %.3f elsewhere\n", label.c_str(),
              cips_example::seconds_since(start), column_difference(image, width - 1, 0), inner);

  auto rolled = Tensor<float>::empty(image.shape());
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t i = 0; i < h; ++i)
      for (std::int64_t j = 0; j < width; ++j)
        rolled.data()[(c * h + i) * width + (j + shift) % width] = image.data()[(c * h + i) * width + j];
  return rolled;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Render 360-degree cylindrical CIPS panoramas and show their seams"};
  int height = 64, width = 512;
  float period = 16;
  double roll = 0.5;
  std::uint64_t seed = 1, model_seed = 0;
  std::string out = "cips_panorama.png";
  app.add_option("--height", height, "panorama height in pixels")->check(CLI::Range(1, 4096));
  app.add_option("--width", width, "panorama width in pixels (one full turn)")->check(CLI::Range(2, 16384));
  app.add_option("--period", period, "x units per turn (2 = one training width; 16 keeps 64x512 pixels square)")
      ->check(CLI::PositiveNumber);
  app.add_option("--roll", roll, "fraction of a turn to roll the picture by (0.5 puts the seam in the middle)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", seed, "latent seed");
  app.add_option("--model-seed", model_seed, "seed of the random initialisations");
  cips_example::add_out_option(app, out);

  return cips_example::run(app, argc, argv, [&] {
    const auto points = coords::transform(coords::shift(-1.0f, 0.0f), coords::cylinder<float>(height, width, period));
    const auto shift = static_cast<std::int64_t>(std::lround(roll * width)) % width;
    std::printf("panorama %dx%d, x from -1 to %.3f; rows rolled by %lld columns, seam at column %lld\n", height, width,
                -1 + period * static_cast<float>(width - 1) / static_cast<float>(width), static_cast<long long>(shift),
                static_cast<long long>(shift));
    auto rows = Tensor<float>::empty({3, 3, height, width});
    const auto put = [&](int row, const Tensor<float>& image) {
      std::copy(image.data(), image.data() + image.numel(), rows.data() + row * image.numel());
    };

    {
      const cips::Skips<64> g(model_seed);
      put(0, panorama(g, cips_example::styles(g, {seed}, 1.0), points, shift, "Skips<64>"));
    }
    cips::NoEmbedding<64> g(model_seed);
    const auto w = cips_example::styles(g, {seed}, 1.0);
    put(1, panorama(g, w, points, shift, "NoEmbedding<64>"));

    // sin(a x + b y + c) has period `period` in x when a is a multiple of 2 pi / period.
    auto state = g.state_dict();
    auto& weight = state.at("lff.ffm.conv.weight");  // (hidden, 2, 1, 1): (x, y) coefficients
    const double step = 2 * std::numbers::pi / static_cast<double>(period);
    for (std::int64_t c = 0; c < weight.dim(0); ++c) {
      float& a = weight.data()[2 * c];
      a = static_cast<float>(std::round(a / step) * step);
    }
    g.load_state_dict(state);
    put(2, panorama(g, w, points, shift, "NoEmbedding<64>, periodic x"));
    cips_example::write_batch_png(out, rows, 1);
  });
}
