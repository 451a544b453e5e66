// cips::Base at every registered size (one translation unit per family keeps compile times in check).
#include "cips_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_base_entry() { return cips_entry<cips::Base>("cips-base"); }

}  // namespace pixsyn::cli::detail
