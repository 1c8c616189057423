/*
 * Sparse kernels for a pruned dense layer in column layout (models/ops.ts denseT): the kernel
 * Wt [rows, cols] (rows = output units, cols = inputs) is read in place from its dense array,
 * only at the kept entries, listed once per mask by src/kernels/sparse.ts row by row (CSR:
 * row_ptr [rows + 1], col_idx) and column by column (CSC: col_ptr [cols + 1], row_idx).
 * Activations are in column layout, one row of n batch values per unit, so every inner loop
 * runs over n contiguous floats.
 * Each output value is summed in the fixed order of those lists, by one thread: the bits do not
 * depend on the machine or the thread count (built with -ffp-contract=off).
 */
#include <stdint.h>
#include <string.h>

#include "sparse.h"

/*
 * out[o, :] = Σ_j W[o, j] · in[idx[j], :] over j in [ptr[o], ptr[o + 1]), where W[o, j] is
 * w[o·ws + idx[j]·wi]: the CSR product (ws = cols, wi = 1) or, over the CSC lists, the
 * transposed one (ws = 1, wi = cols). out [outs, n], in [*, n].
 */
static void gather_rows(const float *w, int64_t ws, int64_t wi, const int32_t *ptr, const int32_t *idx, const float *in,
                        float *out, int32_t outs, int32_t n) {
  for (int32_t o = 0; o < outs; o++) {
    float *restrict z = out + (int64_t)o * n;
    const float *wo = w + o * ws;
    memset(z, 0, sizeof(float) * (size_t)n);
    for (int32_t j = ptr[o]; j < ptr[o + 1]; j++) {
      const float wv = wo[idx[j] * wi];
      const float *restrict x = in + (int64_t)idx[j] * n;
      for (int32_t t = 0; t < n; t++) z[t] += wv * x[t];
    }
  }
}

void sparse_rows_matmul(const float *wt, const int32_t *row_ptr, const int32_t *col_idx, const float *xt, float *zt,
                        int32_t rows, int32_t cols, int32_t n) {
  gather_rows(wt, cols, 1, row_ptr, col_idx, xt, zt, rows, n);
}

void sparse_cols_matmul_t(const float *wt, const int32_t *col_ptr, const int32_t *row_idx, const float *dz, float *dxt,
                          int32_t rows, int32_t cols, int32_t n) {
  (void)rows;
  gather_rows(wt, 1, cols, col_ptr, row_idx, dz, dxt, cols, n);
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
      out[c] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
  }
}
