#pragma once
// Progress of long work on stderr, for every long-running subcommand: "render: 12/40 tiles (30%),
// 1.3 Mpixels/s, ETA 42 s", or with a detail of the last step: "train: 120/1000 steps (12%), loss_g 0.69,
// loss_d 1.38, 3.2 images/s, ETA 4 min 35 s". On a terminal one line is rewritten in place (at most ten times a second,
// and every second while a step is still running, so a long single step shows its time too);
// otherwise (a log file, a pipe) a plain line is written at every tenth of the work and when 30 s
// have passed since the last one, so that logs stay short. Work done in one step that ends sooner
// prints nothing. Disabled, it prints nothing at all (--quiet).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <string>
#include <thread>

namespace pixsyn::cli {

class Progress {
 public:
  struct Options {
    std::string label;                // "render"
    std::string steps = "tiles";      // what the work is counted in
    std::string items = "pixels";     // what the rate is counted in
    bool enabled = true;              // false: print nothing
    std::ostream* out = nullptr;      // default: std::cerr
    int terminal = -1;                // 1: rewrite one line, 0: plain lines, -1: whether stderr is a terminal
    std::function<double()> seconds;  // the clock (default: steady_clock); for tests
    bool heartbeat = true;            // a thread calls tick() every second; tests call it themselves
  };

  // `total_steps` units of work holding `total_items` items (e.g. tiles and pixels).
  Progress(Options options, std::int64_t total_steps, std::int64_t total_items);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Stops the heartbeat and ends an unfinished terminal line.
  ~Progress();

  // `steps` units, holding `items` items, are done; `detail` (e.g. the last step's losses) follows the count.
  void update(std::int64_t steps, std::int64_t items, std::string detail = {});

  // Says now that the work has started, for work whose steps cannot be observed (the GPU renderer
  // renders in one call): a line naming the items, then the final line when update() reaches the end.
  void started();

  // Reports the time so far when a step is taking long (what the heartbeat thread calls every second).
  void tick();

 private:
  std::string line(double now) const;
  void print(const std::string& line, bool last);
  void heartbeat();

  Options options_;
  std::int64_t total_steps_, total_items_;
  std::mutex mutex_;  // update() and the heartbeat print from two threads
  std::int64_t steps_ = 0, items_ = 0;
  std::string detail_;
  double start_ = 0, last_print_ = 0, updated_ = 0;
  int last_tenth_ = 0;
  bool printed_ = false, line_open_ = false, done_ = false;
  std::condition_variable stop_;
  std::thread heartbeat_;
};

// "42 s", "3 min 05 s", "1 h 02 min".
std::string format_duration(double seconds);

// "532 pixels/s", "2.0 kpixels/s", "1.3 Mpixels/s".
std::string format_rate(double per_second, const std::string& items);

}  // namespace pixsyn::cli
