#include "view.hpp"

#include <numbers>

namespace pixsyn::cli {

coords::Affine<float> view_map(const View& view, double centre, double extent) {
  const auto c = static_cast<float>(centre);
  // Points turned clockwise on screen (counter-clockwise in (x, y) with y down the rows) show the
  // content turned counter-clockwise.
  const auto radians = static_cast<float>(view.rotate_degrees * std::numbers::pi / 180.0);
  coords::Affine<float> map = coords::zoom(static_cast<float>(view.zoom), c, c);
  map = coords::compose(coords::rotation(radians, c, c), map);
  return coords::compose(
      coords::shift(static_cast<float>(view.shift_x * extent), static_cast<float>(view.shift_y * extent)), map);
}

}  // namespace pixsyn::cli
