#ifndef LTH_ELTWISE_H
#define LTH_ELTWISE_H
#include <stdint.h>
/* Elementwise passes (eltwise.c). */
void relu_fwd(const float *x, float *out, int64_t n, int threads);
/* dx = dy·step(y) */
void relu_grad(const float *dy, const float *y, float *dx, int64_t n, int threads);
/* out = xs[0] + xs[1] + … (2 ≤ terms ≤ 16, summed in that order); -1 for another count */
int add_n(const float *const *xs, int terms, float *out, int64_t n, int threads);
#endif
