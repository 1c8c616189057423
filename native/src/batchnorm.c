/*
 * Batch normalization over the last axis of x [rows, c] (NHWC: rows = n·h·w, c channels;
 * Ioffe & Szegedy 2015, Alg. 1 and its gradient, §3): the batch moments, the normalization
 * y = (x − μ)·γ/√(σ² + ε) + β, and the gradient of y w.r.t. x, γ and β when μ, σ² are the
 * batch's own moments. Sums over rows are float64, per block of rows fixed by the shape
 * (row_blocks), added in block order: the bits do not depend on the thread count.
 */
#include "batchnorm.h"

#include <math.h>
#include <stdlib.h>

#include "parallel.h"

#define MAX_BLOCKS 16

typedef struct {
  const float *x, *dy, *mean;
  const float *k, *beta;   /* apply: per-channel scale and β */
  const float *a, *b, *cc; /* grad: dx = a·(dy − b − (x − μ)·cc) */
  float *out;
  double *acc, *acc2; /* [blocks, c] partial sums */
  int64_t rows;
  int32_t c;
  int blocks;
} bn_job;

static void block_rows(const bn_job *j, int b, int64_t *r0, int64_t *r1) {
  *r0 = j->rows * b / j->blocks;
  *r1 = j->rows * (b + 1) / j->blocks;
}

/* acc[k] += Σ x[r, k] over rows [r0, r1) */
static void sum_rows(const float *restrict x, double *restrict acc, int64_t r0, int64_t r1, int32_t c) {
  for (int64_t r = r0; r < r1; r++)
    for (int32_t k = 0; k < c; k++) acc[k] += (double)x[r * c + k];
}

/* acc[k] += Σ (x[r, k] − mean[k])² over rows [r0, r1) */
static void sum_sq_rows(const float *restrict x, const float *restrict mean, double *restrict acc, int64_t r0, int64_t r1,
                        int32_t c) {
  for (int64_t r = r0; r < r1; r++)
    for (int32_t k = 0; k < c; k++) {
      const double d = (double)x[r * c + k] - (double)mean[k];
      acc[k] += d * d;
    }
}

/* acc[b] = Σ x over the block's rows (mean == NULL), or Σ (x − μ)² */
static void sum_block(void *ctx, int b) {
  const bn_job *j = ctx;
  int64_t r0, r1;
  block_rows(j, b, &r0, &r1);
  double *acc = j->acc + (int64_t)b * j->c;
  for (int32_t k = 0; k < j->c; k++) acc[k] = 0.0;
  if (j->mean)
    sum_sq_rows(j->x, j->mean, acc, r0, r1, j->c);
  else
    sum_rows(j->x, acc, r0, r1, j->c);
}

/* Σ over blocks, in block order, divided by rows. */
static void reduce(const bn_job *j, const double *acc, double *out) {
  for (int32_t k = 0; k < j->c; k++) out[k] = 0.0;
  for (int b = 0; b < j->blocks; b++)
    for (int32_t k = 0; k < j->c; k++) out[k] += acc[(int64_t)b * j->c + k];
}

int bn_moments(const float *x, float *mean, float *var, int64_t rows, int32_t c, int threads) {
  bn_job j = {.x = x, .rows = rows, .c = c, .blocks = row_blocks(rows, c, MAX_BLOCKS)};
  j.acc = malloc(sizeof(double) * ((size_t)j.blocks + 1) * (size_t)c);
  if (!j.acc) return -1;
  double *tot = j.acc + (int64_t)j.blocks * c;
  parallel_blocks(threads, j.blocks, sum_block, &j);
  reduce(&j, j.acc, tot);
  for (int32_t k = 0; k < c; k++) mean[k] = (float)(tot[k] / (double)rows);
  j.mean = mean;
  parallel_blocks(threads, j.blocks, sum_block, &j);
  reduce(&j, j.acc, tot);
  for (int32_t k = 0; k < c; k++) var[k] = (float)(tot[k] / (double)rows);
  free(j.acc);
  return 0;
}

/* y = (x − mean)·k + beta over rows [r0, r1) */
static void apply_rows(const float *restrict x, const float *restrict mean, const float *restrict k,
                       const float *restrict beta, float *restrict y, int64_t r0, int64_t r1, int32_t c) {
  for (int64_t r = r0; r < r1; r++)
    for (int32_t i = 0; i < c; i++) y[r * c + i] = (x[r * c + i] - mean[i]) * k[i] + beta[i];
}

static void apply_block(void *ctx, int b) {
  const bn_job *j = ctx;
  int64_t r0, r1;
  block_rows(j, b, &r0, &r1);
  apply_rows(j->x, j->mean, j->k, j->beta, j->out, r0, r1, j->c);
}

