#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <utility>

namespace pixsyn::cli {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds between lines: a terminal line is redrawn often, a plain line is a new line in a log.
constexpr double terminal_interval = 0.1, terminal_heartbeat = 1, plain_interval = 30;

}  // namespace

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(seconds, 0.0)));
  char text[64];
  if (s < 60)
    std::snprintf(text, sizeof text, "%lld s", s);
  else if (s < 3600)
    std::snprintf(text, sizeof text, "%lld min %02lld s", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lld h %02lld min", s / 3600, s / 60 % 60);
  return text;
}

std::string format_rate(double per_second, const std::string& items) {
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  double value = per_second;
  int prefix = 0;
  while (value >= 1000 && prefix < 4) {
    value /= 1000;
    ++prefix;
  }
  // Two significant digits below 10 ("2.0 kpixels/s", "0.05 pixels/s"), whole numbers above.
  const char* format = value >= 10 ? "%.0f %s%s/s" : prefix > 0 ? "%.1f %s%s/s" : "%.2g %s%s/s";
  char text[96];
  std::snprintf(text, sizeof text, format, value, prefixes[prefix], items.c_str());
  return text;
}

Progress::Progress(Options options, std::int64_t total_steps, std::int64_t total_items)
    : options_(std::move(options)), total_steps_(std::max<std::int64_t>(total_steps, 1)), total_items_(total_items) {
  if (!options_.out) options_.out = &std::cerr;
  if (options_.terminal < 0) options_.terminal = ::isatty(STDERR_FILENO) ? 1 : 0;
  if (!options_.seconds) options_.seconds = steady_seconds;
  start_ = last_print_ = updated_ = options_.seconds();
  if (options_.enabled && options_.heartbeat) heartbeat_ = std::thread([this] { heartbeat(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  stop_.notify_one();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (line_open_) *options_.out << "\n" << std::flush;
}

void Progress::heartbeat() {
  std::unique_lock lock(mutex_);
  while (!stop_.wait_for(lock, std::chrono::seconds(1), [this] { return done_; })) {
    lock.unlock();
    tick();
    lock.lock();
  }
}

std::string Progress::line(double now) const {
  // Rate and ETA come from the last update (`updated_`): between updates the rate stays and the ETA
  // counts down, rather than the rate decaying while a long step runs.
  const double elapsed = now - start_, measured = updated_ - start_;
  std::string text = options_.label + ": ";
  if (total_steps_ > 1)
    text += std::to_string(steps_) + "/" + std::to_string(total_steps_) + " " + options_.steps + " (" +
            std::to_string(100 * steps_ / total_steps_) + "%)";
  else
    text += std::to_string(total_items_) + " " + options_.items;
  if (!detail_.empty()) text += ", " + detail_;
  if (items_ > 0) text += ", " + format_rate(static_cast<double>(items_) / std::max(measured, 1e-9), options_.items);
  if (steps_ >= total_steps_)
    text += ", " + format_duration(elapsed);
  else if (items_ > 0)
    text +=
        ", ETA " + format_duration(measured * static_cast<double>(total_items_ - items_) / static_cast<double>(items_) -
                                   (now - updated_));
  else
    text += ", " + format_duration(elapsed) + " so far";
  return text;
}

void Progress::update(std::int64_t steps, std::int64_t items, std::string detail) {
  if (!options_.enabled) return;
  std::lock_guard lock(mutex_);
  const double now = options_.seconds();
  steps_ = steps;
  items_ = items;
  detail_ = std::move(detail);
  updated_ = now;
  const bool last = steps >= total_steps_;
  const int tenth = static_cast<int>(10 * std::min(steps, total_steps_) / total_steps_);
  const bool due = options_.terminal ? now - last_print_ >= terminal_interval
                                     : (total_steps_ > 1 && tenth > last_tenth_) || now - last_print_ >= plain_interval;
  last_tenth_ = tenth;
  // The end of several steps is always reported; the end of one step only if it was long enough to be.
  if (last ? !(printed_ || total_steps_ > 1) : !due) return;
  last_print_ = now;
  print(line(now), last);
}

void Progress::started() {
  if (!options_.enabled) return;
  std::lock_guard lock(mutex_);
  start_ = last_print_ = updated_ = options_.seconds();
  print(options_.label + ": " + std::to_string(total_items_) + " " + options_.items + " ...", false);
}

void Progress::tick() {
  if (!options_.enabled) return;
  std::lock_guard lock(mutex_);
  const double now = options_.seconds();
  if (steps_ >= total_steps_ || now - last_print_ < (options_.terminal ? terminal_heartbeat : plain_interval)) return;
  last_print_ = now;
  print(line(now), false);
}

void Progress::print(const std::string& text, bool last) {
  std::ostream& out = *options_.out;
  printed_ = true;
  if (options_.terminal) {
    // \r returns to the line's start; ESC[K clears what a longer previous line left.
    out << "\r" << text << "\x1b[K";
    line_open_ = !last;
    if (last) out << "\n";
  } else {
    out << text << "\n";
  }
  out << std::flush;
}

}  // namespace pixsyn::cli
