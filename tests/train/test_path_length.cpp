#include <doctest/doctest.h>

#include <pixsyn/dist/buckets.hpp>
#include <pixsyn/dist/in_process.hpp>
#include <pixsyn/models/creps.hpp>
#include <pixsyn/models/creps/training.hpp>
#include <pixsyn/train/path_length.hpp>

#include "tiny_ada_models.hpp"

#include <cmath>
#include <string>
#include <vector>

using namespace pixsyn;

namespace {

using test::tiny_creps;
using TinyCreps = creps::Generator<tiny_creps, double>;

// The penalty of a fixed draw from a fixed running mean, as a function of G's weights.
struct PenaltyAt {
  const TinyCreps& g;
  creps::TrainingDraw<double> draw;
  Tensor<double> noise;
  double running_mean;

  train::PathLengthTerm<double> operator()(train::PathLength& pl) const {
    pl.load_state_dict(nn::StateDict<double>{{"pl_mean", Tensor<double>::scalar(running_mean)}});
    const auto out = creps::synthesize_training(g, draw, draw.z.dim(0));
    return pl.penalty(out.images, out.ws, noise);
  }
};

}  // namespace

TEST_CASE("path length: the running mean, the state dict and bad input") {
  train::PathLength pl;
  CHECK(pl.running_mean() == 0);
  CHECK(pl.batch(8) == 4);
  CHECK(pl.batch(1) == 1);
  CHECK_THROWS_WITH_AS(train::PathLength({.decay = 2}), doctest::Contains("decay"), Error);
  CHECK_THROWS_WITH_AS(pl.load_state_dict(nn::StateDict<double>{{"pl_mean", Tensor<double>::scalar(-1)}}),
                       doctest::Contains("pl_mean"), Error);
  CHECK_THROWS_WITH_AS(pl.load_state_dict(nn::StateDict<double>{}), doctest::Contains("pl_mean"), Error);

  TinyCreps g(3);
  Philox gen{5};
  const auto draw = creps::draw_training<tiny_creps, double>(gen, 2, 0.9);
  const auto noise = Tensor<double>::randn({2, 3, 8, 8}, gen);
  const PenaltyAt at{g, draw, noise, 0.25};
  const auto term = at(pl);
  // m' = m + decay (mean ℓ - m), and the penalty is finite and positive.
  CHECK(pl.running_mean() == doctest::Approx(0.25 + 0.01 * (term.mean_length - 0.25)).epsilon(1e-14));
  CHECK(term.mean_length > 0);
  CHECK(term.penalty.value().item() > 0);
  CHECK(pl.state_dict<double>().at("pl_mean").item() == pl.running_mean());
  CHECK_THROWS_WITH_AS(pl.penalty(Var<double>(noise), Var<double>(noise), noise), doctest::Contains("num_ws"), Error);
}

TEST_CASE("path length: the penalty's gradient with respect to G's weights equals central differences") {
  TinyCreps g(7);
  Philox gen{11};
  // Style mixing on, so the Jacobian is taken through the mixed styles.
  auto draw = creps::draw_training<tiny_creps, double>(gen, 3, 1.0);
  CHECK(draw.cutoff < tiny_creps.num_ws());
  const auto noise = Tensor<double>::randn({3, 3, 8, 8}, gen);
  const PenaltyAt at{g, draw, noise, 0.4};
  train::PathLength pl;

  for (const auto& [name, p] : g.named_parameters()) p->zero_grad();
  autograd::backward(at(pl).penalty);

  int checked = 0, reached = 0, kinks = 0;
  double worst = 0;
  for (const auto& [name, p] : g.named_parameters()) {
    if (name.find("b4.tores") != std::string::npos || name.find("decoder_8") != std::string::npos) continue;  // dead
    const Var<double> grad = p->grad();
    double* values = p->value().data();
    // Two entries of every parameter: the first and one in the middle.
    for (const std::int64_t i : {std::int64_t(0), p->numel() / 2}) {
      const double saved = values[i];
      const auto central = [&](double h) {
        values[i] = saved + h;
        const double up = at(pl).penalty.value().item();
        values[i] = saved - h;
        const double down = at(pl).penalty.value().item();
        values[i] = saved;
        return (up - down) / (2 * h);
      };
      // The leaky ReLUs' and clamps' kinks make the Jacobian piecewise smooth: a step that crosses one
      // shows as two differences that disagree; such entries are counted, not compared.
      const double numeric = central(1e-6), finer = central(2.5e-7);
      if (std::abs(numeric - finer) > 1e-5 * std::max(std::abs(numeric), 1e-2)) {
        ++kinks;
        continue;
      }
      const double analytic = grad.defined() ? grad.value().data()[i] : 0.0;
      CAPTURE(name);
      CAPTURE(i);
      CHECK(analytic == doctest::Approx(numeric).epsilon(1e-5).scale(1e-2));
      worst = std::max(worst, std::abs(analytic - numeric) / std::max(std::abs(numeric), 1e-2));
      reached += std::abs(numeric) > 1e-6;
      ++checked;
    }
  }
  MESSAGE("path-length gradient vs central differences: ", checked, " entries (", reached,
          " non-zero), worst relative difference ", worst, "; ", kinks, " at kinks");
  CHECK(reached > checked / 2);  // the comparison is not of zeros
  CHECK(kinks <= checked / 10);
}

