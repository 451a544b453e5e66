// cips::NoFourier at every registered size (one translation unit per family keeps compile times in check).
#include "generator_model.hpp"

namespace pixsyn::cli::detail {

std::unique_ptr<Model> make_no_fourier(int size, std::uint64_t seed) {
  return make_family<cips::NoFourier>(size, seed);
}

}  // namespace pixsyn::cli::detail
