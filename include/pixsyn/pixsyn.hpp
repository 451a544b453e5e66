#pragma once
// The CPU library: include this one header.
#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/gradcheck.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/version.hpp"
