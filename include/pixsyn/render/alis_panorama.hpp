#pragma once
// Streaming ALIS panoramas (spec alis.md §5, docs/alis.md): anchors 0, 1, 2, ... sit at frame
// positions 0, a, 2a, ... (a = D / 2 frames apart); frame f lies in strip k = f / D, between anchors
// 2k, 2k + 1 and 2k + 2, at left border delta = (f mod D) g, and depends on the two anchors around it
// only. Frames are rendered one at a time, so memory does not grow with the panorama's length, and
// resampling anchor i changes exactly the frames of the two intervals beside it (frames_touching),
// every other frame staying bit-identical. On the GPU the frames come from one AlisFrameRenderer, which records
// the forward as a CUDA graph and replays it frame after frame (render/alis_frame_renderer.hpp).
//
//   render::AlisPanorama pano(g, frames, {.seed = 7});   // anchor i: row i of the N(0, 1) stream of seed 7
//   for (const auto& [index, image] : pano) ...          // (1, 3, R, R) frames, left to right, one alive at a time
//   pano.resample(3, 42);                                // anchor 3 from seed 42's stream; returns the frames to redo
//   render::write_panorama_png(pano, "pano.png");        // rows streamed to a PNG, flat memory
//   render::write_frames_png<float>(frames, side, next_frame, "pano.png");  // the frames from anywhere, in order
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "pixsyn/core/philox.hpp"
#include "pixsyn/io/atomic_file.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/png_stream.hpp"
#include "pixsyn/models/alis/generator.hpp"
#include "pixsyn/render/alis_frame_renderer.hpp"

namespace pixsyn::render {

// The latent z of every anchor: row i of the N(0, 1) stream of `seed` (the row that
// Tensor::randn({anchors, z_dim}, Philox{seed}) draws, so `pixsyn render --seed` with the anchors
// 0, 1, 2 shows the panorama's first strip), unless anchor i is resampled: then row i of its own seed's stream.
struct AnchorLatents {
  std::uint64_t seed = 0;
  std::map<std::int64_t, std::uint64_t> resampled;  // anchor -> seed

  template <class T>
  Tensor<T> z(std::int64_t anchor, std::int64_t z_dim) const {
    const auto it = resampled.find(anchor);
    const std::uint64_t s = it == resampled.end() ? seed : it->second;
    auto out = Tensor<T>::empty({z_dim});
    for (std::int64_t c = 0; c < z_dim; ++c)
      out.data()[c] = static_cast<T>(pixsyn::detail::philox_normal(
          s, 0, static_cast<std::uint64_t>(anchor) * z_dim + static_cast<std::uint64_t>(c)));
    return out;
  }
};

struct PanoramaOptions {
  double truncation = 1;  // psi toward w_avg, the same for every anchor (so neighbouring strips share theirs)
  // off, constant (noise_const, the same in every frame) or seeded (continuing along the panorama)
  alis::NoiseMode noise = alis::NoiseMode::off;
  std::uint64_t noise_seed = 0;
  // On the GPU: replay a recorded CUDA graph per frame (the same frames, less host time); false: plain calls.
  bool graphs = true;
};

template <class G>
class AlisPanorama {
 public:
  using T = typename G::value_type;
  using D = typename G::device_type;
  static constexpr alis::Config config = G::config;
  // A strip (anchors 2k .. 2k + 2) holds D frames, an interval between neighbouring anchors D / 2.
  static constexpr std::int64_t strip_frames = config.anchor_distance;
  static constexpr std::int64_t interval_frames = config.frames_per_anchor();

  // One rendered frame: its index and its image (1, 3, R, R), values nominally in [-1, 1].
  struct Frame {
    std::int64_t index = 0;
    Tensor<T> image;
  };

  AlisPanorama(const G& g, std::int64_t frames, AnchorLatents anchors = {}, PanoramaOptions options = {})
      : g_(g), frames_(frames), anchors_(std::move(anchors)), options_(options), renderer_(g, options.graphs) {
    pixsyn::detail::check(frames >= 1, "AlisPanorama: the frame count must be at least 1, got ", frames);
    pixsyn::detail::check(frames <= max_frames, "AlisPanorama: ", frames, " frames exceed the limit of ", max_frames);
    pixsyn::detail::check(std::isfinite(options.truncation), "AlisPanorama: the truncation ", options.truncation,
                          " is not finite");
    pixsyn::detail::check(options.noise != alis::NoiseMode::given,
                          "AlisPanorama: given noise maps belong to single frames; use off, constant or seeded");
    const T strength = alis::detail::on_host(g.synthesis.max_shift_strength).data()[0];
    pixsyn::detail::check(strength == T(1), "AlisPanorama: the model's max_shift_strength is ", strength,
                          ", not 1 (as in every trained checkpoint): its frames would not follow the anchors");
    for (const auto& [anchor, seed] : anchors_.resampled) check_anchor(anchor);
  }

