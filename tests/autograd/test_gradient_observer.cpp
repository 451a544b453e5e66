#include <doctest/doctest.h>

#include <pixsyn/pixsyn.hpp>

#include <string>
#include <vector>

#include "support/autograd_probes.hpp"

// backward() tells a leaf's GradientObserver when the leaf's gradient is final: right after the last node
// that consumes it, with the value the pass ends with.

using namespace pixsyn;

namespace {

using V = Var<double>;
using Node = autograd::detail::Node<double, Cpu>;

// Everything the pass reports, in order: "begins a b c", "ready a 12" (the gradient's first element, or
// "none"), and the probes' "probe k" as their backward rules run.
struct Log {
  std::vector<std::string> events;
};

class Recorder final : public autograd::GradientObserver<double, Cpu> {
 public:
  Recorder(Log& log, std::vector<std::pair<const V*, std::string>> names) : log_(log), names_(std::move(names)) {
    for (const auto& [v, name] : names_) v->node()->observer = this;
  }
  ~Recorder() {
    for (const auto& [v, name] : names_) v->node()->observer = nullptr;
  }
  void backward_begins(const std::vector<Node*>& leaves) override {
    std::string line = "begins";
    for (auto* leaf : leaves) {
      line += ' ';
      line += name(leaf);
    }
    log_.events.push_back(line);
  }
  void gradient_ready(Node* leaf) override {
    log_.events.push_back("ready " + name(leaf) + " " +
                          (leaf->grad ? std::to_string(static_cast<int>(leaf->grad->value.data()[0])) : "none"));
  }

 private:
  std::string name(const Node* leaf) const {
    for (const auto& [v, name] : names_)
      if (v->node().get() == leaf) return name;
    return "?";
  }
  Log& log_;
  std::vector<std::pair<const V*, std::string>> names_;
};

// The identity, logging "probe k" when its backward rule runs.
V probe(const V& x, int k, Log& log) {
  return test::probe(x, [k, &log] { log.events.push_back("probe " + std::to_string(k)); });
}

}  // namespace

TEST_CASE("backward tells each observed leaf's gradient the moment its last consumer has run") {
  Log log;
  // Each weight is its op's first input, so the depth-first order visits all three before anything else.
  const auto x = V::constant(Tensor<double>::full({2}, 2.0));
  auto w1 = V::parameter(Tensor<double>::full({2}, 3.0));
  auto w2 = V::parameter(Tensor<double>::full({2}, 5.0));
  auto w3 = V::parameter(Tensor<double>::full({2}, 7.0));
  auto unobserved = V::parameter(Tensor<double>::full({2}, 1.0));
  const Recorder recorder(log, {{&w1, "w1"}, {&w2, "w2"}, {&w3, "w3"}});
  const auto h1 = probe(mul(w1, x), 1, log);
  const auto h2 = probe(mul(w2, h1), 2, log);
  const auto h3 = probe(mul(w3, add(h2, unobserved)), 3, log);
  autograd::backward(sum(h3));
  // d/dw3 = h2 + 1 = 31, d/dw2 = w3 · h1 = 42, d/dw1 = w3 · w2 · x = 70.
  CHECK(log.events == std::vector<std::string>{"begins w3 w2 w1", "probe 3", "ready w3 31", "probe 2", "ready w2 42",
                                               "probe 1", "ready w1 70"});
  CHECK(w1.grad().value().to_vector() == std::vector<double>{70, 70});
  CHECK(w3.grad().value().to_vector() == std::vector<double>{31, 31});
  CHECK(unobserved.grad().value().to_vector() == std::vector<double>{7, 7});

  // A second pass adds to the gradients: the observer sees the sums. grad() fills no leaf gradient and
  // tells no observer.
  log.events.clear();
  autograd::backward(sum(mul(w1, w1)));
  CHECK(log.events == std::vector<std::string>{"begins w1", "ready w1 76"});
  log.events.clear();
  CHECK(autograd::grad(sum(mul(w2, x)), w2).value().to_vector() == std::vector<double>{2, 2});
  CHECK(log.events.empty());
}

TEST_CASE("an observed leaf the pass reaches without a gradient, or that is the output itself, is told too") {
  Log log;
  auto a = V::parameter(Tensor<double>::full({1}, 3.0));
  auto b = V::parameter(Tensor<double>::full({1}, 4.0));
  auto c = V::parameter(Tensor<double>::full({1}, 6.0));
  const Recorder recorder(log, {{&a, "a"}, {&b, "b"}, {&c, "c"}});
  autograd::backward(sum(test::mul_without_second_gradient(a, b)));
  CHECK(log.events == std::vector<std::string>{"begins a b", "ready a 4", "ready b none"});
  CHECK_FALSE(b.grad().defined());
  CHECK_FALSE(c.grad().defined());  // not reached: not told
  log.events.clear();
  autograd::backward(c, {}, V(Tensor<double>::full({1}, 2.0)));
  CHECK(log.events == std::vector<std::string>{"begins c", "ready c 2"});
}

TEST_CASE("with create_graph the observed gradients are recorded, as the unobserved ones are") {
  Log log;
  auto w = V::parameter(Tensor<double>::full({1}, 3.0));
  auto u = V::parameter(Tensor<double>::full({1}, 3.0));
  const Recorder recorder(log, {{&w, "w"}});
  autograd::backward(add(sum(mul(mul(w, w), w)), sum(mul(mul(u, u), u))), {.create_graph = true});
  CHECK(log.events == std::vector<std::string>{"begins w", "ready w 27"});
  REQUIRE(w.grad().requires_grad());
  REQUIRE(u.grad().requires_grad());
  // d/dw (3 w²) = 6 w = 18, for both.
  CHECK(autograd::grad(sum(w.grad()), w).value().to_vector() == std::vector<double>{18});
  CHECK(autograd::grad(sum(u.grad()), u).value().to_vector() == std::vector<double>{18});
  w.zero_grad();  // each gradient's graph holds its parameter: a cycle to break
  u.zero_grad();
}
