# PIXSYN_CUDA=ON: the CUDA toolkit must be present; never fall back to CPU-only silently.
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(FATAL_ERROR "PIXSYN_CUDA=ON but no CUDA compiler was found. Install the CUDA toolkit (nvcc) or set "
                      "CMAKE_CUDA_COMPILER, or configure with -DPIXSYN_CUDA=OFF for the CPU-only library.")
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)

# The kernels: a static library of src/cuda/*.cu; the public headers (backend/cuda/*.hpp) are plain C++.
file(GLOB _pixsyn_cuda_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cuda/*.cu)
add_library(pixsyn_cuda STATIC ${_pixsyn_cuda_sources})
add_library(pixsyn::cuda ALIAS pixsyn_cuda)
set_target_properties(pixsyn_cuda PROPERTIES EXPORT_NAME cuda POSITION_INDEPENDENT_CODE ON)
# The .cu files include core/ headers (C++20). CMake < 3.26 has no CUDA20 dialect for nvcc: pass it directly.
target_compile_options(pixsyn_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>)
target_include_directories(pixsyn_cuda PRIVATE ${PROJECT_SOURCE_DIR}/src/cuda)
# The run-time check compares the GPU's compute capability with the compiled list.
target_compile_definitions(pixsyn_cuda PRIVATE PIXSYN_CUDA_ARCHITECTURES="${CMAKE_CUDA_ARCHITECTURES}")
# Only the pixsyn headers: the .cu files never include Eigen.
target_include_directories(pixsyn_cuda PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:include>)
target_link_libraries(pixsyn_cuda PUBLIC pixsyn CUDA::cudart CUDA::cublas CUDA::cublasLt)
# NCCL (dist/nccl.hpp, src/cuda/nccl.cu) ships with the CUDA toolkit; CMake has no imported target for it.
find_path(PIXSYN_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
find_library(PIXSYN_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
if(NOT PIXSYN_NCCL_INCLUDE_DIR OR NOT PIXSYN_NCCL_LIBRARY)
  message(FATAL_ERROR "PIXSYN_CUDA=ON needs NCCL (nccl.h, libnccl) for multi-GPU runs; it was not found beside the "
                      "CUDA toolkit. Set PIXSYN_NCCL_INCLUDE_DIR and PIXSYN_NCCL_LIBRARY.")
endif()
target_include_directories(pixsyn_cuda PRIVATE ${PIXSYN_NCCL_INCLUDE_DIR})
target_link_libraries(pixsyn_cuda PUBLIC ${PIXSYN_NCCL_LIBRARY})

# Hopper's kernels (src/cuda/sm90: the fused modulated layer, CREPS's per-pixel kernel on wgmma) use
# sm_90a-only instructions (wgmma, TMA): when the list names 90, they are compiled for exactly that target
# and their objects join pixsyn_cuda; the renderers pick them at run time on a compute capability 9.0 GPU.
if(CMAKE_CUDA_ARCHITECTURES MATCHES "(^|;)90")
  file(GLOB _pixsyn_cuda_sm90_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cuda/sm90/*.cu)
  add_library(pixsyn_cuda_sm90 OBJECT ${_pixsyn_cuda_sm90_sources})
  set_target_properties(pixsyn_cuda_sm90 PROPERTIES CUDA_ARCHITECTURES OFF POSITION_INDEPENDENT_CODE ON)
  target_compile_options(pixsyn_cuda_sm90 PRIVATE -std=c++20 -gencode=arch=compute_90a,code=sm_90a)
  target_include_directories(pixsyn_cuda_sm90 PRIVATE ${PROJECT_SOURCE_DIR}/src/cuda)
  target_link_libraries(pixsyn_cuda_sm90 PRIVATE pixsyn)
  target_sources(pixsyn_cuda PRIVATE $<TARGET_OBJECTS:pixsyn_cuda_sm90>)
  target_compile_definitions(pixsyn_cuda PRIVATE PIXSYN_CUDA_SM90=1)
endif()
