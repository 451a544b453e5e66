#pragma once
// Fitting an image with a thick bi-line (nn::BiLine) by Adam on the pixel MSE: the CREPS
// representation's capacity test. The optimum for thickness D is the rank-D truncated SVD of each
// channel (Eckart–Young), so the result has a known target.
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numbers>

#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/grad_mode.hpp"
#include "pixsyn/nn/biline.hpp"
#include "pixsyn/ops/math.hpp"
#include "pixsyn/ops/reduce.hpp"
#include "pixsyn/train/adam.hpp"

namespace pixsyn::train {

struct BiLineFitOptions {
  std::int64_t thickness = 8;
  std::int64_t steps = 3000;
  // Adam's learning rate decays from lr to lr · final_lr_fraction along a cosine.
  double lr = 0.02;
  double final_lr_fraction = 0.01;
  std::uint64_t seed = 0;
  // Called with (step, mse) about every `steps / progress_count` steps (the MSE before that step's
  // update) and with (steps, final mse) at the end.
  std::function<void(std::int64_t, double)> progress = nullptr;
  std::int64_t progress_count = 10;
};

template <class T>
struct BiLineFit {
  std::unique_ptr<nn::BiLine<T>> model;
  double mse = 0;  // of the final model
};

// Fits `image` (C, H, W) with a BiLine of the given thickness; returns the model and its final MSE.
template <class T>
BiLineFit<T> fit_biline(const Tensor<T>& image, const BiLineFitOptions& options) {
  pixsyn::detail::check(image.rank() == 3, "fit_biline: expects a (C, H, W) image, got shape ", image.shape());
  pixsyn::detail::check(options.steps >= 0, "fit_biline: steps must be non-negative, got ", options.steps);
  Philox gen{options.seed};
  const T level = std::max(mean(image).item(), T(0));
  BiLineFit<T> fit{
      std::make_unique<nn::BiLine<T>>(image.dim(0), image.dim(1), image.dim(2), options.thickness, gen, level), 0};
  Adam<T> adam(fit.model->named_parameters(), {.lr = options.lr});
  const Var<T> target(image);
  const std::int64_t every =
      std::max<std::int64_t>(1, options.steps / std::max<std::int64_t>(1, options.progress_count));
  for (std::int64_t step = 0; step < options.steps; ++step) {
    const double progress = options.steps > 1 ? static_cast<double>(step) / static_cast<double>(options.steps - 1) : 1;
    const double cosine = 0.5 * (1 + std::cos(std::numbers::pi * progress));
    adam.options().lr = options.lr * (options.final_lr_fraction + (1 - options.final_lr_fraction) * cosine);
    adam.zero_grad();
    const Var<T> loss = mean(square(fit.model->forward() - target));
    autograd::backward(loss);
    adam.step();
    if (options.progress && step > 0 && step % every == 0)
      options.progress(step, static_cast<double>(loss.value().item()));
  }
  fit.mse = static_cast<double>(mean(square(fit.model->template forward<Tensor<T>>() - image)).item());
  if (options.progress) options.progress(options.steps, fit.mse);
  return fit;
}

}  // namespace pixsyn::train
