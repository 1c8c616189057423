/*
 * lth_native: N-API bindings for lth's native CPU kernels. Every kernel reads and writes the
 * Float32Arrays it is handed (the tfjs cpu backend's own tensor storage): no copies.
 * The JS side (src/kernels/native.ts) checks shapes; this file only checks types.
 */
#include <cblas.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "conv.h"
#include "eltwise.h"
#include "gemm.h"
#include "onednn.h"

/* The C sources in src/kernels, the sources of the wasm kernels, compiled natively. */
void masked_adam(const float *w, const float *g, const float *mask, float *m, float *v, const float *fixed, float *out,
                 int32_t n, float b1, float c1, float b2, float c2, float a, float eps);
void masked_adam_at(const int32_t *idx, int32_t nnz, const float *w, const float *g, float *m, float *v, float *out,
                    float b1, float c1, float b2, float c2, float a, float eps);
void transpose3(const float *in, float *out, int32_t e0, int32_t e1, int32_t e2, int32_t s0, int32_t s1, int32_t s2);
void im2col3x3(const float *in, float *out, int32_t planes, int32_t h, int32_t w);
void column_sums(const float *m, double *acc, float *out, int32_t rows, int32_t cols);
void bias_act(const float *z, const float *b, float *out, int32_t rows, int32_t cols, int32_t relu);
void bias_act_grad(const float *dy, const float *a, float *dz, float *db, int32_t rows, int32_t cols, int32_t relu);
void sparse_rows_matmul(const float *wt, const int32_t *row_ptr, const int32_t *col_idx, const float *xt, float *zt,
                        int32_t rows, int32_t cols, int32_t n);
void sparse_cols_matmul_t(const float *wt, const int32_t *col_ptr, const int32_t *row_idx, const float *dz, float *dxt,
                          int32_t rows, int32_t cols, int32_t n);
void sampled_matmul(const int32_t *row_ptr, const int32_t *col_idx, const float *dz, const float *xt, float *dwt,
                    int32_t rows, int32_t cols, int32_t n);

#define MAX_ARGS 16
typedef struct {
  napi_env env;
  size_t argc;
  napi_value argv[MAX_ARGS];
  int failed;
} args_t;

static void fail(args_t *a, const char *msg) {
  if (!a->failed) napi_throw_type_error(a->env, NULL, msg);
  a->failed = 1;
}

static args_t get_args(napi_env env, napi_callback_info info, size_t want) {
  args_t a = {env, MAX_ARGS, {0}, 0};
  napi_get_cb_info(env, info, &a.argc, a.argv, NULL, NULL);
  if (a.argc < want) fail(&a, "lth_native: too few arguments");
  return a;
}

