// upfirdn2d, setup_filter and the upsample2d / downsample2d / filter2d wrappers: against the definition
// (fixture written from it and checked there against loops), a double loop here, first- and second-order
// gradient checks in every mode, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <pixsyn/autograd/functions/arithmetic.hpp>
#include <pixsyn/autograd/functions/upfirdn2d.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/backend/fast_divider.hpp>
#include <pixsyn/backend/fir_taps.hpp>
#include <pixsyn/backend/fir_tile.hpp>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/ops/upfirdn2d.hpp>

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

// y[m] = Σ_k f'[k] v[m·down + k] over the zero-inserted, padded v, f' the flipped (unless flip_filter) f·gain;
// a 1-D filter is its outer product.
Tensor<double> naive_upfirdn2d(const Tensor<double>& x, const Tensor<double>& f, const Upfirdn2dOptions& o) {
  const std::int64_t fh = f.rank() == 1 ? f.dim(0) : f.dim(0), fw = f.rank() == 1 ? f.dim(0) : f.dim(1);
  auto tap = [&](std::int64_t ky, std::int64_t kx) {
    if (!o.flip_filter) ky = fh - 1 - ky, kx = fw - 1 - kx;
    return o.gain * (f.rank() == 1 ? f.at({ky}) * f.at({kx}) : f.at({ky, kx}));
  };
  const std::int64_t h = x.dim(2), w = x.dim(3);
  const std::int64_t oh = (h * o.up + o.pad_y0 + o.pad_y1 - fh) / o.down + 1;
  const std::int64_t ow = (w * o.up + o.pad_x0 + o.pad_x1 - fw) / o.down + 1;
  Tensor<double> y({x.dim(0), x.dim(1), oh, ow});
  for (std::int64_t b = 0; b < x.dim(0); ++b)
    for (std::int64_t c = 0; c < x.dim(1); ++c)
      for (std::int64_t my = 0; my < oh; ++my)
        for (std::int64_t mx = 0; mx < ow; ++mx)
          for (std::int64_t ky = 0; ky < fh; ++ky)
            for (std::int64_t kx = 0; kx < fw; ++kx) {
              const std::int64_t ty = my * o.down + ky - o.pad_y0, tx = mx * o.down + kx - o.pad_x0;
              if (ty < 0 || tx < 0 || ty >= h * o.up || tx >= w * o.up || ty % o.up || tx % o.up) continue;
              y.at({b, c, my, mx}) += tap(ky, kx) * x.at({b, c, ty / o.up, tx / o.up});
            }
  return y;
}

struct Case {
  Shape x, f;
  Upfirdn2dOptions o;
};

const std::vector<Case> cases = {
    {{2, 3, 4, 5}, {4, 4}, {.up = 2, .pad_x0 = 2, .pad_x1 = 1, .pad_y0 = 2, .pad_y1 = 1, .gain = 4}},
    {{1, 2, 7, 6}, {4, 4}, {.down = 2, .pad_x0 = 1, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 1}},
    {{2, 2, 5, 7}, {3, 4}, {.pad_x0 = -1, .pad_x1 = 2, .pad_y0 = 1, .pad_y1 = -2}},
    {{1, 2, 4, 3}, {3, 4}, {.up = 3, .pad_x0 = 1, .pad_y0 = 2, .pad_y1 = 3, .gain = 2, .flip_filter = true}},
    {{2, 1, 6, 7}, {3, 4}, {.up = 2, .down = 3, .pad_x1 = 1, .pad_y0 = 3}},
    {{2, 2, 5, 6}, {5}, {.up = 2, .pad_x0 = 2, .pad_x1 = 2, .pad_y0 = 1, .pad_y1 = 3, .gain = 4}},
    {{1, 3, 9, 8}, {5}, {.down = 2, .pad_x0 = 2, .pad_x1 = 1, .pad_y1 = 2, .flip_filter = true}},
    {{2, 2, 3, 3}, {2, 2}, {.up = 2, .down = 2, .pad_x0 = 1, .pad_y1 = 1}},
};

}  // namespace

TEST_CASE("upfirdn2d: matches a double loop in every mode, Tensor and Var") {
  Philox gen{11};
  for (const auto& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.f);
    CAPTURE(c.o.up);
    CAPTURE(c.o.down);
    const auto x = Tensor<double>::randn(c.x, gen), f = Tensor<double>::randn(c.f, gen);
    const auto expected = naive_upfirdn2d(x, f, c.o);
    CHECK(max_abs_diff(upfirdn2d(x, f, c.o), expected) <= 1e-12);
    CHECK(max_abs_diff(upfirdn2d(Var<double>(x), f, c.o).value(), expected) <= 1e-12);
  }
}

