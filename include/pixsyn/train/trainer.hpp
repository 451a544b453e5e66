#pragma once
// train::Trainer: the training loop around gan_step for any generator and discriminator, with the run's
// files in one folder:
//
//   log.csv                              step,loss_g,loss_d,r1,images_per_s (one row per step; r1 empty
//                                        when the step was not regularised), then the caller's log_columns
//   checkpoint-<step>.safetensors        G ("g."), G_ema ("g_ema."), D ("d."), both Adam states ("g_adam.",
//                                        "d_adam."); metadata: step, seed, batch. In T's own precision
//                                        (F64 for double), written atomically; the last two are kept.
//   g_ema.safetensors                    G_ema's weights at the end, with the caller's metadata.
//
// The loop is rosinality's (train/gan_step.hpp: D, lazy R1, G; CIPS), or, when `generate` is an AdaRecipe,
// StyleGAN2-ADA's (train/stylegan2_ada_step.hpp: G, lazy path length, D, lazy R1; CREPS and ALIS), whose
// path-length running mean is checkpointed too ("pl.pl_mean").
//
// Every random number of step s is a function of (seed, s): the data batch (train/dataset.hpp), the latents
// of the D and G phases and the generator's noise seeds. A checkpoint therefore holds all the state there is
// (no RNG state), and a run resumed from the checkpoint of step k repeats the uninterrupted run's steps
// k, k+1, ... bit for bit.
//
// Data-parallel training (TrainerOptions::communicator, dist/): `batch` stays the step's batch, split over
// the ranks: rank r of W runs the samples r, r + W, r + 2W, ... of the batch one process would run (its data
// rows, latents, patch crops, the ADA recipes' draws and, through nn::ShardedNoise, its noise:
// train/sample_shard.hpp), so the minibatch-stddev groups of D (strided, min(4, batch) samples) fall on one
// rank, whole; the gradients of G and D are averaged over the ranks before every optimizer step (bucketed;
// each bucket's all-reduce starts during the backward pass, as soon as its gradients are final:
// dist/gradient_averager.hpp), the path-length mean is the whole batch's, and G's and D's buffers are
// averaged after every step. W ranks at batch B then train what one process trains at batch B: the same
// weights to rounding (tests/train/test_data_parallel.cpp, test_ada_trainer.cpp) when batch / W is a
// multiple of the stddev group (4) and, in the StyleGAN2-ADA loop, of the path length's batch_shrink.
// Rank 0 reads and writes the run folder; at the start of run() its state
// (weights, G_ema, optimizer moments, step, path-length mean) is broadcast, so every rank continues from
// rank 0's checkpoint.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/dist/buckets.hpp"
#include "pixsyn/dist/communicator.hpp"
#include "pixsyn/dist/gradient_averager.hpp"
#include "pixsyn/io/atomic_file.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "pixsyn/nn/noise.hpp"
#include "pixsyn/nn/serialize.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/shape.hpp"
#include "pixsyn/ops/transfer.hpp"
#include "pixsyn/train/batch_loader.hpp"
#include "pixsyn/train/dataset.hpp"
#include "pixsyn/train/ema.hpp"
#include "pixsyn/train/gan_step.hpp"
#include "pixsyn/train/multiscale_patches.hpp"
#include "pixsyn/train/sample_shard.hpp"
#include "pixsyn/train/stylegan2_ada_step.hpp"

