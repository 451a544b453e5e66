// creps and creps-multi-d<D> at every registered size (one translation unit per family keeps compile
// times in check). MultiDecoder<S, 8> is Official<S>, one type: creps-multi-d8 is another name for creps.
#include "creps_model.hpp"
#include "families.hpp"
#include "trainable.hpp"

namespace pixsyn::cli::detail {

std::vector<ModelEntry> creps_multi_entries() {
  auto entries = thickness_entries<creps::MultiDecoder>("creps-multi-d");
  auto creps = creps_entry<creps::Official>("creps");
  creps.make_narrow = make_narrow<CrepsModel, creps::Narrow, creps_variants>;  // what pixsyn train makes
  creps.narrow_list = narrow_list<creps_variants>;
  entries.insert(entries.begin(), std::move(creps));
  return entries;
}

}  // namespace pixsyn::cli::detail
