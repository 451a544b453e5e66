#pragma once
// The pixsyn program's model registry: every (family, size) generator type is instantiated once,
// behind a small type-erased interface, so that the command line deals in names and sizes only
// (strings at the edge, templates inside).
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/models/cips/config.hpp"
#include "pixsyn/render/tiled.hpp"
#include "usage_error.hpp"

#ifdef PIXSYN_WITH_CUDA
namespace pixsyn::render {
struct CudaRenderOptions;
}
#endif

namespace pixsyn::cli {

struct ParameterInfo {
  std::string name;
  Shape shape;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const cips::Config& config() const = 0;
  virtual std::int64_t parameter_count() const = 0;
  // Every parameter in state-dict order.
  virtual std::vector<ParameterInfo> parameters() const = 0;
  // Loads a safetensors state dict with full validation (throws pixsyn::Error listing every bad key).
  virtual void load(const std::filesystem::path& path) = 0;
  // z (B, style_dim) -> w (B, style_dim)
  virtual Tensor<float> map(const Tensor<float>& z) const = 0;
  // The truncation centre: mean w over `samples` latents drawn from Philox{seed}.
  virtual Tensor<float> mean_w(std::int64_t samples, std::uint64_t seed) const = 0;
  // w (B, style_dim) at a grid -> images (B, 3, H, W), rendered in tiles.
  virtual Tensor<float> render(const Tensor<float>& w, const coords::PointSet<float>& grid,
                               const render::RenderOptions<float>& options) const = 0;
#ifdef PIXSYN_WITH_CUDA
  // Whether the fused GPU renderer (render::CudaCips) serves this model: the official CIPSskip and CIPSres.
  virtual bool has_cuda_path() const = 0;
  // As render, on the GPU with the fused renderer (the same grid, seeded noise formula and tiling of
  // (sample, pixel) pairs); only for models with has_cuda_path().
  virtual Tensor<float> render_cuda(const Tensor<float>& w, const coords::PointSet<float>& grid,
                                    const render::CudaRenderOptions& options) const = 0;
#endif
};

// The registered names ("cips-skips", ...) and sizes.
const std::vector<std::string>& model_names();
inline constexpr std::array<int, 7> model_sizes{16, 32, 64, 128, 256, 512, 1024};

// The generator `name` at `size` with the seeded random initialisation; throws UsageError (listing
// the valid choices) when either is not registered.
std::unique_ptr<Model> make_model(const std::string& name, int size, std::uint64_t seed);

namespace detail {

// One family at every registered size; null for an unregistered size. Each is defined in its own
// translation unit (family_*.cpp).
std::unique_ptr<Model> make_skips(int size, std::uint64_t seed);
std::unique_ptr<Model> make_residual(int size, std::uint64_t seed);
std::unique_ptr<Model> make_base(int size, std::uint64_t seed);
std::unique_ptr<Model> make_no_embedding(int size, std::uint64_t seed);
std::unique_ptr<Model> make_no_fourier(int size, std::uint64_t seed);
std::unique_ptr<Model> make_sine(int size, std::uint64_t seed);

}  // namespace detail
}  // namespace pixsyn::cli
