# Dependencies of pixsyn's own tests and programs (not of the library): a CMake package, or, since
# both are header-only, their headers alone (as on a machine with a PIXSYN_DEPS_PREFIX copy).
macro(pixsyn_find_build_dependency package target header apt purpose)
  if(NOT TARGET ${target})
    find_package(${package} CONFIG QUIET)
  endif()
  if(NOT TARGET ${target})
    pixsyn_header_target(${target} ${header} "" _pixsyn_${package}_headers)
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "${purpose} need ${package}: install it with `apt-get install ${apt}` "
                        "(or turn them off, e.g. -DPIXSYN_BUILD_TESTS=OFF / -DPIXSYN_BUILD_EXAMPLES=OFF)")
  endif()
endmacro()

if(PIXSYN_BUILD_TESTS)
  pixsyn_find_build_dependency(doctest doctest::doctest doctest/doctest.h doctest-dev "pixsyn's tests")
endif()
if(PIXSYN_BUILD_EXAMPLES)
  pixsyn_find_build_dependency(CLI11 CLI11::CLI11 CLI/CLI.hpp libcli11-dev "pixsyn's examples and program")
endif()
