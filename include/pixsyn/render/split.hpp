#pragma once
// render::UnitGather: a render cut into units (row bands of an image, frames of a panorama) spread over the
// ranks of a communicator, one GPU each, and handed to rank 0 in order. Unit k is rank k mod W's. Rank 0
// renders its own units and receives the others' as it reaches them, so what it consumes (copies into an
// image, streams to a PNG) arrives unit by unit in order; every other rank holds one unit at a time. A unit
// is rendered by the same calls whichever rank renders it, so W ranks gather the bytes one process renders
// alone (on identical GPUs). Pixels of CIPS and CREPS are independent, so a band of rows renders the rows of
// the whole image exactly when it is given the whole image's coordinates (coords::grid_rect).
#include <cstdint>
#include <functional>
#include <utility>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/dist/communicator.hpp"

namespace pixsyn::render {

class UnitGather {
 public:
  // render(k): unit k on the host, of shape shape(k).
  using RenderUnit = std::function<Tensor<float>(std::int64_t)>;
  using UnitShape = std::function<Shape(std::int64_t)>;

  // comm null: this process renders every unit itself.
  UnitGather(dist::Communicator* comm, std::int64_t units, RenderUnit render, UnitShape shape)
      : comm_(comm), units_(units), render_(std::move(render)), shape_(std::move(shape)) {
    pixsyn::detail::check(units >= 1, "render::UnitGather: ", units, " units; expected at least 1");
  }

  // Whether this rank receives the units (rank 0, or a process without a communicator).
  bool gathers() const { return rank() == 0; }

  // On rank 0: the next unit, k = 0, 1, ..., units - 1, rendered here or received from its owner.
  Tensor<float> next() {
    pixsyn::detail::check(gathers(), "render::UnitGather: rank ", rank(), " serves its units; only rank 0 gathers");
    pixsyn::detail::check(next_ < units_, "render::UnitGather: all ", units_, " units were gathered");
    const std::int64_t k = next_++;
    const int owner = owner_of(k);
    if (owner == 0) return checked(k, render_(k));
    auto unit = Tensor<float>::empty(shape_(k));
    comm_->recv_host(unit.data(), bytes(unit), owner);
    return unit;
  }

  // On every other rank: renders this rank's units in order and sends each to rank 0.
  void serve() {
    pixsyn::detail::check(!gathers(), "render::UnitGather: rank 0 gathers the units (next), it does not serve them");
    for (std::int64_t k = rank(); k < units_; k += comm_->world_size()) {
      const Tensor<float> unit = checked(k, render_(k));
      comm_->send_host(unit.data(), bytes(unit), 0);
    }
  }

 private:
  int rank() const { return comm_ != nullptr ? comm_->rank() : 0; }
  int owner_of(std::int64_t k) const { return comm_ != nullptr ? static_cast<int>(k % comm_->world_size()) : 0; }
  static std::size_t bytes(const Tensor<float>& t) { return static_cast<std::size_t>(t.numel()) * sizeof(float); }
  // A unit of the wrong shape would make rank 0 receive a different number of bytes than sent.
  Tensor<float> checked(std::int64_t k, Tensor<float> unit) const {
    pixsyn::detail::check(unit.shape() == shape_(k), "render::UnitGather: unit ", k, " has shape ", unit.shape(),
                          "; expected ", shape_(k));
    return unit;
  }

  dist::Communicator* comm_;
  std::int64_t units_, next_ = 0;
  RenderUnit render_;
  UnitShape shape_;
};

// Every unit in order: consume(k, unit) on rank 0 (or without a communicator); the other ranks serve theirs.
inline void gather_in_order(dist::Communicator* comm, std::int64_t units, UnitGather::RenderUnit render,
                            UnitGather::UnitShape shape,
                            const std::function<void(std::int64_t, const Tensor<float>&)>& consume) {
  UnitGather gather(comm, units, std::move(render), std::move(shape));
  if (!gather.gathers()) return gather.serve();
  for (std::int64_t k = 0; k < units; ++k) consume(k, gather.next());
}

}  // namespace pixsyn::render
