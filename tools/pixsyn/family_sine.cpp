// cips::Sine at every registered size (one translation unit per family keeps compile times in check).
#include "generator_model.hpp"

namespace pixsyn::cli::detail {

std::unique_ptr<Model> make_sine(int size, std::uint64_t seed) { return make_family<cips::Sine>(size, seed); }

}  // namespace pixsyn::cli::detail
