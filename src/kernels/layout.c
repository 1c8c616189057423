/*
 * Data movement kernels (see adam.c for the rules every file here follows: the module runs on
 * tfjs's heap, so no globals, no static data, no stack, no libc).
 */
#include <stdint.h>

typedef float f32;

#define TILE 16

/*
 * out = in transposed by a permutation of 3 axes: in is [d0, d1, d2] row-major,
 * out[o0][o1][o2] = in at index o0*s0 + o1*s1 + o2*s2, where (s0, s1, s2) are the input
 * strides of the axes that become output axes 0, 1, 2. Any rank-≤4 tfjs permutation whose
 * adjacent axes can be merged reduces to this (src/kernels/wasm.ts does the reduction).
 * When the innermost axis moves, the copy goes in TILE×TILE blocks so that both the reads
 * and the writes stay within a few cache lines.
 */
__attribute__((export_name("transpose3"))) void transpose3(const f32 *restrict in, f32 *restrict out,
                                                           int32_t e0, int32_t e1, int32_t e2,
                                                           int32_t s0, int32_t s1, int32_t s2) {
  if (s2 == 1) {
    for (int32_t a = 0; a < e0; a++)
      for (int32_t b = 0; b < e1; b++) {
        const f32 *src = in + (int64_t)a * s0 + (int64_t)b * s1;
        f32 *dst = out + ((int64_t)a * e1 + b) * e2;
        for (int32_t c = 0; c < e2; c++) dst[c] = src[c];
      }
    return;
  }
  if (s1 == 1) {
    /* input-innermost axis is output axis 1: tile axes 1 and 2, axis 0 outermost */
    for (int32_t a = 0; a < e0; a++) {
      const f32 *ia = in + (int64_t)a * s0;
      f32 *oa = out + (int64_t)a * e1 * e2;
      for (int32_t b0 = 0; b0 < e1; b0 += TILE) {
        int32_t b1 = b0 + TILE < e1 ? b0 + TILE : e1;
        for (int32_t c0 = 0; c0 < e2; c0 += TILE) {
          int32_t c1 = c0 + TILE < e2 ? c0 + TILE : e2;
          for (int32_t b = b0; b < b1; b++)
            for (int32_t c = c0; c < c1; c++) oa[(int64_t)b * e2 + c] = ia[b + (int64_t)c * s2];
        }
      }
    }
    return;
  }
  /* input-innermost axis is output axis 0 (s0 == 1): tile axes 0 and 2, axis 1 outermost */
  for (int32_t b = 0; b < e1; b++) {
    const f32 *ib = in + (int64_t)b * s1;
    f32 *ob = out + (int64_t)b * e2;
    for (int32_t a0 = 0; a0 < e0; a0 += TILE) {
      int32_t a1 = a0 + TILE < e0 ? a0 + TILE : e0;
      for (int32_t c0 = 0; c0 < e2; c0 += TILE) {
        int32_t c1 = c0 + TILE < e2 ? c0 + TILE : e2;
        for (int32_t a = a0; a < a1; a++)
          for (int32_t c = c0; c < c1; c++) ob[(int64_t)a * e1 * e2 + c] = ib[a + (int64_t)c * s2];
      }
    }
  }
}

/*
 * The nine shifted copies of a 3×3 'same' convolution's input, as one im2col matrix: in is
 * [planes, h, w] (planes = channels × batch, in [c, n, h, w] layout), out is [9, planes, h, w]
 * with out[t][p][i][j] = in[p][i + t/3 − 1][j + t%3 − 1], zero outside the plane. Viewed as
 * [9·c, n·h·w] it is the first operand of the filter gradient's single GEMM (src/models/ops.ts).
 */
__attribute__((export_name("im2col3x3"))) void im2col3x3(const f32 *restrict in, f32 *restrict out, int32_t planes,
                                                         int32_t h, int32_t w) {
  const int64_t plane = (int64_t)h * w;
  for (int32_t t = 0; t < 9; t++) {
    const int32_t dh = t / 3 - 1, dw = t % 3 - 1;
    const int32_t j0 = dw < 0 ? -dw : 0, j1 = dw > 0 ? w - dw : w;
    for (int32_t p = 0; p < planes; p++) {
      const f32 *ip = in + (int64_t)p * plane;
      f32 *op = out + ((int64_t)t * planes + p) * plane;
      for (int32_t i = 0; i < h; i++) {
        f32 *orow = op + (int64_t)i * w;
        const int32_t si = i + dh;
        if (si < 0 || si >= h) {
          for (int32_t j = 0; j < w; j++) orow[j] = 0.0f;
          continue;
        }
        const f32 *irow = ip + (int64_t)si * w + dw;
        for (int32_t j = 0; j < j0; j++) orow[j] = 0.0f;
        for (int32_t j = j0; j < j1; j++) orow[j] = irow[j];
        for (int32_t j = j1; j < w; j++) orow[j] = 0.0f;
      }
    }
  }
}

/*
 * Gradient of 2×2 max pooling, stride 2, 'valid', NHWC: dx is zero except at the first
 * maximum of each window (scan order (0,0), (0,1), (1,0), (1,1), strict >, as tfjs's
 * MaxPoolGrad), which receives that window's dy. x [n, h, w, c], dy [n, h/2, w/2, c].
 */
__attribute__((export_name("maxpool2_grad"))) void maxpool2_grad(const f32 *restrict x, const f32 *restrict dy,
                                                                 f32 *restrict dx, int32_t n, int32_t h,
                                                                 int32_t w, int32_t c) {
  const int32_t ph = h / 2, pw = w / 2;
  const int64_t total = (int64_t)n * h * w * c;
  for (int64_t i = 0; i < total; i++) dx[i] = 0.0f;
  for (int32_t b = 0; b < n; b++)
    for (int32_t i = 0; i < ph; i++)
      for (int32_t j = 0; j < pw; j++) {
        const int64_t p00 = (((int64_t)b * h + 2 * i) * w + 2 * j) * c;
        const int64_t p01 = p00 + c, p10 = p00 + (int64_t)w * c, p11 = p10 + c;
        const f32 *g = dy + (((int64_t)b * ph + i) * pw + j) * c;
        for (int32_t k = 0; k < c; k++) {
          int64_t best = p00 + k;
          f32 m = x[best];
          if (x[p01 + k] > m) { best = p01 + k; m = x[best]; }
          if (x[p10 + k] > m) { best = p10 + k; m = x[best]; }
          if (x[p11 + k] > m) { best = p11 + k; }
          dx[best] = g[k];
        }
      }
}

/*
 * Column sums of a [rows, cols] matrix (the bias gradient of a dense or conv layer),
 * accumulated in float64 in acc[cols] (scratch) and rounded once into out[cols].
 */
__attribute__((export_name("column_sums"))) void column_sums(const f32 *restrict m, double *restrict acc,
                                                             f32 *restrict out, int32_t rows, int32_t cols) {
  for (int32_t j = 0; j < cols; j++) acc[j] = 0.0;
  for (int32_t i = 0; i < rows; i++) {
    const f32 *r = m + (int64_t)i * cols;
    for (int32_t j = 0; j < cols; j++) acc[j] += (double)r[j];
  }
  for (int32_t j = 0; j < cols; j++) out[j] = (f32)acc[j];
}
