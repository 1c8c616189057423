#ifndef LTH_SPARSE_H
#define LTH_SPARSE_H
#include <stdint.h>
/* Sparse × dense products of a pruned column-layout dense layer (sparse.c). */
void sparse_rows_matmul(const float *wt, const int32_t *row_ptr, const int32_t *col_idx, const float *xt, float *zt,
                        int32_t rows, int32_t cols, int32_t n);
void sparse_cols_matmul_t(const float *wt, const int32_t *col_ptr, const int32_t *row_idx, const float *dz, float *dxt,
                          int32_t rows, int32_t cols, int32_t n);
void sampled_matmul(const int32_t *row_ptr, const int32_t *col_idx, const float *dz, const float *xt, float *dwt,
                    int32_t rows, int32_t cols, int32_t n);
#endif
