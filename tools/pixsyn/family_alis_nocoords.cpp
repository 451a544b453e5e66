// alis-nocoords (the paper's "w/o coords": a constant input, no coordinate channels) at every
// registered size.
#include "alis_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry alis_nocoords_entry() { return alis_entry<alis::NoCoords>("alis-nocoords"); }

}  // namespace pixsyn::cli::detail
