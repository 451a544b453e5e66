// cips::NoEmbedding at every registered size (one translation unit per family keeps compile times in check).
#include "cips_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_no_embedding_entry() { return cips_entry<cips::NoEmbedding>("cips-ne"); }

}  // namespace pixsyn::cli::detail
