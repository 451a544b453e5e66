// The per-pixel CREPS kernel on mma.sync (creps_pixels_kernel.cuh), and the dispatch: the wgmma version
// (sm90/creps_pixels.cu) for 16-bit renders where the GPU and the build have it.
#include "creps_pixels_kernel.cuh"
#include "pixsyn/backend/cuda/fast_render.hpp"
#if PIXSYN_CUDA_SM90
#include "sm90/creps_pixels.cuh"
#endif

namespace pixsyn::backend::cuda::creps {

bool pixels_supported(std::int64_t channels) { return channels == 16 || channels == 32; }

void render_pixels(const PixelArgs& a, std::int64_t channels, bool half, cudaStream_t stream) {
  pixsyn::detail::check(pixels_supported(channels), op_name, ": ", channels,
                        " bi-line channels are not supported (16 or 32 are)");
  pixsyn::detail::check(a.samples > 0 && a.width > 0 && (a.diagonal || a.height > 0), op_name, ": nothing to render");
  int major = 0;
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, Context::instance().device()), op_name,
             "cudaDeviceGetAttribute");
  pixsyn::detail::check(major >= 8, op_name, ": needs a GPU of compute capability 8.0 or newer (tensor-core mma)");
#if PIXSYN_CUDA_SM90
  if (half && fused_layers_supported()) return sm90::render_pixels(a, channels, stream);
#endif
  if (channels == 32)
    half ? launch<Half16, 32>(a, stream) : launch<Tf32x3, 32>(a, stream);
  else
    half ? launch<Half16, 16>(a, stream) : launch<Tf32x3, 16>(a, stream);
}

}  // namespace pixsyn::backend::cuda::creps
