// cips::Sine at every registered size (one translation unit per family keeps compile times in check).
#include "cips_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_sine_entry() { return cips_entry<cips::Sine>("cips-sine"); }

}  // namespace pixsyn::cli::detail
