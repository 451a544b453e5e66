#include <doctest/doctest.h>

#include <pixsyn/dist/gradient_averager.hpp>
#include <pixsyn/dist/in_process.hpp>
#include <pixsyn/pixsyn.hpp>

#include <string>
#include <vector>

#include "support/autograd_probes.hpp"

// dist::GradientAverager: gradients averaged over in-process ranks while backward() runs give the bits
// average_gradients gives after it.

using namespace pixsyn;

namespace {

using V = Var<double>;

// Rank r's communicator, logging "start <elements>" for every started all-reduce and "wait" for
// wait_started into `events`, next to what the backward pass logs.
class LoggingCommunicator final : public dist::Communicator {
 public:
  LoggingCommunicator(dist::Communicator& inner, std::vector<std::string>& events) : inner_(inner), events_(events) {}
  int rank() const override { return inner_.rank(); }
  int world_size() const override { return inner_.world_size(); }
  std::string_view device() const override { return inner_.device(); }
  void all_reduce(void* data, std::int64_t count, dist::DataType type, dist::ReduceOp op) override {
    events_.push_back("all_reduce " + std::to_string(count));
    inner_.all_reduce(data, count, type, op);
  }
  void start_all_reduce(void* data, std::int64_t count, dist::DataType type, dist::ReduceOp op) override {
    events_.push_back("start " + std::to_string(count));
    inner_.start_all_reduce(data, count, type, op);
  }
  void wait_started() override {
    events_.push_back("wait");
    inner_.wait_started();
  }
  void broadcast(void* data, std::int64_t count, dist::DataType type, int root) override {
    inner_.broadcast(data, count, type, root);
  }
  void all_reduce_host(double* values, std::int64_t count, dist::ReduceOp op) override {
    inner_.all_reduce_host(values, count, op);
  }
  void send_host(const void* data, std::size_t bytes, int peer) override { inner_.send_host(data, bytes, peer); }
  void recv_host(void* data, std::size_t bytes, int peer) override { inner_.recv_host(data, bytes, peer); }
  void barrier() override { inner_.barrier(); }
  void abort(const std::string& reason) noexcept override { inner_.abort(reason); }

 private:
  dist::Communicator& inner_;
  std::vector<std::string>& events_;
};

// Six parameters of 1 .. 6 elements (values depending on the rank) and a loss of rank r's data through four
// layers, each logging "layer k" when its backward rule runs: w1 .. w4 are the layers' weights, `blocked` is
// reached without a gradient, `unused` is not reached.
struct Net {
  std::vector<V> params;  // w1, w2, w3, w4, blocked, unused
  explicit Net(int rank) {
    for (int k = 0; k < 6; ++k)
      params.push_back(V::parameter(Tensor<double>::randn({k + 1}, Philox{std::uint64_t(10 * rank + k)})));
  }
  std::vector<V*> pointers() {
    std::vector<V*> out;
    for (auto& p : params) out.push_back(&p);
    return out;
  }
  V loss(int rank, std::vector<std::string>& events) const {
    V h = V::constant(Tensor<double>::randn({6}, Philox{std::uint64_t(100 + rank)}));
    for (int k = 0; k < 4; ++k)
      h = test::probe(mul(h, sum(params[k])), [k, &events] { events.push_back("layer " + std::to_string(k + 1)); });
    const V out = test::mul_without_second_gradient(h, sum(params[4]));
    return sum(mul(out, out));
  }
};

std::vector<double> gradient_bits(const std::vector<V>& params) {
  std::vector<double> out;
  for (const auto& p : params) {
    if (!p.grad().defined()) {
      out.push_back(-1e300);  // marks "no gradient"
      continue;
    }
    const auto g = p.grad().value().to_vector();
    out.insert(out.end(), g.begin(), g.end());
  }
  return out;
}

}  // namespace

