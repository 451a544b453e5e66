#pragma once
// The library version; CMake parses these lines.
#define PIXSYN_VERSION_MAJOR 0
#define PIXSYN_VERSION_MINOR 1
#define PIXSYN_VERSION_PATCH 0
