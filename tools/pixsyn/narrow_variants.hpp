#pragma once
// The narrow variants (size, max_channels) that pixsyn trains and renders for the families with a Narrow
// type (alis::Narrow<S, W>, creps::Narrow<S, W>): `train --max-channels W` makes them and `render` instantiates
// the same type from a weights file's metadata. Each entry costs compile time in the family's translation
// units, so keep the lists short.
#include <array>

namespace pixsyn::cli {

struct NarrowVariant {
  int size = 0;
  int max_channels = 0;
};

// alis: the CPU smoke test's 32/16 and demo widths: 256/128 is 2.36M parameters (4.7 MB in fp16).
inline constexpr std::array alis_narrow_variants{NarrowVariant{32, 16}, NarrowVariant{64, 64}, NarrowVariant{128, 128},
                                                 NarrowVariant{256, 128}};
// creps (CPU training only): the smoke test's 32/16 and 64/64, 128/128.
inline constexpr std::array creps_narrow_variants{NarrowVariant{32, 16}, NarrowVariant{64, 64},
                                                  NarrowVariant{128, 128}};

}  // namespace pixsyn::cli
