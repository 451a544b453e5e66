#pragma once
// The CUDA backend on top of the CPU library: Tensor<T, Cuda> and Var<T, Cuda> with every op, host<->device
// transfers (to_device, to_host). Link pixsyn::cuda (configure with -DPIXSYN_CUDA=ON).
#include "pixsyn/backend/cuda/conv.hpp"
#include "pixsyn/backend/cuda/elementwise.hpp"
#include "pixsyn/backend/cuda/gemm.hpp"
#include "pixsyn/backend/cuda/grid_sample.hpp"
#include "pixsyn/backend/cuda/layout.hpp"
#include "pixsyn/backend/cuda/reduce.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/backend/cuda/upfirdn2d.hpp"
#include "pixsyn/pixsyn.hpp"
