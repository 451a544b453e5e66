#pragma once
// minibatch_stddev (ops/minibatch_stddev.hpp) on Var: a composition of differentiable ops, whose Var
// overloads this header brings in.
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/ops/minibatch_stddev.hpp"
