/*
 * Elementwise passes over n floats, in blocks fixed by n (each element is computed alone, so
 * the thread count never changes a bit): ReLU, its gradient, and the sum of a few same-shape
 * tensors (a residual add, tfjs's gradient accumulation).
 */
#include "eltwise.h"

#include <immintrin.h>

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
