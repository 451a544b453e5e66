#pragma once
// Training images: a folder of PNG/JPEG files (recursive) or an IDX file of grayscale images (Fashion-MNIST),
// served as batches (B, 3, S, S) in [-1, 1].
//
// Every image is resized so that its shorter side is `load_size` (default: the training size S), then cropped
// to S x S at the centre or at a random place, and flipped left-right with probability 1/2. The batch of a
// step is a pure function of (seed, step): sample j of step s is position s·B + j of an endless stream of
// epochs, each a Philox-seeded shuffle of the whole set, and the crops and flips are drawn from Philox at that
// position. So a resumed run sees exactly the batches the uninterrupted run would have seen.
//
// Folders: every file is decoded once when the set is made; those that cannot be read are skipped (counted in
// skipped(), one warning line each on stderr). An empty or missing folder, or one without a readable image,
// is an error. Decoded, resized images stay in memory up to cache_bytes; the others are decoded again at use.
//
// Images smaller than the training size (a shorter side below load_size) are upscaled, not refused: small
// sets such as Fashion-MNIST (28 x 28) train at 32 so. They are counted (upscaled()) and named in one
// warning line on stderr, since G then learns their blur.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/io/idx.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/image_files.hpp"

namespace pixsyn::train {

enum class Crop { center, random };

struct DatasetOptions {
  std::int64_t size = 0;       // S: the side of the training images
  std::int64_t load_size = 0;  // the shorter side after resizing, >= size; 0: size
  Crop crop = Crop::center;
  bool x_flip = true;
  std::int64_t limit = 0;  // > 0: use only the first `limit` images (in the sorted order)
  // Decoded, resized images are kept in memory up to this many bytes (then decoded at every use).
  std::int64_t cache_bytes = std::int64_t(1) << 30;
  // Folders: called after each file decoded when the set is made, with (files done, files in all).
  std::function<void(std::int64_t, std::int64_t)> progress{};
};

class Dataset {
 public:
  // Every .png, .jpg and .jpeg (any case) below `folder`, recursively, in sorted path order.
  static Dataset folder(const std::filesystem::path& folder, const DatasetOptions& options) {
    const std::string where = "dataset: folder '" + folder.string() + "': ";
    const auto files = io::image_files(folder, where);
    Dataset data(options, where);
    // Every file is decoded once here: what cannot be read is known before training starts, and the
    // cache fills up.
    std::pair<std::int64_t, std::int64_t> smallest{0, 0};  // (height, width) of the smallest upscaled image
    for (const auto& file : files) {
      try {
        const auto decoded = io::read_image(file);
        if (std::min(decoded.dim(1), decoded.dim(2)) < data.options_.load_size) {
          ++data.upscaled_;
          if (smallest.first == 0 || decoded.dim(1) * decoded.dim(2) < smallest.first * smallest.second)
            smallest = {decoded.dim(1), decoded.dim(2)};
        }
        const auto image = data.prepare(decoded);
        data.files_.push_back(file);
        data.store(std::int64_t(data.files_.size()) - 1, image);
      } catch (const Error& e) {
        ++data.skipped_;
        std::cerr << "warning: skipping an unreadable image: " << e.what() << "\n";
      }
      if (options.progress) options.progress(&file - files.data() + 1, std::int64_t(files.size()));
      if (options.limit > 0 && std::int64_t(data.files_.size()) == options.limit) break;
    }
    pixsyn::detail::check(!files.empty(), where, "holds no .png, .jpg or .jpeg file");
    pixsyn::detail::check(!data.files_.empty(), where, "holds no readable image (all ", files.size(), " skipped)");
    if (data.upscaled_ > 0)
      data.warn_upscaled(where, pixsyn::detail::concat(data.upscaled_, " of ", data.files_.size(), " images are"),
                         smallest);
    return data;
  }

