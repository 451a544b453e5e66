#pragma once
// CIPS: configuration, generator and named variants.
#include "pixsyn/models/cips/config.hpp"
#include "pixsyn/models/cips/generator.hpp"
#include "pixsyn/models/cips/variants.hpp"
