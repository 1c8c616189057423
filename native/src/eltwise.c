/*
 * Elementwise passes over n floats, in blocks fixed by n (each element is computed alone, so
 * the thread count never changes a bit): ReLU, its gradient, and the sum of a few same-shape
 * tensors (a residual add, tfjs's gradient accumulation); and the ReLU gradient of a layer
 * with its bias gradient (column sums).
 */
#include "eltwise.h"

#include <immintrin.h>
#include <string.h>

#include "parallel.h"

#define MAX_BLOCKS 16
#define MAX_TERMS 16

typedef struct {
  const float *x[MAX_TERMS];
  int terms;
  float *out;
  int64_t n;
  int blocks;
  int op;
} elt_job;

enum { OP_RELU, OP_RELU_GRAD, OP_ADD };

static void relu_range(const float *restrict x, float *restrict out, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* dy·step(y), as tfjs's ReLU gradient (signed zeros included). Written with AVX intrinsics: as a
 * plain loop gcc turns dy·1 / dy·0 into a branch per element, which mispredicts on ReLU masks. */
static void relu_grad_range(const float *restrict dy, const float *restrict y, float *restrict out, int64_t i0,
                            int64_t i1) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 step = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ), one);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), step));
  }
  for (; i < i1; i++) out[i] = dy[i] * (y[i] > 0.0f ? 1.0f : 0.0f);
}

static void add_range(const float *restrict a, const float *restrict b, float *restrict out, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

static void acc_range(float *restrict out, const float *restrict x, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) out[i] += x[i];
}

static void elt_block(void *ctx, int b) {
  const elt_job *j = ctx;
  const int64_t i0 = j->n * b / j->blocks, i1 = j->n * (b + 1) / j->blocks;
  if (j->op == OP_RELU) {
    relu_range(j->x[0], j->out, i0, i1);
  } else if (j->op == OP_RELU_GRAD) {
    relu_grad_range(j->x[0], j->x[1], j->out, i0, i1);
  } else {
    add_range(j->x[0], j->x[1], j->out, i0, i1);
    for (int t = 2; t < j->terms; t++) acc_range(j->out, j->x[t], i0, i1);
  }
}

static void run(elt_job *j, int threads) {
  j->blocks = row_blocks(j->n, 1, MAX_BLOCKS);
  parallel_blocks(threads, j->blocks, elt_block, j);
}

void relu_fwd(const float *x, float *out, int64_t n, int threads) {
  elt_job j = {.x = {x}, .terms = 1, .out = out, .n = n, .op = OP_RELU};
  run(&j, threads);
}

void relu_grad(const float *dy, const float *y, float *dx, int64_t n, int threads) {
  elt_job j = {.x = {dy, y}, .terms = 2, .out = dx, .n = n, .op = OP_RELU_GRAD};
  run(&j, threads);
}

int add_n(const float *const *xs, int terms, float *out, int64_t n, int threads) {
  if (terms < 2 || terms > MAX_TERMS) return -1;
  elt_job j = {.terms = terms, .out = out, .n = n, .op = OP_ADD};
  for (int t = 0; t < terms; t++) j.x[t] = xs[t];
  run(&j, threads);
  return 0;
}

/* The bits of src/kernels/dense.c's act_grad_cols (dz = dy·step(a) or dy; db[c] = Σ_r dz[r, c]
 * summed in float64 in row order, then rounded), vectorized: the scalar loop's dy·1 / dy·0 is a
 * mispredicted branch per element on a ReLU mask (48 ms for Conv-2's 47 040 × 64 gradient). */
