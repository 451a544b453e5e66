// cips::Residual at every registered size (one translation unit per family keeps compile times in check).
#include "cips_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_residual_entry() { return cips_entry<cips::Residual>("cips-res"); }

}  // namespace pixsyn::cli::detail