namespace pixsyn::train {

struct TrainerOptions {
  std::int64_t batch = 4;
  std::int64_t steps = 0;  // train until this many steps are done
  std::uint64_t seed = 0;
  std::int64_t z_dim = 512;
  std::int64_t checkpoint_every = 0;  // > 0: also every this many steps (always at the end)
  AdamOptions adam{.lr = 0.002, .beta1 = 0, .beta2 = 0.99, .zero_missing_gradients = true};
  int g_reg_interval = 4;  // enters only G's Adam correction (CIPS has no G regulariser)
  GanStepOptions gan{};
  // > 0: CIPS's patch training (train/multiscale_patches.hpp): D sees patch x patch crops of the reals at a
  // random scale, and generate(g, z, noise seed, xy) renders the fakes at those crops' coordinates.
  std::int64_t patch = 0;
  PathLengthOptions path_length{};  // the StyleGAN2-ADA loop's G regulariser (its interval is g_reg_interval)
  EmaOptions ema{};
  std::filesystem::path run_dir{};
  // What the run trains (e.g. model, size, width): written into every checkpoint and g_ema.safetensors;
  // resume() refuses a checkpoint that says otherwise.
  std::map<std::string, std::string> model{};
  std::map<std::string, std::string> metadata{};  // also written into g_ema.safetensors
  // Called after every step with (step done, losses, images per second).
  std::function<void(std::int64_t, const GanStepLosses&, double)> progress{};
  // Called with the step done every sample_every steps (> 0) and once at the end, after the step's EMA
  // update: the caller renders G_ema there (sample grids).
  std::int64_t sample_every = 0;
  std::function<void(std::int64_t)> sample{};
  // More log.csv columns (e.g. an evaluation metric): their names, and log_values(step done) -> one value
  // per column (empty where there is none), called after the step's EMA update, before `progress`. A
  // resumed run's log gets this run's columns: older rows are padded with empty values or cut.
  std::vector<std::string> log_columns{};
  std::function<std::vector<std::string>(std::int64_t)> log_values{};
  int prefetch = 1;  // batches made ahead on a background thread while a step runs (train/batch_loader.hpp)
  // Data-parallel training: this rank's communicator (null: one process). batch must split evenly over its
  // ranks. progress, sample, the log and the files are rank 0's.
  dist::Communicator* communicator = nullptr;
  dist::BucketOptions buckets{};
  // Data-parallel: average the gradients while the backward pass runs (false: after it, bucket by bucket,
  // the same values; docs/distributed.md).
  bool overlap_gradients = true;
};

// generate(generator, z Var (B, z_dim), noise seed) -> fake images Var (B, C, S, S) in the discriminator's
// layout, or an AdaRecipe (train/stylegan2_ada_step.hpp). G, D: nn::Modules over T on one device, the CPU or
// the GPU. On the GPU the reals are uploaded once per step, the latents drawn there (the same Philox numbers
// as the CPU's), and checkpoints and the weights file go through host copies; a GPU run resumes from, and
// continues, a CPU run's checkpoint.
template <class T, class G, class D, class Generate>
class Trainer {
 public:
  using Device = typename G::device_type;
  static_assert(std::is_same_v<Device, typename D::device_type>, "Trainer: G and D must live on the same device");
  static constexpr bool ada = AdaRecipe<Generate, G>;
  // generate(g, z, noise seed, xy) renders patches at given points: CIPS's patch training.
  static constexpr bool patch_generate =
      std::is_invocable_v<Generate&, G&, const Var<T, Device>&, std::uint64_t, const Tensor<T, Device>&>;

  Trainer(G& g, G& g_ema, D& d, const Dataset& data, Generate generate, TrainerOptions options)
      : g_(g),
        g_ema_(g_ema),
        d_(d),
        data_(data),
        generate_(std::move(generate)),
        options_(std::move(options)),
        g_adam_(g.named_parameters(), lazy_regularized(options_.adam, options_.g_reg_interval)),
        d_adam_(d.named_parameters(), lazy_regularized(options_.adam, options_.gan.d_reg_interval)),
        path_length_([&] {
          auto pl = options_.path_length;
          pl.interval = options_.g_reg_interval;
          return pl;
        }()) {
    pixsyn::detail::check(options_.batch > 0 && options_.steps >= 0 && options_.z_dim > 0 &&
                              options_.checkpoint_every >= 0 && options_.sample_every >= 0,
                          "Trainer: batch ", options_.batch, ", z_dim ", options_.z_dim, " must be positive and steps ",
                          options_.steps, ", checkpoint_every ", options_.checkpoint_every, ", sample_every ",
                          options_.sample_every, " non-negative");
    pixsyn::detail::check(!options_.run_dir.empty(), "Trainer: no run folder given");
    pixsyn::detail::check(patch_generate == (options_.patch > 0), "Trainer: patch ", options_.patch,
                          patch_generate
                              ? " with a generate(g, z, noise seed, xy), which renders patches: set patch > 0"
                              : " needs a generate(g, z, noise seed, xy) that renders the patches' points");
    if (options_.communicator != nullptr) {
      rank_ = options_.communicator->rank();
      world_ = options_.communicator->world_size();
    }
    pixsyn::detail::check(options_.batch % world_ == 0, "Trainer: the batch of ", options_.batch,
                          " does not split evenly over ", world_, " ranks");
    if (world_ > 1) {
      auto& comm = *options_.communicator;
      const auto buckets = options_.buckets;
      for (auto* adam : {&g_adam_, &d_adam_}) {
        if (options_.overlap_gradients) {
          auto& averager = averagers_.emplace_back(
              std::make_unique<dist::GradientAverager<T, Device>>(comm, adam->parameters(), buckets));
          adam->set_gradient_hook([averager = averager.get()](const auto&) { averager->average(); });
        } else {
          adam->set_gradient_hook([&comm, buckets](const std::vector<Var<T, Device>*>& params) {
            dist::average_gradients(comm, params, buckets);
          });
        }
      }
      path_length_.set_mean_reducer(
          [&comm](double mean) { return comm.all_reduce_host(mean, dist::ReduceOp::average); });
    }
    std::filesystem::create_directories(options_.run_dir);
  }

