// The progress report of long work: sparse plain lines off a terminal, one rewritten line on it,
// nothing when disabled.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "progress.hpp"

using namespace pixsyn::cli;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("off a terminal, progress is a plain line at each tenth of the work") {
  std::ostringstream out;
  double now = 0;
  {
    Progress p({.label = "render", .out = &out, .terminal = 0, .seconds = [&] { return now; }, .heartbeat = false}, 100,
               100 * 1000);
    for (int step = 1; step <= 100; ++step) {
      now += 0.5;  // 1000 pixels every half second: 2000 pixels/s
      p.update(step, step * 1000);
    }
  }
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "render: 10/100 tiles (10%), 2.0 kpixels/s, ETA 45 s");
  CHECK(lines[4] == "render: 50/100 tiles (50%), 2.0 kpixels/s, ETA 25 s");
  CHECK(lines[9] == "render: 100/100 tiles (100%), 2.0 kpixels/s, 50 s");
  CHECK(out.str().find('\r') == std::string::npos);
}

TEST_CASE("off a terminal, slow work still reports every 30 seconds") {
  std::ostringstream out;
  double now = 0;
  Progress p({.label = "render", .out = &out, .terminal = 0, .seconds = [&] { return now; }, .heartbeat = false}, 1000,
             1000);
  for (int step = 1; step <= 20; ++step) {
    now += 20;
    p.update(step, step);
  }
  // 400 s with no tenth done: a line every 30 s or more, i.e. at every second step here.
  const auto lines = lines_of(out.str());
  CHECK(lines.size() == 10);
  CHECK(lines[0] == "render: 2/1000 tiles (0%), 0.05 pixels/s, ETA 5 h 32 min");
}

TEST_CASE("on a terminal, progress rewrites one line, at most ten times a second") {
  std::ostringstream out;
  double now = 0;
  {
    Progress p({.label = "render", .out = &out, .terminal = 1, .seconds = [&] { return now; }, .heartbeat = false}, 50,
               50);
    for (int step = 1; step <= 50; ++step) {
      now += 0.04;
      p.update(step, step);
    }
  }
  const std::string text = out.str();
  // One line in all, ended once; each report starts at its beginning and clears what was left.
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  CHECK(text.back() == '\n');
  const auto reports = std::count(text.begin(), text.end(), '\r');
  CHECK(reports >= 15);
  CHECK(reports <= 21);  // 2 s at most 10 per second, and the last
  CHECK(text.find("\rrender: 50/50 tiles (100%), 25 pixels/s, 2 s\x1b[K\n") != std::string::npos);
}

TEST_CASE("an unfinished terminal line is ended when the report goes away") {
  std::ostringstream out;
  double now = 0;
  {
    Progress p({.label = "render", .out = &out, .terminal = 1, .seconds = [&] { return now; }, .heartbeat = false}, 4,
               4);
    now = 1;
    p.update(1, 1);
  }
  CHECK(out.str() == "\rrender: 1/4 tiles (25%), 1 pixels/s, ETA 3 s\x1b[K\n");
}

TEST_CASE("work done in one call reports its start and its end") {
  std::ostringstream out;
  double now = 5;
  Progress p({.label = "render (GPU)", .out = &out, .terminal = 0, .seconds = [&] { return now; }, .heartbeat = false},
             1, 4000000);
  p.started();
  now = 7;
  p.update(1, 4000000);
  CHECK(lines_of(out.str()) == std::vector<std::string>{"render (GPU): 4000000 pixels ...",
                                                        "render (GPU): 4000000 pixels, 2.0 Mpixels/s, 2 s"});
}

TEST_CASE("one long step reports its time so far; one short step reports nothing") {
  for (const int terminal : {0, 1}) {
    CAPTURE(terminal);
    std::ostringstream out;
    double now = 0;
    Progress p(
        {.label = "render", .out = &out, .terminal = terminal, .seconds = [&] { return now; }, .heartbeat = false}, 1,
        65536);
    now = 0.5;
    p.tick();
    CHECK(out.str().empty());
    now = 31;  // past the plain interval
    p.tick();
    now = 40;
    p.update(1, 65536);
    const std::string so_far = "render: 65536 pixels, 31 s so far", done = "render: 65536 pixels, 1.6 kpixels/s, 40 s";
    CHECK(out.str() == (terminal ? "\r" + so_far + "\x1b[K\r" + done + "\x1b[K\n" : so_far + "\n" + done + "\n"));
  }
  for (const int terminal : {0, 1}) {
    std::ostringstream out;
    double now = 0;
    Progress p(
        {.label = "render", .out = &out, .terminal = terminal, .seconds = [&] { return now; }, .heartbeat = false}, 1,
        256);
    now = 0.9;
    p.tick();
    p.update(1, 256);
    CHECK(out.str().empty());
  }
}

TEST_CASE("on a terminal, a long tile still updates the time every second") {
  std::ostringstream out;
  double now = 0;
  {
    Progress p({.label = "render", .out = &out, .terminal = 1, .seconds = [&] { return now; }, .heartbeat = false}, 4,
               400);
    now = 1;
    p.update(1, 100);
    now = 1.5;
    p.tick();  // less than a second since the last line
    now = 3;
    p.tick();
  }
  CHECK(
      out.str() ==
      "\rrender: 1/4 tiles (25%), 100 pixels/s, ETA 3 s\x1b[K\rrender: 1/4 tiles (25%), 100 pixels/s, ETA 1 s\x1b[K\n");
}

TEST_CASE("the heartbeat thread reports a long step by itself") {
  std::ostringstream out;
  {
    Progress p({.label = "render", .out = &out, .terminal = 1}, 2, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  }
  CHECK(out.str().find("render: 0/2 tiles (0%), ") != std::string::npos);
  CHECK(out.str().find(" s so far") != std::string::npos);
}

TEST_CASE("a detail of the last step follows the count") {
  std::ostringstream out;
  double now = 0;
  {
    Progress p({.label = "train",
                .steps = "steps",
                .items = "images",
                .out = &out,
                .terminal = 0,
                .seconds = [&] { return now; },
                .heartbeat = false},
               4, 8);
    now = 2;
    p.update(3, 2, "loss_g 0.5000, loss_d 1.2500");  // resumed at step 2: 2 images in 2 s
    now = 3;
    p.update(4, 4, "loss_g 0.2500, loss_d 1.0000");
  }
  CHECK(lines_of(out.str()) ==
        std::vector<std::string>{"train: 3/4 steps (75%), loss_g 0.5000, loss_d 1.2500, 1 images/s, ETA 6 s",
                                 "train: 4/4 steps (100%), loss_g 0.2500, loss_d 1.0000, 1.3 images/s, 3 s"});
}

TEST_CASE("a disabled report prints nothing") {
  std::ostringstream out;
  Progress p({.label = "render", .enabled = false, .out = &out, .terminal = 0}, 10, 10);
  p.started();
  for (int step = 1; step <= 10; ++step) p.update(step, step);
  p.tick();
  CHECK(out.str().empty());
}

TEST_CASE("durations read as seconds, minutes or hours") {
  CHECK(format_duration(0.4) == "0 s");
  CHECK(format_duration(59.4) == "59 s");
  CHECK(format_duration(185) == "3 min 05 s");
  CHECK(format_duration(3720) == "1 h 02 min");
  CHECK(format_duration(-3) == "0 s");
}