TEST_CASE("upfirdn2d: first and second derivatives in every mode") {
  Philox gen{12};
  for (const auto& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.f);
    CAPTURE(c.o.up);
    CAPTURE(c.o.down);
    const auto f = Tensor<double>::randn(c.f, gen);
    const auto result =
        autograd::gradcheck([f, o = c.o](const Vars& v) { return mul(upfirdn2d(v[0], f, o), upfirdn2d(v[0], f, o)); },
                            {Tensor<double>::randn(c.x, gen)}, {.max_elements = 48});
    INFO(result.message);
    CHECK(result.ok);
  }
}

TEST_CASE("upfirdn2d: the definition's outputs (fixture)") {
  const std::string path = std::string(PIXSYN_SOURCE_DIR) + "/tests/fixtures/ops/upfirdn2d.safetensors";
  REQUIRE(std::filesystem::exists(path));
  const auto t = io::load_tensors<double>(path);
  int checked = 0;
  for (const auto& [key, expected] : t) {
    if (!key.starts_with("out.")) continue;
    const std::string name = key.substr(4);
    CAPTURE(name);
    const auto& x = t.at("x." + name);
    const auto& f = t.at("f." + name);
    const double* o = t.at("opt." + name).data();
    const auto i = [&](int k) { return static_cast<std::int64_t>(o[k]); };
    const Upfirdn2dOptions options{.up = i(0),
                                   .down = i(1),
                                   .pad_x0 = i(2),
                                   .pad_x1 = i(3),
                                   .pad_y0 = i(4),
                                   .pad_y1 = i(5),
                                   .gain = o[6],
                                   .flip_filter = o[7] != 0};
    CHECK(max_abs_diff(upfirdn2d(x, f, options), expected) <= 1e-12);
    ++checked;
  }
  CHECK(checked == 9);
  CHECK(max_abs_diff(setup_filter<double>({1, 3, 3, 1}), t.at("filter.1331")) <= 1e-16);
  CHECK(max_abs_diff(setup_filter<double>({1, 2, 3, 4}, {.flip = true, .gain = 4}), t.at("filter.1331_gain4_flip")) <=
        1e-16);
  CHECK(max_abs_diff(setup_filter<double>({1, 2, 3, 4, 4, 3, 2, 1}), t.at("filter.8taps")) <= 1e-16);
}

