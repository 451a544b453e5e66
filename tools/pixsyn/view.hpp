#pragma once
// View: what `pixsyn render` shows, in units every family shares. The image is a grid of height x
// width sample points spanning the model's training image (CIPS: [-1, 1] on both axes, CREPS: [0, 1]),
// and a camera moves over it: shifts in units of the training image's extent, a zoom about the view's
// centre, a rotation. docs/cli.md states the conventions.
#include <cstdint>

#include "pixsyn/coords/transform.hpp"

namespace pixsyn::cli {

struct View {
  std::int64_t height = 0, width = 0;  // sample points down the rows and across the columns
  // The camera moves right by shift_x and down by shift_y training-image widths/heights (the content
  // moves the other way).
  double shift_x = 0, shift_y = 0;
  double zoom = 1;            // > 0: the content is magnified zoom times about the view's centre
  double rotate_degrees = 0;  // the content turns counter-clockwise on screen

  bool moved() const { return shift_x != 0 || shift_y != 0 || zoom != 1 || rotate_degrees != 0; }
};

// The camera as a map of sample points in a family's coordinates, where the training image spans
// [centre - extent / 2, centre + extent / 2] on both axes: zoom about the centre, then rotate about it,
// then shift (coords::zoom, coords::rotation, coords::shift, composed in float).
coords::Affine<float> view_map(const View& view, double centre, double extent);

}  // namespace pixsyn::cli