/* Argument i as a float pointer: a Float32Array, or NULL for null/undefined when nullable. */
static float *f32(args_t *a, size_t i, int nullable) {
  if (a->failed) return NULL;
  napi_valuetype t;
  napi_typeof(a->env, a->argv[i], &t);
  if (nullable && (t == napi_null || t == napi_undefined)) return NULL;
  bool is;
  napi_is_typedarray(a->env, a->argv[i], &is);
  if (!is) {
    fail(a, "lth_native: expected a Float32Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t len;
  void *data;
  napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, NULL, NULL);
  if (type != napi_float32_array) {
    fail(a, "lth_native: expected a Float32Array");
    return NULL;
  }
  return (float *)data;
}

/* Argument i as an int32 pointer (an Int32Array), and its length in *len. */
static int32_t *i32s(args_t *a, size_t i, size_t *len) {
  if (a->failed) return NULL;
  bool is;
  napi_is_typedarray(a->env, a->argv[i], &is);
  napi_typedarray_type type = napi_float32_array;
  void *data = NULL;
  if (is) napi_get_typedarray_info(a->env, a->argv[i], &type, len, &data, NULL, NULL);
  if (!is || type != napi_int32_array) {
    fail(a, "lth_native: expected an Int32Array");
    return NULL;
  }
  return (int32_t *)data;
}

static double num(args_t *a, size_t i) {
  double d = 0;
  if (!a->failed && napi_get_value_double(a->env, a->argv[i], &d) != napi_ok) fail(a, "lth_native: expected a number");
  return d;
}
#define I32(a, i) ((int32_t)num(a, i))

static napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* gemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB, bias|null, relu, threads):
 * c[i] = act(op(a[i])·op(b[i]) + bias) row-major, i < batch, a[i] at a + i·strideA (0 = broadcast). */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 14);
  const float *A = f32(&a, 0, 0), *B = f32(&a, 1, 0);
  float *C = f32(&a, 2, 0);
  const int32_t batch = I32(&a, 3), m = I32(&a, 4), n = I32(&a, 5), k = I32(&a, 6);
  const int ta = I32(&a, 7), tb = I32(&a, 8);
  const int64_t sa = (int64_t)num(&a, 9), sb = (int64_t)num(&a, 10);
  const float *bias = f32(&a, 11, 1);
  const int32_t relu = I32(&a, 12), threads = I32(&a, 13);
  if (a.failed) return NULL;
  for (int32_t i = 0; i < batch; i++) {
    gemm_rows(threads, ta, tb, m, n, k, A + i * sa, ta ? m : k, B + i * sb, tb ? k : n, 0.0f, C + (int64_t)i * m * n, n);
  }
  bias_act_rows(C, bias, (int64_t)batch * m, n, relu);
  return undef(env);
}

/* Conv geometry, threads and the oneDNN switch from a JS array of 16 or 17 numbers (conv_shape's
 * field order; without the 17th, im2col only). */
static conv_shape shape_arg(args_t *a, size_t i) {
  conv_shape s = {0};
  int32_t *f = (int32_t *)&s;
  uint32_t len = 0;
  if (a->failed) return s;
  if (napi_get_array_length(a->env, a->argv[i], &len) != napi_ok || len < 16 || len > 17) {
    fail(a, "lth_native: bad conv shape");
    return s;
  }
  for (uint32_t j = 0; j < len; j++) {
    napi_value v;
    double d = 0;
    if (napi_get_element(a->env, a->argv[i], j, &v) != napi_ok || napi_get_value_double(a->env, v, &d) != napi_ok) {
      fail(a, "lth_native: bad conv shape");
      return s;
    }
    f[j] = (int32_t)d;
  }
  return s;
}

static napi_value conv_result(napi_env env, int rc) {
  if (rc != 0) napi_throw_error(env, NULL, "lth_native: out of memory for the convolution's column buffer");
  return undef(env);
}

/* The result of a convolution that may run on oneDNN: 1 when oneDNN ran it, 0 when im2col did. */
static napi_value engine_result(napi_env env, int onednn_rc, int im2col_rc) {
  if (onednn_rc < 0) {
    napi_throw_error(env, NULL, "lth_native: oneDNN failed on the convolution (out of memory?)");
    return NULL;
  }
  if (onednn_rc == 1 && im2col_rc != 0) return conv_result(env, im2col_rc);
  napi_value v;
  napi_get_boolean(env, onednn_rc == 0, &v);
  return v;
}

/* conv2dForward(x, filter, bias|null, out, shape, relu) → true when oneDNN ran it (shape[16] = 1 and
 * oneDNN has a direct kernel for the shape), false when im2col did */
static napi_value js_conv_fwd(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 6);
  const float *x = f32(&a, 0, 0), *f = f32(&a, 1, 0), *b = f32(&a, 2, 1);
  float *out = f32(&a, 3, 0);
  conv_shape s = shape_arg(&a, 4);
  int32_t relu = I32(&a, 5);
  if (a.failed) return NULL;
  const int o = s.onednn ? onednn_conv_forward(&s, x, f, b, out, relu) : 1;
  return engine_result(env, o, o == 1 ? conv2d_forward(&s, x, f, b, out, relu) : 0);
}

