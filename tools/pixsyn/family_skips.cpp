// cips::Skips at every registered size (one translation unit per family keeps compile times in check).
#include "cips_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_skips_entry() { return cips_entry<cips::Skips>("cips-skips"); }

}  // namespace pixsyn::cli::detail