  // The images (N, H, W) of an IDX file (Fashion-MNIST's *-images-idx3-ubyte[.gz]), gray replicated to RGB.
  static Dataset idx(const std::filesystem::path& path, const DatasetOptions& options) {
    const std::string where = "dataset: '" + path.string() + "': ";
    Dataset data(options, where);
    auto array = io::read_idx(path);
    pixsyn::detail::check(array.shape.size() == 3 && array.shape[0] > 0, where,
                          "expected grayscale images (N, H, W), got rank ", array.shape.size());
    data.idx_ = std::move(array);
    const std::int64_t h = data.idx_.shape[1], w = data.idx_.shape[2];
    if (std::min(h, w) < data.options_.load_size) {
      data.upscaled_ = data.size();
      data.warn_upscaled(where, "its images are", {h, w});
    }
    return data;
  }

  std::int64_t size() const {
    const std::int64_t n = files_.empty() ? idx_.shape[0] : std::int64_t(files_.size());
    return options_.limit > 0 ? std::min(n, options_.limit) : n;
  }
  std::int64_t skipped() const { return skipped_; }
  // Images whose shorter side is below the load size: upscaled to it.
  std::int64_t upscaled() const { return upscaled_; }
  const DatasetOptions& options() const { return options_; }

  // The images of `step` for a batch of `batch`: (batch, 3, S, S) in [-1, 1].
  Tensor<float> batch(std::int64_t step, std::int64_t batch, std::uint64_t seed) const {
    pixsyn::detail::check(step >= 0 && batch > 0, "dataset: step ", step, " and batch ", batch,
                          " must be non-negative and positive");
    const std::int64_t s = options_.size;
    auto out = Tensor<float>::empty({batch, 3, s, s});
    for (std::int64_t j = 0; j < batch; ++j) {
      const std::uint64_t position = static_cast<std::uint64_t>(step) * static_cast<std::uint64_t>(batch) + j;
      const auto image = sample(position, seed);
      std::copy(image.data(), image.data() + image.numel(), out.data() + j * 3 * s * s);
    }
    return out;
  }

 private:
  Dataset(const DatasetOptions& options, const std::string& where) : options_(options) {
    pixsyn::detail::check(options.size >= 4 && options.size <= 4096, where, "training size ", options.size,
                          " is not in [4, 4096]");
    if (options_.load_size == 0) options_.load_size = options.size;
    pixsyn::detail::check(options_.load_size >= options.size && options_.load_size <= 16384, where, "load size ",
                          options_.load_size, " must be in [size ", options.size, ", 16384]");
  }

  void warn_upscaled(const std::string& where, const std::string& which,
                     std::pair<std::int64_t, std::int64_t> smallest) const {
    std::cerr << "warning: " << where << which << " smaller than the training size (a shorter side below "
              << options_.load_size << "; the smallest " << smallest.second << "x" << smallest.first
              << "): they are upscaled, and G learns their blur\n";
  }

  // Philox streams of the data: one key per purpose, so shuffles, crops and flips never share numbers.
  static constexpr std::uint64_t shuffle_stream = 1, crop_stream = 2, flip_stream = 3;

  static std::uint64_t random_bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t counter) {
    const auto b = pixsyn::detail::philox4x32_10(seed ^ (stream << 60), counter);
    return (std::uint64_t(b.v[0]) << 32) | b.v[1];
  }

