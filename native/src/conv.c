/*
 * 2-D convolution, NHWC, any kernel size, stride, padding and dilation, as im2col + OpenBLAS
 * SGEMM, a few images at a time (the column buffer stays a few MB). Shapes follow tfjs's
 * Conv2DInfo: x [n, h, w, ci], filter [kh, kw, ci, co] (read as a [kh·kw·ci, co] matrix),
 * out/dy [n, oh, ow, co]; pad_t / pad_l are the top/left padding in pixels.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gemm.h"
#include "parallel.h"

/* Images per chunk so that a chunk's column matrix holds about 2^20 floats (at least one image). */
static int64_t chunk_images(const conv_shape *s) {
  const int64_t per = (int64_t)s->oh * s->ow * s->kh * s->kw * s->ci;
  int64_t k = per > 0 ? (1 << 20) / per : s->n;
  if (k < 1) k = 1;
  if (k > s->n) k = s->n;
  return k;
}

static int is_pointwise(const conv_shape *s) {
  return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pad_t == 0 && s->pad_l == 0 && s->oh == s->h &&
         s->ow == s->w;
}

/* cols [(oy, ox), (ky, kx, c)] of image i. A kernel row whose kw taps all fall inside the image
 * (dilation 1) is one contiguous copy of kw·ci floats. */
static void im2col_image(const conv_shape *s, const float *x, float *cols, int64_t i) {
  const int64_t K = (int64_t)s->kh * s->kw * s->ci;
  const int64_t span = (int64_t)s->kw * s->ci;
  const float *xi = x + i * (int64_t)s->h * s->w * s->ci;
  for (int oy = 0; oy < s->oh; oy++) {
    for (int ox = 0; ox < s->ow; ox++) {
      float *row = cols + ((int64_t)oy * s->ow + ox) * K;
      const int ix0 = ox * s->sw - s->pad_l;
      const int inside = s->dw == 1 && ix0 >= 0 && ix0 + s->kw <= s->w;
      for (int ky = 0; ky < s->kh; ky++) {
        const int iy = oy * s->sh - s->pad_t + ky * s->dh;
        float *dst = row + (int64_t)ky * span;
        if (iy < 0 || iy >= s->h) {
          memset(dst, 0, sizeof(float) * span);
        } else if (inside) {
          memcpy(dst, xi + ((int64_t)iy * s->w + ix0) * s->ci, sizeof(float) * span);
        } else {
          for (int kx = 0; kx < s->kw; kx++) {
            const int ix = ix0 + kx * s->dw;
            if (ix < 0 || ix >= s->w)
              memset(dst + (int64_t)kx * s->ci, 0, sizeof(float) * s->ci);
            else
              memcpy(dst + (int64_t)kx * s->ci, xi + ((int64_t)iy * s->w + ix) * s->ci, sizeof(float) * s->ci);
          }
        }
      }
    }
  }
}

/* dst[t] += src[t] for t < n */
static void add_to(float *restrict dst, const float *restrict src, int64_t n) {
  for (int64_t t = 0; t < n; t++) dst[t] += src[t];
}

/* dx[image i] += col2im(dcols of image i); each dx element sums its taps in (oy, ox, ky, kx) order. */
static void col2im_image(const conv_shape *s, const float *dcols, float *dx, int64_t i) {
  const int64_t K = (int64_t)s->kh * s->kw * s->ci;
  const int64_t span = (int64_t)s->kw * s->ci;
  float *xi = dx + i * (int64_t)s->h * s->w * s->ci;
  for (int oy = 0; oy < s->oh; oy++) {
    for (int ox = 0; ox < s->ow; ox++) {
      const float *row = dcols + ((int64_t)oy * s->ow + ox) * K;
      const int ix0 = ox * s->sw - s->pad_l;
      const int inside = s->dw == 1 && ix0 >= 0 && ix0 + s->kw <= s->w;
      for (int ky = 0; ky < s->kh; ky++) {
        const int iy = oy * s->sh - s->pad_t + ky * s->dh;
        if (iy < 0 || iy >= s->h) continue;
        if (inside) {
          add_to(xi + ((int64_t)iy * s->w + ix0) * s->ci, row + (int64_t)ky * span, span);
          continue;
        }
        for (int kx = 0; kx < s->kw; kx++) {
          const int ix = ix0 + kx * s->dw;
          if (ix < 0 || ix >= s->w) continue;
          add_to(xi + ((int64_t)iy * s->w + ix) * s->ci, row + (int64_t)ky * span + (int64_t)kx * s->ci, s->ci);
        }
      }
    }
  }
}

