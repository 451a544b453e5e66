// The narrow cips-skips variants that pixsyn train writes (trainable.hpp), so that render, info and the
// other subcommands build them from a weights file's metadata (max_channels). On the CPU: the fused GPU
// renderer serves the official widths (cips_cuda_path).
#include "cips_model.hpp"
#include "families.hpp"
#include "trainable.hpp"

namespace pixsyn::cli::detail {

std::unique_ptr<Model> make_narrow_cips_skips(int size, int max_channels, std::uint64_t seed) {
  std::unique_ptr<Model> out;
  dispatch_variant<cips_skips_variants>(size, max_channels, [&]<TrainVariant V>() {
    out = std::make_unique<CipsModel<cips::Generator<narrow_cips(V), float, Cpu>>>(seed);
  });
  return out;
}

}  // namespace pixsyn::cli::detail
