#ifndef LTH_GEMM_H
#define LTH_GEMM_H
/* C[m×n] = op(A)·op(B) + beta·C, row-major, in row blocks fixed by the shape, on `threads` threads. */
void gemm_rows(int threads, int ta, int tb, int m, int n, int k, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc);
#endif
