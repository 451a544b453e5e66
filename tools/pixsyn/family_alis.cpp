// alis (the released model) at every registered size, and its narrow variants (one translation unit per family keeps
// compile times in check).
#include "alis_model.hpp"
#include "families.hpp"
#include "trainable.hpp"

namespace pixsyn::cli::detail {

ModelEntry alis_entry() {
  auto entry = alis_entry<alis::Official>("alis");
  entry.make_narrow = make_narrow<AlisModel, alis::Narrow, alis_variants>;  // what pixsyn train makes
  entry.narrow_list = narrow_list<alis_variants>;
  return entry;
}

}  // namespace pixsyn::cli::detail