/* conv2dBackpropInput(dy, filter, dx, shape) → true when oneDNN ran it */
static napi_value js_conv_bwd_input(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 4);
  const float *dy = f32(&a, 0, 0), *f = f32(&a, 1, 0);
  float *dx = f32(&a, 2, 0);
  conv_shape s = shape_arg(&a, 3);
  if (a.failed) return NULL;
  const int o = s.onednn ? onednn_conv_backprop_input(&s, dy, f, dx) : 1;
  return engine_result(env, o, o == 1 ? conv2d_backprop_input(&s, dy, f, dx) : 0);
}

/* conv2dBackpropFilter(x, dy, dfilter, shape) → true when oneDNN ran it */
static napi_value js_conv_bwd_filter(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 4);
  const float *x = f32(&a, 0, 0), *dy = f32(&a, 1, 0);
  float *df = f32(&a, 2, 0);
  conv_shape s = shape_arg(&a, 3);
  if (a.failed) return NULL;
  const int o = s.onednn ? onednn_conv_backprop_filter(&s, x, dy, df) : 1;
  return engine_result(env, o, o == 1 ? conv2d_backprop_filter(&s, x, dy, df) : 0);
}

/* maskedAdam(w, g, mask|null, m, v, fixed|null, out, n, b1, c1, b2, c2, a, eps): src/kernels/adam.c */
static napi_value js_masked_adam(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 14);
  const float *w = f32(&a, 0, 0), *g = f32(&a, 1, 0), *mask = f32(&a, 2, 1), *fixed = f32(&a, 5, 1);
  float *m = f32(&a, 3, 0), *v = f32(&a, 4, 0), *out = f32(&a, 6, 0);
  int32_t n = I32(&a, 7);
  float b1 = (float)num(&a, 8), c1 = (float)num(&a, 9), b2 = (float)num(&a, 10), c2 = (float)num(&a, 11);
  float step = (float)num(&a, 12), eps = (float)num(&a, 13);
  if (a.failed) return NULL;
  masked_adam(w, g, mask, m, v, fixed, out, n, b1, c1, b2, c2, step, eps);
  return undef(env);
}

/* sparseMatMul(wt, ptr, idx, x, out, rows, cols, n, transposed): out = Wt·x (transposed 0, ptr/idx
 * the CSR lists: x [cols, n], out [rows, n]) or Wtᵀ·x (1, the CSC lists: x [rows, n], out [cols, n]). */
static napi_value js_sparse_matmul(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 9);
  size_t np, nc;
  const float *wt = f32(&a, 0, 0), *x = f32(&a, 3, 0);
  const int32_t *ptr = i32s(&a, 1, &np), *idx = i32s(&a, 2, &nc);
  float *out = f32(&a, 4, 0);
  int32_t rows = I32(&a, 5), cols = I32(&a, 6), n = I32(&a, 7), tr = I32(&a, 8);
  if (a.failed) return NULL;
  if (tr)
    sparse_cols_matmul_t(wt, ptr, idx, x, out, rows, cols, n);
  else
    sparse_rows_matmul(wt, ptr, idx, x, out, rows, cols, n);
  return undef(env);
}

/* sampledMatMul(rowPtr, colIdx, dz, xt, dwt, rows, cols, n): dwt[r, c] = dz[r, :]·xt[c, :] at kept (r, c). */
static napi_value js_sampled_matmul(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 8);
  size_t np, nc;
  const int32_t *rp = i32s(&a, 0, &np), *ci = i32s(&a, 1, &nc);
  const float *dz = f32(&a, 2, 0), *xt = f32(&a, 3, 0);
  float *dwt = f32(&a, 4, 0);
  int32_t rows = I32(&a, 5), cols = I32(&a, 6), n = I32(&a, 7);
  if (a.failed) return NULL;
  sampled_matmul(rp, ci, dz, xt, dwt, rows, cols, n);
  return undef(env);
}

/* sparseAdam(w, g, m, v, out, n, kept, b1, c1, b2, c2, a, eps): out = w, then masked Adam at the
 * kept flat indices only (src/kernels/adam.c masked_adam_at). Bit for bit the masked Adam of the
 * whole tensor when pruned entries have m = v = 0 (src/training/optimizer.ts). */