void act_grad_cols_avx(const float *restrict dy, const float *restrict a, float *restrict dz, double *restrict acc,
                       float *restrict db, int32_t rows, int32_t cols, int32_t relu) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  for (int32_t c = 0; c < cols; c++) acc[c] = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * cols, *ar = a + r * cols;
    float *dzr = dz + r * cols;
    int32_t c = 0;
    for (; c + 8 <= cols; c += 8) {
      __m256 g = _mm256_loadu_ps(dyr + c);
      if (relu) g = _mm256_mul_ps(g, _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(ar + c), zero, _CMP_GT_OQ), one));
      _mm256_storeu_ps(dzr + c, g);
      _mm256_storeu_pd(acc + c, _mm256_add_pd(_mm256_loadu_pd(acc + c), _mm256_cvtps_pd(_mm256_castps256_ps128(g))));
      _mm256_storeu_pd(acc + c + 4, _mm256_add_pd(_mm256_loadu_pd(acc + c + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1))));
    }
    for (; c < cols; c++) {
      const float g = relu ? dyr[c] * (ar[c] > 0.0f ? 1.0f : 0.0f) : dyr[c];
      dzr[c] = g;
      acc[c] += (double)g;
    }
  }
  for (int32_t c = 0; c < cols; c++) db[c] = (float)acc[c];
}

/* The bits of src/kernels/layout.c's maxpool2_grad (2×2, stride 2, 'valid', NHWC: each window's
 * gradient goes to its first maximum in the order (0,0), (0,1), (1,0), (1,1), zeros elsewhere),
 * 8 channels at a time with blends instead of the scalar loop's mispredicted branches. Rows and
 * columns the windows do not cover (odd h or w) are zero. */
void maxpool2_grad_avx(const float *restrict x, const float *restrict dy, float *restrict dx, int32_t n, int32_t h,
                       int32_t w, int32_t c) {
  const int32_t ph = h / 2, pw = w / 2;
  if (ph * 2 != h || pw * 2 != w) memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t b = 0; b < n; b++)
    for (int32_t i = 0; i < ph; i++)
      for (int32_t j = 0; j < pw; j++) {
        const int64_t p00 = ((b * h + 2 * i) * (int64_t)w + 2 * j) * c;
        const int64_t p01 = p00 + c, p10 = p00 + (int64_t)w * c, p11 = p10 + c;
        const float *g = dy + ((b * ph + i) * (int64_t)pw + j) * c;
        int32_t k = 0;
        for (; k + 8 <= c; k += 8) {
          const __m256 x00 = _mm256_loadu_ps(x + p00 + k), x01 = _mm256_loadu_ps(x + p01 + k);
          const __m256 x10 = _mm256_loadu_ps(x + p10 + k), x11 = _mm256_loadu_ps(x + p11 + k);
          /* which window entry is the (first) maximum: s01, s10, s11 as lane masks, none = (0,0) */
          const __m256 c01 = _mm256_cmp_ps(x01, x00, _CMP_GT_OQ);
          __m256 m = _mm256_blendv_ps(x00, x01, c01);
          const __m256 c10 = _mm256_cmp_ps(x10, m, _CMP_GT_OQ);
          m = _mm256_blendv_ps(m, x10, c10);
          const __m256 c11 = _mm256_cmp_ps(x11, m, _CMP_GT_OQ);
          const __m256 s11 = c11, s10 = _mm256_andnot_ps(c11, c10);
          const __m256 s01 = _mm256_andnot_ps(_mm256_or_ps(c11, c10), c01);
          const __m256 s00 = _mm256_andnot_ps(_mm256_or_ps(_mm256_or_ps(c11, c10), c01), _mm256_castsi256_ps(_mm256_set1_epi32(-1)));
          const __m256 gv = _mm256_loadu_ps(g + k);
          _mm256_storeu_ps(dx + p00 + k, _mm256_blendv_ps(zero, gv, s00));
          _mm256_storeu_ps(dx + p01 + k, _mm256_blendv_ps(zero, gv, s01));
          _mm256_storeu_ps(dx + p10 + k, _mm256_blendv_ps(zero, gv, s10));
          _mm256_storeu_ps(dx + p11 + k, _mm256_blendv_ps(zero, gv, s11));
        }
        for (; k < c; k++) {
          int64_t best = p00 + k;
          float m = x[best];
          if (x[p01 + k] > m) { best = p01 + k; m = x[best]; }
          if (x[p10 + k] > m) { best = p10 + k; m = x[best]; }
          if (x[p11 + k] > m) best = p11 + k;
          dx[p00 + k] = dx[p01 + k] = dx[p10 + k] = dx[p11 + k] = 0.0f;
          dx[best] = g[k];
        }
      }
}
