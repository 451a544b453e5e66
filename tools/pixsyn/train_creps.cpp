// creps training on the CPU, and its family entry (the GPU instantiations are train_creps_cuda.cpp's).
#include "train_creps.hpp"

namespace pixsyn::cli::detail {

#ifdef PIXSYN_WITH_CUDA
void train_creps_cuda(const TrainArgs& a, const train::Dataset& data);  // train_creps_cuda.cpp
#endif

TrainFamily creps_train_family() {
  return {"creps", creps_variants, [](const TrainArgs& a, const train::Dataset& data) {
#ifdef PIXSYN_WITH_CUDA
            if (a.device == "cuda") return train_creps_cuda(a, data);
#endif
            train_creps_on<Cpu>(a, data);
          }};
}

}  // namespace pixsyn::cli::detail