static napi_value js_sparse_adam(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 13);
  size_t nnz = 0;
  const float *w = f32(&a, 0, 0), *g = f32(&a, 1, 0);
  float *m = f32(&a, 2, 0), *v = f32(&a, 3, 0), *out = f32(&a, 4, 0);
  int32_t n = I32(&a, 5);
  const int32_t *kept = i32s(&a, 6, &nnz);
  float b1 = (float)num(&a, 7), c1 = (float)num(&a, 8), b2 = (float)num(&a, 9), c2 = (float)num(&a, 10);
  float step = (float)num(&a, 11), eps = (float)num(&a, 12);
  if (a.failed) return NULL;
  memcpy(out, w, sizeof(float) * (size_t)n);
  masked_adam_at(kept, (int32_t)nnz, w, g, m, v, out, b1, c1, b2, c2, step, eps);
  return undef(env);
}

static napi_value js_transpose3(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 8);
  const float *in = f32(&a, 0, 0);
  float *out = f32(&a, 1, 0);
  int32_t e0 = I32(&a, 2), e1 = I32(&a, 3), e2 = I32(&a, 4), s0 = I32(&a, 5), s1 = I32(&a, 6), s2 = I32(&a, 7);
  if (a.failed) return NULL;
  transpose3(in, out, e0, e1, e2, s0, s1, s2);
  return undef(env);
}

static napi_value js_im2col3x3(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 5);
  const float *in = f32(&a, 0, 0);
  float *out = f32(&a, 1, 0);
  int32_t planes = I32(&a, 2), h = I32(&a, 3), w = I32(&a, 4);
  if (a.failed) return NULL;
  im2col3x3(in, out, planes, h, w);
  return undef(env);
}

static napi_value js_maxpool2(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 6);
  const float *x = f32(&a, 0, 0);
  float *out = f32(&a, 1, 0);
  int32_t n = I32(&a, 2), h = I32(&a, 3), w = I32(&a, 4), c = I32(&a, 5);
  if (a.failed) return NULL;
  maxpool2(x, out, n, h, w, c);
  return undef(env);
}

static napi_value js_maxpool2_grad(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 7);
  const float *x = f32(&a, 0, 0), *dy = f32(&a, 1, 0);
  float *dx = f32(&a, 2, 0);
  int32_t n = I32(&a, 3), h = I32(&a, 4), w = I32(&a, 5), c = I32(&a, 6);
  if (a.failed) return NULL;
  maxpool2_grad_avx(x, dy, dx, n, h, w, c);
  return undef(env);
}

static napi_value js_column_sums(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 4);
  const float *m = f32(&a, 0, 0);
  float *out = f32(&a, 1, 0);
  int32_t rows = I32(&a, 2), cols = I32(&a, 3);
  if (a.failed) return NULL;
  double *acc = malloc(sizeof(double) * (cols > 0 ? cols : 1));
  if (!acc) return conv_result(env, -1);
  column_sums(m, acc, out, rows, cols);
  free(acc);
  return undef(env);
}

static napi_value js_bias_act(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 6);
  const float *z = f32(&a, 0, 0), *b = f32(&a, 1, 0);
  float *out = f32(&a, 2, 0);
  int32_t rows = I32(&a, 3), cols = I32(&a, 4), relu = I32(&a, 5);
  if (a.failed) return NULL;
  bias_act(z, b, out, rows, cols, relu);
  return undef(env);
}

static napi_value js_bias_act_grad(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 7);
  const float *dy = f32(&a, 0, 0), *act = f32(&a, 1, 0);
  float *dz = f32(&a, 2, 0), *db = f32(&a, 3, 0);
  int32_t rows = I32(&a, 4), cols = I32(&a, 5), relu = I32(&a, 6);
  if (a.failed) return NULL;
  bias_act_grad(dy, act, dz, db, rows, cols, relu);
  return undef(env);
}

