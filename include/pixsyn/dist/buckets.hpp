#pragma once
// Bucketed all-reduce: many small tensors (a network's gradients, its buffers) are packed into a few flat
// buffers of up to bucket_bytes each, so that the transport sees a few large messages instead of hundreds
// of small ones (PyTorch DDP's buckets, 25 MiB by default). Gradients are averaged in place of the
// parameters' own: each parameter's gradient becomes a view of its bucket, sparing the copy back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "pixsyn/autograd/var.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/dist/communicator.hpp"

namespace pixsyn::dist {

struct BucketOptions {
  std::size_t bucket_bytes = std::size_t(25) << 20;
  // The first bucket's limit (when below bucket_bytes), 1 MiB as DDP's: the first gradients the backward
  // pass finishes start their all-reduce early even in a network whose gradients fit one bucket.
  std::size_t first_bucket_bytes = std::size_t(1) << 20;
};

namespace detail {

template <class T, class D>
void copy_elements(T* dst, const T* src, std::int64_t n) {
  if constexpr (std::is_same_v<D, Cpu>)
    std::copy(src, src + n, dst);
  else
    pixsyn::detail::DeviceCopy<D>::copy(dst, src, n * static_cast<std::int64_t>(sizeof(T)));
}

// Splits `sizes` (elements) into consecutive runs of at most bucket_bytes, the first of at most
// first_bucket_bytes (a tensor larger than that is a bucket of its own): {first, end} index pairs.
inline std::vector<std::pair<std::size_t, std::size_t>> bucket_ranges(const std::vector<std::int64_t>& sizes,
                                                                      std::size_t element_bytes,
                                                                      const BucketOptions& options) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t first = 0, bytes = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::size_t b = static_cast<std::size_t>(sizes[i]) * element_bytes;
    const std::size_t limit =
        out.empty() ? std::min(options.first_bucket_bytes, options.bucket_bytes) : options.bucket_bytes;
    if (i > first && bytes + b > limit) {
      out.emplace_back(first, i);
      first = i;
      bytes = 0;
    }
    bytes += b;
  }
  if (first < sizes.size()) out.emplace_back(first, sizes.size());
  return out;
}

}  // namespace detail

// Where tensors of sizes[i] elements, packed in the order given, go: consecutive runs of at most
// bucket_bytes each (detail::bucket_ranges).
struct BucketLayout {
  std::vector<std::size_t> bucket;     // per tensor: its bucket
  std::vector<std::int64_t> offset;    // per tensor: its first element in that bucket
  std::vector<std::int64_t> elements;  // per bucket: its size
};

inline BucketLayout bucket_layout(const std::vector<std::int64_t>& sizes, std::size_t element_bytes,
                                  const BucketOptions& options) {
  BucketLayout out;
  for (const auto& [first, end] : detail::bucket_ranges(sizes, element_bytes, options)) {
    std::int64_t total = 0;
    for (std::size_t i = first; i < end; total += sizes[i], ++i) {
      out.bucket.push_back(out.elements.size());
      out.offset.push_back(total);
    }
    out.elements.push_back(total);
  }
  return out;
}

namespace detail {

// Packs the tensors source(i) (sizes[i] elements each) bucket by bucket, reduces each bucket and hands it
// to unpack(i, bucket, offset) for every tensor in it. Returns the number of buckets.
template <class T, class D, class Source, class Unpack>
std::size_t reduce_packed(Communicator& comm, const std::vector<std::int64_t>& sizes, ReduceOp op,
                          const BucketOptions& options, Source source, Unpack unpack) {
  const auto layout = bucket_layout(sizes, sizeof(T), options);
  for (std::size_t b = 0, first = 0; b < layout.elements.size(); ++b) {
    auto bucket = Tensor<T, D>::empty({layout.elements[b]});
    std::size_t end = first;
    for (; end < sizes.size() && layout.bucket[end] == b; ++end)
      copy_elements<T, D>(bucket.data() + layout.offset[end], source(end), sizes[end]);
    comm.all_reduce(bucket, op);
    for (; first < end; ++first) unpack(first, bucket, layout.offset[first]);
  }
  return layout.elements.size();
}

}  // namespace detail

// Every tensor becomes op over the ranks, in place (their shapes, order and types must match across
// ranks). Returns the number of buckets sent.
template <class T, class D>
std::size_t all_reduce_buckets(Communicator& comm, const std::vector<Tensor<T, D>*>& tensors, ReduceOp op,
                               const BucketOptions& options = {}) {
  if (comm.world_size() == 1 || tensors.empty()) return 0;
  std::vector<std::int64_t> sizes;
  for (const auto* t : tensors) sizes.push_back(t->numel());
  return detail::reduce_packed<T, D>(
      comm, sizes, op, options, [&](std::size_t i) { return tensors[i]->data(); },
      [&](std::size_t i, const Tensor<T, D>& bucket, std::int64_t offset) {
        detail::copy_elements<T, D>(tensors[i]->data(), bucket.data() + offset, sizes[i]);
      });
}

// The gradients of `params` averaged over the ranks: each defined gradient is replaced by a view of its
// averaged bucket (a gradient may share storage with another tensor of the graph, so none is written in
// place). Parameters without a gradient are skipped; which ones have one must match across ranks (the same
// graph on every rank). Returns the number of buckets sent.
template <class T, class D>
std::size_t average_gradients(Communicator& comm, const std::vector<Var<T, D>*>& params,
                              const BucketOptions& options = {}) {
  if (comm.world_size() == 1) return 0;
  std::vector<Var<T, D>*> with_grad;
  std::vector<std::int64_t> sizes;
  for (auto* p : params)
    if (p->grad().defined()) {
      with_grad.push_back(p);
      sizes.push_back(p->numel());
    }
  return detail::reduce_packed<T, D>(
      comm, sizes, ReduceOp::average, options, [&](std::size_t i) { return with_grad[i]->grad().value().data(); },
      [&](std::size_t i, const Tensor<T, D>& bucket, std::int64_t offset) {
        with_grad[i]->set_grad(Var<T, D>(bucket.narrow(offset, sizes[i]).reshape(with_grad[i]->shape())));
      });
}

}  // namespace pixsyn::dist
