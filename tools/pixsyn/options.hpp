#pragma once
// Options as the pixsyn program reads them: CLI11 splits the command line, and pixsyn converts each
// value itself, so that a bad value is one short line that names the flag and what it accepts
// ("--height must be an integer between 1 and 65536 (got 0)"): no silent wrap of "-1" to 2^64 - 1,
// no NaN, no 309-digit bound. Every numeric option of every subcommand goes through these.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace pixsyn::cli {

// An integer in [min, max]; the accepted range is appended to the help text.
CLI::Option* add_integer_option(CLI::App& app, const std::string& flag, std::int64_t& target, std::int64_t min,
                                std::int64_t max, const std::string& help);

// A seed: any integer from 0 to 2^64 - 1, written without a sign.
CLI::Option* add_seed_option(CLI::App& app, const std::string& flag, std::uint64_t& target, const std::string& help);

// A finite number in [min, max].
CLI::Option* add_number_option(CLI::App& app, const std::string& flag, double& target, double min, double max,
                               const std::string& help);

// One of `choices`, listed in the help text.
CLI::Option* add_choice_option(CLI::App& app, const std::string& flag, std::string& target,
                               std::vector<std::string> choices, const std::string& help);

// A string that `accept` accepts: it throws UsageError naming the problem otherwise. `type` is the
// value's placeholder in the help text.
CLI::Option* add_checked_option(CLI::App& app, const std::string& flag, std::string& target,
                                std::function<void(const std::string&)> accept, const std::string& help,
                                const std::string& type);

// One of the integers `choices` (e.g. the registered model sizes).
CLI::Option* add_integer_choice_option(CLI::App& app, const std::string& flag, int& target,
                                       std::span<const int> choices, const std::string& help);

// A file path; an empty one is refused.
CLI::Option* add_path_option(CLI::App& app, const std::string& flag, std::string& target, const std::string& help);

// A value from the command line as messages quote it: at most a few dozen characters, control
// characters replaced, so that an error stays one short line whatever was typed.
std::string quote_value(const std::string& text);

}  // namespace pixsyn::cli
