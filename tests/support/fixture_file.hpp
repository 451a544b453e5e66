#pragma once
// A fixture file of tests/fixtures as double tensors, read once per test binary and kept (its cases
// look up many entries): fixture_file("metrics/fid.safetensors").at("a"), .scalar("fd_ab").
#include <map>
#include <string>

#include "pixsyn/io/safetensors.hpp"

namespace pixsyn::test {

struct FixtureFile {
  std::map<std::string, Tensor<double>> tensors;

  const Tensor<double>& at(const std::string& key) const { return tensors.at(key); }
  // A one-element entry's value.
  double scalar(const std::string& key) const { return at(key).item(); }
};

// tests/fixtures/<relative>; doctest runs the cases on one thread.
inline const FixtureFile& fixture_file(const std::string& relative) {
  static std::map<std::string, FixtureFile> loaded;
  auto it = loaded.find(relative);
  if (it == loaded.end())
    it =
        loaded.emplace(relative, FixtureFile{io::load_tensors<double>(PIXSYN_SOURCE_DIR "/tests/fixtures/" + relative)})
            .first;
  return it->second;
}

}  // namespace pixsyn::test