  std::int64_t step() const { return step_; }

  // Continues from the newest checkpoint in the run folder; false when there is none. With several ranks,
  // rank 0's folder counts: the others take its state at the start of run().
  bool resume() {
    if (rank_ != 0) return false;
    const auto checkpoints = list_checkpoints();
    if (checkpoints.empty()) return false;
    const auto& [step, path] = checkpoints.back();
    const auto file = io::read_safetensors(path);
    std::map<std::string, nn::StateDict<T>> parts;  // on the host
    for (const auto& [key, raw] : file.tensors) {
      const auto dot = key.find('.');
      parts[key.substr(0, dot)].emplace(key.substr(dot + 1), raw.template to<T>());
    }
    const std::string where = "Trainer::resume: '" + path.string() + "': ";
    check_model(where, file.metadata);
    for (const char* part : {"g", "g_ema", "d", "g_adam", "d_adam"})
      pixsyn::detail::check(parts.count(part), where, "no '", part, ".*' tensors");
    try {
      g_.load_state_dict(nn::state_dict_on<Device>(parts["g"]));
      g_ema_.load_state_dict(nn::state_dict_on<Device>(parts["g_ema"]));
      d_.load_state_dict(nn::state_dict_on<Device>(parts["d"]));
      g_adam_.load_state_dict(nn::state_dict_on<Device>(parts["g_adam"]));
      d_adam_.load_state_dict(nn::state_dict_on<Device>(parts["d_adam"]));
      if constexpr (ada) {
        pixsyn::detail::check(parts.count("pl"), "no 'pl.*' tensors");
        path_length_.load_state_dict(parts["pl"]);
      }
    } catch (const Error& e) {
      pixsyn::detail::fail(where, e.what());
    }
    const auto meta = [&](const char* key) {
      const auto it = file.metadata.find(key);
      pixsyn::detail::check(it != file.metadata.end(), where, "no '", key, "' in the metadata");
      return it->second;
    };
    pixsyn::detail::check(parse_step(meta("step")) == step, where, "its step '", meta("step"),
                          "' does not match its name");
    pixsyn::detail::check(
        meta("seed") == std::to_string(options_.seed) && meta("batch") == std::to_string(options_.batch), where,
        "it was written with seed ", meta("seed"), " and batch ", meta("batch"), ", not ", options_.seed, " and ",
        options_.batch);
    step_ = step;
    trim_log();
    return true;
  }

  // Trains up to options.steps, checkpointing on the way and at the end; writes g_ema.safetensors.
  void run() {
    if (world_ > 1) take_rank0_state();
    const bool writer = rank_ == 0;
    while (step_ < options_.steps) {
      const auto start = std::chrono::steady_clock::now();
      const auto losses = train_step();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = static_cast<double>(options_.batch) / std::max(seconds, 1e-9);
      if (!writer) continue;
      append_log(losses, rate);
      if (options_.progress) options_.progress(step_, losses, rate);
      if (options_.sample && options_.sample_every > 0 && step_ % options_.sample_every == 0 && step_ < options_.steps)
        options_.sample(step_);
      if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0 && step_ < options_.steps)
        save_checkpoint();
    }
    if (!writer) return;
    save_checkpoint();
    auto metadata = options_.model;
    metadata.insert(options_.metadata.begin(), options_.metadata.end());
    nn::save_safetensors(g_ema_, options_.run_dir / "g_ema.safetensors", metadata);
    if (options_.sample) options_.sample(step_);
  }