TEST_CASE("bucket_layout packs tensors in the order given, a tensor above the bucket size in one of its own") {
  const auto layout = dist::bucket_layout({3, 3, 10, 1, 2}, 8, {.bucket_bytes = 48});
  CHECK(layout.bucket == std::vector<std::size_t>{0, 0, 1, 2, 2});
  CHECK(layout.offset == std::vector<std::int64_t>{0, 3, 0, 0, 1});
  CHECK(layout.elements == std::vector<std::int64_t>{6, 10, 3});
  CHECK(dist::bucket_layout({}, 8, {}).elements.empty());
  CHECK(dist::bucket_layout({5, 7}, 4, {}).elements == std::vector<std::int64_t>{12});
  // By default the first bucket holds up to 1 MiB, the others 25 MiB.
  CHECK(dist::bucket_layout({100000, 100000, 100000, 6000000}, 4, {}).elements ==
        std::vector<std::int64_t>{200000, 6100000});
  CHECK(dist::bucket_layout({100000, 100000, 100000, 6600000}, 4, {}).elements ==
        std::vector<std::int64_t>{200000, 100000, 6600000});
}

TEST_CASE("three ranks average gradients during the backward pass: buckets start as they fill, same bits") {
  constexpr int world = 3;
  std::vector<std::vector<double>> overlapped(world), after(world);
  std::vector<std::vector<std::string>> events(world);
  dist::run_ranks(world, [&](dist::Communicator& inner) {
    const int r = inner.rank();
    LoggingCommunicator comm(inner, events[r]);
    // The reference: average_gradients after the pass.
    Net reference(r);
    std::vector<std::string> unused_events;
    autograd::backward(reference.loss(r, unused_events));
    dist::average_gradients(comm, reference.pointers(), {.bucket_bytes = 3 * sizeof(double)});
    after[r] = gradient_bits(reference.params);
    events[r].clear();

    // Buckets of 3 doubles in the order the pass finishes the gradients: `blocked` (5 elements) first, as the
    // loss's last op gives it none, then the layers' weights from the last: {blocked}, {w4}, {w3}, {w2, w1}.
    Net net(r);
    dist::GradientAverager<double, Cpu> averager(comm, net.pointers(), {.bucket_bytes = 3 * sizeof(double)});
    autograd::backward(net.loss(r, events[r]));
    events[r].push_back("backward done");
    CHECK(averager.average() == 4);
    overlapped[r] = gradient_bits(net.params);
    CHECK(averager.counts().overlapped == 1);
    CHECK(averager.counts().after_backward == 0);
    CHECK_FALSE(net.params[4].grad().defined());
    CHECK_FALSE(net.params[5].grad().defined());
  });
  for (int r = 0; r < world; ++r) {
    CAPTURE(r);
    CHECK(overlapped[r] == after[0]);
    CHECK(after[r] == after[0]);
  }
  // Each bucket starts as soon as its last gradient is final, before the rest of the pass.
  CHECK(events[0] == std::vector<std::string>{"start 5", "layer 4", "start 4", "layer 3", "start 3", "layer 2",
                                              "layer 1", "start 3", "backward done", "wait"});
}

TEST_CASE("a second pass before average(), and nodes replaced since, fall back to the average after the pass") {
  constexpr int world = 2;
  std::vector<std::vector<double>> overlapped(world), after(world);
  dist::run_ranks(world, [&](dist::Communicator& comm) {
    const int r = comm.rank();
    std::vector<std::string> events;
    Net reference(r), net(r);
    for (int pass = 0; pass < 2; ++pass) autograd::backward(reference.loss(r + pass, events));
    dist::average_gradients(comm, reference.pointers());
    after[r] = gradient_bits(reference.params);

    dist::GradientAverager<double, Cpu> averager(comm, net.pointers());
    for (int pass = 0; pass < 2; ++pass) autograd::backward(net.loss(r + pass, events));
    averager.average();
    overlapped[r] = gradient_bits(net.params);
    CHECK(averager.counts().after_backward == 1);

    // New nodes (weights loaded into new Vars) are not observed until the next average(); then they are.
    for (auto& p : net.params) {
      p = V::parameter(p.value().clone());
    }
    autograd::backward(net.loss(r, events));
    averager.average();
    CHECK(averager.counts().after_backward == 2);
    for (auto& p : net.params) p.zero_grad();
    autograd::backward(net.loss(r, events));
    averager.average();
    CHECK(averager.counts().overlapped == 1);
  });
  CHECK(overlapped[0] == after[0]);
  CHECK(overlapped[1] == after[0]);
}
