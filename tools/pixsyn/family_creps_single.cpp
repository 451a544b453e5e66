// creps-single-d<D> at every registered size (one translation unit per family keeps compile times in check).
#include "creps_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

std::vector<ModelEntry> creps_single_entries() { return thickness_entries<creps::SingleDecoder>("creps-single-d"); }

}  // namespace pixsyn::cli::detail
