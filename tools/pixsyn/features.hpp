#pragma once
// Feature extraction for pixsyn fid, eval and spectrum: InceptionV3 features (FID-IncV3-mixed5,
// docs/evaluation.md) of a folder of images, of an IDX file, or of images made on the fly, on the CPU or
// the GPU, with a progress bar; the features of a data set are cached, keyed by the files' contents and
// the settings. And the report that fid and eval print: the sample counts, kid, and fid last.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "model.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/metrics/kid.hpp"

namespace CLI {
class App;
}

namespace pixsyn::cli {

inline constexpr const char* metric_name = "FID-IncV3-mixed5";
inline constexpr const char* fashion_mnist_images = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

struct FeatureOptions {
  std::string device = "cpu";
  std::string inception_dir;  // empty: $PIXSYN_INCEPTION_DIR or ~/.cache/pixsyn/inception
  std::int64_t batch = 16;
  bool cache = true;  // features of data sets in $PIXSYN_FEATURE_CACHE or ~/.cache/pixsyn/features
  bool quiet = false;
  std::int64_t kid_subsets = 100, kid_subset_size = 1000;
  std::uint64_t kid_seed = 0;
};

// --device, --inception, --feature-batch, --no-cache, --kid-subsets, --kid-subset-size, -q.
void add_feature_options(CLI::App& app, FeatureOptions& options);
// --device cuda in a build without CUDA is a usage error.
void check_feature_options(const FeatureOptions& options);

struct FeatureSet {
  Tensor<float> features;  // (N, 768)
  std::string source;      // for the report: "120 images from 'dir'"
};

class FeatureExtractor {
 public:
  explicit FeatureExtractor(const FeatureOptions& options);
  ~FeatureExtractor();

  // Every PNG/JPEG below `folder` (unreadable ones skipped with a warning and counted); `limit` > 0 keeps
  // the first `limit` in sorted order.
  FeatureSet folder(const std::filesystem::path& folder, std::int64_t limit = 0);
  // The first `limit` (0: all) images of an IDX file (Fashion-MNIST), gray.
  FeatureSet idx(const std::filesystem::path& file, std::int64_t limit = 0);
  // `n` images from `make(first, count)` -> (count, C, H, W) in [0, 1], in batches; never cached.
  FeatureSet generated(std::int64_t n, const std::function<Tensor<float>(std::int64_t, std::int64_t)>& make,
                       const std::string& source);
  // Whether the extraction reports its progress on stderr (FeatureOptions::quiet: not at first).
  void set_progress(bool enabled) { options_.quiet = !enabled; }

  struct Network;

 private:
  Tensor<float> extract(std::int64_t n, const std::function<Tensor<float>(std::int64_t)>& image,
                        const std::string& label);
  struct Extracted {
    Tensor<float> features;
    std::int64_t skipped = 0;  // unreadable images
  };
  // compute(), or what an earlier compute() with the same key left in the feature cache.
  Extracted cached(const std::string& key, const std::function<Extracted()>& compute);

  FeatureOptions options_;
  std::unique_ptr<Network> network_;
};

// Whether model_images renders `model` on the GPU: with --device cuda, when it has a CUDA renderer;
// otherwise (a variant without one) a note on stderr says that it renders on the CPU.
bool render_on_gpu(const Model& model, const std::string& label, const FeatureOptions& options);

// Images first .. first + count of `model` for `seed`, as pixsyn render --seed draws their latents (rows of
// one N(0, I) stream; ALIS: three anchors each, frames at delta 0), rendered at the model's size on the CPU
// or, with `gpu`, the GPU (render_cuda, fp32, noise off as on the CPU), mapped to [0, 1] (unit_range).
Tensor<float> model_images(const Model& model, std::uint64_t seed, std::int64_t first, std::int64_t count,
                           bool gpu = false);

// Generated images, nominally in [-1, 1]: clamped and mapped to [0, 1].
Tensor<float> unit_range(const Tensor<float>& images);

struct Distances {
  double fid = 0;
  metrics::KidResult kid;
};

// FID and KID (options' subsets) between two feature sets; with `warn`, a warning on stderr when a set has
// too few samples for a full-rank covariance.
Distances distances(const FeatureSet& a, const FeatureSet& b, const FeatureOptions& options, bool warn = true);

// Prints "<a.source>", "<b.source>", the metric's name, "kid: <v>" and, last, "fid: <v>".
void report_distances(const FeatureSet& a, const FeatureSet& b, const FeatureOptions& options);

}  // namespace pixsyn::cli
