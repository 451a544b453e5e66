#pragma once
// nn::BiLine: the CREPS "thick bi-line" image representation. Per channel c, row embeddings
// R_c (H × D) and column embeddings C_c (W × D) compose the image
//   pixel(c, i, j) = Σ_d R_c[i, d] · C_c[j, d],   i.e. image_c = R_c C_cᵀ,
// a rank-D factorisation of every channel (D is the "thickness").
#include <cmath>
#include <cstdint>

#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/nn/module.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/matmul.hpp"
#include "pixsyn/ops/permute.hpp"

namespace pixsyn::nn {

template <class T, class Device = Cpu>
class BiLine : public Module<T, Device> {
 public:
  Var<T, Device> rows;  // (C, H, D)
  Var<T, Device> cols;  // (C, W, D)

  // Every embedding entry starts at sqrt(level / D) · (1 + noise · N(0, 1)), so the initial image is
  // `level` on average, and the noise breaks the symmetry between the D components.
  BiLine(std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t thickness, Philox& gen,
         T level = T(0.5), T noise = T(0.5)) {
    pixsyn::detail::check(channels > 0 && height > 0 && width > 0 && thickness > 0,
                          "BiLine: channels, height, width and thickness must be positive, got ", channels, ", ",
                          height, ", ", width, ", ", thickness);
    pixsyn::detail::check(level >= 0, "BiLine: the initial level must be non-negative, got ", level);
    const T base = std::sqrt(level / static_cast<T>(thickness));
    auto init = [&](std::int64_t length) {
      return Var<T, Device>::parameter(
          add(mul(Tensor<T, Device>::randn({channels, length, thickness}, gen), base * noise), base));
    };
    rows = init(height);
    cols = init(width);
    this->register_parameter("rows", rows);
    this->register_parameter("cols", cols);
  }

  std::int64_t channels() const { return rows.dim(0); }
  std::int64_t height() const { return rows.dim(1); }
  std::int64_t width() const { return cols.dim(1); }
  std::int64_t thickness() const { return rows.dim(2); }

  // The (C, H, W) image: a Var that records the graph, or (V = Tensor) a plain tensor.
  template <class V = Var<T, Device>>
  V forward() const {
    return matmul(as_value<V>(rows), transpose(as_value<V>(cols)));
  }
};

}  // namespace pixsyn::nn
