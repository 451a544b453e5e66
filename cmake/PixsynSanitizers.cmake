# Sanitizer builds of pixsyn's own programs and tests: PIXSYN_SANITIZE (AddressSanitizer +
# UndefinedBehaviorSanitizer, any compiler) and PIXSYN_FUZZ (the same plus libFuzzer's coverage
# instrumentation, clang only). Every report is fatal, so a test or a fuzz run fails on the first one.
set(_pixsyn_sanitizers address,undefined)
if(PIXSYN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PIXSYN_FUZZ needs clang (libFuzzer), e.g. -DCMAKE_CXX_COMPILER=clang++-14 (tools/fuzz.sh does this)")
  endif()
  set(_pixsyn_sanitizers fuzzer-no-link,${_pixsyn_sanitizers})
endif()
add_compile_options(-fsanitize=${_pixsyn_sanitizers} -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
# stb's decoders compiled here, instrumented like the rest, instead of the prebuilt libstb.
set(PIXSYN_STB_FROM_SOURCE ON)
