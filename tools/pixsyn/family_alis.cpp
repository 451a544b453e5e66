// alis (the released model) at every registered size (one translation unit per family keeps compile
// times in check).
#include "alis_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry alis_entry() { return alis_entry<alis::Official>("alis"); }

}  // namespace pixsyn::cli::detail
