// cips::Skips at every registered size (one translation unit per family keeps compile times in check).
#include "cips_model.hpp"
#include "families.hpp"
#include "trainable.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_skips_entry() {
  ModelEntry entry = cips_entry<cips::Skips>("cips-skips");
  entry.make_narrow = make_narrow_cips_skips;
  entry.narrow_list = narrow_list<cips_skips_variants>;
  return entry;
}

}  // namespace pixsyn::cli::detail
