/*
 * Elementwise passes over n floats, in blocks fixed by n (each element is computed alone, so
 * the thread count never changes a bit): ReLU, its gradient, and the sum of a few same-shape
 * tensors (a residual add, tfjs's gradient accumulation).
 */
#include "eltwise.h"

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

static void elt_block(void *ctx, int b) {
  const elt_job *j = ctx;
  const int64_t i0 = j->n * b / j->blocks, i1 = j->n * (b + 1) / j->blocks;
  float *out = j->out;
  if (j->op == OP_RELU) {
    const float *x = j->x[0];
    for (int64_t i = i0; i < i1; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
  } else if (j->op == OP_RELU_GRAD) {
    /* dy·step(y), as tfjs's ReLU gradient (signed zeros included) */
    const float *dy = j->x[0], *y = j->x[1];
    for (int64_t i = i0; i < i1; i++) out[i] = dy[i] * (y[i] > 0.0f ? 1.0f : 0.0f);
  } else {
    const float *a = j->x[0], *c = j->x[1];
    for (int64_t i = i0; i < i1; i++) out[i] = a[i] + c[i];
    for (int t = 2; t < j->terms; t++) {
      const float *x = j->x[t];
      for (int64_t i = i0; i < i1; i++) out[i] += x[i];
    }
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
