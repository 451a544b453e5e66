// Bilinear grid_sample on the GPU, a port of backend/eigen/grid_sample.hpp (PyTorch semantics), and its adjoint in
// the input as a gather over the points sorted by cell (no atomics: the same sums on every run).
#include <cub/device/device_radix_sort.cuh>

#include "common.cuh"
#include "pixsyn/backend/cuda/grid_sample.hpp"
#include "pixsyn/backend/grid_sample_math.hpp"

namespace pixsyn::backend::cuda {

namespace {

// One thread per output point; consecutive threads write consecutive points of each channel plane.
template <class T>
__global__ void grid_sample_kernel(std::int64_t N, std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t P,
                                   const T* input, const T* grid, T* out, bool align_corners, bool border) {
  for (std::int64_t t = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; t < N * P;
       t += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t n = t / P, p = t % P;
    const auto taps = bilinear_taps(grid[t * 2], grid[t * 2 + 1], H, W, align_corners, border);
    const T* src = input + n * C * H * W;
    T* dst = out + n * C * P + p;
    for (std::int64_t c = 0; c < C; ++c) {
      const T* s = src + c * H * W;
      T v = 0;
      for (int k = 0; k < taps.count; ++k) v += s[taps.offset[k]] * taps.weight[k];
      dst[c * P] = v;
    }
  }
}

template <class T>
void grid_sample_impl(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho, std::int64_t wo,
                      const T* input, const T* grid, T* out, bool align_corners, bool border) {
  const std::int64_t points = ho * wo;
  if (n * points == 0) return;
  grid_sample_kernel<<<grid_for(n * points), block_size, 0, stream()>>>(n, c, h, w, points, input, grid, out,
                                                                        align_corners, border);
  check_launch("grid_sample");
}

// The cells (x0, y0) in [-1, W - 1] x [-1, H - 1] of every plane, numbered row-major per plane, plane after
// plane; `cells` (one past the last) marks points that touch no pixel.
struct CellGrid {
  std::int64_t h, w;
  PIXSYN_HOST_DEVICE std::int64_t count(std::int64_t planes) const { return planes * (h + 1) * (w + 1); }
  PIXSYN_HOST_DEVICE std::int64_t key(std::int64_t n, std::int64_t y0, std::int64_t x0) const {
    return (n * (h + 1) + y0 + 1) * (w + 1) + x0 + 1;
  }
};

template <class T>
__global__ void cell_key_kernel(std::int64_t N, std::int64_t P, CellGrid cells, const T* grid, bool align_corners,
                                bool border, std::uint64_t* keys, std::int64_t* points) {
  PIXSYN_GRID_STRIDE(t, N * P) {
    const auto cell = bilinear_cell(grid[t * 2], grid[t * 2 + 1], cells.h, cells.w, align_corners, border);
    keys[t] = static_cast<std::uint64_t>(cell.near ? cells.key(t / P, cell.y0, cell.x0) : cells.count(N));
    points[t] = t;
  }
}

// starts[c] = the first sorted position whose key is >= c, for c in 0 .. count: cell c's points are
// starts[c] .. starts[c + 1] - 1.
__global__ void cell_start_kernel(std::int64_t count, const std::uint64_t* keys, std::int64_t n, std::int64_t* starts) {
  PIXSYN_GRID_STRIDE(c, count + 1) {
    std::int64_t lo = 0, hi = n;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (keys[mid] < static_cast<std::uint64_t>(c))
        lo = mid + 1;
      else
        hi = mid;
    }
    starts[c] = lo;
  }
}

// One thread per input element (n, c, y, x): the points whose cell has (y, x) as a corner lie in the cells
// (x - 1 .. x, y - 1 .. y); each adds its gradient times that corner's weight.
template <class T>
__global__ void grid_sample_adjoint_kernel(std::int64_t N, std::int64_t C, std::int64_t P, CellGrid cells, const T* g,
                                           const T* grid, const std::int64_t* sorted_points, const std::int64_t* starts,
                                           bool align_corners, bool border, T* out) {
  const std::int64_t H = cells.h, W = cells.w;
  PIXSYN_GRID_STRIDE(i, N * C * H * W) {
    const std::int64_t x = i % W, y = i / W % H, c = i / (W * H) % C, n = i / (W * H * C);
    const T* gc = g + (n * C + c) * P;
    T sum = 0;
    for (int dy = 1; dy >= 0; --dy)
      for (int dx = 1; dx >= 0; --dx) {
        const std::int64_t key = cells.key(n, y - dy, x - dx);
        for (std::int64_t k = starts[key]; k < starts[key + 1]; ++k) {
          const std::int64_t t = sorted_points[k];
          const auto cell = bilinear_cell(grid[t * 2], grid[t * 2 + 1], H, W, align_corners, border);
          sum += gc[t % P] * cell.weight(dx, dy);
        }
      }
    out[i] = sum;
  }
}

template <class T>
void grid_sample_adjoint_impl(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                              std::int64_t wo, const T* g, const T* grid, T* out, bool align_corners, bool border) {
  const std::int64_t points = n * ho * wo, elements = n * c * h * w;
  if (elements == 0) return;
  const CellGrid cells{h, w};
  const std::int64_t count = cells.count(n);
  // Scratch: keys and point numbers, sorted copies, cell starts, then CUB's own storage.
  const std::size_t key_bytes = sizeof(std::uint64_t) * static_cast<std::size_t>(points > 0 ? points : 1);
  const std::size_t point_bytes = sizeof(std::int64_t) * static_cast<std::size_t>(points > 0 ? points : 1);
  auto* keys = static_cast<std::uint64_t*>(allocate(key_bytes));
  auto* sorted_keys = static_cast<std::uint64_t*>(allocate(key_bytes));
  auto* point_ids = static_cast<std::int64_t*>(allocate(point_bytes));
  auto* sorted_points = static_cast<std::int64_t*>(allocate(point_bytes));
  auto* starts = static_cast<std::int64_t*>(allocate(sizeof(std::int64_t) * static_cast<std::size_t>(count + 1)));
  if (points > 0) {
    cell_key_kernel<<<grid_for(points), block_size, 0, stream()>>>(n, ho * wo, cells, grid, align_corners, border, keys,
                                                                   point_ids);
    check_launch("grid_sample_adjoint (cells)");
    int end_bit = 1;  // sort only the bits a key can use
    while (end_bit < 64 && (static_cast<std::uint64_t>(count) >> end_bit) != 0) ++end_bit;
    std::size_t scratch_bytes = 0;
    check_cuda(cub::DeviceRadixSort::SortPairs(nullptr, scratch_bytes, keys, sorted_keys, point_ids, sorted_points,
                                               points, 0, end_bit, stream()),
               "grid_sample_adjoint", "cub::DeviceRadixSort::SortPairs");
    void* scratch = allocate(scratch_bytes > 0 ? scratch_bytes : 1);
    check_cuda(cub::DeviceRadixSort::SortPairs(scratch, scratch_bytes, keys, sorted_keys, point_ids, sorted_points,
                                               points, 0, end_bit, stream()),
               "grid_sample_adjoint", "cub::DeviceRadixSort::SortPairs");
    deallocate(scratch);
  }
  cell_start_kernel<<<grid_for(count + 1), block_size, 0, stream()>>>(count, sorted_keys, points, starts);
  check_launch("grid_sample_adjoint (cell starts)");
  grid_sample_adjoint_kernel<<<grid_for(elements), block_size, 0, stream()>>>(
      n, c, ho * wo, cells, g, grid, sorted_points, starts, align_corners, border, out);
  check_launch("grid_sample_adjoint");
  for (void* p : {static_cast<void*>(keys), static_cast<void*>(sorted_keys), static_cast<void*>(point_ids),
                  static_cast<void*>(sorted_points), static_cast<void*>(starts)})
    deallocate(p);
}

}  // namespace

void grid_sample_bilinear(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                          std::int64_t wo, const float* input, const float* grid, float* out, bool align_corners,
                          bool border) {
  grid_sample_impl(n, c, h, w, ho, wo, input, grid, out, align_corners, border);
}
void grid_sample_bilinear(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                          std::int64_t wo, const double* input, const double* grid, double* out, bool align_corners,
                          bool border) {
  grid_sample_impl(n, c, h, w, ho, wo, input, grid, out, align_corners, border);
}

void grid_sample_bilinear_adjoint(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                                  std::int64_t wo, const float* g, const float* grid, float* out, bool align_corners,
                                  bool border) {
  grid_sample_adjoint_impl(n, c, h, w, ho, wo, g, grid, out, align_corners, border);
}
void grid_sample_bilinear_adjoint(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                                  std::int64_t wo, const double* g, const double* grid, double* out, bool align_corners,
                                  bool border) {
  grid_sample_adjoint_impl(n, c, h, w, ho, wo, g, grid, out, align_corners, border);
}

}  // namespace pixsyn::backend::cuda