int bn_apply(const float *x, const float *mean, const float *var, const float *gamma, const float *beta, float eps,
             float *out, int64_t rows, int32_t c, int threads) {
  float *k = malloc(sizeof(float) * (size_t)(c > 0 ? c : 1));
  if (!k) return -1;
  for (int32_t i = 0; i < c; i++) k[i] = (float)((double)gamma[i] / sqrt((double)var[i] + (double)eps));
  bn_job j = {.x = x, .mean = mean, .k = k, .beta = beta, .out = out, .rows = rows, .c = c,
              .blocks = row_blocks(rows, c, MAX_BLOCKS)};
  parallel_blocks(threads, j.blocks, apply_block, &j);
  free(k);
  return 0;
}

/* s[k] += Σ dy, s2[k] += Σ dy·(x − mean) over rows [r0, r1) */
static void grad_sum_rows(const float *restrict dy, const float *restrict x, const float *restrict mean,
                          double *restrict s, double *restrict s2, int64_t r0, int64_t r1, int32_t c) {
  for (int64_t r = r0; r < r1; r++)
    for (int32_t k = 0; k < c; k++) {
      const double g = (double)dy[r * c + k];
      s[k] += g;
      s2[k] += g * ((double)x[r * c + k] - (double)mean[k]);
    }
}

/* acc[b] = Σ dy, acc2[b] = Σ dy·(x − μ) over the block's rows */
static void grad_sum_block(void *ctx, int b) {
  const bn_job *j = ctx;
  int64_t r0, r1;
  block_rows(j, b, &r0, &r1);
  double *s = j->acc + (int64_t)b * j->c, *s2 = j->acc2 + (int64_t)b * j->c;
  for (int32_t k = 0; k < j->c; k++) s[k] = s2[k] = 0.0;
  grad_sum_rows(j->dy, j->x, j->mean, s, s2, r0, r1, j->c);
}

/* dx = a·(dy − b − (x − mean)·cc) over rows [r0, r1) */
static void grad_apply_rows(const float *restrict dy, const float *restrict x, const float *restrict mean,
                            const float *restrict a, const float *restrict b, const float *restrict cc,
                            float *restrict dx, int64_t r0, int64_t r1, int32_t c) {
  for (int64_t r = r0; r < r1; r++)
    for (int32_t k = 0; k < c; k++) dx[r * c + k] = a[k] * (dy[r * c + k] - b[k] - (x[r * c + k] - mean[k]) * cc[k]);
}

static void grad_apply_block(void *ctx, int b) {
  const bn_job *j = ctx;
  int64_t r0, r1;
  block_rows(j, b, &r0, &r1);
  grad_apply_rows(j->dy, j->x, j->mean, j->a, j->b, j->cc, j->out, r0, r1, j->c);
}

int bn_grad(const float *dy, const float *x, const float *gamma, const float *mean, const float *var, float eps,
            float *dx, float *dgamma, float *dbeta, int64_t rows, int32_t c, int threads) {
  bn_job j = {.x = x, .dy = dy, .mean = mean, .out = dx, .rows = rows, .c = c,
              .blocks = row_blocks(rows, c, MAX_BLOCKS)};
  const size_t per = (size_t)(c > 0 ? c : 1);
  j.acc = malloc(sizeof(double) * (2 * (size_t)j.blocks + 2) * per);
  float *abc = malloc(sizeof(float) * 3 * per);
  if (!j.acc || !abc) {
    free(j.acc);
    free(abc);
    return -1;
  }
  j.acc2 = j.acc + (size_t)j.blocks * per;
  double *sum = j.acc2 + (size_t)j.blocks * per, *sum2 = sum + per;
  parallel_blocks(threads, j.blocks, grad_sum_block, &j);
  reduce(&j, j.acc, sum);
  reduce(&j, j.acc2, sum2);
  float *a = abc, *b = abc + per, *cc = abc + 2 * per;
  for (int32_t k = 0; k < c; k++) {
    const double is = 1.0 / sqrt((double)var[k] + (double)eps);
    dbeta[k] = (float)sum[k];
    dgamma[k] = (float)(sum2[k] * is);
    a[k] = (float)((double)gamma[k] * is);
    b[k] = (float)(sum[k] / (double)rows);
    cc[k] = (float)(sum2[k] * is * is / (double)rows);
  }
  j.a = a;
  j.b = b;
  j.cc = cc;
  parallel_blocks(threads, j.blocks, grad_apply_block, &j);
  free(j.acc);
  free(abc);
  return 0;
}