  std::int64_t frames() const { return frames_; }
  // Anchors 0 .. 2 ceil(frames / D): every strip's three.
  std::int64_t anchors() const { return 2 * ((frames_ + strip_frames - 1) / strip_frames) + 1; }
  std::int64_t height() const { return config.size; }
  std::int64_t width() const { return frames_ * config.size; }
  const AnchorLatents& anchor_latents() const { return anchors_; }

  // Frame f (1, 3, R, R), on the host (rendered on G's device).
  Tensor<T> frame(std::int64_t f) const {
    pixsyn::detail::check(f >= 0 && f < frames_, "AlisPanorama: frame ", f, " is outside 0 .. ", frames_ - 1);
    const std::int64_t strip = f / strip_frames;
    if (strip != cached_strip_) {
      std::vector<Tensor<T>> z;
      for (std::int64_t a = 2 * strip; a <= 2 * strip + 2; ++a) z.push_back(anchors_.template z<T>(a, config.z_dim));
      Tensor<T, D> w = g_.map(alis::detail::on_device<D>(reshape(concat(z, 0), Shape{1, 3, config.z_dim})));
      if (options_.truncation != 1)
        w = alis::truncate(w, reshape(g_.w_avg(), Shape{1, 1, config.w_dim}), options_.truncation);
      cached_w_ = w;
      cached_strip_ = strip;
    }
    alis::SynthesisOptions<T> synthesis{.noise = options_.noise, .seed = options_.noise_seed, .strip = strip};
    return alis::detail::on_host(renderer_(cached_w_, {(f % strip_frames) * config.patches}, synthesis));
  }

  // The frames [first, last) whose pixels depend on anchor i: the intervals on either side of it.
  std::pair<std::int64_t, std::int64_t> frames_touching(std::int64_t anchor) const {
    check_anchor(anchor);
    return {std::max<std::int64_t>(0, (anchor - 1) * interval_frames),
            std::min(frames_, (anchor + 1) * interval_frames)};
  }

  // Draws anchor i from `seed`'s stream from now on; returns the frames that change (frames_touching).
  std::pair<std::int64_t, std::int64_t> resample(std::int64_t anchor, std::uint64_t seed) {
    check_anchor(anchor);
    anchors_.resampled[anchor] = seed;
    cached_strip_ = -1;
    return frames_touching(anchor);
  }

  // Frames [first, last) in order, rendered as the iteration reaches them; one alive at a time.
  class iterator {
   public:
    using value_type = Frame;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    iterator(const AlisPanorama* pano, std::int64_t index) : pano_(pano), index_(index) {}
    const Frame& operator*() const {
      if (!current_.image.defined()) current_ = {index_, pano_->frame(index_)};
      return current_;
    }
    const Frame* operator->() const { return &**this; }
    iterator& operator++() {
      ++index_;
      current_ = {};
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const iterator& other) const { return index_ == other.index_; }

   private:
    const AlisPanorama* pano_ = nullptr;
    std::int64_t index_ = 0;
    mutable Frame current_;
  };
  struct Range {
    iterator first, last;
    iterator begin() const { return first; }
    iterator end() const { return last; }
  };

  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, frames_}; }
  Range range(std::int64_t first, std::int64_t last) const {
    pixsyn::detail::check(0 <= first && first <= last && last <= frames_, "AlisPanorama: frames [", first, ", ", last,
                          ") are not within [0, ", frames_, ")");
    return {{this, first}, {this, last}};
  }

 private:
  // Keeps every anchor index, frame offset and pixel column far from overflowing.
  static constexpr std::int64_t max_frames = std::int64_t(1) << 40;

  void check_anchor(std::int64_t anchor) const {
    pixsyn::detail::check(anchor >= 0 && anchor < anchors(), "AlisPanorama: anchor ", anchor, " is outside 0 .. ",
                          anchors() - 1, " (", frames_, " frames, anchors every ", interval_frames, " frames)");
  }

  const G& g_;
  std::int64_t frames_;
  AnchorLatents anchors_;
  PanoramaOptions options_;
  // The current strip's anchor styles (1, 3, w_dim): three mappings per strip, not per frame.
  mutable std::int64_t cached_strip_ = -1;
  mutable Tensor<T, D> cached_w_;
  mutable AlisFrameRenderer<G> renderer_;
};

