// The narrow cips-skips variants that pixsyn train writes (trainable.hpp), so that render, info and the
// other subcommands build them from a weights file's metadata (max_channels); on the CPU, and on the GPU
// with the fused renderer (render::CudaCips), which pixsyn train --device cuda --eval-every scores them with.
#include "cips_model.hpp"
#include "families.hpp"
#include "trainable.hpp"

namespace pixsyn::cli::detail {

std::unique_ptr<Model> make_narrow_cips_skips(int size, int max_channels, std::uint64_t seed) {
  std::unique_ptr<Model> out;
  dispatch_variant<cips_skips_variants>(size, max_channels, [&]<TrainVariant V>() {
    using M = CipsModel<cips::Generator<narrow_cips(V), float, Cpu>>;
    static_assert(M::caps.cuda, "a variant that pixsyn train writes has a CUDA renderer (train --eval-every)");
    out = std::make_unique<M>(seed);
  });
  return out;
}

}  // namespace pixsyn::cli::detail
