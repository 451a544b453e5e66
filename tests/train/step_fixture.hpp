#pragma once
// The training-step fixtures of tools/reference (make_train_fixtures.py, make_sg2ada_train_fixtures.py):
// float64 tensors by key, and the comparison of a module's weights with the reference's.
#include <doctest/doctest.h>

#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/nn/module.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace pixsyn::test {

struct StepFixture {
  std::map<std::string, Tensor<double>> tensors;

  // tests/fixtures/train/<name>.safetensors
  static StepFixture load(const std::string& name) {
    StepFixture f;
    for (const auto& [key, raw] :
         io::read_safetensors(PIXSYN_SOURCE_DIR "/tests/fixtures/train/" + name + ".safetensors").tensors)
      f.tensors.emplace(key, raw.to<double>());
    return f;
  }

  const Tensor<double>& at(const std::string& key) const {
    const auto it = tensors.find(key);
    REQUIRE_MESSAGE(it != tensors.end(), "fixture key ", key);
    return it->second;
  }
  // The entries under "prefix." with the prefix taken off.
  nn::StateDict<double> with_prefix(const std::string& prefix) const {
    nn::StateDict<double> out;
    for (const auto& [key, value] : tensors)
      if (key.rfind(prefix, 0) == 0) out.emplace(key.substr(prefix.size()), value);
    return out;
  }
};

// Largest |module value - want value| over every parameter, relative to the largest |want| of that parameter.
template <class Module>
double max_relative_difference(const Module& module, const nn::StateDict<double>& want) {
  double worst = 0;
  for (const auto& [name, p] : module.named_parameters()) {
    const auto& w = want.at(name);
    double err = 0, scale = 1e-300;
    for (std::int64_t i = 0; i < w.numel(); ++i) {
      err = std::max(err, std::abs(p->value().data()[i] - w.data()[i]));
      scale = std::max(scale, std::abs(w.data()[i]));
    }
    worst = std::max(worst, err / scale);
  }
  return worst;
}

}  // namespace pixsyn::test