/* im2col / col2im of images [i0, i0 + cnt) on the shape's threads, one image per block. */
typedef struct {
  const conv_shape *s;
  const float *src;
  float *dst;
  int64_t i0;
  int back; /* 0: im2col(x = src) into cols = dst; 1: col2im(dcols = src) into dx = dst */
} layout_job;

static void layout_block(void *ctx, int b) {
  const layout_job *j = ctx;
  const int64_t per = (int64_t)j->s->oh * j->s->ow * j->s->kh * j->s->kw * j->s->ci;
  if (j->back)
    col2im_image(j->s, j->src + b * per, j->dst, j->i0 + b);
  else
    im2col_image(j->s, j->src, j->dst + b * per, j->i0 + b);
}

static void im2col(const conv_shape *s, const float *x, float *cols, int64_t i0, int64_t cnt) {
  layout_job j = {s, x, cols, i0, 0};
  parallel_blocks(s->threads, (int)cnt, layout_block, &j);
}

static void col2im(const conv_shape *s, const float *dcols, float *dx, int64_t i0, int64_t cnt) {
  layout_job j = {s, dcols, dx, i0, 1};
  parallel_blocks(s->threads, (int)cnt, layout_block, &j);
}

/* out[r][c] = act(out[r][c] + bias[c]); act 1 = ReLU, 0 = identity; bias may be NULL. */
void bias_act_rows(float *out, const float *bias, int64_t rows, int32_t cols, int32_t relu) {
  if (!bias && !relu) return;
  for (int64_t r = 0; r < rows; r++) {
    float *o = out + r * cols;
    if (bias)
      for (int32_t c = 0; c < cols; c++) o[c] += bias[c];
    if (relu)
      for (int32_t c = 0; c < cols; c++) o[c] = o[c] > 0.0f ? o[c] : 0.0f;
  }
}

int conv2d_forward(const conv_shape *s, const float *x, const float *f, const float *bias, float *out, int32_t relu) {
  const int64_t K = (int64_t)s->kh * s->kw * s->ci;
  const int64_t per = (int64_t)s->oh * s->ow;
  if (is_pointwise(s)) {
    gemm_rows(s->threads, 0, 0, (int)(s->n * per), s->co, (int)K, x, (int)K, f, s->co,
                0.0f, out, s->co);
  } else {
    const int64_t step = chunk_images(s);
    float *cols = malloc(sizeof(float) * step * per * K);
    if (!cols) return -1;
    for (int64_t i0 = 0; i0 < s->n; i0 += step) {
      const int64_t cnt = s->n - i0 < step ? s->n - i0 : step;
      im2col(s, x, cols, i0, cnt);
      gemm_rows(s->threads, 0, 0, (int)(cnt * per), s->co, (int)K, cols, (int)K, f,
                  s->co, 0.0f, out + i0 * per * s->co, s->co);
    }
    free(cols);
  }
  bias_act_rows(out, bias, s->n * per, s->co, relu);
  return 0;
}

