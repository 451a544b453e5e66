#pragma once
// The CPU library in one include. (CUDA, when built, comes from pixsyn/cuda.hpp in .cu files.)
#include "pixsyn/version.hpp"

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"

#include "pixsyn/ops/activation.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/grid_sample.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/math.hpp"
#include "pixsyn/ops/matmul.hpp"
#include "pixsyn/ops/modulated_fc.hpp"
#include "pixsyn/ops/permute.hpp"
#include "pixsyn/ops/reduce.hpp"
#include "pixsyn/ops/shape.hpp"

#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/grid_sample.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/autograd/functions/modulated_fc.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/grad_mode.hpp"
#include "pixsyn/autograd/gradcheck.hpp"
#include "pixsyn/autograd/var.hpp"

#include "pixsyn/nn/biline.hpp"
#include "pixsyn/nn/module.hpp"
#include "pixsyn/nn/serialize.hpp"

#include "pixsyn/coords/cylinder.hpp"
#include "pixsyn/coords/foveated.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/coords/transform.hpp"

#include "pixsyn/models/cips.hpp"
#include "pixsyn/render/tiled.hpp"

#include "pixsyn/metrics/area_downsample.hpp"
#include "pixsyn/metrics/psnr.hpp"
#include "pixsyn/metrics/scale_consistency.hpp"
#include "pixsyn/metrics/ssim.hpp"

#include "pixsyn/train/adam.hpp"

#include "pixsyn/io/image.hpp"
#include "pixsyn/io/npy.hpp"
#include "pixsyn/io/safetensors.hpp"
