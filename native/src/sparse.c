/*
 * Sparse kernels for a pruned dense layer in column layout (models/ops.ts denseT): the kernel
 * Wt [rows, cols] (rows = output units, cols = inputs) is read in place from its dense array,
 * only at the kept positions listed row by row (CSR: row_ptr [rows + 1], col_idx [nnz], built
 * once per mask by src/kernels/sparse.ts). Activations are in column layout, one row of n
 * batch values per unit, so every kernel's inner loop is over n contiguous floats.
 * Each output value is summed in the fixed order of the CSR lists, by one thread: the bits
 * do not depend on the machine or the thread count (built with -ffp-contract=off).
 */
#include <stdint.h>
#include <string.h>

#include "sparse.h"

/* zT[r, :] = Σ_j Wt[r, col_idx[j]] · xT[col_idx[j], :] over row r's kept j. zT [rows, n], xT [cols, n]. */
void sparse_rows_matmul(const float *wt, const int32_t *row_ptr, const int32_t *col_idx, const float *xt, float *zt,
                        int32_t rows, int32_t cols, int32_t n) {
  for (int32_t r = 0; r < rows; r++) {
    float *z = zt + (int64_t)r * n;
    memset(z, 0, sizeof(float) * (size_t)n);
    const float *w = wt + (int64_t)r * cols;
    for (int32_t j = row_ptr[r]; j < row_ptr[r + 1]; j++) {
      const int32_t c = col_idx[j];
      const float wv = w[c];
      const float *x = xt + (int64_t)c * n;
      for (int32_t t = 0; t < n; t++) z[t] += wv * x[t];
    }
  }
}

/* dxT = Wtᵀ · dz: dxT[c, :] += Wt[r, c] · dz[r, :] over kept (r, c) in CSR order. dz [rows, n], dxT [cols, n]. */
void sparse_rows_matmul_t(const float *wt, const int32_t *row_ptr, const int32_t *col_idx, const float *dz, float *dxt,
                          int32_t rows, int32_t cols, int32_t n) {
  memset(dxt, 0, sizeof(float) * (size_t)cols * (size_t)n);
  for (int32_t r = 0; r < rows; r++) {
    const float *d = dz + (int64_t)r * n;
    const float *w = wt + (int64_t)r * cols;
    for (int32_t j = row_ptr[r]; j < row_ptr[r + 1]; j++) {
      const int32_t c = col_idx[j];
      const float wv = w[c];
      float *x = dxt + (int64_t)c * n;
      for (int32_t t = 0; t < n; t++) x[t] += wv * d[t];
    }
  }
}

#define LANES 8
/* dWt[r, c] = Σ_t dz[r, t] · xT[c, t] at the kept (r, c) only; dWt [rows, cols] must be zero
 * elsewhere (a fresh array). The sum runs in LANES interleaved partial sums, added pairwise. */
void sampled_matmul(const int32_t *row_ptr, const int32_t *col_idx, const float *dz, const float *xt, float *dwt,
                    int32_t rows, int32_t cols, int32_t n) {
  const int32_t nv = n / LANES * LANES;
  for (int32_t r = 0; r < rows; r++) {
    const float *d = dz + (int64_t)r * n;
    float *out = dwt + (int64_t)r * cols;
    for (int32_t j = row_ptr[r]; j < row_ptr[r + 1]; j++) {
      const int32_t c = col_idx[j];
      const float *x = xt + (int64_t)c * n;
      float acc[LANES] = {0};
      for (int32_t t = 0; t < nv; t += LANES)
        for (int32_t l = 0; l < LANES; l++) acc[l] += d[t + l] * x[t + l];
      for (int32_t t = nv; t < n; t++) acc[t - nv] += d[t] * x[t];
      const float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      out[c] = s;
    }
  }
}
