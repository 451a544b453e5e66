#pragma once
// The one cuBLAS entry point of pixsyn's GEMMs (column-major, strided-batched, any data types).
#include "common.cuh"

namespace pixsyn::backend::cuda {

// c = op(a) op(b) + beta c, column-major as cuBLAS sees it; alpha = 1. CUBLAS_COMPUTE_32F uses TF32 only
// for fp32 operands and only while Context::allow_tf32() (the math mode is reset to the default on every
// call); CUBLAS_COMPUTE_32F_FAST_TF32 always asks for it.
void gemm_ex(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const void* a,
             cudaDataType_t a_type, std::int64_t lda, std::int64_t stride_a, const void* b, cudaDataType_t b_type,
             std::int64_t ldb, std::int64_t stride_b, double beta, void* c, cudaDataType_t c_type, std::int64_t ldc,
             std::int64_t stride_c, std::int64_t batch, cublasComputeType_t compute, const char* op);

}  // namespace pixsyn::backend::cuda