static napi_value js_act_grad_cols(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 7);
  const float *dy = f32(&a, 0, 0), *act = f32(&a, 1, 0);
  float *dz = f32(&a, 2, 0), *db = f32(&a, 3, 0);
  int32_t rows = I32(&a, 4), cols = I32(&a, 5), relu = I32(&a, 6);
  if (a.failed) return NULL;
  double *acc = malloc(sizeof(double) * (cols > 0 ? cols : 1));
  if (!acc) return conv_result(env, -1);
  act_grad_cols_avx(dy, act, dz, acc, db, rows, cols, relu);
  free(acc);
  return undef(env);
}


static napi_value oom(napi_env env, int rc, const char *what) {
  if (rc != 0) napi_throw_error(env, NULL, what);
  return undef(env);
}

/* bnMoments(x, mean, var, rows, c, threads): per-channel batch mean and biased variance of x [rows, c] */
static napi_value js_bn_moments(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 6);
  const float *x = f32(&a, 0, 0);
  float *mean = f32(&a, 1, 0), *var = f32(&a, 2, 0);
  const int64_t rows = (int64_t)num(&a, 3);
  const int32_t c = I32(&a, 4), threads = I32(&a, 5);
  if (a.failed) return NULL;
  return oom(env, bn_moments(x, mean, var, rows, c, threads), "lth_native: out of memory for batch moments");
}

/* bnApply(x, mean, var, gamma, beta, eps, out, rows, c, threads): out = (x − mean)·gamma/√(var + eps) + beta */
static napi_value js_bn_apply(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 10);
  const float *x = f32(&a, 0, 0), *mean = f32(&a, 1, 0), *var = f32(&a, 2, 0), *gamma = f32(&a, 3, 0),
              *beta = f32(&a, 4, 0);
  const float eps = (float)num(&a, 5);
  float *out = f32(&a, 6, 0);
  const int64_t rows = (int64_t)num(&a, 7);
  const int32_t c = I32(&a, 8), threads = I32(&a, 9);
  if (a.failed) return NULL;
  return oom(env, bn_apply(x, mean, var, gamma, beta, eps, out, rows, c, threads), "lth_native: out of memory for batch norm");
}

/* bnGrad(dy, x, gamma, mean, var, eps, dx, dgamma, dbeta, rows, c, threads): the gradient of bnApply on the batch's own moments */
static napi_value js_bn_grad(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 12);
  const float *dy = f32(&a, 0, 0), *x = f32(&a, 1, 0), *gamma = f32(&a, 2, 0), *mean = f32(&a, 3, 0),
              *var = f32(&a, 4, 0);
  const float eps = (float)num(&a, 5);
  float *dx = f32(&a, 6, 0), *dgamma = f32(&a, 7, 0), *dbeta = f32(&a, 8, 0);
  const int64_t rows = (int64_t)num(&a, 9);
  const int32_t c = I32(&a, 10), threads = I32(&a, 11);
  if (a.failed) return NULL;
  return oom(env, bn_grad(dy, x, gamma, mean, var, eps, dx, dgamma, dbeta, rows, c, threads),
             "lth_native: out of memory for the batch norm gradient");
}

/* relu(x, out, n, threads) */
static napi_value js_relu(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 4);
  const float *x = f32(&a, 0, 0);
  float *out = f32(&a, 1, 0);
  const int64_t n = (int64_t)num(&a, 2);
  const int32_t threads = I32(&a, 3);
  if (a.failed) return NULL;
  relu_fwd(x, out, n, threads);
  return undef(env);
}

/* reluGrad(dy, y, dx, n, threads): dx = dy·step(y) */
static napi_value js_relu_grad(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 5);
  const float *dy = f32(&a, 0, 0), *y = f32(&a, 1, 0);
  float *dx = f32(&a, 2, 0);
  const int64_t n = (int64_t)num(&a, 3);
  const int32_t threads = I32(&a, 4);
  if (a.failed) return NULL;
  relu_grad(dy, y, dx, n, threads);
  return undef(env);
}

