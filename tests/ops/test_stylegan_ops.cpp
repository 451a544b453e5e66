// ALIS's per-patch application and StyleGAN2's minibatch standard deviation: against the official
// definitions (fixture), direct loops, first- and second-order gradient checks, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <pixsyn/autograd/functions/conv.hpp>
#include <pixsyn/autograd/functions/minibatch_stddev.hpp>
#include <pixsyn/autograd/functions/patches.hpp>
#include <pixsyn/autograd/functions/upfirdn2d.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/io/safetensors.hpp>

#include "support/errors.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;

namespace {

using Vars = std::vector<Var<double>>;

double max_abs_diff(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

void check_gradients(const autograd::GradFunction& f, const std::vector<Tensor<double>>& inputs) {
  const auto result = autograd::gradcheck(f, inputs, {.max_elements = 48});
  INFO(result.message);
  CHECK(result.ok);
}

std::map<std::string, Tensor<double>> fixture() {
  const std::string path = std::string(PIXSYN_SOURCE_DIR) + "/tests/fixtures/ops/stylegan_ops.safetensors";
  REQUIRE(std::filesystem::exists(path));
  return io::load_tensors<double>(path);
}

}  // namespace

TEST_CASE("patches: patch k of sample b is batch entry b·g + k, and back") {
  Philox gen{21};
  const auto x = Tensor<double>::randn({2, 3, 4, 12}, gen);
  const auto p = patches_to_batch(x, 3);
  REQUIRE(p.shape() == Shape{6, 3, 4, 4});
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t k = 0; k < 3; ++k)
      for (std::int64_t c = 0; c < 3; ++c)
        for (std::int64_t r = 0; r < 4; ++r)
          for (std::int64_t j = 0; j < 4; ++j) CHECK(p.at({b * 3 + k, c, r, j}) == x.at({b, c, r, k * 4 + j}));
  CHECK(max_abs_diff(patches_from_batch(p, 3), x) == 0);
  CHECK(patches_to_batch(x, 1).shares_storage_with(x));
}

TEST_CASE("patches: per_patch equals the official patchwise_op (fixture)") {
  const auto t = fixture();
  const auto& x = t.at("patch.x");
  const auto& w = t.at("patch.w");
  const auto conv = [&](const auto& p) { return conv2d(p, w, {.padding = 1}); };
  CHECK(max_abs_diff(per_patch(x, 2, conv), t.at("patch.conv3x3_g2")) <= 1e-12);
  CHECK(max_abs_diff(per_patch(x, 4, conv), t.at("patch.conv3x3_g4")) <= 1e-12);
  const auto f = setup_filter<double>({1, 3, 3, 1});
  CHECK(max_abs_diff(per_patch(x, 2, [&](const auto& p) { return upsample2d(p, f); }), t.at("patch.upsample2d_g2")) <=
        1e-12);
  // A patch does not see its neighbours: changing the right half leaves the left half's output alone.
  auto x2 = x.clone();
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t r = 0; r < 5; ++r) x2.at({1, c, r, 4}) += 1;
  const auto a = per_patch(x, 2, conv), b = per_patch(x2, 2, conv);
  for (std::int64_t r = 0; r < 5; ++r) {
    CHECK(a.at({1, 2, r, 3}) == b.at({1, 2, r, 3}));
    CHECK(a.at({1, 2, r, 5}) != b.at({1, 2, r, 5}));
  }
}

TEST_CASE("patches: gradients through per-patch convolutions") {
  Philox gen{22};
  check_gradients(
      [](const Vars& v) {
        return square(per_patch(v[0], 2, [&](const auto& p) { return conv2d(p, v[1], {.padding = 1}); }));
      },
      {Tensor<double>::randn({2, 2, 3, 6}, gen), Tensor<double>::randn({3, 2, 3, 3}, gen)});
}

TEST_CASE("patches: bad input is refused") {
  CHECK(contains(error_of([] { patches_to_batch(Tensor<float>({1, 2, 3, 7}), 2); }), "divisible into 2 patches"));
  CHECK(contains(error_of([] { patches_to_batch(Tensor<float>({1, 2, 3, 8}), 0); }), "0 patches"));
  CHECK(contains(error_of([] { patches_from_batch(Tensor<float>({3, 2, 3, 8}), 2); }), "divisible by g = 2"));
}

TEST_CASE("minibatch_stddev: the official layer's outputs (fixture) and a direct loop") {
  const auto t = fixture();
  for (const char* name : {"g4c1", "g2c3", "g4_of_2"}) {
    CAPTURE(name);
    const auto& x = t.at(std::string("mbstd.x.") + name);
    const double* o = t.at(std::string("mbstd.opt.") + name).data();
    const auto group = static_cast<std::int64_t>(o[0]), channels = static_cast<std::int64_t>(o[1]);
    CHECK(max_abs_diff(minibatch_stddev(x, group, channels), t.at(std::string("mbstd.out.") + name)) <= 1e-14);
    CHECK(max_abs_diff(minibatch_stddev(Var<double>(x), group, channels).value(),
                       t.at(std::string("mbstd.out.") + name)) <= 1e-14);
  }
  // Sample i sits in slot i mod (N / G): with N = 8 and G = 4, samples 1, 3, 5, 7 form slot 1.
  const auto& x = t.at("mbstd.x.g4c1");
  double total = 0;
  for (std::int64_t c = 0; c < 6; ++c)
    for (std::int64_t r = 0; r < 3; ++r)
      for (std::int64_t j = 0; j < 5; ++j) {
        double mean = 0, var = 0;
        for (std::int64_t g = 0; g < 4; ++g) mean += x.at({g * 2 + 1, c, r, j}) / 4;
        for (std::int64_t g = 0; g < 4; ++g) var += std::pow(x.at({g * 2 + 1, c, r, j}) - mean, 2) / 4;
        total += std::sqrt(var + 1e-8);
      }
  const auto y = minibatch_stddev(x, 4);
  REQUIRE(y.shape() == Shape{8, 7, 3, 5});
  for (std::int64_t i : {1, 3, 5, 7}) CHECK(y.at({i, 6, 2, 4}) == doctest::Approx(total / 90).epsilon(1e-13));
}

TEST_CASE("minibatch_stddev: first and second derivatives") {
  Philox gen{23};
  check_gradients([](const Vars& v) { return minibatch_stddev(v[0], 2, 2); },
                  {Tensor<double>::randn({4, 4, 2, 3}, gen)});
  check_gradients([](const Vars& v) { return minibatch_stddev(v[0], 4); }, {Tensor<double>::randn({2, 3, 2, 2}, gen)});
}

TEST_CASE("minibatch_stddev: bad input is refused") {
  CHECK(contains(error_of([] {
                   minibatch_stddev(Tensor<float>({6, 4, 2, 2}), 4);
                 }),
                 "does not split into groups of 4"));
  CHECK(contains(error_of([] { minibatch_stddev(Tensor<float>({4, 5, 2, 2}), 4, 2); }), "5 channels"));
  CHECK(contains(error_of([] { minibatch_stddev(Tensor<float>({4, 4, 2, 2}), 0); }), "group size 0"));
  CHECK(contains(error_of([] { minibatch_stddev(Tensor<float>({4, 4, 2}), 2); }), "(N, C, H, W)"));
}
