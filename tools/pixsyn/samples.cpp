#include "samples.hpp"

#include <string>

#include "pixsyn/io/image.hpp"

namespace pixsyn::cli {
namespace {

// Keys of the grids' streams: apart from the trainer's (data, latents and noise of the steps).
constexpr std::uint64_t latent_key = 0x53414D504C45ULL, noise_key = 0x534E4F495345ULL;

}  // namespace

Philox sample_stream(std::uint64_t run_seed) { return Philox{run_seed ^ latent_key}; }

Tensor<float> sample_latents(std::uint64_t run_seed, std::int64_t count, std::int64_t z_dim) {
  return Tensor<float>::randn({count, z_dim}, sample_stream(run_seed));
}

std::uint64_t sample_noise_seed(std::uint64_t run_seed) { return run_seed ^ noise_key; }

std::filesystem::path write_sample_grid(const std::filesystem::path& run_dir, std::int64_t step,
                                        const Tensor<float>& images) {
  const auto folder = run_dir / "samples";
  std::filesystem::create_directories(folder);
  const auto path = folder / ("step-" + std::to_string(step) + ".png");
  io::write_png(path, io::image_grid(images, 0, io::ImageRange::signed_unit));
  return path;
}

}  // namespace pixsyn::cli
