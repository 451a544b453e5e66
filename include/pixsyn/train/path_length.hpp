#pragma once
// Path-length regularisation (StyleGAN2), the generator's regulariser of the StyleGAN2-ADA families
// (CREPS: creps.md §5, ALIS: alis.md §4; CIPS has none):
//
//   y = images · n / √(H W)           n ~ N(0, I), one draw per step
//   J_b = ∂ Σ y / ∂ ws_b              ws: the synthesis input (B, num_ws, w_dim), after style mixing
//   ℓ_b = √(mean_rows Σ_w J_b²)       the path length of sample b
//   m' = m + decay · (mean_b ℓ_b − m)  the running mean, differentiated through as the official code does
//   penalty = mean_b (ℓ_b − m')²      the loss is weight · penalty · interval (lazy, every `interval` steps)
//
// The gradient J is recorded (create_graph), so that the penalty's own gradient reaches G's weights by
// double backward. The running mean m is the regulariser's state: it lives here and is checkpointed
// (state_dict), where the official code kept it in the loss object and lost it on resume.
#include <cmath>
#include <functional>
#include <vector>

#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/grad_mode.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/nn/module.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::train {

struct PathLengthOptions {
  double weight = 2;     // pl_weight
  double decay = 0.01;   // pl_decay: how fast the running mean follows the batch mean
  int batch_shrink = 2;  // the regularised batch is the step's batch / batch_shrink (at least 1)
  int interval = 4;      // lazy: every `interval` steps, the loss multiplied by it (G_reg_interval)
};

template <class T, class Device = Cpu>
struct PathLengthTerm {
  Var<T, Device> penalty;  // mean_b (ℓ_b − m')², differentiable with respect to G's weights
  double mean_length = 0;  // mean_b ℓ_b of this batch
  // Data-parallel only: this rank's share of the penalty's gradient through m' (see set_mean_reducer).
  Var<T, Device> through_mean{};
};

class PathLength {
 public:
  explicit PathLength(PathLengthOptions options = {}) : options_(options) {
    pixsyn::detail::check(options.weight >= 0 && std::isfinite(options.weight) && options.decay >= 0 &&
                              options.decay <= 1 && options.batch_shrink >= 1 && options.interval >= 1,
                          "PathLength: weight ", options.weight, " must be finite and non-negative, decay ",
                          options.decay, " in [0, 1], batch_shrink ", options.batch_shrink, " and interval ",
                          options.interval, " positive");
  }

  const PathLengthOptions& options() const { return options_; }
  double running_mean() const { return mean_; }

  // The regularised batch for a step of `batch` images.
  std::int64_t batch(std::int64_t batch) const { return std::max<std::int64_t>(batch / options_.batch_shrink, 1); }

  // images (B, C, H, W): G's output recorded from ws (any node of its graph, typically (B, num_ws, w_dim));
  // noise (B, C, H, W): N(0, 1) draws. Updates the running mean.
  template <class T, class D>
  PathLengthTerm<T, D> penalty(const Var<T, D>& images, const Var<T, D>& ws, const Tensor<T, D>& noise) {
    pixsyn::detail::check(
        images.rank() == 4 && noise.shape() == images.shape() && ws.rank() == 3 && ws.dim(0) == images.dim(0),
        "PathLength::penalty: images ", images.shape(), ", noise ", noise.shape(), " and ws ", ws.shape(),
        " must be (B, C, H, W), the same shape, and (B, num_ws, w_dim)");
    autograd::enable_grad recording;
    const T scale = static_cast<T>(1 / std::sqrt(static_cast<double>(images.dim(2) * images.dim(3))));
    const Var<T, D> projected = sum(mul(images, Var<T, D>::constant(mul(noise, scale))));
    const Var<T, D> jacobian = autograd::grad(std::vector<Var<T, D>>{projected}, std::vector<Var<T, D>>{ws},
                                              autograd::GradOptions{.create_graph = true})[0];
    const Var<T, D> lengths = sqrt(mean(sum(square(jacobian), {2}), {1}));  // (B)
    const Var<T, D> batch_mean = mean(lengths);
    if (reduce_mean_) return sharded_penalty(lengths, batch_mean);
    const auto old = static_cast<T>(mean_);
    const Var<T, D> running = add(mul(add(batch_mean, -old), static_cast<T>(options_.decay)), old);
    mean_ = pixsyn::detail::read_scalar(running.value());
    return {mean(square(sub(lengths, reshape(running, Shape{1})))), pixsyn::detail::read_scalar(batch_mean.value())};
  }

  // The loss the regularisation step backpropagates: weight · penalty · interval.
  template <class T, class D>
  Var<T, D> loss(const PathLengthTerm<T, D>& term) const {
    const Var<T, D> total = term.through_mean.defined() ? add(term.penalty, term.through_mean) : term.penalty;
    return mul(total, static_cast<T>(options_.weight * options_.interval));
  }

  // Data-parallel training: reduce(this rank's mean ℓ) -> the mean over all ranks' samples (equal shards).
  // The running mean then follows the whole batch, identical on every rank, and each rank's loss carries,
  // besides its own mean_b (ℓ_b − m')² with m' held constant, the term c · mean_b ℓ_b with
  // c = ∂(whole batch's penalty)/∂m' · decay = −2 (mean ℓ − m') · decay: averaged over the ranks, the
  // gradients are those of the whole batch's penalty, m' differentiated through as in one process.
  void set_mean_reducer(std::function<double(double)> reduce) { reduce_mean_ = std::move(reduce); }

  // {"pl_mean": scalar}: the state a checkpoint keeps.
  template <class T, class D = Cpu>
  nn::StateDict<T, D> state_dict() const {
    nn::StateDict<T, D> out;
    out.emplace("pl_mean", Tensor<T, D>::scalar(static_cast<T>(mean_)));
    return out;
  }

  template <class T, class D = Cpu>
  void load_state_dict(const nn::StateDict<T, D>& state) {
    nn::detail::validate_state_dict("PathLength::load_state_dict", {{"pl_mean", Shape{}}}, state, true);
    const double m = static_cast<double>(state.at("pl_mean").item());
    pixsyn::detail::check(std::isfinite(m) && m >= 0, "PathLength::load_state_dict: pl_mean ", m,
                          " is not a finite non-negative length");
    mean_ = m;
  }

 private:
  template <class T, class D>
  PathLengthTerm<T, D> sharded_penalty(const Var<T, D>& lengths, const Var<T, D>& batch_mean) {
    const double local = pixsyn::detail::read_scalar(batch_mean.value());
    const double global = reduce_mean_(local);
    const double running = mean_ + options_.decay * (global - mean_);
    mean_ = running;
    const Var<T, D> penalty = mean(square(add(lengths, static_cast<T>(-running))));
    const auto slope = static_cast<T>(-2 * (global - running) * options_.decay);
    return {penalty, local, mul(batch_mean, slope)};
  }

  PathLengthOptions options_;
  double mean_ = 0;  // pl_mean, 0 at the start as the official
  std::function<double(double)> reduce_mean_;
};

}  // namespace pixsyn::train
