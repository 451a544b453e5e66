// cips-skips training on the CPU, and its family entry (the GPU instantiations are train_cips_cuda.cpp's).
#include "train_cips.hpp"

namespace pixsyn::cli::detail {

#ifdef PIXSYN_WITH_CUDA
void train_cips_skips_cuda(const TrainArgs& a, const train::Dataset& data);  // train_cips_cuda.cpp
#endif

TrainFamily cips_skips_train_family() {
  return {"cips-skips", cips_skips_variants, [](const TrainArgs& a, const train::Dataset& data) {
#ifdef PIXSYN_WITH_CUDA
            if (a.device == "cuda") return train_cips_skips_cuda(a, data);
#endif
            train_cips_skips_on<Cpu>(a, data);
          }};
}

}  // namespace pixsyn::cli::detail
