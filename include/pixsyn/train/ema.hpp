#pragma once
// The generator's exponential moving average (G_ema), the model that is sampled and shipped.
// StyleGAN2-ADA: beta = 0.5^(batch / min(half_life, rampup · images_seen)) with the half-life in images
// (10k at batch 32; creps.md §5, alis.md §4 with rampup 0.05); rosinality's loop (CIPS, cips.md §8) uses
// the fixed 0.5^(32 / 10000) whatever the batch, i.e. no ramp-up and the same half-life at batch 32.
// Parameters move toward the model's; buffers are copied. Modules on the CPU or the GPU.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "pixsyn/backend/cuda/optim.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/nn/module.hpp"

namespace pixsyn::train {

struct EmaOptions {
  double half_life_images = 10'000;
  double rampup = -1;  // > 0: the half-life is at most rampup · images seen (SG2-ADA's ema_rampup); else off
};

// The decay of one update after a batch of `batch` images, `images_seen` images before it.
inline double ema_beta(std::int64_t batch, std::int64_t images_seen, const EmaOptions& options = {}) {
  pixsyn::detail::check(batch > 0 && images_seen >= 0 && options.half_life_images > 0, "ema_beta: batch ", batch,
                        ", images seen ", images_seen, " and half-life ", options.half_life_images,
                        " must be positive (images seen non-negative)");
  double half_life = options.half_life_images;
  if (options.rampup > 0) half_life = std::min(half_life, static_cast<double>(images_seen) * options.rampup);
  return std::pow(0.5, static_cast<double>(batch) / std::max(half_life, 1e-8));
}

// ema <- model + beta (ema - model) for every parameter, and a copy of every buffer. The two modules
// must have the same names and shapes (the same architecture).
template <class T, class Device>
void update_ema(const nn::Module<T, Device>& ema, const nn::Module<T, Device>& model, double beta) {
  pixsyn::detail::check(beta >= 0 && beta <= 1, "update_ema: beta ", beta, " is not in [0, 1]");
  const auto targets = ema.named_parameters();
  const auto sources = model.named_parameters();
  pixsyn::detail::check(targets.size() == sources.size(), "update_ema: the EMA has ", targets.size(),
                        " parameters, the model ", sources.size());
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const auto& [name, e] = targets[k];
    const auto& p = *sources[k].second;
    pixsyn::detail::check(name == sources[k].first && e->shape() == p.shape(), "update_ema: parameter '", name, "' ",
                          e->shape(), " does not match the model's '", sources[k].first, "' ", p.shape());
    T* ed = e->value().data();  // the leaf's own storage: no graph holds it
    const T* pd = p.value().data();
    const auto b = static_cast<T>(beta);
    if constexpr (std::is_same_v<Device, Cuda>) {
      backend::cuda::lerp_toward(ed, pd, p.numel(), b);
    } else {
      for (std::int64_t i = 0; i < p.numel(); ++i) ed[i] = pd[i] + b * (ed[i] - pd[i]);
    }
  }
  const auto ema_buffers = ema.named_buffers();
  const auto model_buffers = model.named_buffers();
  pixsyn::detail::check(ema_buffers.size() == model_buffers.size(), "update_ema: the EMA has ", ema_buffers.size(),
                        " buffers, the model ", model_buffers.size());
  for (std::size_t k = 0; k < ema_buffers.size(); ++k) *ema_buffers[k].second = model_buffers[k].second->clone();
}

}  // namespace pixsyn::train
