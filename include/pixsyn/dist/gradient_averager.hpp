#pragma once
// dist::GradientAverager: data-parallel training's average of a network's gradients over the ranks,
// overlapped with the backward pass, as PyTorch DDP's reducer does it. It observes the parameters' leaves
// (autograd/gradient_observer.hpp): when a backward() pass begins, the parameters it reaches are laid out in
// buckets of up to bucket_bytes, in the order the pass will finish their gradients; each gradient is copied
// into its bucket the moment it is final, and a bucket's all-reduce starts as soon as the bucket is full
// (Communicator::start_all_reduce: NCCL runs it on a communication stream while the pass goes on), bucket
// after bucket in the same order on every rank. average(), called before the optimizer reads the gradients,
// waits for them and makes each gradient a view of its averaged bucket, as average_gradients
// (dist/buckets.hpp) does after the pass: the same averaged values.
//
// Where the pass could not be followed, average() is average_gradients after the pass: when no pass was
// observed since the last average (e.g. the parameters' nodes were replaced since), or when a second pass
// began before it (accumulated gradients: the first pass's buckets are out of date), and for the gradients
// of parameters the observed pass did not reach. A parameter the pass reached without giving it a gradient
// is reduced as zeros and keeps no gradient. Which parameters have gradients must match over the ranks (the
// same graph on every rank), as for average_gradients.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pixsyn/autograd/gradient_observer.hpp"
#include "pixsyn/dist/buckets.hpp"

namespace pixsyn::dist {

template <class T, class Device>
class GradientAverager final : public autograd::GradientObserver<T, Device> {
 public:
  using Node = autograd::detail::Node<T, Device>;

  // How often average() found an observed pass and how often it averaged after the pass instead.
  struct Counts {
    std::int64_t overlapped = 0, after_backward = 0;
  };

  // `params` (an optimizer's, in its order) must outlive this.
  GradientAverager(Communicator& comm, std::vector<Var<T, Device>*> params, BucketOptions options = {})
      : comm_(comm), params_(std::move(params)), options_(options) {
    observe();
  }
  ~GradientAverager() {
    release();
    if (state_ == State::reducing) {
      try {
        comm_.wait_started();  // the buckets must outlive the reductions that write them
      } catch (...) {
      }
    }
  }
  GradientAverager(const GradientAverager&) = delete;
  GradientAverager& operator=(const GradientAverager&) = delete;

  // Every parameter's gradient averaged over the ranks (the pass's, or after the pass). Returns the number
  // of buckets reduced.
  std::size_t average() {
    if (comm_.world_size() == 1) return 0;
    std::size_t buckets = 0;
    std::vector<Var<T, Device>*> rest;  // what the observed pass did not reach
    if (state_ == State::reducing) {
      pixsyn::detail::check(next_launch_ == buckets_.size(), "dist::GradientAverager: rank ", comm_.rank(),
                            ": the backward pass ended before all its gradients were final");
      comm_.wait_started();
      std::vector<bool> reached(params_.size(), false);
      for (const auto& slot : slots_) {
        reached[slot.param] = true;
        if (!slot.has_gradient) continue;
        auto* p = params_[slot.param];
        p->set_grad(Var<T, Device>(buckets_[slot.bucket].values.narrow(slot.offset, p->numel()).reshape(p->shape())));
      }
      for (std::size_t i = 0; i < params_.size(); ++i)
        if (!reached[i]) rest.push_back(params_[i]);
      buckets = buckets_.size();
      ++counts_.overlapped;
    } else {
      rest = params_;
      ++counts_.after_backward;
    }
    buckets += average_gradients(comm_, rest, options_);
    slots_.clear();
    slot_of_.clear();
    buckets_.clear();
    state_ = State::idle;
    observe();  // the parameters' nodes may have been replaced (weights loaded into new Vars)
    return buckets;
  }

  const Counts& counts() const { return counts_; }

  void backward_begins(const std::vector<Node*>& leaves) override {
    if (state_ != State::idle) {
      if (state_ == State::reducing) comm_.wait_started();
      state_ = State::spoiled;
      slots_.clear();
      slot_of_.clear();
      buckets_.clear();
      return;
    }
    std::vector<std::int64_t> sizes;
    for (const auto* leaf : leaves) sizes.push_back(leaf->value.numel());
    const auto layout = bucket_layout(sizes, sizeof(T), options_);
    for (const std::int64_t elements : layout.elements) buckets_.push_back({Tensor<T, Device>::zeros({elements}), 0});
    for (std::size_t k = 0; k < leaves.size(); ++k) {
      const auto index = index_.find(leaves[k]);
      pixsyn::detail::check(index != index_.end(), "dist::GradientAverager: told of a leaf it does not observe");
      slots_.push_back({index->second, layout.bucket[k], layout.offset[k], false});
      slot_of_.emplace(leaves[k], k);
      ++buckets_[layout.bucket[k]].waiting;
    }
    next_launch_ = 0;
    state_ = State::reducing;
  }

  void gradient_ready(Node* leaf) override {
    if (state_ != State::reducing) return;
    Slot& slot = slots_[slot_of_.at(leaf)];
    Bucket& bucket = buckets_[slot.bucket];
    if (leaf->grad) {
      const auto& g = leaf->grad->value;
      pixsyn::detail::check(g.shape() == leaf->value.shape(), "dist::GradientAverager: a gradient of shape ", g.shape(),
                            " for a parameter of shape ", leaf->value.shape());
      detail::copy_elements<T, Device>(bucket.values.data() + slot.offset, g.data(), g.numel());
      slot.has_gradient = true;
    }
    --bucket.waiting;
    // Buckets start in order, so every rank issues the same collectives in the same order.
    for (; next_launch_ < buckets_.size() && buckets_[next_launch_].waiting == 0; ++next_launch_)
      comm_.start_all_reduce(buckets_[next_launch_].values, ReduceOp::average);
  }

 private:
  enum class State { idle, reducing, spoiled };
  struct Bucket {
    Tensor<T, Device> values;
    std::int64_t waiting = 0;  // its gradients not final yet
  };
  struct Slot {
    std::size_t param, bucket;
    std::int64_t offset;
    bool has_gradient;
  };

  // Observes the parameters' current nodes (in a world of one there is nothing to overlap).
  void observe() {
    release();
    if (comm_.world_size() == 1) return;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto& node = params_[i]->node();
      node->observer = this;
      index_.emplace(node.get(), i);
      observed_.push_back(node);
    }
  }
  void release() noexcept {
    for (const auto& weak : observed_)
      if (const auto node = weak.lock(); node && node->observer == this) node->observer = nullptr;
    observed_.clear();
    index_.clear();
  }

  Communicator& comm_;
  std::vector<Var<T, Device>*> params_;
  BucketOptions options_;
  std::vector<std::weak_ptr<Node>> observed_;
  std::unordered_map<const Node*, std::size_t> index_;  // observed node -> parameter
  State state_ = State::idle;
  std::vector<Bucket> buckets_;
  std::vector<Slot> slots_;                               // the pass's leaves, in the order it finishes them
  std::unordered_map<const Node*, std::size_t> slot_of_;  // leaf -> its slot
  std::size_t next_launch_ = 0;
  Counts counts_;
};

}  // namespace pixsyn::dist
