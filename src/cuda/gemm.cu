// cuBLAS GEMMs for Tensor<T, Cuda> (see include/pixsyn/backend/cuda/gemm.hpp).
#include "common.cuh"
#include "gemm.cuh"
#include "pixsyn/backend/cuda/gemm.hpp"

namespace pixsyn::backend::cuda {

namespace {

template <class T>
constexpr cudaDataType_t data_type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
template <class T>
constexpr cublasComputeType_t compute_type = std::is_same_v<T, float> ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;

// cuBLAS wants leading dimensions >= 1 even for empty operands.
int leading(std::int64_t ld) { return static_cast<int>(ld > 1 ? ld : 1); }

template <class T>
__global__ void broadcast_rows(std::int64_t rows, std::int64_t cols, const T* row, T* out) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < rows * cols;
       i += std::int64_t(gridDim.x) * blockDim.x)
    out[i] = row[i % cols];
}

template <class T>
void batched_gemm_impl(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                       const T* a, std::int64_t stride_a, const T* b, std::int64_t stride_b, T beta, T* c) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0 && beta == T(0)) {
    check_cuda(cudaMemsetAsync(c, 0, sizeof(T) * batch * m * n, stream()), "matmul", "cudaMemsetAsync");
    return;
  }
  // Row-major c = op(a) op(b) is column-major cᵀ = op(b)ᵀ op(a)ᵀ: swap the operands, keep the flags.
  gemm_ex(trans_b, trans_a, n, m, k, b, data_type<T>, trans_b ? k : n, stride_b, a, data_type<T>, trans_a ? m : k,
          stride_a, beta, c, data_type<T>, n, m * n, batch, compute_type<T>, "matmul");
}

}  // namespace

void gemm_ex(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const void* a,
             cudaDataType_t a_type, std::int64_t lda, std::int64_t stride_a, const void* b, cudaDataType_t b_type,
             std::int64_t ldb, std::int64_t stride_b, double beta, void* c, cudaDataType_t c_type, std::int64_t ldc,
             std::int64_t stride_c, std::int64_t batch, cublasComputeType_t compute, const char* op) {
  cublasHandle_t handle = cublas();
  // fp32 products stay fp32 unless the context allows TF32: the default math mode never substitutes it.
  check_cublas(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), op, "cublasSetMathMode");
  if (compute == CUBLAS_COMPUTE_32F && a_type == CUDA_R_32F && b_type == CUDA_R_32F && Context::instance().allow_tf32())
    compute = CUBLAS_COMPUTE_32F_FAST_TF32;
  const float alpha32 = 1.0f, beta32 = static_cast<float>(beta);
  const double alpha64 = 1.0;
  const bool f64 = compute == CUBLAS_COMPUTE_64F;
  const void* alpha = f64 ? static_cast<const void*>(&alpha64) : &alpha32;
  const void* beta_p = f64 ? static_cast<const void*>(&beta) : &beta32;
  check_cublas(
      cublasGemmStridedBatchedEx(handle, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, a_type,
                                 leading(lda), stride_a, b, b_type, leading(ldb), stride_b, beta_p, c, c_type,
                                 leading(ldc), stride_c, static_cast<int>(batch), compute, CUBLAS_GEMM_DEFAULT),
      op, "cublasGemmStridedBatchedEx");
}

void batched_gemm(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  const float* a, std::int64_t stride_a, const float* b, std::int64_t stride_b, float* c) {
  batched_gemm_impl(batch, trans_a, trans_b, m, n, k, a, stride_a, b, stride_b, 0.0f, c);
}
void batched_gemm(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  const double* a, std::int64_t stride_a, const double* b, std::int64_t stride_b, double* c) {
  batched_gemm_impl(batch, trans_a, trans_b, m, n, k, a, stride_a, b, stride_b, 0.0, c);
}

template <class T>
void linear_impl(std::int64_t rows, std::int64_t in, std::int64_t out, const T* x, const T* w, const T* bias, T* y) {
  if (rows == 0 || out == 0) return;
  if (bias) {
    broadcast_rows<<<grid_for(rows * out), block_size, 0, stream()>>>(rows, out, bias, y);
    check_launch("linear");
  }
  batched_gemm_impl(1, false, true, rows, out, in, x, 0, w, 0, bias ? T(1) : T(0), y);
}

void linear(std::int64_t rows, std::int64_t in, std::int64_t out, const float* x, const float* w, const float* bias,
            float* y) {
  linear_impl(rows, in, out, x, w, bias, y);
}
void linear(std::int64_t rows, std::int64_t in, std::int64_t out, const double* x, const double* w, const double* bias,
            double* y) {
  linear_impl(rows, in, out, x, w, bias, y);
}

}  // namespace pixsyn::backend::cuda