int conv2d_backprop_input(const conv_shape *s, const float *dy, const float *f, float *dx) {
  const int64_t K = (int64_t)s->kh * s->kw * s->ci;
  const int64_t per = (int64_t)s->oh * s->ow;
  if (is_pointwise(s)) {
    gemm_rows(s->threads, 0, 1, (int)(s->n * per), (int)K, s->co, dy, s->co, f, s->co,
                0.0f, dx, (int)K);
    return 0;
  }
  memset(dx, 0, sizeof(float) * s->n * (int64_t)s->h * s->w * s->ci);
  const int64_t step = chunk_images(s);
  float *dcols = malloc(sizeof(float) * step * per * K);
  if (!dcols) return -1;
  for (int64_t i0 = 0; i0 < s->n; i0 += step) {
    const int64_t cnt = s->n - i0 < step ? s->n - i0 : step;
    gemm_rows(s->threads, 0, 1, (int)(cnt * per), (int)K, s->co, dy + i0 * per * s->co,
                s->co, f, s->co, 0.0f, dcols, (int)K);
    col2im(s, dcols, dx, i0, cnt);
  }
  free(dcols);
  return 0;
}

int conv2d_backprop_filter(const conv_shape *s, const float *x, const float *dy, float *df) {
  const int64_t K = (int64_t)s->kh * s->kw * s->ci;
  const int64_t per = (int64_t)s->oh * s->ow;
  if (is_pointwise(s)) {
    gemm_rows(s->threads, 1, 0, (int)K, s->co, (int)(s->n * per), x, (int)K, dy, s->co,
                0.0f, df, s->co);
    return 0;
  }
  const int64_t step = chunk_images(s);
  float *cols = malloc(sizeof(float) * step * per * K);
  if (!cols) return -1;
  for (int64_t i0 = 0; i0 < s->n; i0 += step) {
    const int64_t cnt = s->n - i0 < step ? s->n - i0 : step;
    im2col(s, x, cols, i0, cnt);
    gemm_rows(s->threads, 1, 0, (int)K, s->co, (int)(cnt * per), cols, (int)K,
                dy + i0 * per * s->co, s->co, i0 == 0 ? 0.0f : 1.0f, df, s->co);
  }
  free(cols);
  return 0;
}

/* 2×2 max pooling, stride 2, 'valid', NHWC: out [n, h/2, w/2, c]. NaN-free inputs assumed (as tfjs's cpu kernel). */
void maxpool2(const float *x, float *out, int32_t n, int32_t h, int32_t w, int32_t c) {
  const int32_t ph = h / 2, pw = w / 2;
  for (int64_t b = 0; b < n; b++)
    for (int32_t i = 0; i < ph; i++)
      for (int32_t j = 0; j < pw; j++) {
        const float *p00 = x + ((b * h + 2 * i) * (int64_t)w + 2 * j) * c;
        const float *p01 = p00 + c, *p10 = p00 + (int64_t)w * c, *p11 = p10 + c;
        float *o = out + ((b * ph + i) * (int64_t)pw + j) * c;
        for (int32_t k = 0; k < c; k++) {
          float m = p00[k];
          if (p01[k] > m) m = p01[k];
          if (p10[k] > m) m = p10[k];
          if (p11[k] > m) m = p11[k];
          o[k] = m;
        }
      }
}

/* Global average pooling, NHWC: out[b, k] = Σ_p x[b, p, k] / hw over the hw positions p (float64 sums). */
int global_avg_pool(const float *x, float *out, int32_t n, int32_t hw, int32_t c) {
  double *acc = malloc(sizeof(double) * (size_t)(c > 0 ? c : 1));
  if (!acc) return -1;
  for (int64_t b = 0; b < n; b++) {
    for (int32_t k = 0; k < c; k++) acc[k] = 0.0;
    for (int64_t p = 0; p < hw; p++) {
      const float *xp = x + (b * hw + p) * c;
      for (int32_t k = 0; k < c; k++) acc[k] += (double)xp[k];
    }
    for (int32_t k = 0; k < c; k++) out[b * c + k] = (float)(acc[k] / (double)hw);
  }
  free(acc);
  return 0;
}

/* Its gradient: dx[b, p, k] = dy[b, k] / hw. */
void global_avg_pool_grad(const float *dy, float *dx, int32_t n, int32_t hw, int32_t c) {
  const float inv = (float)(1.0 / (double)hw);
  for (int64_t b = 0; b < n; b++)
    for (int64_t p = 0; p < hw; p++)
      for (int32_t k = 0; k < c; k++) dx[(b * hw + p) * c + k] = dy[b * c + k] * inv;
}