  int rank() const { return rank_; }
  int world_size() const { return world_; }
  // Data-parallel with overlap_gradients: how often the optimizer steps of G and D found their gradients
  // averaged during the backward pass, and how often after it.
  typename dist::GradientAverager<T, Device>::Counts overlap_counts() const {
    typename dist::GradientAverager<T, Device>::Counts sum;
    for (const auto& averager : averagers_) {
      sum.overlapped += averager->counts().overlapped;
      sum.after_backward += averager->counts().after_backward;
    }
    return sum;
  }

 private:
  // Philox streams of the loop (the data has its own inside Dataset): one key each.
  static constexpr std::uint64_t latent_stream = 0x4C41, noise_stream = 0x4E4F;

  GanStepLosses train_step() {
    const std::int64_t s = step_;
    // Noise of this rank's samples of the whole batch (CIPS's and ALIS's seeded noise).
    const nn::ShardedNoise sharded_noise(sample_shard());
    const auto reals_float = loader_.get(s);
    Tensor<T> reals_host;
    if constexpr (std::is_same_v<T, float>) {
      reals_host = reals_float;
    } else {
      reals_host = Tensor<T>::empty(reals_float.shape());
      std::copy(reals_float.data(), reals_float.data() + reals_float.numel(), reals_host.data());
    }
    const Tensor<T, Device> reals = pixsyn::detail::on_device<Device>(shard(reals_host));
    GanStepLosses losses;
    if constexpr (ada) {
      losses = ada_step(reals, s);
    } else {
      Tensor<T, Device> patch_images, patch_xy;  // cut on the host, then moved to the device
      if (options_.patch > 0) {
        Philox gen = latent_stream_of(s, 4);
        const PatchBatch<T> patches = multiscale_patches(reals_host, options_.patch, gen);
        patch_images = pixsyn::detail::on_device<Device>(shard(patches.images));
        patch_xy = pixsyn::detail::on_device<Device>(shard(patches.xy));
      }
      const auto generate = [&](GanPhase phase) {
        const int p = phase == GanPhase::discriminator ? 0 : 1;
        Philox gen = latent_stream_of(s, p);
        const Var<T, Device> z(shard(Tensor<T, Device>::randn({options_.batch, options_.z_dim}, gen)));
        if constexpr (patch_generate)
          return generate_(g_, z, noise_seed(s, p), patch_xy);
        else
          return generate_(g_, z, noise_seed(s, p));
      };
      losses = gan_step(d_, g_adam_, d_adam_, options_.patch > 0 ? patch_images : reals, generate,
                        s % options_.gan.d_reg_interval == 0, options_.gan);
    }
    if (world_ > 1) {
      average_buffers(g_);
      average_buffers(d_);
      losses = average_losses(losses);
    }
    update_ema(g_ema_, g_, ema_beta(options_.batch, s * options_.batch, options_.ema));
    ++step_;
    return losses;
  }

  // This rank's samples r, r + W, ... of the whole batch (train/sample_shard.hpp).
  nn::SampleShard sample_shard() const {
    return {static_cast<std::uint64_t>(rank_), static_cast<std::uint64_t>(world_)};
  }
  // This rank's rows of a tensor of the whole batch (dim 0).
  template <class U, class Dv>
  Tensor<U, Dv> shard(const Tensor<U, Dv>& whole) const {
    return shard_rows(whole, sample_shard());
  }

  // The mean of buffers updated from the batch (w_avg): with every rank starting from the same value and
  // the updates linear in the batch means, the mean over the ranks is the whole batch's update.
  template <class Module>
  void average_buffers(const Module& module) {
    std::vector<Tensor<T, Device>*> buffers;
    for (const auto& [name, buffer] : module.named_buffers()) buffers.push_back(buffer);
    dist::all_reduce_buckets(*options_.communicator, buffers, dist::ReduceOp::average, options_.buckets);
  }

  // The losses of the whole batch for the log: the ranks' means averaged (one collective).
  GanStepLosses average_losses(const GanStepLosses& local) const {
    const bool r1 = !std::isnan(local.r1);
    double values[3] = {local.loss_d, local.loss_g, r1 ? local.r1 : 0.0};
    options_.communicator->all_reduce_host(values, 3, dist::ReduceOp::average);
    return {.loss_d = values[0], .loss_g = values[1], .r1 = r1 ? values[2] : local.r1};
  }

