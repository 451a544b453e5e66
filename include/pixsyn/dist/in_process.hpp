#pragma once
// dist::InProcessGroup: N ranks as N threads of one process, sharing host memory: the transport the CPU
// tests run data-parallel training and split rendering over (CI has no GPU, so no NCCL). Sums run in rank
// order, so every rank gets the same bits, as NCCL gives them. A rank that waits longer than the timeout,
// or finds the group aborted (another rank failed), throws instead of hanging. A started all-reduce
// (start_all_reduce) meets the other ranks at once but writes its result only in wait_started(), so that a
// caller who reads the buffer before waiting, as it must not with NCCL, reads its own values and fails tests.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pixsyn/dist/communicator.hpp"

namespace pixsyn::dist {

class InProcessGroup {
 public:
  explicit InProcessGroup(int world_size, std::chrono::milliseconds timeout = std::chrono::seconds(60))
      : world_(world_size), timeout_(timeout), slots_(static_cast<std::size_t>(world_size)) {
    pixsyn::detail::check(world_size >= 1, "dist::InProcessGroup: world size ", world_size, " is not positive");
  }
  int world_size() const { return world_; }

  // Rank `rank`'s communicator; the group must outlive it.
  std::unique_ptr<Communicator> communicator(int rank);

  void abort(const std::string& reason) noexcept {
    const std::lock_guard lock(mutex_);
    if (aborted_.empty()) aborted_ = reason;
    wake_.notify_all();
  }

 private:
  friend class InProcessCommunicator;
  struct Slot {
    void* data = nullptr;
    std::int64_t count = 0;
    DataType type = DataType::f32;
  };

  [[noreturn]] void fail_aborted(int rank, const char* op) const {
    pixsyn::detail::fail("dist: rank ", rank, ": ", op, " stopped: ", aborted_);
  }

  // Every rank arrives before any leaves; a timeout aborts the group.
  void arrive_and_wait(std::unique_lock<std::mutex>& lock, int rank, const char* op) {
    if (!aborted_.empty()) fail_aborted(rank, op);
    const std::uint64_t generation = generation_;
    if (++arrived_ == world_) {
      arrived_ = 0;
      ++generation_;
      wake_.notify_all();
      return;
    }
    const bool woke = wake_.wait_for(lock, timeout_, [&] { return generation_ != generation || !aborted_.empty(); });
    if (!woke) {
      aborted_ = pixsyn::detail::concat("rank ", rank, " waited more than ", timeout_.count(), " ms in ", op,
                                        " for the other ranks (one died or stopped calling collectives)");
      wake_.notify_all();
    }
    if (generation_ == generation) fail_aborted(rank, op);
  }

  int world_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
  std::vector<Slot> slots_;
  std::string aborted_;
  std::map<std::pair<int, int>, std::deque<std::vector<unsigned char>>> mail_;  // (from, to) -> messages
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(InProcessGroup& group, int rank) : group_(group), rank_(rank) {
    pixsyn::detail::check(rank >= 0 && rank < group.world_size(), "dist::InProcessGroup: rank ", rank, " outside 0 .. ",
                          group.world_size() - 1);
  }
  int rank() const override { return rank_; }
  int world_size() const override { return group_.world_; }
  std::string_view device() const override { return Cpu::name; }

  void all_reduce(void* data, std::int64_t count, DataType type, ReduceOp op) override {
    const auto result = reduced(data, count, type, op);
    std::memcpy(data, result.data(), result.size());
  }

  void start_all_reduce(void* data, std::int64_t count, DataType type, ReduceOp op) override {
    started_.emplace_back(data, reduced(data, count, type, op));
  }

  void wait_started() override {
    for (const auto& [data, result] : started_) std::memcpy(data, result.data(), result.size());
    started_.clear();
  }

  void all_reduce_host(double* values, std::int64_t count, ReduceOp op) override {
    all_reduce(values, count, DataType::f64, op);
  }

  void broadcast(void* data, std::int64_t count, DataType type, int root) override {
    pixsyn::detail::check(root >= 0 && root < world_size(), "dist::broadcast: root ", root, " outside 0 .. ",
                          world_size() - 1);
    std::unique_lock lock(group_.mutex_);
    post_and_match(lock, data, count, type, "broadcast");
    const InProcessGroup::Slot source = group_.slots_[static_cast<std::size_t>(root)];
    lock.unlock();
    // Root's buffer is only read until every rank has passed the second barrier.
    if (rank_ != root) std::memcpy(data, source.data, static_cast<std::size_t>(count) * size_of(type));
    lock.lock();
    group_.arrive_and_wait(lock, rank_, "broadcast");
  }

  void send_host(const void* data, std::size_t bytes, int peer) override {
    check_peer(peer, "send_host");
    const auto* p = static_cast<const unsigned char*>(data);
    const std::lock_guard lock(group_.mutex_);
    if (!group_.aborted_.empty()) group_.fail_aborted(rank_, "send_host");
    group_.mail_[{rank_, peer}].emplace_back(p, p + bytes);
    group_.wake_.notify_all();
  }

