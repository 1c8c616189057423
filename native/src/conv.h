#ifndef LTH_CONV_H
#define LTH_CONV_H
#include <stdint.h>

/* A 2-D convolution's geometry (tfjs Conv2DInfo, NHWC), and the threads to run it on. */
typedef struct {
  int32_t n, h, w, ci, kh, kw, co, oh, ow, sh, sw, dh, dw, pad_t, pad_l;
  int32_t threads; /* for gemm_rows */
  int32_t onednn;  /* 1: oneDNN's direct kernels where it has them (onednn.h); 0: im2col only */
} conv_shape;

void bias_act_rows(float *out, const float *bias, int64_t rows, int32_t cols, int32_t relu);
int conv2d_forward(const conv_shape *s, const float *x, const float *f, const float *bias, float *out, int32_t relu);
int conv2d_backprop_input(const conv_shape *s, const float *dy, const float *f, float *dx);
int conv2d_backprop_filter(const conv_shape *s, const float *x, const float *dy, float *df);
void maxpool2(const float *x, float *out, int32_t n, int32_t h, int32_t w, int32_t c);
int global_avg_pool(const float *x, float *out, int32_t n, int32_t hw, int32_t c);
void global_avg_pool_grad(const float *dy, float *dx, int32_t n, int32_t hw, int32_t c);
#endif