/* addN([x0, x1, …], out, n, threads): out = x0 + x1 + … (2 to 16 terms, in that order) */
static napi_value js_add_n(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 4);
  float *out = f32(&a, 1, 0);
  const int64_t n = (int64_t)num(&a, 2);
  const int32_t threads = I32(&a, 3);
  uint32_t terms = 0;
  if (!a.failed && napi_get_array_length(env, a.argv[0], &terms) != napi_ok) fail(&a, "lth_native: expected an array of Float32Arrays");
  if (!a.failed && (terms < 2 || terms > 16)) fail(&a, "lth_native: addN takes 2 to 16 arrays");
  const float *xs[16];
  for (uint32_t t = 0; t < terms && !a.failed; t++) {
    napi_value v;
    napi_get_element(env, a.argv[0], t, &v);
    args_t one = {env, 1, {v}, 0};
    xs[t] = f32(&one, 0, 0);
    if (one.failed) a.failed = 1;
  }
  if (a.failed) return NULL;
  add_n(xs, (int)terms, out, n, threads);
  return undef(env);
}

/* globalAvgPool(src, dst, n, hw, c, grad): grad 0: dst [n, c] = the mean of src [n, hw, c] over hw;
 * grad 1: its gradient, dst [n, hw, c] = src [n, c] / hw */
static napi_value js_global_avg_pool(napi_env env, napi_callback_info info) {
  args_t a = get_args(env, info, 6);
  const float *src = f32(&a, 0, 0);
  float *dst = f32(&a, 1, 0);
  const int32_t n = I32(&a, 2), hw = I32(&a, 3), c = I32(&a, 4), grad = I32(&a, 5);
  if (a.failed) return NULL;
  if (grad) {
    global_avg_pool_grad(src, dst, n, hw, c);
    return undef(env);
  }
  return oom(env, global_avg_pool(src, dst, n, hw, c), "lth_native: out of memory for average pooling");
}

/* info(): { isa, blas, blasCore, onednn, onednnIsa } */
static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, v;
  napi_create_object(env, &o);
  napi_create_string_utf8(env, "avx2", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "isa", v);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "blas", v);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "blasCore", v);
  napi_create_string_utf8(env, onednn_version(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "onednn", v);
  napi_create_string_utf8(env, onednn_isa(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "onednnIsa", v);
  return o;
}

static napi_value init(napi_env env, napi_value exports) {
  /* The kernels are compiled for AVX2 + FMA: refuse to load (rather than crash) elsewhere. */
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    napi_throw_error(env, NULL, "this CPU lacks AVX2/FMA, which lth's native kernels are built for");
    return NULL;
  }
  /* Threads are lth's (gemm.c): OpenBLAS itself runs single-threaded in each. */
  openblas_set_num_threads(1);
  /* oneDNN: pinned to AVX2 before its first primitive, single-threaded (onednn.c) */
  if (onednn_init() != 0) {
    napi_throw_error(env, NULL, "oneDNN could not be pinned to AVX2 (was a primitive made before lth's addon loaded?)");
    return NULL;
  }
  struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"gemm", js_gemm},
      {"conv2dForward", js_conv_fwd},
      {"conv2dBackpropInput", js_conv_bwd_input},
      {"conv2dBackpropFilter", js_conv_bwd_filter},
      {"maskedAdam", js_masked_adam},
      {"sparseMatMul", js_sparse_matmul},
      {"sampledMatMul", js_sampled_matmul},
      {"sparseAdam", js_sparse_adam},
      {"transpose3", js_transpose3},
      {"im2col3x3", js_im2col3x3},
      {"maxpool2", js_maxpool2},
      {"maxpool2Grad", js_maxpool2_grad},
      {"columnSums", js_column_sums},
      {"biasAct", js_bias_act},
      {"biasActGrad", js_bias_act_grad},
      {"actGradCols", js_act_grad_cols},
      {"bnMoments", js_bn_moments},
      {"bnApply", js_bn_apply},
      {"bnGrad", js_bn_grad},
      {"relu", js_relu},
      {"reluGrad", js_relu_grad},
      {"addN", js_add_n},
      {"globalAvgPool", js_global_avg_pool},
      {"info", js_info},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
