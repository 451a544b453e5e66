// cips::NoFourier at every registered size (one translation unit per family keeps compile times in check).
#include "cips_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_no_fourier_entry() { return cips_entry<cips::NoFourier>("cips-nofourier"); }

}  // namespace pixsyn::cli::detail
