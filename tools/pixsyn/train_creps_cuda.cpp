// creps training on the GPU (built with -DPIXSYN_CUDA=ON): its own translation unit, so that the CPU and GPU
// instantiations compile in parallel.
#include "pixsyn/cuda.hpp"
#include "train_creps.hpp"

namespace pixsyn::cli::detail {

void train_creps_cuda(const TrainArgs& a, const train::Dataset& data) { train_creps_on<Cuda>(a, data); }

}  // namespace pixsyn::cli::detail
