#pragma once
// upfirdn2d's taps one output at a time without a division per tap, for the CUDA kernel
// (src/cuda/upfirdn2d.cu); tests/ops/test_upfirdn2d.cpp checks it against fir_source.
#include <algorithm>
#include <cstdint>

#include "pixsyn/backend/fir_geometry.hpp"
#include "pixsyn/core/host_device.hpp"

namespace pixsyn::backend {

// fir_source for one output at a time: the taps of output m that read input samples are k0, k0 + up,
// k0 + 2 up, ... (those where t is a multiple of up) and they read the consecutive samples i0, i0 + 1, ...
// (those outside [0, in) are the padding). I is the index type, Div a divider by up in it (n / up, n >= 0).
template <class I, class Div>
struct FirAxisTaps {
  I in = 0, taps = 0, up = 1, down = 1;
  I shift = 0, shift_up = 0;  // pad_up - pad0 >= 0 and pad_up / up, for pad_up the multiple of up above pad0
  Div by_up;

  explicit FirAxisTaps(const FirAxis& a) : in(I(a.in)), taps(I(a.taps)), up(I(a.up)), down(I(a.down)), by_up(a.up) {
    const std::int64_t pad_up = (std::max<std::int64_t>(a.pad0, 0) + a.up - 1) / a.up * a.up;
    shift = static_cast<I>(pad_up - a.pad0);
    shift_up = static_cast<I>(pad_up / a.up);
  }

  // Output m's first tap k0 that reads an input sample (>= taps: none does) and that sample i0.
  PIXSYN_HOST_DEVICE void first(I m, I& k0, I& i0) const {
    const I s = m * down + shift, q = by_up.div(s), r = s - q * up;  // s = t + pad_up >= 0 at tap 0
    k0 = r == 0 ? 0 : up - r;
    i0 = q + (r == 0 ? 0 : 1) - shift_up;
  }
};

}  // namespace pixsyn::backend
