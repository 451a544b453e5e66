#pragma once
// The PyTorch reference fixtures of CIPS (tests/fixtures/cips, written by tools/reference/make_fixtures.py):
// their model configurations, loading, and the relative error the comparisons measure.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "pixsyn/io/safetensors.hpp"
#include "pixsyn/models/cips.hpp"

namespace pixsyn::test {

// The fixture configurations (channel tables from the fixtures' metadata).
inline constexpr cips::Config skips_native16{
    .size = 16, .hidden = 32, .style_dim = 32, .mapping_layers = 2, .channels = {32, 32, 32}};
inline constexpr cips::Config skips_grid24x40{
    .size = 16, .hidden = 32, .style_dim = 48, .mapping_layers = 3, .channels = {32, 32, 32}};
inline constexpr cips::Config residual_native16{.size = 16,
                                                .hidden = 32,
                                                .style_dim = 32,
                                                .mapping_layers = 2,
                                                .topology = cips::Topology::residual,
                                                .channels = {32, 24, 16}};
inline constexpr cips::Config residual_grid20x12{.size = 16,
                                                 .hidden = 32,
                                                 .style_dim = 64,
                                                 .mapping_layers = 3,
                                                 .topology = cips::Topology::residual,
                                                 .channels = {24, 32, 16}};
inline constexpr cips::Config skips_widths32{
    .size = 32, .hidden = 16, .style_dim = 40, .mapping_layers = 2, .channels = {48, 32, 32, 16}};

// A fixture file `name` split into the generator's weights and the reference tensors ("fixture.*").
struct Fixture {
  std::map<std::string, Tensor<float>> weights, tensors;
  std::map<std::string, std::string> metadata;
};

// tests/fixtures/<family>/<name>.safetensors split into weights and fixture.* tensors.
inline Fixture load_fixture(const std::string& family, const std::string& name) {
  auto file = io::read_safetensors(PIXSYN_SOURCE_DIR "/tests/fixtures/" + family + "/" + name + ".safetensors");
  Fixture fixture{.metadata = std::move(file.metadata)};
  for (const auto& [key, raw] : file.tensors)
    (key.rfind("fixture.", 0) == 0 ? fixture.tensors : fixture.weights)[key] = raw.template to<float>();
  return fixture;
}

inline Fixture load_cips_fixture(const std::string& name) { return load_fixture("cips", name); }

// A comma-separated metadata entry (the official key order, "keys") as its items.
inline std::vector<std::string> metadata_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// How relative_error measures: max |got - want| / max |want|, or ‖got - want‖₂ / ‖want‖₂.
enum class Norm { max, l2 };

// The error of got relative to want; NaN never passes (it measures infinite).
inline double relative_error(const Tensor<float>& got, const Tensor<float>& want, Norm norm = Norm::max) {
  REQUIRE(got.shape() == want.shape());
  double err = 0, scale = std::numeric_limits<double>::min();
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double d = std::abs(double(got.data()[i]) - double(want.data()[i])), r = std::abs(double(want.data()[i]));
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    err = norm == Norm::max ? std::max(err, d) : err + d * d;
    scale = norm == Norm::max ? std::max(scale, r) : scale + r * r;
  }
  return norm == Norm::max ? err / scale : std::sqrt(err / scale);
}

}  // namespace pixsyn::test
