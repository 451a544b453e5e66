#pragma once
// dist::Communicator: a group of ranks (processes, or threads in tests) that reduce, broadcast and pass
// buffers among themselves, the way data-parallel training and split rendering need it. Every rank calls
// the collectives in the same order with the same sizes; a collective returns the same bits on every rank.
// The transports: dist/nccl.hpp (one process per GPU, buffers in GPU memory) and dist/in_process.hpp
// (threads of one process sharing host memory: the CPU tests of everything built on this interface).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::dist {

enum class DataType { f32, f64, u8 };
enum class ReduceOp { sum, average };

template <class T>
constexpr DataType data_type_of() {
  if constexpr (std::is_same_v<T, float>)
    return DataType::f32;
  else if constexpr (std::is_same_v<T, double>)
    return DataType::f64;
  else {
    static_assert(std::is_same_v<T, std::uint8_t>, "dist: collectives take float, double or uint8 buffers");
    return DataType::u8;
  }
}

inline std::size_t size_of(DataType type) { return type == DataType::f32 ? 4 : type == DataType::f64 ? 8 : 1; }

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Where the buffers of all_reduce and broadcast live: Cpu::name or Cuda::name.
  virtual std::string_view device() const = 0;

  // In place over `count` elements: every rank's buffer becomes the sum (the mean) over the ranks.
  virtual void all_reduce(void* data, std::int64_t count, DataType type, ReduceOp op) = 0;
  // all_reduce started, to run while this rank goes on computing (data-parallel training reduces a bucket of
  // gradients while the backward pass computes the next: dist/gradient_averager.hpp). The buffer must stay
  // alive, unread and unwritten until wait_started(), after which this rank's later work sees the results of
  // every reduction started. Started reductions complete in the order started, before any later collective
  // of another kind. By default (a transport without concurrency) it is all_reduce itself.
  virtual void start_all_reduce(void* data, std::int64_t count, DataType type, ReduceOp op) {
    all_reduce(data, count, type, op);
  }
  virtual void wait_started() {}
  // In place: every rank's buffer becomes root's.
  virtual void broadcast(void* data, std::int64_t count, DataType type, int root) = 0;
  // In place over host values (losses for the log, the path-length mean): the sum or the mean over the ranks.
  virtual void all_reduce_host(double* values, std::int64_t count, ReduceOp op) = 0;
  // Point to point, in host memory (the receiver knows the size): split rendering's gather.
  virtual void send_host(const void* data, std::size_t bytes, int peer) = 0;
  virtual void recv_host(void* data, std::size_t bytes, int peer) = 0;
  virtual void barrier() = 0;
  // Makes this rank's pending and later collectives fail with `reason` (and the other ranks', where the
  // transport reaches them) instead of waiting for a rank that will not come: failure handling.
  virtual void abort(const std::string& reason) noexcept = 0;

  template <class T, class D>
  void all_reduce(Tensor<T, D>& tensor, ReduceOp op) {
    check_device<D>("all_reduce");
    all_reduce(tensor.data(), tensor.numel(), data_type_of<T>(), op);
  }
  template <class T, class D>
  void start_all_reduce(Tensor<T, D>& tensor, ReduceOp op) {
    check_device<D>("start_all_reduce");
    start_all_reduce(tensor.data(), tensor.numel(), data_type_of<T>(), op);
  }
  template <class T, class D>
  void broadcast(Tensor<T, D>& tensor, int root) {
    check_device<D>("broadcast");
    broadcast(tensor.data(), tensor.numel(), data_type_of<T>(), root);
  }
  double all_reduce_host(double value, ReduceOp op) {
    all_reduce_host(&value, 1, op);
    return value;
  }

 protected:
  template <class D>
  void check_device(const char* op) const {
    pixsyn::detail::check(device() == D::name, "dist::", op, ": a tensor on ", D::name, " for a communicator of ",
                          device(), " buffers");
  }
  void check_peer(int peer, const char* op) const {
    pixsyn::detail::check(peer >= 0 && peer < world_size() && peer != rank(), "dist::", op, ": rank ", rank(),
                          " cannot address peer ", peer, " in a world of ", world_size());
  }
};

}  // namespace pixsyn::dist
