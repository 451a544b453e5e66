#pragma once
// Finite-difference checks of first and second derivatives, in double on the CPU.
//
// First order: L(x) = <f(x), r> for a random projection r, so any output shape works; the analytic
// gradient of L is compared with central differences of L. Second order: M(x) = sum_k <dL/dx_k, v_k>
// for random v; its analytic gradient (a backward pass through the recorded backward pass) is compared
// with central differences of the analytic first-order gradients. A third check runs backward twice
// and expects the leaf gradients to double (accumulate, not overwrite).
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "pixsyn/autograd/backward.hpp"

namespace pixsyn::autograd {

struct GradcheckOptions {
  double step = 1e-6;  // central-difference step
  double atol = 1e-6;  // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-4;
  bool second_order = true;
  std::int64_t max_elements = 64;  // elements checked per input (spread over the tensor)
  std::uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first failures, naming the order, input, element and both values
  double max_error = 0;
};

using GradFunction = std::function<Var<double>(const std::vector<Var<double>>&)>;

namespace detail {

inline std::vector<Var<double>> as_leaves(const std::vector<Tensor<double>>& values) {
  std::vector<Var<double>> vars;
  for (const auto& v : values) vars.push_back(Var<double>::parameter(v.clone()));
  return vars;
}

inline std::vector<std::int64_t> probe_indices(std::int64_t n, std::int64_t max_elements) {
  std::vector<std::int64_t> idx;
  if (n <= max_elements) {
    for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (std::int64_t k = 0; k < max_elements; ++k)
      idx.push_back(k * n / max_elements + (k * 7919) % (n / max_elements));
  }
  return idx;
}

// (f(x + step e) - f(x - step e)) / (2 step) for e the unit vector of element i of input k.
template <class F>
double central_difference(const F& f, const std::vector<Tensor<double>>& inputs, std::size_t k, std::int64_t i,
                          double step) {
  auto plus = inputs, minus = inputs;
  plus[k] = inputs[k].clone();
  minus[k] = inputs[k].clone();
  plus[k].data()[i] += step;
  minus[k].data()[i] -= step;
  return (f(plus) - f(minus)) / (2 * step);
}

// Compares analytic with numeric values element by element; appends failures to `result`.
inline void compare(const char* order, std::size_t input, std::int64_t element, double analytic, double numeric,
                    const GradcheckOptions& o, GradcheckResult& result) {
  const double err = std::abs(analytic - numeric);
  result.max_error = std::max(result.max_error, err);
  if (!(err <= o.atol + o.rtol * std::abs(numeric))) {  // NaN fails too
    if (result.ok || std::count(result.message.begin(), result.message.end(), '\n') < 8) {
      std::ostringstream s;
      s << order << " derivative, input " << input << ", element " << element << ": analytic " << analytic
        << ", numeric " << numeric << "\n";
      result.message += s.str();
    }
    result.ok = false;
  }
}

}  // namespace detail

inline GradcheckResult gradcheck(const GradFunction& f, const std::vector<Tensor<double>>& inputs,
                                 GradcheckOptions options = {}) {
  GradcheckResult result;
  Philox gen{options.seed};
  const auto probe_out = [&] {
    no_grad guard;
    return f(detail::as_leaves(inputs));
  }();
  const Var<double> r = Var<double>(Tensor<double>::randn(probe_out.shape(), gen));
  std::vector<Var<double>> v;
  for (const auto& x : inputs) v.push_back(Var<double>(Tensor<double>::randn(x.shape(), gen)));

  auto loss = [&](const std::vector<Var<double>>& xs) { return sum(mul(f(xs), r)); };
  auto loss_value = [&](const std::vector<Tensor<double>>& xs) {
    no_grad guard;
    return loss(detail::as_leaves(xs)).value().item();
  };
  auto first_grads = [&](const std::vector<Tensor<double>>& xs) {
    auto leaves = detail::as_leaves(xs);
    return grad(std::vector<Var<double>>{loss(leaves)}, leaves);
  };

  // First order.
  auto leaves = detail::as_leaves(inputs);
  const auto g =
      grad(std::vector<Var<double>>{loss(leaves)}, leaves, GradOptions{.create_graph = options.second_order});
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    for (auto i : detail::probe_indices(inputs[k].numel(), options.max_elements)) {
      const double numeric = detail::central_difference(loss_value, inputs, k, i, options.step);
      detail::compare("first", k, i, g[k].value().data()[i], numeric, options, result);
    }
  }

  // Accumulation: two backward passes add up.
  {
    auto acc = detail::as_leaves(inputs);
    backward(loss(acc));
    backward(loss(acc));
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const Var<double> gk = acc[k].grad();
      for (auto i : detail::probe_indices(inputs[k].numel(), options.max_elements)) {
        const double twice = gk.defined() ? gk.value().data()[i] : 0.0;
        detail::compare("accumulated first", k, i, twice, 2 * g[k].value().data()[i], options, result);
      }
    }
  }

  if (!options.second_order) return result;

  // Second order: gradient of M = sum_k <dL/dx_k, v_k>.
  Var<double> m = Var<double>(Tensor<double>::zeros({}));
  for (std::size_t k = 0; k < inputs.size(); ++k) m = add(m, sum(mul(g[k], v[k])));
  const auto h = grad(std::vector<Var<double>>{m}, leaves);
  auto m_value = [&](const std::vector<Tensor<double>>& xs) {
    const auto gs = first_grads(xs);
    double total = 0;
    for (std::size_t k = 0; k < xs.size(); ++k) {
      no_grad guard;
      total += sum(mul(gs[k], v[k])).value().item();
    }
    return total;
  };
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    for (auto i : detail::probe_indices(inputs[k].numel(), options.max_elements)) {
      const double numeric = detail::central_difference(m_value, inputs, k, i, options.step);
      detail::compare("second", k, i, h[k].value().data()[i], numeric, options, result);
    }
  }
  return result;
}

}  // namespace pixsyn::autograd