  // Every rank continues from rank 0's state: its step, weights, G_ema, optimizer moments and path-length
  // mean (rank 0 resumed from its folder, or all start fresh with rank 0's initialisation).
  void take_rank0_state() {
    auto& comm = *options_.communicator;
    step_ = static_cast<std::int64_t>(
        comm.all_reduce_host(rank_ == 0 ? static_cast<double>(step_) : 0.0, dist::ReduceOp::sum));
    const auto from_rank0 = [&](auto& holder) {
      auto state = holder.state_dict();
      for (auto& [key, tensor] : state) comm.broadcast(tensor, 0);
      holder.load_state_dict(state);
    };
    from_rank0(g_);
    from_rank0(g_ema_);
    from_rank0(d_);
    from_rank0(g_adam_);
    from_rank0(d_adam_);
    if constexpr (ada) {
      auto pl = path_length_.template state_dict<T>();
      const double mean =
          comm.all_reduce_host(rank_ == 0 ? static_cast<double>(pl.at("pl_mean").item()) : 0.0, dist::ReduceOp::sum);
      pl.at("pl_mean").data()[0] = static_cast<T>(mean);
      path_length_.load_state_dict(pl);
    }
  }

  // The Philox stream of the latents of phase p of step s.
  Philox latent_stream_of(std::int64_t s, int p) const {
    return {options_.seed ^ (latent_stream << 48), (static_cast<std::uint64_t>(s) << 33) | (std::uint64_t(p) << 32)};
  }
  // The generator's noise seed of phase p of step s.
  std::uint64_t noise_seed(std::int64_t s, int p) const {
    const auto b = pixsyn::detail::philox4x32_10(options_.seed ^ (noise_stream << 48), 2 * std::uint64_t(s) + p);
    return (std::uint64_t(b.v[0]) << 32) | b.v[1];
  }

  // One iteration of the StyleGAN2-ADA loop: phases 0 (G), 1 (G reg), 2 (D) draw their latents from their
  // streams; the path-length noise is stream 3. A rank draws them for the whole batch and keeps its rows: the
  // G reg phase's batch is path_length.batch of each rank's share (one process's when the share divides by
  // batch_shrink).
  GanStepLosses ada_step(const Tensor<T, Device>& reals, std::int64_t s) {
    const std::int64_t local = options_.batch / world_, shrunk = world_ * path_length_.batch(local);
    const auto generate = [&](AdaPhase phase) {
      const int p = static_cast<int>(phase);
      Philox gen = latent_stream_of(s, p);
      const std::int64_t batch = phase == AdaPhase::generator_regularization ? shrunk : options_.batch;
      return generate_(g_, phase, batch, gen, noise_seed(s, p), sample_shard());
    };
    AdaRegularization<T, Device> regularize{.r1 = s % options_.gan.d_reg_interval == 0};
    if (options_.path_length.weight > 0 && s % options_.g_reg_interval == 0) {
      regularize.path_length = &path_length_;
      Philox gen = latent_stream_of(s, 3);
      regularize.path_length_noise =
          shard(Tensor<T, Device>::randn({shrunk, reals.dim(1), reals.dim(2), reals.dim(3)}, gen));
    }
    const auto l =
        stylegan2_ada_step(d_, g_adam_, d_adam_, reals, generate, regularize,
                           {.r1_gamma = options_.gan.r1_gamma, .d_reg_interval = options_.gan.d_reg_interval});
    generate_.after_step(g_, s * options_.batch);
    return {.loss_d = l.loss_d, .loss_g = l.loss_g, .r1 = l.r1};
  }

  // A step count written by this class; -1 when `text` is not one.
  static std::int64_t parse_step(const std::string& text) {
    std::int64_t value = -1;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size() && value >= 0 ? value : -1;
  }

  std::filesystem::path checkpoint_path(std::int64_t step) const {
    return options_.run_dir / ("checkpoint-" + std::to_string(step) + ".safetensors");
  }