TEST_CASE("upfirdn2d: the official wrappers keep images centred and constants constant") {
  const auto f = setup_filter<double>({1, 3, 3, 1});
  REQUIRE(f.shape() == Shape{4, 4});
  CHECK(f.at({1, 2}) == 9.0 / 64);
  const auto ones = Tensor<double>::ones({1, 2, 8, 6});
  // Upsampling by 2 with gain 4 keeps a constant image constant away from the borders.
  const auto up = upsample2d(ones, f);
  REQUIRE(up.shape() == Shape{1, 2, 16, 12});
  CHECK(up.at({0, 1, 7, 5}) == doctest::Approx(1.0).epsilon(1e-14));
  const auto down = downsample2d(ones, f);
  REQUIRE(down.shape() == Shape{1, 2, 4, 3});
  CHECK(down.at({0, 0, 2, 1}) == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(filter2d(ones, f).shape() == ones.shape());
  // The separable form of the same taps gives the same images.
  const auto sep = setup_filter<double>({1, 3, 3, 1}, {.separable = true});
  REQUIRE(sep.shape() == Shape{4});
  Philox gen{13};
  const auto x = Tensor<double>::randn({2, 3, 5, 7}, gen);
  CHECK(max_abs_diff(upsample2d(x, sep), upsample2d(x, f)) <= 1e-14);
  CHECK(max_abs_diff(downsample2d(x, sep), downsample2d(x, f)) <= 1e-14);
  // Var forms of the wrappers.
  CHECK(max_abs_diff(upsample2d(Var<double>(x), f).value(), upsample2d(x, f)) == 0);
}

TEST_CASE("upfirdn2d: bad input is refused with messages that name it") {
  const Tensor<float> x({1, 2, 4, 4}), f({4, 4});
  CHECK(contains(error_of([&] { upfirdn2d(x, f, {.up = 0}); }), "up 0"));
  CHECK(contains(error_of([&] { upfirdn2d(x, f, {.pad_x0 = -3}); }), "does not fit the width"));
  CHECK(contains(error_of([&] { upfirdn2d(x.reshape({2, 4, 4}), f); }), "x must be (B, C, H, W)"));
  CHECK(contains(error_of([&] { upfirdn2d(x, Tensor<float>({2, 2, 2})); }), "filter must be 2-D"));
  CHECK(contains(error_of([&] { upfirdn2d(x, f, {.gain = NAN}); }), "not finite"));
  CHECK(contains(error_of([&] { upfirdn2d(x, f, {.pad_y1 = std::int64_t(1) << 40}); }), "paddings"));
  CHECK(contains(error_of([] { setup_filter({1, -1}); }), "sum to 0"));
  CHECK(contains(error_of([] { setup_filter({}); }), "no taps"));
}

TEST_CASE("FirAxisTaps visits exactly fir_source's taps, in order") {
  // Every small axis: sizes, up- and downsampling, padding and cropping on both sides.
  for (std::int64_t in = 1; in <= 5; ++in)
    for (std::int64_t up = 1; up <= 3; ++up)
      for (std::int64_t down = 1; down <= 3; ++down)
        for (std::int64_t taps = 1; taps <= 5; ++taps)
          for (std::int64_t pad0 = -3; pad0 <= 4; ++pad0)
            for (std::int64_t pad1 = -3; pad1 <= 4; ++pad1) {
              const std::int64_t span = in * up + pad0 + pad1 - taps;
              if (span < 0) continue;
              const backend::FirAxis a{in, span / down + 1, taps, up, down, pad0, pad1};
              const backend::FirAxisTaps<std::int32_t, backend::FastDivider> fast(a);
              for (std::int32_t m = 0; m < a.out; ++m) {
                std::vector<std::int64_t> expected, got;
                for (std::int64_t k = 0; k < taps; ++k)
                  if (const std::int64_t i = backend::fir_source(a, m, k); i >= 0)
                    expected.insert(expected.end(), {k, i});
                std::int32_t k, i;
                for (fast.first(m, k, i); k < taps; k += up, ++i)
                  if (i >= 0 && i < in) got.insert(got.end(), {k, i});
                INFO("in " << in << " up " << up << " down " << down << " taps " << taps << " pad " << pad0 << ","
                           << pad1 << " m " << m);
                CHECK(got == expected);
              }
            }
}

namespace {

// Every tap of every output of every tile of an axis (the 4-tap filter, up by Up, down by Down): the
// sample fir_tile_sample names lies in the staged window, and is fir_source's (a tap on the padding reads a
// window sample outside the input, which the kernel stages as zero). Returns the mismatches.
template <int Up, int Down>
int tile_mismatches(const backend::FirAxis& a) {
  int bad = 0;
  for (std::int64_t first = 0; first < a.out; first += backend::fir_tile) {
    const auto t0 = static_cast<std::int32_t>(first * Down - a.pad0);
    const std::int64_t i0 = backend::fir_floor_div<Up>(t0);
    for (std::int32_t m = 0; m < backend::fir_tile && first + m < a.out; ++m)
      for (int k = 0; k < backend::fir_tile_taps; ++k) {
        const std::int64_t expected = backend::fir_source(a, first + m, k);
        const std::int32_t s = backend::fir_tile_sample<Up, Down>(t0, m, k);
        const bool in_window = s >= 0 && s < backend::fir_tile_window<Up, Down>;
        if (expected >= 0)
          bad += !in_window || i0 + s != expected;
        else
          bad += s != -1 && (!in_window || (i0 + s >= 0 && i0 + s < a.in));
      }
  }
  return bad;
}

template <int Up, int Down>
void check_tiles() {
  for (std::int64_t in = 1; in <= 70; ++in)
    for (std::int64_t pad0 = -3; pad0 <= 4; ++pad0)
      for (std::int64_t pad1 = -3; pad1 <= 4; ++pad1) {
        const std::int64_t span = in * Up + pad0 + pad1 - backend::fir_tile_taps;
        if (span < 0) continue;
        const backend::FirAxis a{in, span / Down + 1, backend::fir_tile_taps, Up, Down, pad0, pad1};
        INFO("up " << Up << " down " << Down << " in " << in << " pad " << pad0 << "," << pad1);
        CHECK(tile_mismatches<Up, Down>(a) == 0);
      }
}

}  // namespace

TEST_CASE("fir_tile_sample: the tiled CUDA kernel's staged window holds exactly fir_source's taps") {
  check_tiles<1, 1>();
  check_tiles<2, 1>();
  check_tiles<1, 2>();
}
