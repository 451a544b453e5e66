#pragma once
// render::split_rows: one image's rows rendered in bands over the ranks of a communicator (one GPU each)
// and gathered in order. Band k (rows k·band_rows ..) is rank k mod W's; rank 0 renders its own bands and
// receives the others' as they come, handing every band to `consume` in row order, so that what rank 0
// writes is what one process rendering the same bands writes. Pixels of CIPS and CREPS are independent,
// so a band renders the rows of the whole image exactly when it is given the whole image's coordinates
// (render/cuda_cips.hpp: CudaCips::render_grid_rows).
#include <cstdint>
#include <functional>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/dist/communicator.hpp"

namespace pixsyn::render {

// render_band(first_row, rows) -> this rank's render of those rows on the host, of shape band_shape(rows);
// consume(first_row, band) is called on rank 0 only, for every band in order.
inline void split_rows(dist::Communicator& comm, std::int64_t rows, std::int64_t band_rows,
                       const std::function<Tensor<float>(std::int64_t, std::int64_t)>& render_band,
                       const std::function<Shape(std::int64_t)>& band_shape,
                       const std::function<void(std::int64_t, const Tensor<float>&)>& consume) {
  pixsyn::detail::check(rows > 0 && band_rows > 0, "split_rows: ", rows, " rows in bands of ", band_rows,
                        " rows; both must be positive");
  const std::int64_t bands = (rows + band_rows - 1) / band_rows, world = comm.world_size();
  for (std::int64_t k = 0; k < bands; ++k) {
    const std::int64_t first = k * band_rows, count = std::min(band_rows, rows - first);
    const int owner = static_cast<int>(k % world);
    if (owner == comm.rank()) {
      const Tensor<float> band = render_band(first, count);
      pixsyn::detail::check(band.shape() == band_shape(count), "split_rows: band of rows ", first, " .. ",
                            first + count - 1, " has shape ", band.shape(), "; expected ", band_shape(count));
      if (comm.rank() == 0)
        consume(first, band);
      else
        comm.send_host(band.data(), static_cast<std::size_t>(band.numel()) * sizeof(float), 0);
    } else if (comm.rank() == 0) {
      auto band = Tensor<float>::empty(band_shape(count));
      comm.recv_host(band.data(), static_cast<std::size_t>(band.numel()) * sizeof(float), owner);
      consume(first, band);
    }
  }
}

}  // namespace pixsyn::render
