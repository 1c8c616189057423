#ifndef LTH_BATCHNORM_H
#define LTH_BATCHNORM_H
#include <stdint.h>
/* Batch normalization over the last axis of x [rows, c] (batchnorm.c). Return -1 when out of memory. */
int bn_moments(const float *x, float *mean, float *var, int64_t rows, int32_t c, int threads);
int bn_apply(const float *x, const float *mean, const float *var, const float *gamma, const float *beta, float eps,
             float *out, int64_t rows, int32_t c, int threads);
int bn_grad(const float *dy, const float *x, const float *gamma, const float *mean, const float *var, float eps,
            float *dx, float *dgamma, float *dbeta, int64_t rows, int32_t c, int threads);
#endif
