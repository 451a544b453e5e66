// The name -> family table of the pixsyn program.
#include <algorithm>
#include <type_traits>

#include "model.hpp"

namespace pixsyn::cli {
namespace {

struct Family {
  std::string name;
  std::unique_ptr<Model> (*make)(int size, std::uint64_t seed);
};

const std::vector<Family>& families() {
  static const std::vector<Family> table{
      {"cips-skips", detail::make_skips},
      {"cips-res", detail::make_residual},
      {"cips-base", detail::make_base},
      {"cips-ne", detail::make_no_embedding},
      {"cips-nofourier", detail::make_no_fourier},
      {"cips-sine", detail::make_sine},
  };
  return table;
}

template <class Range>
std::string join(const Range& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_arithmetic_v<std::decay_t<decltype(item)>>)
      out += std::to_string(item);
    else
      out += item;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& family : families()) out.push_back(family.name);
    return out;
  }();
  return names;
}

std::unique_ptr<Model> make_model(const std::string& name, int size, std::uint64_t seed) {
  const auto& table = families();
  const auto family = std::find_if(table.begin(), table.end(), [&](const Family& f) { return f.name == name; });
  if (family == table.end())
    throw UsageError(pixsyn::detail::concat("unknown model '", name, "'; valid models: ", join(model_names())));
  if (std::find(model_sizes.begin(), model_sizes.end(), size) == model_sizes.end())
    throw UsageError(pixsyn::detail::concat("unknown size ", size, "; valid sizes: ", join(model_sizes)));
  return family->make(size, seed);
}

}  // namespace pixsyn::cli
