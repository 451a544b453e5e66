#pragma once
// The CREPS fixture configurations (tools/reference/make_creps_fixtures.py writes the fixtures), shared by
// the CPU and GPU tests; load them with load_fixture("creps", name) from cips_fixtures.hpp.
#include "pixsyn/models/creps/config.hpp"

namespace pixsyn::test {

constexpr creps::Config official16{.size = 16,
                                   .z_dim = 24,
                                   .w_dim = 24,
                                   .mapping_layers = 2,
                                   .channel_base = 256,
                                   .channel_max = 32,
                                   .biline_channels = 16};
constexpr creps::Config thick4_scaled32{.size = 32,
                                        .z_dim = 32,
                                        .w_dim = 32,
                                        .mapping_layers = 3,
                                        .channel_base = 512,
                                        .channel_max = 32,
                                        .biline_channels = 16,
                                        .thickness = 4};
constexpr creps::Config single16{.size = 16,
                                 .z_dim = 16,
                                 .w_dim = 16,
                                 .mapping_layers = 2,
                                 .channel_base = 256,
                                 .channel_max = 32,
                                 .biline_channels = 8,
                                 .thickness = 4,
                                 .fusion = creps::Fusion::final,
                                 .refinement_blocks = 1};
constexpr creps::Config dense16{.size = 16,
                                .z_dim = 16,
                                .w_dim = 16,
                                .mapping_layers = 2,
                                .channel_base = 128,
                                .channel_max = 16,
                                .biline_channels = 8,
                                .features = creps::Features::dense,
                                .fusion = creps::Fusion::final};

}  // namespace pixsyn::test
