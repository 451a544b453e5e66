#pragma once
// CREPS: configuration, generator and named variants.
#include "pixsyn/models/creps/config.hpp"
#include "pixsyn/models/creps/generator.hpp"
#include "pixsyn/models/creps/variants.hpp"
