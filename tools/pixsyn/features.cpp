#include "features.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <vector>

#include "options.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/io/idx.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/image_files.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "pixsyn/metrics/frechet.hpp"
#include "pixsyn/metrics/inception.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/layout.hpp"
#include "progress.hpp"
#include "usage_error.hpp"

namespace pixsyn::cli {

// The network on one device: images (C, H, W) in [0, 1] on the host -> (B, 768) features on the host.
struct FeatureExtractor::Network {
  virtual ~Network() = default;
  virtual Tensor<float> features(const std::vector<Tensor<float>>& images) const = 0;
};

namespace {

constexpr std::int64_t max_batch = 1024, max_images = std::int64_t(1) << 30, max_subsets = 100000;

template <class D>
struct NetworkOn final : FeatureExtractor::Network {
  explicit NetworkOn(const std::filesystem::path& dir) : net(dir) {}
  Tensor<float> features(const std::vector<Tensor<float>>& images) const override {
    std::vector<Tensor<float, D>> inputs;
    for (const auto& image : images) {
      const auto batch = reshape(image, {1, image.dim(0), image.dim(1), image.dim(2)});
      inputs.push_back(metrics::InceptionV3<float, D>::prepare(pixsyn::detail::on_device<D>(batch)));
    }
    const auto a = net.activations(concat(inputs, 0), {metrics::layer_name(metrics::InceptionLayer::mixed5)});
    return pixsyn::detail::on_host(mean(a.front(), {2, 3}));
  }
  metrics::InceptionV3<float, D> net;
};

std::filesystem::path feature_cache_dir() {
  if (const char* dir = std::getenv("PIXSYN_FEATURE_CACHE"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".cache" / "pixsyn" / "features";
}

// FNV-1a, 64 bits: a cache key, not a security measure.
struct Fnv1a {
  std::uint64_t value = 14695981039346656037ull;
  void add(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) value = (value ^ bytes[i]) * 1099511628211ull;
  }
  void add(const std::string& text) { add(text.data(), text.size() + 1); }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
  }
};

// What changes the features besides the images: the network, the layer, the resize.
std::string settings_key(std::int64_t limit) {
  return pixsyn::detail::concat("pixsyn features v1|", metric_name, "|nsfwjs@4.3.0 mixed5 mean|bilinear half-pixel ",
                                metrics::InceptionV3<float>::input_size, "|limit ", limit);
}

std::string plural(std::int64_t n, const char* word) { return pixsyn::detail::concat(n, " ", word, n == 1 ? "" : "s"); }

}  // namespace

void add_feature_options(CLI::App& app, FeatureOptions& o) {
  add_choice_option(app, "--device", o.device, {"cpu", "cuda"}, "Where the InceptionV3 runs");
  add_path_option(app, "--inception", o.inception_dir,
                  "Folder of the decoded InceptionV3 (tools/data/inception.sh; default $PIXSYN_INCEPTION_DIR or "
                  "~/.cache/pixsyn/inception)");
  add_integer_option(app, "--feature-batch", o.batch, 1, max_batch, "Images per InceptionV3 forward");
  app.add_flag(
      "--no-cache", [&o](std::int64_t) { o.cache = false; },
      "Neither read nor write the feature cache ($PIXSYN_FEATURE_CACHE or ~/.cache/pixsyn/features)");
  add_integer_option(app, "--kid-subsets", o.kid_subsets, 1, max_subsets, "KID: number of random subsets");
  add_integer_option(app, "--kid-subset-size", o.kid_subset_size, 2, max_images,
                     "KID: samples per subset (cut to the smaller set)");
  app.add_flag("-q,--quiet", o.quiet, "No progress report on stderr");
}

void check_feature_options(const FeatureOptions& o) {
#ifndef PIXSYN_WITH_CUDA
  if (o.device == "cuda") throw UsageError("this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#else
  (void)o;
#endif
}

FeatureExtractor::FeatureExtractor(const FeatureOptions& options) : options_(options) {
  const auto dir =
      options.inception_dir.empty() ? metrics::default_inception_dir() : std::filesystem::path(options.inception_dir);
#ifdef PIXSYN_WITH_CUDA
  if (options.device == "cuda") {
    network_ = std::make_unique<NetworkOn<Cuda>>(dir);
    return;
  }
#endif
  network_ = std::make_unique<NetworkOn<Cpu>>(dir);
}

FeatureExtractor::~FeatureExtractor() = default;

Tensor<float> FeatureExtractor::extract(std::int64_t n, const std::function<Tensor<float>(std::int64_t)>& image,
                                        const std::string& label) {
  Progress progress({.label = label, .steps = "images", .items = "images", .enabled = !options_.quiet}, n, n);
  std::vector<Tensor<float>> rows, batch;
  const auto flush = [&] {
    if (!batch.empty()) rows.push_back(network_->features(batch));
    batch.clear();
  };
  for (std::int64_t i = 0; i < n; ++i) {
    if (auto x = image(i); x.defined()) batch.push_back(std::move(x));
    if (std::int64_t(batch.size()) == options_.batch || i == n - 1) {
      flush();
      progress.update(i + 1, i + 1);  // after the network, which takes the time
    }
  }
  pixsyn::detail::check(!rows.empty(), label, ": no image to take features of");
  return concat(rows, 0);
}

FeatureExtractor::Extracted FeatureExtractor::cached(const std::string& key,
                                                     const std::function<Extracted()>& compute) {
  const auto file = feature_cache_dir() / (key + ".safetensors");
  if (options_.cache && std::filesystem::exists(file)) {
    try {
      auto stored = io::read_safetensors(file);
      if (stored.metadata["key"] == key && stored.tensors.count("features"))
        return {stored.tensors.at("features").to<float>(), std::stoll(stored.metadata.at("skipped"))};
    } catch (const std::exception& e) {
      std::cerr << "warning: ignoring the unreadable feature cache " << file << ": " << e.what() << "\n";
    }
  }
  auto result = compute();
  if (options_.cache) {
    std::error_code error;
    std::filesystem::create_directories(file.parent_path(), error);
    io::save_tensors<float>(file, {{"features", result.features}},
                            {{"key", key}, {"skipped", std::to_string(result.skipped)}});
  }
  return result;
}

FeatureSet FeatureExtractor::folder(const std::filesystem::path& folder, std::int64_t limit) {
  const std::string where = "folder '" + folder.string() + "': ";
  auto files = io::image_files(folder, where);
  pixsyn::detail::check(!files.empty(), where, "holds no .png, .jpg or .jpeg file");
  if (limit > 0 && std::int64_t(files.size()) > limit) files.resize(static_cast<std::size_t>(limit));
  // The key: the settings and every file's relative path and bytes.
  Fnv1a hash;
  hash.add(settings_key(limit));
  for (const auto& file : files) {
    hash.add(std::filesystem::relative(file, folder).generic_string());
    try {
      const auto bytes = io::read_file(file, "features");
      hash.add(bytes.data(), bytes.size());
    } catch (const Error&) {
      hash.add("(unreadable)");  // skipped, with a warning, when the features are computed
    }
  }
  const auto result = cached(hash.hex(), [&] {
    Extracted r;
    r.features = extract(
        std::int64_t(files.size()),
        [&](std::int64_t i) -> Tensor<float> {
          try {
            return io::read_image(files[static_cast<std::size_t>(i)]);
          } catch (const Error& e) {
            ++r.skipped;
            std::cerr << "warning: skipping an unreadable image: " << e.what() << "\n";
            return {};
          }
        },
        "features");
    return r;
  });
  return {result.features,
          pixsyn::detail::concat(
              plural(result.features.dim(0), "image"), " from '", folder.string(), "'",
              result.skipped ? pixsyn::detail::concat(" (", result.skipped, " unreadable, skipped)") : "")};
}

FeatureSet FeatureExtractor::idx(const std::filesystem::path& file, std::int64_t limit) {
  const auto array = io::read_idx(file);
  pixsyn::detail::check(array.shape.size() == 3 && array.shape[0] > 0, "'", file.string(),
                        "': expected grayscale images (N, H, W)");
  const std::int64_t n = limit > 0 ? std::min(limit, array.shape[0]) : array.shape[0];
  const std::int64_t h = array.shape[1], w = array.shape[2];
  Fnv1a hash;
  hash.add(settings_key(limit));
  hash.add(array.values.data(), static_cast<std::size_t>(n * h * w));
  const auto result = cached(hash.hex(), [&] {
    return Extracted{extract(
        n,
        [&](std::int64_t i) {
          auto image = Tensor<float>::empty({1, h, w});
          for (std::int64_t k = 0; k < h * w; ++k)
            image.data()[k] = static_cast<float>(array.values[static_cast<std::size_t>(i * h * w + k)]) / 255.0f;
          return image;
        },
        "features")};
  });
  return {result.features, pixsyn::detail::concat(plural(n, "image"), " from '", file.string(), "'")};
}

FeatureSet FeatureExtractor::generated(std::int64_t n,
                                       const std::function<Tensor<float>(std::int64_t, std::int64_t)>& make,
                                       const std::string& source) {
  Tensor<float> current;
  std::int64_t first = -1;
  const auto features = extract(
      n,
      [&](std::int64_t i) {
        if (first < 0 || i >= first + current.dim(0)) {
          first = i;
          current = make(i, std::min(options_.batch, n - i));
        }
        return current.narrow(i - first, 1).clone().reshape({current.dim(1), current.dim(2), current.dim(3)});
      },
      "features");
  return {features, source};
}

bool render_on_gpu(const Model& model, const std::string& label, const FeatureOptions& options) {
  if (options.device != "cuda") return false;
  if (model.capabilities().cuda) return true;
  std::cerr << "note: " << label
            << " has no CUDA renderer (pixsyn render --device cuda lists those that have); its images are "
               "rendered on the CPU, the InceptionV3 runs on the GPU\n";
  return false;
}

Tensor<float> model_images(const Model& model, std::uint64_t seed, std::int64_t first, std::int64_t count, bool gpu) {
  const Shape z_shape =
      model.capabilities().anchors ? Shape{count, 3, model.latent_dim()} : Shape{count, model.latent_dim()};
  auto z = Tensor<float>::empty(z_shape);
  // Element i of row r is number r · (row size) + i of the stream, as in Tensor::randn of all rows.
  const auto start = static_cast<std::uint64_t>(first * (z.numel() / count));
  for (std::int64_t i = 0; i < z.numel(); ++i)
    z.data()[i] = static_cast<float>(pixsyn::detail::philox_normal(seed, 0, start + static_cast<std::uint64_t>(i)));
  const View view{.height = model.size(), .width = model.size()};
#ifdef PIXSYN_WITH_CUDA
  if (gpu) return unit_range(model.render_cuda(model.map(z), view, CudaSettings{}));
#endif
  pixsyn::detail::check(!gpu, "model_images: this pixsyn was built without CUDA");
  return unit_range(model.render(model.map(z), view, RenderSettings{}));
}

Tensor<float> unit_range(const Tensor<float>& images) { return clamp(images, -1.0f, 1.0f) * 0.5f + 0.5f; }

Distances distances(const FeatureSet& a, const FeatureSet& b, const FeatureOptions& o, bool warn) {
  const auto stats_a = metrics::feature_stats(a.features), stats_b = metrics::feature_stats(b.features);
  for (const auto* s : {&stats_a, &stats_b})
    if (warn && !s->full_rank_possible())
      std::cerr << "warning: " << (s == &stats_a ? "a" : "b") << " has " << s->count << " samples, fewer than the "
                << s->mean.size() + 1 << " that a full-rank covariance of " << s->mean.size()
                << " features needs: the FID is biased upward (KID is not)\n";
  return {
      metrics::frechet_distance(stats_a, stats_b),
      metrics::kernel_inception_distance(
          a.features, b.features, {.subsets = o.kid_subsets, .subset_size = o.kid_subset_size, .seed = o.kid_seed})};
}

void report_distances(const FeatureSet& a, const FeatureSet& b, const FeatureOptions& o) {
  std::cout << "a: " << a.source << "\n"
            << "b: " << b.source << "\n";
  std::cout << "metric: " << metric_name << " (the InceptionV3 of nsfwjs@4.3.0, mixed5 averaged, " << a.features.dim(1)
            << " features; compares only with other " << metric_name << " values, never with published FIDs)\n";
  const auto d = distances(a, b, o);
  char line[160];
  std::snprintf(line, sizeof line, "kid: %.6g (std %.3g over %lld subsets of %lld)", d.kid.mean, d.kid.std,
                static_cast<long long>(o.kid_subsets), static_cast<long long>(d.kid.subset_size));
  std::cout << line << "\n";
  std::snprintf(line, sizeof line, "fid: %.6g", d.fid);
  std::cout << line << "\n";
}

}  // namespace pixsyn::cli
