// creps-nb at every registered size (one translation unit per family keeps compile times in check).
#include "creps_model.hpp"
#include "families.hpp"

namespace pixsyn::cli::detail {

ModelEntry creps_nb_entry() { return creps_entry<creps::NoBiline>("creps-nb"); }

}  // namespace pixsyn::cli::detail
