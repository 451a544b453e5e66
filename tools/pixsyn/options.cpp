#include "options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <type_traits>

#include "usage_error.hpp"

namespace pixsyn::cli {
namespace {

// Parses all of `text` as T: no surrounding space, no '+', and a '-' only for signed types.
template <class T>
std::optional<T> parse_all(const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || text.empty()) return std::nullopt;
  return value;
}

template <class T>
std::string join(const std::vector<T>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_arithmetic_v<T>)
      out += std::to_string(item);
    else
      out += item;
  }
  return out;
}

std::string format_number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// Adds `flag` taking one value, converted by `convert` after parsing (which throws UsageError).
CLI::Option* add_converted(CLI::App& app, const std::string& flag, std::function<void(const std::string&)> convert,
                           const std::string& help, const std::string& type) {
  return app.add_option_function<std::string>(flag, std::move(convert), help)->type_name(type);
}

}  // namespace

std::string quote_value(const std::string& text) {
  constexpr std::size_t limit = 32;
  std::string out;
  for (const char c : text.substr(0, limit)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (text.size() > limit) out += "...";
  return out;
}

CLI::Option* add_integer_option(CLI::App& app, const std::string& flag, std::int64_t& target, std::int64_t min,
                                std::int64_t max, const std::string& help) {
  const std::string range = std::to_string(min) + " and " + std::to_string(max);
  return add_converted(
             app, flag,
             [&target, flag, min, max, range](const std::string& text) {
               const auto value = parse_all<std::int64_t>(text);
               if (!value || *value < min || *value > max)
                 throw UsageError(flag + " must be an integer between " + range + " (got " + quote_value(text) + ")");
               target = *value;
             },
             help + "; " + std::to_string(min) + " to " + std::to_string(max), "INT")
      ->default_str(std::to_string(target));
}

CLI::Option* add_seed_option(CLI::App& app, const std::string& flag, std::uint64_t& target, const std::string& help) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  return add_converted(
             app, flag,
             [&target, flag](const std::string& text) {
               // from_chars reads no sign for unsigned types: "-1" is refused, never wrapped to 2^64 - 1.
               const auto value = parse_all<std::uint64_t>(text);
               if (!value)
                 throw UsageError(flag + " must be an integer between 0 and " + std::to_string(max) + " (got " +
                                  quote_value(text) + ")");
               target = *value;
             },
             help + "; 0 to 2^64 - 1", "UINT")
      ->default_str(std::to_string(target));
}

CLI::Option* add_number_option(CLI::App& app, const std::string& flag, double& target, double min, double max,
                               const std::string& help) {
  const std::string range = format_number(min) + " and " + format_number(max);
  return add_converted(
             app, flag,
             [&target, flag, min, max, range](const std::string& text) {
               const auto value = parse_all<double>(text);
               // from_chars reads "nan" and "inf", which no range holds.
               if (!value || !std::isfinite(*value) || *value < min || *value > max)
                 throw UsageError(flag + " must be a finite number between " + range + " (got " + quote_value(text) +
                                  ")");
               target = *value;
             },
             help + "; " + format_number(min) + " to " + format_number(max), "FLOAT")
      ->default_str(format_number(target));
}

CLI::Option* add_choice_option(CLI::App& app, const std::string& flag, std::string& target,
                               std::vector<std::string> choices, const std::string& help) {
  const std::string list = join(choices);
  return add_converted(
             app, flag,
             [&target, flag, choices, list](const std::string& text) {
               if (std::find(choices.begin(), choices.end(), text) == choices.end())
                 throw UsageError(flag + " must be one of " + list + " (got " + quote_value(text) + ")");
               target = text;
             },
             help, "{" + list + "}")
      ->default_str(target);
}

CLI::Option* add_checked_option(CLI::App& app, const std::string& flag, std::string& target,
                                std::function<void(const std::string&)> accept, const std::string& help,
                                const std::string& type) {
  return add_converted(
             app, flag,
             [&target, accept = std::move(accept)](const std::string& text) {
               accept(text);
               target = text;
             },
             help, type)
      ->default_str(target);
}

CLI::Option* add_integer_choice_option(CLI::App& app, const std::string& flag, int& target,
                                       std::span<const int> choices, const std::string& help) {
  const std::vector<int> allowed(choices.begin(), choices.end());
  const std::string list = join(allowed);
  return add_converted(
      app, flag,
      [&target, flag, allowed, list](const std::string& text) {
        const auto value = parse_all<int>(text);
        if (!value || std::find(allowed.begin(), allowed.end(), *value) == allowed.end())
          throw UsageError(flag + " must be one of " + list + " (got " + quote_value(text) + ")");
        target = *value;
      },
      help + ": " + list, "INT");
}

CLI::Option* add_path_option(CLI::App& app, const std::string& flag, std::string& target, const std::string& help) {
  return add_converted(
      app, flag,
      [&target, flag](const std::string& text) {
        if (text.empty()) throw UsageError(flag + " needs a path (got an empty one)");
        target = text;
      },
      help, "PATH");
}

}  // namespace pixsyn::cli
