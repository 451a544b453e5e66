#pragma once
// The registry entries of every family, each defined in its own translation unit (family_*.cpp), so
// that the generator instantiations compile in parallel and a change rebuilds only what it touches.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model.hpp"

namespace pixsyn::cli::detail {

ModelEntry cips_skips_entry();
// The narrow cips-skips that pixsyn train writes (trainable.hpp): null for a (size, max_channels) not in
// its list.
std::unique_ptr<Model> make_narrow_cips_skips(int size, int max_channels, std::uint64_t seed);
ModelEntry cips_residual_entry();
ModelEntry cips_base_entry();
ModelEntry cips_no_embedding_entry();
ModelEntry cips_no_fourier_entry();
ModelEntry cips_sine_entry();

// creps (the official model) and creps-multi-d<D> (layer-wise fusion, thickness D; creps-multi-d8 is creps).
std::vector<ModelEntry> creps_multi_entries();
// creps-single-d<D>: the bi-line composed once, at the end.
std::vector<ModelEntry> creps_single_entries();
// creps-nb: dense features, no bi-lines.
ModelEntry creps_nb_entry();

// alis (the released model) and alis-nocoords (a constant input, no coordinate channels).
ModelEntry alis_entry();
ModelEntry alis_nocoords_entry();

}  // namespace pixsyn::cli::detail