TEST_CASE("path length over two ranks: the whole batch's running mean and gradient (m' differentiated through)") {
  Philox gen{13};
  const auto draw = creps::draw_training<tiny_creps, double>(gen, 4, 1.0);
  const auto noise = Tensor<double>::randn({4, 3, 8, 8}, gen);
  const auto gradients = [](const TinyCreps& g) {
    std::vector<double> out;
    for (const auto& [name, p] : g.named_parameters())
      if (p->grad().defined())
        for (std::int64_t i = 0; i < p->numel(); ++i) out.push_back(p->grad().value().data()[i]);
    return out;
  };
  // One process, the whole batch of 4.
  TinyCreps whole(7);
  train::PathLength pl_whole;
  pl_whole.load_state_dict(nn::StateDict<double>{{"pl_mean", Tensor<double>::scalar(0.4)}});
  const auto out = creps::synthesize_training(whole, draw, 4);
  const auto term = pl_whole.penalty(out.images, out.ws, noise);
  autograd::backward(pl_whole.loss(term));
  const auto expected = gradients(whole);

  // Two ranks of samples {0, 2} and {1, 3}.
  const auto rows = [](const Tensor<double>& x, int r) {
    Shape shape = x.shape();
    shape[0] = 2;
    return reshape(slice(reshape(x, Shape{2, 2, x.numel() / 4}), 1, r, r + 1), shape);
  };
  std::vector<std::vector<double>> got(2);
  std::vector<double> means(2), penalties(2);
  dist::run_ranks(2, [&](dist::Communicator& comm) {
    const int r = comm.rank();
    TinyCreps g(7);
    train::PathLength pl;
    pl.load_state_dict(nn::StateDict<double>{{"pl_mean", Tensor<double>::scalar(0.4)}});
    pl.set_mean_reducer([&](double m) { return comm.all_reduce_host(m, dist::ReduceOp::average); });
    auto shard = draw;
    shard.z = rows(draw.z, r);
    shard.mix_z = rows(draw.mix_z, r);
    const auto o = creps::synthesize_training(g, shard, 2);
    const auto t = pl.penalty(o.images, o.ws, rows(noise, r));
    autograd::backward(pl.loss(t));
    std::vector<Var<double>*> params;
    for (const auto& [name, p] : g.named_parameters()) params.push_back(p);
    dist::average_gradients(comm, params);
    got[r] = gradients(g);
    means[r] = pl.running_mean();
    penalties[r] = comm.all_reduce_host(t.penalty.value().item(), dist::ReduceOp::average);
  });
  CHECK(means[0] == doctest::Approx(pl_whole.running_mean()).epsilon(1e-14));
  CHECK(means[1] == means[0]);
  CHECK(penalties[0] == doctest::Approx(term.penalty.value().item()).epsilon(1e-12));
  REQUIRE(got[0].size() == expected.size());
  CHECK(got[1] == got[0]);
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    worst = std::max(worst, std::abs(got[0][i] - expected[i]));
    largest = std::max(largest, std::abs(expected[i]));
  }
  MESSAGE("two ranks vs the whole batch: largest gradient ", largest, ", largest difference ", worst);
  CHECK(largest > 1e-3);
  CHECK(worst < 1e-12 * largest);
}