  void recv_host(void* data, std::size_t bytes, int peer) override {
    check_peer(peer, "recv_host");
    std::unique_lock lock(group_.mutex_);
    auto& box = group_.mail_[{peer, rank_}];
    if (!group_.wake_.wait_for(lock, group_.timeout_, [&] { return !box.empty() || !group_.aborted_.empty(); })) {
      group_.aborted_ = pixsyn::detail::concat("rank ", rank_, " waited more than ", group_.timeout_.count(),
                                               " ms for a message from rank ", peer);
      group_.wake_.notify_all();
    }
    if (box.empty()) group_.fail_aborted(rank_, "recv_host");
    pixsyn::detail::check(box.front().size() == bytes, "dist::recv_host: rank ", rank_, " expected ", bytes,
                          " bytes from rank ", peer, ", got ", box.front().size());
    std::memcpy(data, box.front().data(), bytes);
    box.pop_front();
  }

  void barrier() override {
    std::unique_lock lock(group_.mutex_);
    group_.arrive_and_wait(lock, rank_, "barrier");
  }

  void abort(const std::string& reason) noexcept override { group_.abort(reason); }

 private:
  // Posts this rank's buffer, waits for all, and checks that every rank posted the same size and type.
  void post_and_match(std::unique_lock<std::mutex>& lock, void* data, std::int64_t count, DataType type,
                      const char* op) {
    group_.slots_[static_cast<std::size_t>(rank_)] = {data, count, type};
    group_.arrive_and_wait(lock, rank_, op);
    for (std::size_t r = 0; r < group_.slots_.size(); ++r) {
      const auto& other = group_.slots_[r];
      if (other.count == count && other.type == type) continue;
      group_.aborted_ = pixsyn::detail::concat("dist::", op, ": rank ", rank_, " has ", count, " elements of type ",
                                               static_cast<int>(type), ", rank ", r, " ", other.count, " of type ",
                                               static_cast<int>(other.type));
      group_.wake_.notify_all();
      group_.fail_aborted(rank_, op);
    }
  }

  // The reduction over the ranks of `count` elements at `data`, as bytes.
  std::vector<unsigned char> reduced(void* data, std::int64_t count, DataType type, ReduceOp op) {
    if (type == DataType::f32) return reduced<float>(data, count, type, op);
    pixsyn::detail::check(type == DataType::f64,
                          "dist::all_reduce: uint8 buffers are not reduced, only broadcast and sent");
    return reduced<double>(data, count, type, op);
  }

  template <class T>
  std::vector<unsigned char> reduced(void* data, std::int64_t count, DataType type, ReduceOp op) {
    std::unique_lock lock(group_.mutex_);
    post_and_match(lock, data, count, type, "all_reduce");
    std::vector<const T*> inputs;
    for (const auto& slot : group_.slots_) inputs.push_back(static_cast<const T*>(slot.data));
    lock.unlock();
    std::vector<unsigned char> result(static_cast<std::size_t>(count) * sizeof(T));
    const T scale = op == ReduceOp::average ? T(1) / static_cast<T>(world_size()) : T(1);
    for (std::int64_t i = 0; i < count; ++i) {
      T sum = 0;
      for (const T* in : inputs) sum += in[i];
      const T value = op == ReduceOp::average ? sum * scale : sum;
      std::memcpy(result.data() + static_cast<std::size_t>(i) * sizeof(T), &value, sizeof(T));
    }
    lock.lock();
    group_.arrive_and_wait(lock, rank_, "all_reduce");  // every rank has read every input
    return result;
  }

  InProcessGroup& group_;
  int rank_;
  std::vector<std::pair<void*, std::vector<unsigned char>>> started_;  // buffers and their pending results
};

inline std::unique_ptr<Communicator> InProcessGroup::communicator(int rank) {
  return std::make_unique<InProcessCommunicator>(*this, rank);
}

// Runs body(communicator) on `world_size` threads, one rank each. A rank that throws aborts the group (the
// others stop at their next collective instead of waiting); the first failing rank's exception is
// rethrown after all threads ended.
inline void run_ranks(int world_size, const std::function<void(Communicator&)>& body,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  InProcessGroup group(world_size, timeout);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(world_size));
  std::mutex order;
  int first = -1;
  std::vector<std::thread> threads;
  for (int r = 0; r < world_size; ++r)
    threads.emplace_back([&, r] {
      try {
        const auto comm = group.communicator(r);
        body(*comm);
      } catch (const std::exception& e) {
        {
          const std::lock_guard lock(order);
          if (first < 0) first = r;
        }
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        group.abort(pixsyn::detail::concat("rank ", r, " failed: ", e.what()));
      }
    });
  for (auto& t : threads) t.join();
  if (first >= 0) std::rethrow_exception(errors[static_cast<std::size_t>(first)]);
}

}  // namespace pixsyn::dist
