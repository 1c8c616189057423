/*
 * Pieces of a dense layer in column layout (activations [features, n]; see ops.denseT).
 * Same rules as adam.c: no globals, static data, stack or libc.
 */
#include <stdint.h>

typedef float f32;

/* out[r][c] = act(z[r][c] + b[r]) with act = ReLU when relu != 0, else identity. */
__attribute__((export_name("bias_act"))) void bias_act(const f32 *restrict z, const f32 *restrict b,
                                                       f32 *restrict out, int32_t rows, int32_t cols,
                                                       int32_t relu) {
  for (int32_t r = 0; r < rows; r++) {
    const f32 br = b[r];
    const f32 *zr = z + r * cols;
    f32 *o = out + r * cols;
    if (relu) {
      for (int32_t c = 0; c < cols; c++) {
        f32 v = zr[c] + br;
        o[c] = v > 0.0f ? v : 0.0f;
      }
    } else {
      for (int32_t c = 0; c < cols; c++) o[c] = zr[c] + br;
    }
  }
}

/*
 * Backward of bias_act given its output a: dz = dy ⊙ [a > 0] (ReLU) or dy, and
 * db[r] = Σ_c dz[r][c] (accumulated in float64 per row).
 */
__attribute__((export_name("bias_act_grad"))) void bias_act_grad(const f32 *restrict dy, const f32 *restrict a,
                                                                 f32 *restrict dz, f32 *restrict db,
                                                                 int32_t rows, int32_t cols, int32_t relu) {
  for (int32_t r = 0; r < rows; r++) {
    const f32 *dyr = dy + r * cols;
    const f32 *ar = a + r * cols;
    f32 *dzr = dz + r * cols;
    double s = 0.0;
    for (int32_t c = 0; c < cols; c++) {
      /* dy·step(a), not a select: the same signed zeros as tfjs's ReLU gradient */
      f32 g = relu ? dyr[c] * (ar[c] > 0.0f ? 1.0f : 0.0f) : dyr[c];
      dzr[c] = g;
      s += (double)g;
    }
    db[r] = (f32)s;
  }
}

/*
 * Backward of a channels-last layer act(z + b[col]) given its output a [rows, cols] (a conv's
 * NHWC output viewed as [n·h·w, channels]): dz = dy ⊙ [a > 0] (ReLU) or dy, and the bias
 * gradient db[c] = Σ_r dz[r][c], accumulated in float64 in acc[cols] (scratch).
 */
__attribute__((export_name("act_grad_cols"))) void act_grad_cols(const f32 *restrict dy, const f32 *restrict a,
                                                                 f32 *restrict dz, double *restrict acc,
                                                                 f32 *restrict db, int32_t rows, int32_t cols,
                                                                 int32_t relu) {
  for (int32_t c = 0; c < cols; c++) acc[c] = 0.0;
  for (int32_t r = 0; r < rows; r++) {
    const f32 *dyr = dy + (int64_t)r * cols;
    const f32 *ar = a + (int64_t)r * cols;
    f32 *dzr = dz + (int64_t)r * cols;
    for (int32_t c = 0; c < cols; c++) {
      /* dy·step(a), not a select: the same signed zeros as tfjs's ReLU gradient */
      f32 g = relu ? dyr[c] * (ar[c] > 0.0f ? 1.0f : 0.0f) : dyr[c];
      dzr[c] = g;
      acc[c] += (double)g;
    }
  }
  for (int32_t c = 0; c < cols; c++) db[c] = (f32)acc[c];
}

/*
 * c = a·b for row-major a [m, k], b [k, n]: for the small products of a training step, where
 * XNNPACK's per-call cost (creating an operator and packing a new b) exceeds the arithmetic.
 * Four rows of c at a time, so each loaded row of b is used four times.
 */
__attribute__((export_name("gemm_small"))) void gemm_small(const f32 *restrict a, const f32 *restrict b,
                                                           f32 *restrict c, int32_t m, int32_t k, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= m; i += 4) {
    f32 *c0 = c + i * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
    for (int32_t j = 0; j < n; j++) c0[j] = c1[j] = c2[j] = c3[j] = 0.0f;
    const f32 *a0 = a + i * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;
    for (int32_t p = 0; p < k; p++) {
      const f32 *bp = b + p * n;
      const f32 x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
      for (int32_t j = 0; j < n; j++) {
        const f32 bv = bp[j];
        c0[j] += x0 * bv;
        c1[j] += x1 * bv;
        c2[j] += x2 * bv;
        c3[j] += x3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    f32 *ci = c + i * n;
    for (int32_t j = 0; j < n; j++) ci[j] = 0.0f;
    const f32 *ai = a + i * k;
    for (int32_t p = 0; p < k; p++) {
      const f32 *bp = b + p * n;
      const f32 x = ai[p];
      for (int32_t j = 0; j < n; j++) ci[j] += x * bp[j];
    }
  }
}
