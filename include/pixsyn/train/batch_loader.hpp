#pragma once
// train::BatchLoader: a run's batches made ahead on background threads, so that decoding, resizing and
// cropping overlap the training step. A batch is a pure function of (seed, step) (train/dataset.hpp), so a
// batch made ahead is the batch the step would have made itself: the run's bytes do not change.
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <utility>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/train/dataset.hpp"

namespace pixsyn::train {

class BatchLoader {
 public:
  // make(step) -> the batch of `step` (called on background threads: it must be safe to call
  // concurrently); up to `ahead` batches after the one asked for are made in the background (0: none,
  // every batch is made when asked for).
  BatchLoader(std::function<Tensor<float>(std::int64_t)> make, int ahead) : make_(std::move(make)), ahead_(ahead) {
    pixsyn::detail::check(ahead >= 0, "BatchLoader: ahead ", ahead, " must be non-negative");
  }
  // data.batch(step, batch, seed) (Dataset's caches are guarded for this).
  BatchLoader(const Dataset& data, std::int64_t batch, std::uint64_t seed, int ahead = 1)
      : BatchLoader([&data, batch, seed](std::int64_t step) { return data.batch(step, batch, seed); }, ahead) {}
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;
  // Waits for the batches still being made (their results are not needed any more).
  ~BatchLoader() { drop(); }

  // make(step), made ahead when `step` follows the last step asked for; then starts the next ones. An
  // error of a background load is thrown here, by the step that needs the batch.
  Tensor<float> get(std::int64_t step) {
    if (!pending_.empty() && pending_.front().first != step) drop();  // a jump (a resume): start afresh
    Tensor<float> out;
    if (pending_.empty()) {
      out = make_(step);
    } else {
      auto made = std::move(pending_.front().second);
      pending_.pop_front();
      out = made.get();
    }
    for (std::int64_t next = pending_.empty() ? step + 1 : pending_.back().first + 1; next <= step + ahead_; ++next)
      pending_.emplace_back(next, std::async(std::launch::async, [this, next] { return make_(next); }));
    return out;
  }

 private:
  void drop() {
    for (auto& [step, batch] : pending_)
      if (batch.valid()) batch.wait();
    pending_.clear();
  }

  std::function<Tensor<float>(std::int64_t)> make_;
  int ahead_;
  std::deque<std::pair<std::int64_t, std::future<Tensor<float>>>> pending_;
};

}  // namespace pixsyn::train
