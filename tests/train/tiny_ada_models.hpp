#pragma once
// The tiny ALIS and CREPS of the StyleGAN2-ADA loop's tests, as in tools/reference/make_sg2ada_train_fixtures.py,
// and their discriminator's configuration.
#include <pixsyn/models/alis/config.hpp>
#include <pixsyn/models/creps/config.hpp>
#include <pixsyn/nn/stylegan2_discriminator.hpp>

namespace pixsyn::test {

constexpr alis::Config tiny_alis{
    .size = 8, .z_dim = 8, .w_dim = 8, .mapping_layers = 2, .channel_base = 32, .channel_max = 8};
constexpr creps::Config tiny_creps{.size = 8,
                                   .z_dim = 8,
                                   .w_dim = 8,
                                   .mapping_layers = 2,
                                   .channel_base = 64,
                                   .channel_max = 16,
                                   .biline_channels = 4,
                                   .thickness = 2};
inline const nn::StyleGan2DiscriminatorConfig tiny_ada_d{
    .size = 8, .channel_base = 32, .channel_max = 8, .conv_clamp = 256};

}  // namespace pixsyn::test