  // The checkpoints in the run folder, oldest first.
  std::vector<std::pair<std::int64_t, std::filesystem::path>> list_checkpoints() const {
    static const std::regex name(R"(checkpoint-([0-9]{1,15})\.safetensors)");
    std::vector<std::pair<std::int64_t, std::filesystem::path>> out;
    for (const auto& entry : std::filesystem::directory_iterator(options_.run_dir)) {
      std::smatch m;
      const std::string file = entry.path().filename().string();
      if (std::regex_match(file, m, name)) out.emplace_back(parse_step(m[1].str()), entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void save_checkpoint() {
    std::map<std::string, Tensor<T>> tensors;
    const auto add = [&](const std::string& prefix, const auto& state) {  // a StateDict<T> on any device
      for (const auto& [key, value] : nn::state_dict_on<Cpu>(state)) tensors.emplace(prefix + key, value);
    };
    add("g.", g_.state_dict());
    add("g_ema.", g_ema_.state_dict());
    add("d.", d_.state_dict());
    add("g_adam.", g_adam_.state_dict());
    add("d_adam.", d_adam_.state_dict());
    if constexpr (ada) add("pl.", path_length_.template state_dict<T>());
    auto metadata = options_.model;
    metadata.insert({{"step", std::to_string(step_)},
                     {"seed", std::to_string(options_.seed)},
                     {"batch", std::to_string(options_.batch)}});
    io::save_tensors(checkpoint_path(step_), tensors, metadata, io::exact_dtype<T>);
    // The new one is in place (atomically); only then do the old ones go, keeping the last two.
    auto checkpoints = list_checkpoints();
    for (std::size_t i = 0; i + 2 < checkpoints.size(); ++i) std::filesystem::remove(checkpoints[i].second);
  }

  // A checkpoint of another model (its metadata says so; one written without those entries passes) is
  // refused before its tensors are loaded, as one line naming what differs.
  void check_model(const std::string& where, const std::map<std::string, std::string>& metadata) const {
    std::string stored, wanted;
    for (const auto& [key, value] : options_.model) {
      const auto it = metadata.find(key);
      if (it == metadata.end() || it->second == value) continue;
      stored += (stored.empty() ? "" : ", ") + key + " " + it->second;
      wanted += (wanted.empty() ? "" : ", ") + key + " " + value;
    }
    pixsyn::detail::check(stored.empty(), where, "it is a checkpoint of ", stored, ", not ", wanted,
                          " (another run's folder, or that run's options)");
  }

  std::filesystem::path log_path() const { return options_.run_dir / "log.csv"; }

  std::string log_header() const {
    std::string header = "step,loss_g,loss_d,r1,images_per_s";
    for (const auto& column : options_.log_columns) header += "," + column;
    return header;
  }

  void append_log(const GanStepLosses& losses, double rate) {
    std::vector<std::string> values;
    if (options_.log_values) values = options_.log_values(step_);
    pixsyn::detail::check(values.size() == options_.log_columns.size(), "Trainer: log_values gave ", values.size(),
                          " values for ", options_.log_columns.size(), " log_columns");
    const bool fresh = !std::filesystem::exists(log_path());
    std::ofstream out(log_path(), std::ios::app);
    if (fresh) out << log_header() << "\n";
    out.precision(9);
    out << step_ << "," << losses.loss_g << "," << losses.loss_d << ",";
    if (!std::isnan(losses.r1)) out << losses.r1;
    out << "," << rate;
    for (const auto& value : values) out << "," << value;
    out << "\n";
    pixsyn::detail::check(out.good(), "Trainer: cannot append to '", log_path().string(), "'");
  }

  // On resume: the rows of steps after the checkpoint go (they will be trained again), and the header and
  // the rows take this run's columns.
  void trim_log() {
    if (!std::filesystem::exists(log_path())) return;
    std::ifstream in(log_path());
    const std::string header = log_header();
    const auto columns = std::count(header.begin(), header.end(), ',');
    std::string line, kept = header + "\n";
    for (bool first = true; std::getline(in, line); first = false) {
      if (first || parse_step(line.substr(0, line.find(','))) > step_) continue;
      auto commas = std::count(line.begin(), line.end(), ',');
      for (; commas < columns; ++commas) line += ",";
      for (; commas > columns; --commas) line.erase(line.rfind(','));
      kept += line + "\n";
    }
    io::write_file_atomic(log_path(), std::string_view(kept));
  }

  G& g_;
  G& g_ema_;
  D& d_;
  const Dataset& data_;
  Generate generate_;
  TrainerOptions options_;
  BatchLoader loader_{data_, options_.batch, options_.seed, options_.prefetch};
  Adam<T, Device> g_adam_, d_adam_;
  std::vector<std::unique_ptr<dist::GradientAverager<T, Device>>> averagers_;  // G's and D's, with overlap
  PathLength path_length_;
  std::int64_t step_ = 0;
  int rank_ = 0, world_ = 1;
};

}  // namespace pixsyn::train
