// Fits an RGB photo with the CREPS "thick bi-line" representation: per channel, a rank-D product of
// row and column embeddings, trained by Adam on the pixel MSE. Prints progress, the best MSE any
// rank-D representation can reach (the truncated SVD of each channel) and, last, the fitted MSE.
//
//   biline_fit --image photo.png --thickness 8 --steps 3000 --size 128 --out fit.png
#include <CLI/CLI.hpp>
#include <Eigen/Dense>
#include <chrono>
#include <cstdio>
#include <pixsyn/io/image.hpp>
#include <pixsyn/train/biline_fit.hpp>
#include <string>

namespace {

// Σ_c Σ_{k>D} σ_k² / (C·H·W): the MSE of the rank-D truncated SVD of every channel (Eckart–Young).
double svd_optimum(const pixsyn::Tensor<float>& image, std::int64_t thickness) {
  const auto channels = image.dim(0), height = image.dim(1), width = image.dim(2);
  double residual = 0;
  for (std::int64_t c = 0; c < channels; ++c) {
    const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> channel(
        image.data() + c * height * width, height, width);
    const Eigen::VectorXd sigma = Eigen::BDCSVD<Eigen::MatrixXd>(channel.cast<double>()).singularValues();
    for (Eigen::Index k = thickness; k < sigma.size(); ++k) residual += sigma[k] * sigma[k];
  }
  return residual / static_cast<double>(image.numel());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fit a photo with a thick bi-line (rank-D row x column embeddings per channel)"};
  std::string image_path, out_path, input_out_path;
  pixsyn::train::BiLineFitOptions options;
  std::int64_t size = 0;
  app.add_option("--image", image_path, "input photo (PNG or JPEG)")->required()->check(CLI::ExistingFile);
  app.add_option("--thickness", options.thickness, "bi-line thickness D (rank per channel)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--steps", options.steps, "Adam steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--size", size, "resize to size x size first (0: keep the photo's size)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--lr", options.lr, "initial Adam learning rate (cosine decay to 1% of it)")->capture_default_str();
  app.add_option("--seed", options.seed, "seed of the random initialisation")->capture_default_str();
  app.add_option("--out", out_path, "write the fitted image to this PNG");
  app.add_option("--input-out", input_out_path, "write the (resized) input to this PNG, for comparison");
  CLI11_PARSE(app, argc, argv);

  try {
    auto image = pixsyn::io::read_image(image_path);
    if (size > 0 && (image.dim(1) != size || image.dim(2) != size))
      image = pixsyn::io::resize_bilinear(image, size, size);
    if (!input_out_path.empty()) pixsyn::io::write_png(input_out_path, image);
    std::printf("image %s: %lld x %lld, thickness %lld, %lld steps\n", image_path.c_str(),
                static_cast<long long>(image.dim(1)), static_cast<long long>(image.dim(2)),
                static_cast<long long>(options.thickness), static_cast<long long>(options.steps));
    options.progress = [&](std::int64_t step, double mse) {
      if (step < options.steps) std::printf("step %lld  mse %.6g\n", static_cast<long long>(step), mse);
    };
    const auto start = std::chrono::steady_clock::now();
    const auto fit = pixsyn::train::fit_biline(image, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!out_path.empty()) pixsyn::io::write_png(out_path, fit.model->forward<pixsyn::Tensor<float>>());
    const double optimum = svd_optimum(image, options.thickness);
    std::printf("time: %.2f s\n", seconds);
    std::printf("svd optimum: %.6g (fit / optimum = %.5f)\n", optimum, fit.mse / optimum);
    std::printf("mse: %.6g\n", fit.mse);
  } catch (const pixsyn::Error& e) {
    std::fprintf(stderr, "biline_fit: %s\n", e.what());
    return 1;
  }
  return 0;
}
