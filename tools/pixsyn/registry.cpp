// The name -> model table of the pixsyn program: every family's entries, in the order --help lists them.
#include <algorithm>
#include <cctype>
#include <type_traits>

#include "families.hpp"
#include "model.hpp"

namespace pixsyn::cli {
namespace {

const std::vector<ModelEntry>& entries() {
  static const std::vector<ModelEntry> table = [] {
    std::vector<ModelEntry> out{detail::cips_skips_entry(),      detail::cips_residual_entry(),
                                detail::cips_base_entry(),       detail::cips_no_embedding_entry(),
                                detail::cips_no_fourier_entry(), detail::cips_sine_entry()};
    for (auto& e : detail::creps_multi_entries()) out.push_back(std::move(e));
    for (auto& e : detail::creps_single_entries()) out.push_back(std::move(e));
    out.push_back(detail::creps_nb_entry());
    out.push_back(detail::alis_entry());
    out.push_back(detail::alis_nocoords_entry());
    return out;
  }();
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

// "creps-multi-d" for "creps-multi-d12"; "" when the name does not end in digits.
std::string numbered_stem(const std::string& name) {
  std::size_t end = name.size();
  while (end > 0 && std::isdigit(static_cast<unsigned char>(name[end - 1]))) --end;
  return end < name.size() ? name.substr(0, end) : "";
}

// The registered names for messages, numbered members grouped: "creps, creps-multi-d<N>,
// creps-single-d<N> (N = 1, 2, 4, 8, 16), creps-nb".
std::string name_list() {
  struct Item {
    std::string text;
    std::vector<std::string> numbers;  // empty for a plain name
  };
  std::vector<Item> items;
  for (const auto& e : entries()) {
    const std::string stem = numbered_stem(e.name);
    const auto group = std::find_if(items.begin(), items.end(), [&](const Item& i) { return i.text == stem + "<N>"; });
    if (stem.empty())
      items.push_back({e.name, {}});
    else if (group == items.end())
      items.push_back({stem + "<N>", {e.name.substr(stem.size())}});
    else
      group->numbers.push_back(e.name.substr(stem.size()));
  }
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (out.empty() ? "" : ", ") + items[i].text;
    // Groups numbered alike share one list, after the last of them.
    const bool shared = i + 1 < items.size() && !items[i].numbers.empty() && items[i + 1].numbers == items[i].numbers;
    if (!items[i].numbers.empty() && !shared) out += " (N = " + join(items[i].numbers) + ")";
  }
  return out;
}

// A name as messages quote it: a long one is cut, so that the message stays one short line.
std::string shown(const std::string& name) { return name.size() > 24 ? name.substr(0, 21) + "..." : name; }

}  // namespace

const std::string& model_name_list() {
  static const std::string list = name_list();
  return list;
}

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& e : entries()) out.push_back(e.name);
    return out;
  }();
  return names;
}

const ModelEntry& find_model(const std::string& name) {
  const auto& table = entries();
  const auto entry = std::find_if(table.begin(), table.end(), [&](const ModelEntry& e) { return e.name == name; });
  if (entry != table.end()) return *entry;
  // A numbered family member that is not registered (creps-multi-d3): name the registered numbers.
  const std::string stem = numbered_stem(name);
  std::vector<std::string> siblings;
  for (const auto& e : table)
    if (!stem.empty() && numbered_stem(e.name) == stem) siblings.push_back(e.name);
  if (!siblings.empty())
    throw UsageError(pixsyn::detail::concat("--model ", shown(name), " is not registered; the registered ", stem,
                                            "<N> are ", join(siblings)));
  throw UsageError(pixsyn::detail::concat("--model must be one of ", model_name_list(), " (got ", shown(name), ")"));
}

std::unique_ptr<Model> make_model(const std::string& name, int size, int max_channels, std::uint64_t seed) {
  const ModelEntry& entry = find_model(name);
  if (std::find(model_sizes.begin(), model_sizes.end(), size) == model_sizes.end())
    throw UsageError(pixsyn::detail::concat("--size must be one of ", join(model_sizes), " (got ", size, ")"));
  if (max_channels == 0) return entry.make(size, seed);
  if (auto model = entry.make_narrow ? entry.make_narrow(size, max_channels, seed) : nullptr) return model;
  const std::string known =
      entry.narrow_list ? "; those of " + name + " are (size/max_channels) " + entry.narrow_list() : "";
  throw UsageError(pixsyn::detail::concat(name, "-", size, " with max_channels ", max_channels,
                                          " is not a variant this pixsyn builds", known));
}

}  // namespace pixsyn::cli
