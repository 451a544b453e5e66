// Builds against the installed package and checks a gradient, so a broken install cannot pass.
#include <pixsyn/pixsyn.hpp>

#include <iostream>

int main() {
  using namespace pixsyn;
  auto x = Var<double>::parameter(Tensor<double>::from({3.0}, {1}));
  autograd::backward(sum(x * x));
  const double g = x.grad().value().item();
  std::cout << "d(x^2)/dx at 3 = " << g << "\n";
  return g == 6.0 ? 0 : 1;
}
