// train::BatchLoader: the batches made ahead on background threads are the batches the dataset makes
// when asked directly, in order, after a jump (a resume) and without prefetching; an error of a
// background load reaches the step that needs the batch.
#include <doctest/doctest.h>

#include <filesystem>
#include <future>
#include <pixsyn/io/image.hpp>
#include <pixsyn/train/batch_loader.hpp>
#include <string>
#include <vector>

#include "support/temp_files.hpp"

using namespace pixsyn;

namespace {

void check_same(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  for (std::int64_t i = 0; i < want.numel(); ++i) REQUIRE(got.data()[i] == want.data()[i]);
}

}  // namespace

TEST_CASE("batches made ahead equal the dataset's own, in order and after a jump") {
  test::TempDir dir;
  for (int i = 0; i < 5; ++i)
    io::write_png(dir / ("image" + std::to_string(i) + ".png"),
                  Tensor<float>::rand({3, 9 + i, 12}, Philox{std::uint64_t(i)}));
  // A cache of 0 bytes: every batch decodes its files again, on the loader's threads.
  const auto data = train::Dataset::folder(dir.path(), {.size = 8, .crop = train::Crop::random, .cache_bytes = 0});
  for (const int ahead : {0, 1, 3}) {
    CAPTURE(ahead);
    train::BatchLoader loader(data, 3, 11, ahead);
    for (const std::int64_t step : {0, 1, 2, 3, 7, 8, 2, 3}) check_same(loader.get(step), data.batch(step, 3, 11));
  }
}

TEST_CASE("an error of a background load is thrown by the step that needs the batch") {
  std::promise<void> step_1_started;
  train::BatchLoader loader(
      [&](std::int64_t step) {
        if (step == 1) {
          step_1_started.set_value();
          throw Error("cannot read image 3");
        }
        return Tensor<float>::full({1}, float(step));
      },
      1);
  CHECK(loader.get(0).item() == 0);  // starts step 1's batch in the background
  step_1_started.get_future().wait();
  CHECK_THROWS_WITH_AS(loader.get(1), "cannot read image 3", Error);
  CHECK(loader.get(2).item() == 2);  // made when asked for: nothing was pending
}
