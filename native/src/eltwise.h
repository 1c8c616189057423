#ifndef LTH_ELTWISE_H
#define LTH_ELTWISE_H
#include <stdint.h>
/* Elementwise passes (eltwise.c). */
void relu_fwd(const float *x, float *out, int64_t n, int threads);
/* dx = dy·step(y) */
void relu_grad(const float *dy, const float *y, float *dx, int64_t n, int threads);
/* out = xs[0] + xs[1] + … (2 ≤ terms ≤ 16, summed in that order); -1 for another count */
int add_n(const float *const *xs, int terms, float *out, int64_t n, int threads);
/* dz = dy·step(a) (relu) or dy, db = its column sums (float64, row order): dense.c's act_grad_cols, vectorized, same bits */
void act_grad_cols_avx(const float *dy, const float *a, float *dz, double *acc, float *db, int32_t rows, int32_t cols,
                       int32_t relu);
/* the gradient of 2×2/2 'valid' max pooling (NHWC): layout.c's maxpool2_grad, vectorized, same bits */
void maxpool2_grad_avx(const float *x, const float *dy, float *dx, int32_t n, int32_t h, int32_t w, int32_t c);
#endif
