# Finds pixsyn's Debian-packaged dependencies, naming the apt package when one is missing.
# Machines without those packages (the GPU test machine) may pass PIXSYN_DEPS_PREFIX, a folder with
# include/{eigen3,nlohmann,doctest,stb}: the headers found there stand in for the config packages.
if(PIXSYN_DEPS_PREFIX)
  list(PREPEND CMAKE_PREFIX_PATH "${PIXSYN_DEPS_PREFIX}")
endif()

function(pixsyn_require found package)
  if(NOT ${found})
    message(FATAL_ERROR "pixsyn needs ${package}: install it with `apt-get install ${package}`")
  endif()
endfunction()

# An INTERFACE target for a header-only dependency without its CMake config package.
function(pixsyn_header_target target header suffix found)
  find_path(_pixsyn_dir_${found} ${header} PATH_SUFFIXES ${suffix})
  if(_pixsyn_dir_${found})
    if(NOT TARGET ${target})
      add_library(${target} INTERFACE IMPORTED GLOBAL)
      target_include_directories(${target} INTERFACE "${_pixsyn_dir_${found}}")
    endif()
    set(${found} TRUE PARENT_SCOPE)
  endif()
endfunction()

find_package(Eigen3 3.4 QUIET NO_MODULE)
if(NOT Eigen3_FOUND)
  pixsyn_header_target(Eigen3::Eigen Eigen/Core eigen3 Eigen3_FOUND)
endif()
pixsyn_require(Eigen3_FOUND libeigen3-dev)
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  pixsyn_header_target(nlohmann_json::nlohmann_json nlohmann/json.hpp "" nlohmann_json_FOUND)
endif()
pixsyn_require(nlohmann_json_FOUND nlohmann-json3-dev)
find_package(OpenMP QUIET COMPONENTS CXX)
pixsyn_require(OpenMP_CXX_FOUND "libgomp1 (part of g++)")

# Debian's libstb-dev ships the stb headers and a compiled libstb with their implementations;
# with the headers alone, or with PIXSYN_STB_FROM_SOURCE (sanitizer and fuzz builds, which must see
# into the decoders), the two implementations pixsyn uses are compiled here.
option(PIXSYN_STB_FROM_SOURCE "Compile stb's image decoders from its headers instead of linking libstb" OFF)
find_path(PIXSYN_STB_INCLUDE_DIR stb/stb_image.h)
if(NOT PIXSYN_STB_FROM_SOURCE)
  find_library(PIXSYN_STB_LIBRARY stb)
endif()
if(NOT PIXSYN_STB_INCLUDE_DIR)
  message(FATAL_ERROR "pixsyn needs the stb image library: install it with `apt-get install libstb-dev`")
endif()
if(NOT TARGET pixsyn_stb)
  add_library(pixsyn_stb INTERFACE IMPORTED GLOBAL)
  target_include_directories(pixsyn_stb INTERFACE "${PIXSYN_STB_INCLUDE_DIR}")
  if(PIXSYN_STB_LIBRARY AND NOT PIXSYN_STB_FROM_SOURCE)
    target_link_libraries(pixsyn_stb INTERFACE "${PIXSYN_STB_LIBRARY}")
  else()
    set(_stb_impl "${CMAKE_CURRENT_BINARY_DIR}/pixsyn_stb_impl.cpp")
    file(WRITE "${_stb_impl}" "#define STB_IMAGE_IMPLEMENTATION\n#include <stb/stb_image.h>\n"
                              "#define STB_IMAGE_WRITE_IMPLEMENTATION\n#include <stb/stb_image_write.h>\n")
    add_library(pixsyn_stb_impl STATIC "${_stb_impl}")
    target_include_directories(pixsyn_stb_impl PRIVATE "${PIXSYN_STB_INCLUDE_DIR}")
    set_target_properties(pixsyn_stb_impl PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_link_libraries(pixsyn_stb INTERFACE pixsyn_stb_impl)
  endif()
endif()

# JPEGs are decoded by libjpeg(-turbo) (Debian: libjpeg-dev), maintained and fuzzed: the JPEG decoder
# of Debian 12's stb 2.27 reads and writes out of bounds on corrupt files (docs/reliability.md).
# Found at configure time; without it pixsyn reads PNG only and refuses a JPEG with an error saying
# so (machines without the package, e.g. the GPU test machine; -DCMAKE_DISABLE_FIND_PACKAGE_JPEG=ON
# builds that way on purpose). PIXSYN_REQUIRE_JPEG=ON (CI) makes a missing libjpeg a configure error.
option(PIXSYN_REQUIRE_JPEG "Fail at configure time when libjpeg is missing instead of building without JPEG reading" OFF)
find_package(JPEG QUIET)
if(PIXSYN_REQUIRE_JPEG)
  pixsyn_require(JPEG_FOUND libjpeg-dev)
endif()
if(NOT TARGET pixsyn_jpeg)
  add_library(pixsyn_jpeg INTERFACE IMPORTED GLOBAL)
  if(JPEG_FOUND)
    target_link_libraries(pixsyn_jpeg INTERFACE JPEG::JPEG)
    target_compile_definitions(pixsyn_jpeg INTERFACE PIXSYN_WITH_LIBJPEG)
  else()
    message(STATUS "pixsyn: libjpeg not found, so pixsyn reads no JPEGs (apt-get install libjpeg-dev)")
  endif()
endif()

# zlib compresses the rows of the streaming PNG writer (io/png_stream.hpp). A machine with the run-time
# library but no development package (the GPU test machine) takes zlib.h from PIXSYN_DEPS_PREFIX.
find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  find_path(PIXSYN_ZLIB_INCLUDE_DIR zlib.h)
  find_library(PIXSYN_ZLIB_LIBRARY NAMES z libz.so.1)
  if(PIXSYN_ZLIB_INCLUDE_DIR AND PIXSYN_ZLIB_LIBRARY)
    if(NOT TARGET ZLIB::ZLIB)
      add_library(ZLIB::ZLIB UNKNOWN IMPORTED GLOBAL)
      set_target_properties(ZLIB::ZLIB PROPERTIES IMPORTED_LOCATION "${PIXSYN_ZLIB_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${PIXSYN_ZLIB_INCLUDE_DIR}")
    endif()
    set(ZLIB_FOUND TRUE)
  endif()
endif()
pixsyn_require(ZLIB_FOUND zlib1g-dev)
