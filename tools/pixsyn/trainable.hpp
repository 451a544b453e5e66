#pragma once
// The narrow variants `pixsyn train` trains, one list of (size, max_channels) per family, in one place: the
// training translation units (train_<family>*.cpp) instantiate exactly these, and render, info and the other
// subcommands instantiate the same generators from a weights file's metadata (model, size, max_channels)
// through dispatch_variant (family_cips_narrow.cpp) or make_narrow (model_family.hpp).
//
// Adding a family: a list and a config function here, a train_<family>.cpp (and train_<family>_cuda.cpp)
// that define its TrainFamily entry (train_family.hpp) over that list, and one line in train.cpp's
// train_families(). Every entry costs compile time in those translation units (cips-skips: about 15 s per
// entry and device; 8 entries: train_cips.cpp 143 s, train_cips_cuda.cpp 105 s on a loaded 2-core
// machine), so keep the lists short.
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "pixsyn/models/cips/config.hpp"

namespace pixsyn::cli {

// A structural type: a list entry is a template argument of the code that instantiates it.
struct TrainVariant {
  int size = 0;
  int max_channels = 0;  // the width cap (for CIPS: hidden, style and every block width)
  // Also trains on multi-scale patches (cips-skips' --patch): a second instantiation of the loop.
  bool patches = false;
  // The same variant: the same generator (what it trains on is not part of it).
  friend constexpr bool operator==(const TrainVariant& a, const TrainVariant& b) {
    return a.size == b.size && a.max_channels == b.max_channels;
  }
};

// cips-skips: the CPU smoke test's (32, 16), and widths for the GPU demo runs: fp16 files of at most
// 10 MB need hidden · size² (the learned embedding table) + the layers below 5M parameters, which
// (128, 128) and (256, 64) just meet. Patch training: the CPU test's 32/16 and the largest, 256/64, where
// D and G working on patches save the most.
inline constexpr std::array cips_skips_variants{
    TrainVariant{32, 16, true}, TrainVariant{32, 32},  TrainVariant{64, 32},   TrainVariant{64, 64},
    TrainVariant{64, 128},      TrainVariant{128, 64}, TrainVariant{128, 128}, TrainVariant{256, 64, true}};

// alis (alis::Narrow<S, W>): the CPU smoke test's 32/16 and demo widths: 256/128 is 2.36M parameters (4.7 MB
// in fp16).
inline constexpr std::array alis_variants{TrainVariant{32, 16}, TrainVariant{64, 64}, TrainVariant{128, 128},
                                          TrainVariant{256, 128}};

// creps (creps::Narrow<S, W>; it trains on the CPU only): the smoke test's 32/16, 64/64 and 128/128.
inline constexpr std::array creps_variants{TrainVariant{32, 16}, TrainVariant{64, 64}, TrainVariant{128, 128}};

// CIPSskip with hidden, style and every block width equal to max_channels.
constexpr cips::Config narrow_cips(TrainVariant v) {
  return {.size = v.size, .hidden = v.max_channels, .style_dim = v.max_channels, .max_channels = v.max_channels};
}

// "32/16, 64/64, ..." (size/max_channels): a list for messages and help texts; patches_only: those that train
// on patches.
inline std::string variant_list(std::span<const TrainVariant> variants, bool patches_only = false) {
  std::string out;
  for (const TrainVariant& v : variants)
    if (v.patches || !patches_only)
      out += (out.empty() ? "" : ", ") + std::to_string(v.size) + "/" + std::to_string(v.max_channels);
  return out;
}

// Calls f.template operator()<V>() for the entry V of `Variants` equal to (size, max_channels), e.g.
//   dispatch_variant<cips_skips_variants>(size, width, [&]<TrainVariant V>() { use cips::Generator<narrow_cips(V)>; });
// false when the list holds no such entry.
template <const auto& Variants, class F>
bool dispatch_variant(int size, int max_channels, F&& f) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return ((Variants[I] == TrainVariant{size, max_channels} ? (f.template operator()<Variants[I]>(), true) : false) ||
            ...);
  }
  (std::make_index_sequence<Variants.size()>{});
}

}  // namespace pixsyn::cli
