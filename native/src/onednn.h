#ifndef LTH_ONEDNN_H
#define LTH_ONEDNN_H
#include "conv.h"

/*
 * 2-D convolutions on oneDNN's direct AVX2 kernels (jit:avx2, jit_1x1:avx2), NHWC activations
 * and tfjs's HWIO filters read and written in place (docs/PERFORMANCE.md, "oneDNN
 * convolutions"). Each returns 0 when oneDNN did the work, 1 when the caller must use the
 * im2col path (oneDNN has no direct AVX2 kernel for the shape, e.g. dilation, or im2col is the
 * faster or the safer one there: see run() in onednn.c), -1 on out of memory or a oneDNN
 * error. Which of 0 and 1 depends on the shape only. The batch is cut into chunks fixed by the shape; s->threads only decides who runs which
 * chunk, and oneDNN itself always runs single-threaded, so the bits do not depend on it.
 */
int onednn_conv_forward(const conv_shape *s, const float *x, const float *f, const float *bias, float *out, int relu);
int onednn_conv_backprop_input(const conv_shape *s, const float *dy, const float *f, float *dx);
int onednn_conv_backprop_filter(const conv_shape *s, const float *x, const float *dy, float *df);

/* Pins oneDNN's instruction set to AVX2 (must run before the first primitive); 0 on success. */
int onednn_init(void);
/* "2.6.3" and the instruction set oneDNN's kernels run ("avx2"), for the backend's label. */
const char *onednn_version(void);
const char *onednn_isa(void);
#endif
