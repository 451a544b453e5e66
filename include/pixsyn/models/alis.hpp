#pragma once
// ALIS: configuration, generator and named variants.
#include "pixsyn/models/alis/config.hpp"
#include "pixsyn/models/alis/generator.hpp"
#include "pixsyn/models/alis/variants.hpp"
