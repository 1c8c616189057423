/*
 * Sparse kernels for a pruned dense layer in column layout (models/ops.ts denseT), one source
 * for both backends: compiled to wasm SIMD into the wasm kernels' module (scripts/build-kernels,
 * run on the tfjs wasm heap by src/kernels/wasm.ts) and natively into the addon
 * (native/binding.gyp, called by src/kernels/native.ts). The kernel Wt [rows, cols] (rows =
 * output units, cols = inputs) is read in place from its dense array, only at the kept entries,
 * listed once per mask by src/kernels/sparse.ts row by row (CSR: row_ptr [rows + 1], col_idx)
 * and column by column (CSC: col_ptr [cols + 1], row_idx). Activations are in column layout, one
 * row of n batch values per unit, so every inner loop runs over n contiguous floats.
 *
 * Each output value is summed in the fixed order of those lists, by one thread, with every
 * operation one IEEE float32 operation (-ffp-contract=off on both targets): the bits depend on
 * neither the machine, the thread count nor the backend (native and wasm agree bit for bit;
 * test/sparse-kernels.test.ts).
 *
 * The rules of adam.c hold here (the wasm module shares tfjs's memory): no globals, no static
 * data, no libc, no address-taken locals.
 */
#include <stdint.h>

typedef float f32;

/*
 * out[o, :] = Σ_j W[o, j] · in[idx[j], :] over j in [ptr[o], ptr[o + 1]), where W[o, j] is
 * w[o·ws + idx[j]·wi]: the CSR product (ws = cols, wi = 1) or, over the CSC lists, the
 * transposed one (ws = 1, wi = cols). out [outs, n], in [*, n].
 */
static inline __attribute__((always_inline)) void gather_rows(const f32 *w, int32_t ws, int32_t wi, const int32_t *ptr,
                                                              const int32_t *idx, const f32 *in, f32 *out, int32_t outs,
                                                              int32_t n) {
  for (int32_t o = 0; o < outs; o++) {
    f32 *restrict z = out + (int64_t)o * n;
    const f32 *wo = w + (int64_t)o * ws;
    for (int32_t t = 0; t < n; t++) z[t] = 0.0f;
    for (int32_t j = ptr[o]; j < ptr[o + 1]; j++) {
      const f32 wv = wo[(int64_t)idx[j] * wi];
      const f32 *restrict x = in + (int64_t)idx[j] * n;
      for (int32_t t = 0; t < n; t++) z[t] += wv * x[t];
    }
  }
}

/* zT [rows, n] = Wt · xT (xT [cols, n]) at the kept entries: the forward pass. */
__attribute__((export_name("sparse_rows_matmul"))) void sparse_rows_matmul(const f32 *wt, const int32_t *row_ptr,
                                                                         const int32_t *col_idx, const f32 *xt,
                                                                         f32 *zt, int32_t rows, int32_t cols,
                                                                         int32_t n) {
  gather_rows(wt, cols, 1, row_ptr, col_idx, xt, zt, rows, n);
}

/* dxT [cols, n] = Wtᵀ · dz (dz [rows, n]) at the kept entries: the input gradient. */
__attribute__((export_name("sparse_cols_matmul_t"))) void sparse_cols_matmul_t(const f32 *wt, const int32_t *col_ptr,
                                                                             const int32_t *row_idx, const f32 *dz,
                                                                             f32 *dxt, int32_t rows, int32_t cols,
                                                                             int32_t n) {
  (void)rows;
  gather_rows(wt, 1, cols, col_ptr, row_idx, dz, dxt, cols, n);
}

/* dWt[r, c] = Σ_t dz[r, t] · xT[c, t] at the kept (r, c) only; dWt [rows, cols] must be zero
 * elsewhere (a fresh array). The sum runs in 8 interleaved partial sums, added pairwise. */
__attribute__((export_name("sampled_matmul"))) void sampled_matmul(const int32_t *row_ptr, const int32_t *col_idx,
                                                                 const f32 *dz, const f32 *xt, f32 *dwt, int32_t rows,
                                                                 int32_t cols, int32_t n) {
  const int32_t nv = n / 8 * 8;
  for (int32_t r = 0; r < rows; r++) {
    const f32 *d = dz + (int64_t)r * n;
    f32 *out = dwt + (int64_t)r * cols;
    for (int32_t j = row_ptr[r]; j < row_ptr[r + 1]; j++) {
      const int32_t c = col_idx[j];
      const f32 *x = xt + (int64_t)c * n;
      f32 a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (int32_t t = 0; t < nv; t += 8) {
        a0 += d[t] * x[t];
        a1 += d[t + 1] * x[t + 1];
        a2 += d[t + 2] * x[t + 2];
        a3 += d[t + 3] * x[t + 3];
        a4 += d[t + 4] * x[t + 4];
        a5 += d[t + 5] * x[t + 5];
        a6 += d[t + 6] * x[t + 6];
        a7 += d[t + 7] * x[t + 7];
      }
      /* the tail (n mod 8 values) goes to the first partial sums, in order */
      const int32_t rest = n - nv;
      if (rest > 0) a0 += d[nv] * x[nv];
      if (rest > 1) a1 += d[nv + 1] * x[nv + 1];
      if (rest > 2) a2 += d[nv + 2] * x[nv + 2];
      if (rest > 3) a3 += d[nv + 3] * x[nv + 3];
      if (rest > 4) a4 += d[nv + 4] * x[nv + 4];
      if (rest > 5) a5 += d[nv + 5] * x[nv + 5];
      if (rest > 6) a6 += d[nv + 6] * x[nv + 6];
      out[c] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    }
  }
}
