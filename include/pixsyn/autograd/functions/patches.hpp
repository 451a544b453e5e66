#pragma once
// patches_to_batch, patches_from_batch and per_patch (ops/patches.hpp) on Var: compositions of reshape and
// permute, whose Var overloads this header brings in.
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/ops/patches.hpp"
