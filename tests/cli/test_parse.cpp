// The pixsyn program's parser, called directly: every option of every subcommand refuses a bad value
// with one short message naming the flag and what it accepts, and parsing starts no work.
#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "program.hpp"
#include "subcommands.hpp"
#include "usage_error.hpp"

using namespace pixsyn::cli;

namespace {

// The message of the UsageError that parsing `args` throws ("" when it parses).
std::string usage_error(const std::vector<std::string>& args) {
  try {
    parse_command_line(subcommands(), args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

constexpr std::size_t short_message = 100;

}  // namespace

TEST_CASE("bad option values are refused in one short message naming the flag and the range") {
  const std::vector<std::string> render{"render", "--model", "cips-skips", "--size", "16"};
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--height", "0"}, "--height must be an integer between 1 and 65536 (got 0)"},
      {{"--height", "4611686018427387904"},
       "--height must be an integer between 1 and 65536 (got 4611686018427387904)"},
      {{"--height", "99999999999999999999999"},
       "--height must be an integer between 1 and 65536 (got 99999999999999999999999)"},
      {{"--width", "-3"}, "--width must be an integer between 1 and 65536 (got -3)"},
      {{"--width", "12px"}, "--width must be an integer between 1 and 65536 (got 12px)"},
      {{"--width", "1.5"}, "--width must be an integer between 1 and 65536 (got 1.5)"},
      {{"--batch", "0"}, "--batch must be an integer between 1 and 65536 (got 0)"},
      {{"--tile", "0"}, "--tile must be an integer between 1 and 16777216 (got 0)"},
      {{"--columns", "-1"}, "--columns must be an integer between 0 and 65536 (got -1)"},
      {{"--truncation-samples", "0"}, "--truncation-samples must be an integer between 1 and 65536 (got 0)"},
      {{"--seed", "-1"}, "--seed must be an integer between 0 and 18446744073709551615 (got -1)"},
      {{"--seed", "18446744073709551616"},
       "--seed must be an integer between 0 and 18446744073709551615 (got 18446744073709551616)"},
      {{"--seed", "+5"}, "--seed must be an integer between 0 and 18446744073709551615 (got +5)"},
      {{"--init-seed", "-1"}, "--init-seed must be an integer between 0 and 18446744073709551615 (got -1)"},
      {{"--noise-seed", "x"}, "--noise-seed must be an integer between 0 and 18446744073709551615 (got x)"},
      {{"--truncation-seed", "-9"}, "--truncation-seed must be an integer between 0 and 18446744073709551615 (got -9)"},
      {{"--truncation", "nan"}, "--truncation must be a finite number between -100 and 100 (got nan)"},
      {{"--truncation", "inf"}, "--truncation must be a finite number between -100 and 100 (got inf)"},
      {{"--truncation", "-inf"}, "--truncation must be a finite number between -100 and 100 (got -inf)"},
      {{"--truncation", "1e400"}, "--truncation must be a finite number between -100 and 100 (got 1e400)"},
      {{"--truncation", "101"}, "--truncation must be a finite number between -100 and 100 (got 101)"},
      {{"--noise", "loud"}, "--noise must be one of off, seeded, random, const (got loud)"},
      {{"--zoom", "0"}, "--zoom must be a finite number between 1e-06 and 1e+06 (got 0)"},
      {{"--zoom", "-2"}, "--zoom must be a finite number between 1e-06 and 1e+06 (got -2)"},
      {{"--zoom", "nan"}, "--zoom must be a finite number between 1e-06 and 1e+06 (got nan)"},
      {{"--shift-x", "inf"}, "--shift-x must be a finite number between -1e+06 and 1e+06 (got inf)"},
      {{"--shift-y", "1e7"}, "--shift-y must be a finite number between -1e+06 and 1e+06 (got 1e7)"},
      {{"--rotate", "nan"}, "--rotate must be a finite number between -1e+06 and 1e+06 (got nan)"},
      {{"--refinement", "fp8"}, "--refinement must be one of fp32, fp16 (got fp8)"},
      {{"--device", "tpu"}, "--device must be one of cpu, cuda (got tpu)"},
      {{"--precision", "fp8"}, "--precision must be one of fp32, bf16 (got fp8)"},
      {{"--npy", ""}, "--npy needs a path (got an empty one)"},
      {{"--weights", ""}, "--weights needs a path (got an empty one)"},
      // What was typed is quoted short and on one line.
      {{"--height", std::string(5000, '7')},
       "--height must be an integer between 1 and 65536 (got " + std::string(32, '7') + "...)"},
      {{"--noise", "a\nb"}, "--noise must be one of off, seeded, random, const (got a?b)"},
  };
  for (const auto& c : cases) {  // not a structured binding: doctest's CAPTURE is a lambda, and clang 14 refuses
    std::vector<std::string> args = render;
    args.insert(args.end(), c.first.begin(), c.first.end());
    CAPTURE(c.first[0]);
    const std::string error = usage_error(args);
    CHECK(error == c.second);
    CHECK(error.size() <= short_message);
  }
  CHECK(usage_error({"render", "--model", "cips-nope", "--size", "16"}) ==
        "--model must be one of cips-skips, cips-res, cips-base, cips-ne, cips-nofourier, cips-sine, creps, "
        "creps-multi-d<N>, creps-single-d<N> (N = 1, 2, 4, 8, 16), creps-nb, alis, alis-nocoords (got cips-nope)");
  CHECK(usage_error({"info", "--model", "cips-skips", "--size", "48"}) ==
        "--size must be one of 16, 32, 64, 128, 256, 512, 1024 (got 48)");
  CHECK(usage_error({"info", "--model", "cips-skips", "--size", "16", "--init-seed", "-1"}) ==
        "--init-seed must be an integer between 0 and 18446744073709551615 (got -1)");
}

TEST_CASE("the largest values of each range are accepted") {
  const std::vector<std::string> render{"render", "--model", "cips-skips", "--size", "16"};
  const std::vector<std::vector<std::string>> accepted{
      {"--height", "65536", "--width", "1"},
      {"--seed", "18446744073709551615"},
      {"--batch", "65536"},
      {"--truncation", "-100"},
      {"--truncation", "0.5"},
      {"--tile", "16777216"},
      {"--columns", "0"},
      {"--noise", "seeded"},
      {"--truncation-samples", "65536"},
      {"--npy", "out.npy", "--png", "out.png"},
      {"-q"},
  };
  for (const auto& options : accepted) {
    std::vector<std::string> args = render;
    args.insert(args.end(), options.begin(), options.end());
    CAPTURE(options[0]);
    CHECK(usage_error(args) == "");
  }
}

TEST_CASE("every option of every subcommand answers any value with a parse or a short usage error") {
  // Whatever a later subcommand adds is covered too: the options are listed from the table itself.
  const std::vector<std::string> hostile{"",
                                         "-1",
                                         "0",
                                         "nan",
                                         "-inf",
                                         "1e999",
                                         "18446744073709551616",
                                         "0x10",
                                         " 1",
                                         "1 ",
                                         "--",
                                         "=",
                                         std::string(4096, 'z')};
  for (const Subcommand& s : subcommands()) {
    CLI::App app;
    s.add_options(app);
    for (const CLI::Option* option : app.get_options()) {
      if (option->get_expected_min() == 0 || option->get_name(false, true) == "--help") continue;
      const std::string flag = option->get_name(false, true);
      for (const std::string& value : hostile) {
        CAPTURE(flag);
        CAPTURE(value);
        // Size 32: a size every subcommand takes (train's variants start at 32).
        std::vector<std::string> args{std::string(s.name), "--model", "cips-skips", "--size", "32"};
        if (flag != "--model" && flag != "--size")
          args.insert(args.end(), {flag, value});
        else
          args = {std::string(s.name), flag == "--model" ? "--size" : "--model",
                  flag == "--model" ? "32" : "cips-skips", flag, value};
        std::string error;
        CHECK_NOTHROW(error = usage_error(args));
        CHECK(error.size() <= 240);  // one line: the --model error lists every registered name
        if (!error.empty() && error.find("must be") != std::string::npos) CHECK(error.rfind(flag, 0) == 0);
      }
    }
  }
}

TEST_CASE("parsing chooses the subcommand, checks option combinations and answers --help") {
  CHECK(parse_command_line(subcommands(), std::vector<std::string>{"info", "--model", "cips-res", "--size", "32"})
            .command != nullptr);
  const Invocation help = parse_command_line(subcommands(), std::vector<std::string>{"render", "--help"});
  CHECK(help.command == nullptr);
  CHECK(help.help.find("--height INT") != std::string::npos);
  CHECK(help.help.find("1 to 65536") != std::string::npos);
  CHECK(usage_error({"render", "--model", "cips-skips", "--size", "16", "--latents", "z.npy", "--seed", "3"})
            .find("excludes") != std::string::npos);
  CHECK(usage_error({"render", "--model", "cips-skips", "--size", "16", "--precision", "bf16"}) ==
        "--precision bf16 needs --device cuda (the CPU renders in fp32)");
  CHECK(usage_error({"panorama", "--model", "alis", "--size", "16", "--frames", "2", "--png", "p.png", "--precision",
                     "bf16"}) == "--precision bf16 needs --device cuda (the CPU renders in fp32)");
  CHECK(usage_error({"train", "--data", "d", "--out", "o", "--precision", "tf32"}) ==
        "--precision tf32 needs --device cuda (the CPU trains in fp32)");
  CHECK(usage_error({"train", "--data", "d", "--out", "o", "--precision", "fp16"}).find("--precision") !=
        std::string::npos);
  CHECK(usage_error({}).find("subcommand") != std::string::npos);
  CHECK(usage_error({"render", "--size", "16"}).find("--model is required") != std::string::npos);
  // CLI11's own messages quote what was typed: kept to one bounded line.
  const std::string extra =
      usage_error({"info", "--model", "cips-skips", "--size", "16", std::string(3000, 'q') + "\n"});
  CHECK(extra.size() <= 200);
  CHECK(extra.find('\n') == std::string::npos);
}

TEST_CASE("options a family does not take are refused after parsing, naming the option and the model") {
  CHECK(usage_error({"render", "--model", "creps", "--size", "16", "--noise", "seeded"}) ==
        "--noise seeded: creps has no noise inputs");
  CHECK(usage_error({"render", "--model", "creps-nb", "--size", "16", "--truncation-samples", "10"}) ==
        "--truncation-samples does not apply to creps-nb: its truncation centre is stored in the weights "
        "(mapping.w_avg), not sampled");
  CHECK(usage_error({"render", "--model", "creps", "--size", "16", "--truncation-seed", "3"})
            .rfind("--truncation-seed does not apply to creps", 0) == 0);
  CHECK(usage_error({"render", "--model", "cips-skips", "--size", "16", "--refinement", "fp32"}) ==
        "--refinement is for CREPS models; cips-skips has no fp16 refinement blocks");
  CHECK(usage_error({"consistency", "--model", "cips-res", "--size", "16", "--refinement", "fp16"}) ==
        "--refinement is for CREPS models; cips-res has no fp16 refinement blocks");
  // Accepted where the family has them.
  CHECK(usage_error({"render", "--model", "creps-single-d2", "--size", "16", "--refinement", "fp16", "--truncation",
                     "0.5", "--rotate", "30", "--zoom", "0.5", "--shift-x", "-0.25", "--shift-y", "2"}) == "");
  CHECK(usage_error({"render", "--model", "cips-sine", "--size", "16", "--noise", "seeded", "--truncation-samples",
                     "10", "--rotate", "-90"}) == "");
}

TEST_CASE("an unregistered thickness or size names the registered ones") {
  CHECK(usage_error({"info", "--model", "creps-multi-d3", "--size", "16"}) ==
        "--model creps-multi-d3 is not registered; the registered creps-multi-d<N> are creps-multi-d1, "
        "creps-multi-d2, creps-multi-d4, creps-multi-d8, creps-multi-d16");
  CHECK(usage_error({"info", "--model", "creps-single-d32", "--size", "16"}) ==
        "--model creps-single-d32 is not registered; the registered creps-single-d<N> are creps-single-d1, "
        "creps-single-d2, creps-single-d4, creps-single-d8, creps-single-d16");
  CHECK(usage_error({"info", "--model", "creps", "--size", "8"}) ==
        "--size must be one of 16, 32, 64, 128, 256, 512, 1024 (got 8)");
  CHECK(usage_error({"consistency", "--model", "creps", "--size", "16", "--n", "0"}) ==
        "--n must be an integer between 1 and 65536 (got 0)");
}