struct PanoramaPngOptions {
  // Frames per line of the picture: 0 puts all of them on one line (the panorama as one strip); K
  // wraps the panorama into lines of K frames, stacked top to bottom.
  std::int64_t line_frames = 0;
  // Called after every frame with the number of frames done.
  std::function<void(std::int64_t)> progress;
};

// Writes `frames` frames of side x side, left to right, as an 8-bit RGB PNG (values in [-1, 1] mapped to
// [0, 255], clamped) in flat memory: frame(index), (1, 3, side, side), is asked for once per index, in order
// (so the frames may come from a render split over GPUs, render/split.hpp); each goes, as bytes, to a scratch
// file beside the PNG that holds one line of frames; once a line is complete its pixel rows are read back and
// streamed to the PNG (io::PngRowWriter). Atomic: the PNG appears under `path` only when its last row is
// written; an error (or a signal, in a program that asked for temp_registry's handlers) leaves neither it nor
// the scratch file behind.
template <class T>
void write_frames_png(std::int64_t frames, std::int64_t side, const std::function<Tensor<T>(std::int64_t)>& frame,
                      const std::filesystem::path& path, const PanoramaPngOptions& options = {}) {
  pixsyn::detail::check(options.line_frames >= 0, "write_panorama_png: line_frames must be >= 0, got ",
                        options.line_frames);
  pixsyn::detail::check(frames >= 1 && side >= 1, "write_panorama_png: ", frames, " frames of ", side, " x ", side,
                        "; both must be positive");
  const std::int64_t per_line = options.line_frames == 0 ? frames : std::min(options.line_frames, frames);
  const std::int64_t lines = (frames + per_line - 1) / per_line;
  pixsyn::detail::check(per_line <= io::PngRowWriter::max_side / side && lines <= io::PngRowWriter::max_side / side,
                        "write_panorama_png: ", frames, " frames of ", side, " x ", side, " in lines of ", per_line,
                        " exceed the PNG limit of ", io::PngRowWriter::max_side,
                        " pixels per side (wrap them into shorter lines)");
  io::PngRowWriter png(path, per_line * side, lines * side);
  io::detail::TempFile scratch(path.string() + ".frames");
  const std::int64_t frame_bytes = side * side * 3;
  std::vector<unsigned char> bytes(static_cast<std::size_t>(frame_bytes));
  std::vector<std::uint8_t> row(static_cast<std::size_t>(per_line * side * 3));
  auto fail = [&](const char* step) {
    pixsyn::detail::fail("write_panorama_png: cannot ", step, " the scratch file '", scratch.name(), "' of '",
                         path.string(), "': ", io::detail::os_error(errno));
  };
  for (std::int64_t line = 0; line < lines; ++line) {
    const std::int64_t first = line * per_line, count = std::min(per_line, frames - first);
    for (std::int64_t index = first; index < first + count; ++index) {
      const Tensor<T> image = frame(index);
      pixsyn::detail::check(image.shape() == Shape{1, 3, side, side}, "write_panorama_png: frame ", index,
                            " has shape ", image.shape(), "; expected (1, 3, ", side, ", ", side, ")");
      const T* src = image.data();  // (1, 3, R, R) -> R rows of R RGB pixels
      for (std::int64_t p = 0; p < side * side; ++p)
        for (std::int64_t c = 0; c < 3; ++c) {
          const T v = src[c * side * side + p];
          pixsyn::detail::check(!std::isnan(v), "write_panorama_png: frame ", index, " contains NaN");
          bytes[p * 3 + c] = io::detail::unit_to_byte(v * T(0.5) + T(0.5));
        }
      if (::pwrite(scratch.fd(), bytes.data(), bytes.size(), (index - first) * frame_bytes) !=
          static_cast<ssize_t>(bytes.size()))
        fail("write");
      if (options.progress) options.progress(index + 1);
    }
    for (std::int64_t y = 0; y < side; ++y) {
      std::fill(row.begin(), row.end(), std::uint8_t(0));  // a short last line ends in black
      for (std::int64_t k = 0; k < count; ++k)
        if (::pread(scratch.fd(), row.data() + k * side * 3, static_cast<std::size_t>(side * 3),
                    k * frame_bytes + y * side * 3) != static_cast<ssize_t>(side * 3))
          fail("read");
      png.write_row(row);
    }
  }
  png.finish();
}

// The panorama's frames, rendered one at a time, as write_frames_png writes them.
template <class G>
void write_panorama_png(const AlisPanorama<G>& pano, const std::filesystem::path& path,
                        const PanoramaPngOptions& options = {}) {
  write_frames_png<typename AlisPanorama<G>::T>(
      pano.frames(), pano.height(), [&](std::int64_t f) { return pano.frame(f); }, path, options);
}

}  // namespace pixsyn::render
