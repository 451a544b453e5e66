// alis training on the CPU, and its family entry (the GPU instantiations are train_alis_cuda.cpp's).
#include "train_alis.hpp"

namespace pixsyn::cli::detail {

#ifdef PIXSYN_WITH_CUDA
void train_alis_cuda(const TrainArgs& a, const train::Dataset& data);  // train_alis_cuda.cpp
#endif

TrainFamily alis_train_family() {
  return {"alis", alis_variants, [](const TrainArgs& a, const train::Dataset& data) {
#ifdef PIXSYN_WITH_CUDA
            if (a.device == "cuda") return train_alis_cuda(a, data);
#endif
            train_alis_on<Cpu>(a, data);
          }};
}

}  // namespace pixsyn::cli::detail
