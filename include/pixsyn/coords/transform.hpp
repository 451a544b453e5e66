#pragma once
// Affine maps of (x, y) point sets: shifts, zooms and rotations for any-scale rendering and camera
// animations. Maps are small values that compose; transform() applies one to a PointSet.
#include <cmath>
#include <cstdint>

#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::coords {

// x' = a x + b y + tx,  y' = c x + d y + ty.
template <class T = float>
struct Affine {
  T a = 1, b = 0, tx = 0;
  T c = 0, d = 1, ty = 0;
};

// outer after inner: transform(compose(f, g), p) == transform(f, transform(g, p)) up to rounding.
template <class T>
Affine<T> compose(const Affine<T>& outer, const Affine<T>& inner) {
  return {outer.a * inner.a + outer.b * inner.c,
          outer.a * inner.b + outer.b * inner.d,
          outer.a * inner.tx + outer.b * inner.ty + outer.tx,
          outer.c * inner.a + outer.d * inner.c,
          outer.c * inner.b + outer.d * inner.d,
          outer.c * inner.tx + outer.d * inner.ty + outer.ty};
}

template <class T>
Affine<T> shift(T dx, T dy) {
  return {1, 0, dx, 0, 1, dy};
}

// Multiplies distances from (cx, cy) by s (s < 0 also mirrors through the centre).
template <class T>
Affine<T> scale(T s, T cx = T(0), T cy = T(0)) {
  pixsyn::detail::check(std::isfinite(s) && s != 0, "coords::scale: factor must be finite and non-zero, got ", s);
  return {s, 0, cx - s * cx, 0, s, cy - s * cy};
}

// A camera zoom: the rendered view is magnified `factor` times around (cx, cy), i.e. the points
// are scaled by 1 / factor (factor > 1 zooms in, < 1 zooms out and shows beyond [-1, 1]).
template <class T>
Affine<T> zoom(T factor, T cx = T(0), T cy = T(0)) {
  pixsyn::detail::check(std::isfinite(factor) && factor > 0, "coords::zoom: factor must be positive, got ", factor);
  return scale(T(1) / factor, cx, cy);
}

// Rotates points by `radians` around (cx, cy), counter-clockwise in (x, y) axes; since y points
// down the image rows, that is clockwise on screen (and the rendered content turns the other way).
template <class T>
Affine<T> rotation(T radians, T cx = T(0), T cy = T(0)) {
  pixsyn::detail::check(std::isfinite(radians), "coords::rotation: angle must be finite, got ", radians);
  const T cs = static_cast<T>(std::cos(static_cast<double>(radians)));
  const T sn = static_cast<T>(std::sin(static_cast<double>(radians)));
  return {cs, -sn, cx - (cs * cx - sn * cy), sn, cs, cy - (sn * cx + cs * cy)};
}

// The mapped points; height and width carry over, so a transformed grid still reshapes to an image.
template <class T>
PointSet<T> transform(const Affine<T>& map, const PointSet<T>& points) {
  pixsyn::detail::check(points.xy.rank() == 2 && points.xy.dim(1) == 2, "coords::transform: points ", points.xy.shape(),
                        " must be (P, 2) (x, y)");
  PointSet<T> out{Tensor<T>::empty(points.xy.shape()), points.height, points.width};
  const T* src = points.xy.data();
  T* dst = out.xy.data();
  for (std::int64_t p = 0; p < points.size(); ++p) {
    const T x = src[2 * p], y = src[2 * p + 1];
    dst[2 * p] = map.a * x + map.b * y + map.tx;
    dst[2 * p + 1] = map.c * x + map.d * y + map.ty;
  }
  return out;
}

}  // namespace pixsyn::coords
