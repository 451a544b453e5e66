#pragma once
// PIXSYN_HOST_DEVICE marks small functions that CUDA kernels share with the CPU code.
#if defined(__CUDACC__)
#define PIXSYN_HOST_DEVICE __host__ __device__
#else
#define PIXSYN_HOST_DEVICE
#endif