  // Stream position -> (index of the image, its crop and flip).
  Tensor<float> sample(std::uint64_t position, std::uint64_t seed) const {
    const auto n = static_cast<std::uint64_t>(size());
    const std::uint64_t epoch = position / n;
    const auto index = shuffled(epoch, seed, position % n);
    const Tensor<float> full = resized(index);  // (3, h, w), shorter side load_size
    const std::int64_t s = options_.size, h = full.dim(1), w = full.dim(2);
    std::int64_t top = (h - s) / 2, left = (w - s) / 2;
    if (options_.crop == Crop::random) {
      const std::uint64_t bits = random_bits(seed, crop_stream, position);
      top = static_cast<std::int64_t>((bits >> 32) % static_cast<std::uint64_t>(h - s + 1));
      left = static_cast<std::int64_t>((bits & 0xFFFFFFFFu) % static_cast<std::uint64_t>(w - s + 1));
    }
    const bool flip = options_.x_flip && (random_bits(seed, flip_stream, position) & 1);
    auto out = Tensor<float>::empty({3, s, s});
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t y = 0; y < s; ++y)
        for (std::int64_t x = 0; x < s; ++x) {
          const float v = full.data()[(c * h + top + y) * w + left + (flip ? s - 1 - x : x)];
          out.data()[(c * s + y) * s + x] = 2 * v - 1;
        }
    return out;
  }

  // Entry i of the shuffle of `epoch` (Fisher-Yates on Philox numbers; the last shuffle is kept).
  std::int64_t shuffled(std::uint64_t epoch, std::uint64_t seed, std::uint64_t i) const {
    std::lock_guard lock(*mutex_);
    if (epoch_ != epoch || seed_ != seed || order_.empty()) {
      order_.resize(static_cast<std::size_t>(size()));
      std::iota(order_.begin(), order_.end(), std::int64_t(0));
      for (std::size_t k = order_.size(); k > 1; --k) {
        const std::uint64_t r = random_bits(seed, shuffle_stream, (epoch << 32) + k) % k;
        std::swap(order_[k - 1], order_[r]);
      }
      epoch_ = epoch;
      seed_ = seed;
    }
    return order_[i];
  }

  // Image `index` as (3, h, w) in [0, 1] with its shorter side load_size.
  Tensor<float> resized(std::int64_t index) const {
    {
      std::lock_guard lock(*mutex_);
      if (auto it = cache_.find(index); it != cache_.end()) return it->second;
    }
    Tensor<float> image;
    if (files_.empty()) {
      const std::int64_t h = idx_.shape[1], w = idx_.shape[2];
      image = Tensor<float>::empty({3, h, w});
      const std::uint8_t* src = idx_.values.data() + index * h * w;
      for (std::int64_t c = 0; c < 3; ++c)
        for (std::int64_t p = 0; p < h * w; ++p) image.data()[c * h * w + p] = static_cast<float>(src[p]) / 255.0f;
    } else {
      image = io::read_image(files_[static_cast<std::size_t>(index)]);
    }
    image = prepare(image);
    store(index, image);
    return image;
  }

  // An image (3, h, w) resized so that its shorter side is load_size.
  Tensor<float> prepare(Tensor<float> image) const {
    const std::int64_t h = image.dim(1), w = image.dim(2), shorter = std::min(h, w), l = options_.load_size;
    // Rounded so that the shorter side is exactly load_size and the longer one at least that.
    const std::int64_t out_h = h == shorter ? l : std::max(l, (h * l + shorter / 2) / shorter);
    const std::int64_t out_w = w == shorter ? l : std::max(l, (w * l + shorter / 2) / shorter);
    return out_h != h || out_w != w ? io::resize_bilinear(image, out_h, out_w) : image;
  }

  // Keeps a prepared image while the cache has room.
  void store(std::int64_t index, const Tensor<float>& image) const {
    std::lock_guard lock(*mutex_);
    const std::int64_t bytes = image.numel() * std::int64_t(sizeof(float));
    if (cached_bytes_ + bytes <= options_.cache_bytes && cache_.emplace(index, image).second) cached_bytes_ += bytes;
  }

  DatasetOptions options_;
  std::vector<std::filesystem::path> files_;
  io::IdxArray idx_;
  std::int64_t skipped_ = 0, upscaled_ = 0;
  // Caches, guarded so that a loader thread can fill batches ahead of the training step.
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  mutable std::map<std::int64_t, Tensor<float>> cache_;
  mutable std::int64_t cached_bytes_ = 0;
  mutable std::vector<std::int64_t> order_;
  mutable std::uint64_t epoch_ = 0, seed_ = 0;
};

}  // namespace pixsyn::train
