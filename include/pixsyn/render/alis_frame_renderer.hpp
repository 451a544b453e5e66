#pragma once
// Repeated ALIS synthesis calls (the frames of a panorama, a benchmark's calls): on the GPU a call of batch 1
// is bound by the host launching its ~300 kernels, so the renderer records the call once as a CUDA graph
// (backend/cuda/graph.hpp) and replays it, with the call's anchors w, left borders and strip written into
// buffers the graph reads. The frames equal g.synthesize's bit for bit: the same kernels with the same values.
//
//   render::AlisFrameRenderer render(g);          // g must outlive it
//   for (...) img = render(w, {delta}, options);   // = g.synthesize(w, {delta}, options)
//
// A call's kind is what the recorded work depends on besides those inputs: w's shape, the noise mode and seed,
// the convolution precision (backend::cuda::ConvPrecisionScope), TF32, the seeded-noise sample shard and the
// addresses of g's weights (load_state_dict replaces them). The first call of a kind runs plainly (it makes
// the library handles and caches a recording may not), the second records and replays, later ones replay; a
// call of another kind starts over. Given noise maps, the CPU, and calls that cannot be recorded (a capture
// error) run plainly. g's max_shift_strength is read once per kind.
#include <cstdint>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "pixsyn/backend/cuda/conv.hpp"
#include "pixsyn/backend/cuda/graph.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/models/alis/generator.hpp"
#include "pixsyn/nn/noise.hpp"

namespace pixsyn::render {

template <class G>
class AlisFrameRenderer {
 public:
  using T = typename G::value_type;
  using D = typename G::device_type;
  static constexpr alis::Config config = G::config;

  // How a call ran.
  enum class Path { plain, recorded, replayed };

  // graphs = false: every call runs plainly (the same frames).
  explicit AlisFrameRenderer(const G& g, bool graphs = true) : g_(g), graphs_(graphs) {}

  Tensor<T, D> operator()(const Tensor<T, D>& w, const std::vector<std::int64_t>& delta,
                          const alis::SynthesisOptions<T>& options = {}) {
    if constexpr (std::is_same_v<D, Cuda>) {
      if (graphs_ && options.noise != alis::NoiseMode::given) return recorded(w, delta, options);
    }
    last_ = Path::plain;
    return g_.synthesize(w, delta, options);
  }

  Path last_path() const { return last_; }
  // Drops the recording: the next call runs plainly.
  void reset() {
    if constexpr (std::is_same_v<D, Cuda>) {
      recording_.graph.reset();
      recording_.stage = Stage::fresh;
    }
  }

 private:
  // What a recorded call depends on besides the inputs it reads from the recording's buffers.
  struct Kind {
    Shape w_shape;
    alis::NoiseMode noise = alis::NoiseMode::off;
    std::uint64_t noise_seed = 0, shard_offset = 0, shard_stride = 1;
    backend::cuda::Precision precision = backend::cuda::Precision::fp32;
    bool tf32 = false;
    std::vector<const void*> weights;
    bool operator==(const Kind&) const = default;
  };

  enum class Stage { fresh, warm, recorded, unrecordable };

  struct Recording {
    Kind kind;
    Stage stage = Stage::fresh;
    float strength = 1;
    Tensor<T, D> w, out;               // the anchors read, the frames written
    Tensor<std::int64_t, D> inputs;    // alis::Frames::device_inputs
    backend::cuda::StreamGraph graph;  // declared last: destroyed first, before the buffers it uses
  };

  Kind kind_of(const Tensor<T, D>& w, const alis::SynthesisOptions<T>& options) const {
    const nn::SampleShard shard = nn::current_sample_shard();
    Kind k{w.shape(),
           options.noise,
           options.seed,
           shard.offset,
           shard.stride,
           backend::cuda::conv_precision(),
           backend::cuda::Context::instance().allow_tf32(),
           {}};
    for (const auto& [name, p] : g_.named_parameters()) k.weights.push_back(p->value().data());
    for (const auto& [name, b] : g_.named_buffers()) k.weights.push_back(b->data());
    return k;
  }

  Tensor<T, D> recorded(const Tensor<T, D>& w, const std::vector<std::int64_t>& delta,
                        const alis::SynthesisOptions<T>& options) {
    Kind kind = kind_of(w, options);
    Recording& r = recording_;
    if (!(kind == r.kind) || r.stage == Stage::fresh) {
      r.graph.reset();
      r.kind = std::move(kind);
      r.stage = Stage::warm;
      last_ = Path::plain;
      return g_.synthesize(w, delta, options);
    }
    if (r.stage == Stage::unrecordable) {
      last_ = Path::plain;
      return g_.synthesize(w, delta, options);
    }
    const std::int64_t batch = w.dim(0);
    if (r.stage == Stage::warm) {  // w's shape was checked by the plain call of this kind
      r.strength = g_.shift_strength();
      r.w = Tensor<T, D>::empty(w.shape());
      r.out = Tensor<T, D>::empty({batch, 3, config.size, config.size});
      r.inputs = Tensor<std::int64_t, D>::empty({batch + 1});
    }
    const auto effective = G::effective_delta(delta, batch, r.strength);
    const auto inputs = alis::Frames<T, D>::device_inputs(effective, options.strip);
    backend::cuda::copy_on_device(r.w.data(), w.data(), sizeof(T) * static_cast<std::size_t>(w.numel()));
    backend::cuda::copy_to_device(r.inputs.data(), inputs.data(), sizeof(std::int64_t) * inputs.size());
    if (r.stage == Stage::warm) {
      const bool made = r.graph.capture([&] {
        // Made and gone within the recording: what it caches is allocated and freed by the graph.
        const alis::Frames<T, D> frames(effective, config.patches, config.anchor_distance, options.strip, r.inputs);
        const Tensor<T, D> y = g_.synthesize(r.w, frames, options);
        pixsyn::detail::check(y.shape() == r.out.shape(), "AlisFrameRenderer: frames of shape ", y.shape(),
                              "; expected ", r.out.shape());
        backend::cuda::copy_on_device(r.out.data(), y.data(), sizeof(T) * static_cast<std::size_t>(y.numel()));
      });
      if (!made) {
        r.stage = Stage::unrecordable;
        last_ = Path::plain;
        return g_.synthesize(w, delta, options);
      }
      r.stage = Stage::recorded;
      last_ = Path::recorded;
    } else {
      last_ = Path::replayed;
    }
    r.graph.replay();
    return r.out.clone();  // the next replay overwrites r.out
  }

  const G& g_;
  bool graphs_;
  Path last_ = Path::plain;
  std::conditional_t<std::is_same_v<D, Cuda>, Recording, std::monostate> recording_;
};

}  // namespace pixsyn::render
