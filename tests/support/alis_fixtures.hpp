#pragma once
// The ALIS fixture configurations (tools/reference/make_alis_fixtures.py writes the fixtures); load
// them with load_fixture("alis", name) from cips_fixtures.hpp.
#include "pixsyn/models/alis/config.hpp"

namespace pixsyn::test {

constexpr alis::Config alis_official32{.size = 32, .z_dim = 16, .w_dim = 16, .channel_base = 512, .channel_max = 16};
constexpr alis::Config alis_patches4_input8{.size = 32,
                                            .z_dim = 24,
                                            .w_dim = 24,
                                            .mapping_layers = 3,
                                            .channel_base = 256,
                                            .channel_max = 16,
                                            .input_resolution = 8,
                                            .patches = 4,
                                            .anchor_distance = 2,
                                            .remove_lowest_freq = false,
                                            .fp16_resolutions = 1};
constexpr alis::Config alis_constant16{.size = 16,
                                       .z_dim = 16,
                                       .w_dim = 16,
                                       .channel_base = 256,
                                       .channel_max = 16,
                                       .anchor_distance = 6,
                                       .input = alis::Input::constant,
                                       .coordinate_fusers = false,
                                       .fp16_resolutions = 0};

}  // namespace pixsyn::test
