/*
 * Convolutions over oneDNN's C API (Debian's libdnnl-dev), see onednn.h. Facts this relies on
 * (oneDNN 2.6.3's source; docs/PERFORMANCE.md, "oneDNN convolutions"):
 * - jit:avx2 and jit_1x1:avx2 take plain NHWC activations; their filters are blocked (OIhw8i8o,
 *   Ohwi8o, …), so the HWIO filter is reordered per call (≤ 37 K floats at lth's shapes) and the
 *   filter gradient reordered back. Activations are never copied.
 * - Their blocking is a function of the shape and the instruction set; the per-thread split of
 *   backward-weights' sum over the batch depends on the thread count. So oneDNN runs with one
 *   OpenMP thread always, the batch is cut into chunks fixed by the shape (CHUNKS), lth's own
 *   threads run the chunks, and the chunks' filter gradients are added in chunk order.
 * Primitives are made once per (op, chunk shape) and kept in a small least-recently-used cache.
 */
#include <dnnl.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onednn.h"
#include "parallel.h"

/* The batch is cut into at most CHUNKS chunks of ceil(n / CHUNKS) images (the last one shorter). */
#define CHUNKS 8
#define CACHE 48
enum { OP_FWD = 0, OP_BWD_DATA = 1, OP_BWD_WEIGHTS = 2 };
#define KEY_LEN 17

typedef struct {
  int key[KEY_LEN];
  uint64_t used; /* 0: empty slot; else the call counter at its last use */
  int ok;        /* 1: a direct AVX2 kernel; 0: none for this shape (the caller uses im2col) */
  dnnl_primitive_t prim;
  dnnl_memory_desc_t src_md, dst_md, wei_md, hwio_md, bias_md, scratch_md;
  size_t wei_bytes, scratch_bytes;
  dnnl_primitive_t reorder; /* hwio → wei_md (forward, backward data) or wei_md → hwio (backward weights); NULL when equal */
} entry_t;

static dnnl_engine_t engine;
static dnnl_stream_t streams[CHUNKS];
static entry_t cache[CACHE];
static uint64_t calls;
static int init_status = -1;
static char version[32] = "none";

int onednn_init(void) {
  if (init_status >= 0) return init_status;
  /* Before anything else: oneDNN fixes its instruction set at its first primitive. */
  init_status = dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2) == dnnl_success ? 0 : 1;
  omp_set_num_threads(1);
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) init_status = 1;
  for (int i = 0; i < CHUNKS && init_status == 0; i++)
    if (dnnl_stream_create(&streams[i], engine, dnnl_stream_default_flags) != dnnl_success) init_status = 1;
  const dnnl_version_t *v = dnnl_version();
  snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
  return init_status;
}

const char *onednn_version(void) { return version; }

const char *onednn_isa(void) {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    default: return "other";
  }
}

static void *alloc64(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64); }

static void drop(entry_t *e) {
  if (e->prim) dnnl_primitive_destroy(e->prim);
  if (e->reorder) dnnl_primitive_destroy(e->reorder);
  memset(e, 0, sizeof *e);
}

/* Is the implementation one of oneDNN's direct AVX2 kernels? */
static int direct_avx2(const_dnnl_primitive_desc_t pd) {
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl) return 0;
  return strcmp(impl, "jit:avx2") == 0 || strcmp(impl, "jit_1x1:avx2") == 0;
}

#define TRY(x)                                  \
  do {                                          \
    if ((x) != dnnl_success) goto done;         \
  } while (0)

/* Fills e (key already set) for op on images of nb at a time; e->ok = 0 when oneDNN has no direct kernel. */
static void make_entry(entry_t *e, int op, const conv_shape *s, int nb, int bias, int relu) {
  dnnl_primitive_desc_t fpd = NULL, pd = NULL, rpd = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  e->ok = 0;
  const int pad_b = (s->oh - 1) * s->sh + s->kh - s->h - s->pad_t;
  const int pad_r = (s->ow - 1) * s->sw + s->kw - s->w - s->pad_l;
  dnnl_dims_t sd = {nb, s->ci, s->h, s->w}, dd = {nb, s->co, s->oh, s->ow}, wd = {s->co, s->ci, s->kh, s->kw}, bd = {s->co};
  dnnl_dims_t strides = {s->sh, s->sw}, pl = {s->pad_t, s->pad_l}, pr = {pad_b, pad_r};
  dnnl_memory_desc_t src, dst, wei, bmd;
  TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_nhwc));
  TRY(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_nhwc));
  TRY(dnnl_memory_desc_init_by_tag(&wei, 4, wd, dnnl_f32, dnnl_format_tag_any));
  TRY(dnnl_memory_desc_init_by_tag(&e->hwio_md, 4, wd, dnnl_f32, dnnl_hwio));
  TRY(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a));
  TRY(dnnl_primitive_attr_create(&attr));
  TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
  dnnl_convolution_desc_t fd, cd;
  TRY(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, bias ? &bmd : NULL,
                                         &dst, strides, pl, pr));
  if (op == OP_FWD) {
    if (relu) {
      TRY(dnnl_post_ops_create(&po));
      TRY(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
      TRY(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    TRY(dnnl_primitive_desc_create(&pd, &fd, attr, engine, NULL));
  } else {
    TRY(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL));
    if (op == OP_BWD_DATA)
      TRY(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src, &wei, &dst, strides, pl, pr));
    else
      TRY(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src, &wei, NULL, &dst, strides, pl, pr));
    TRY(dnnl_primitive_desc_create(&pd, &cd, attr, engine, fpd));
  }
  if (!direct_avx2(pd)) goto done;
  const dnnl_query_t wq = op == OP_BWD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md;
  e->wei_md = *dnnl_primitive_desc_query_md(pd, wq, 0);
  e->src_md = *dnnl_primitive_desc_query_md(pd, op == OP_BWD_DATA ? dnnl_query_diff_src_md : dnnl_query_src_md, 0);
  e->dst_md = *dnnl_primitive_desc_query_md(pd, op == OP_FWD ? dnnl_query_dst_md : dnnl_query_diff_dst_md, 0);
  e->bias_md = bmd;
  e->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  e->scratch_bytes = dnnl_memory_desc_get_size(&e->scratch_md);
  e->wei_bytes = dnnl_memory_desc_get_size(&e->wei_md);
  /* the activations must be the plain NHWC arrays we hand over */
  if (!dnnl_memory_desc_equal(&e->src_md, &src) || !dnnl_memory_desc_equal(&e->dst_md, &dst)) goto done;
  if (!dnnl_memory_desc_equal(&e->wei_md, &e->hwio_md)) {
    if (op == OP_BWD_WEIGHTS)
      TRY(dnnl_reorder_primitive_desc_create(&rpd, &e->wei_md, engine, &e->hwio_md, engine, NULL));
    else
      TRY(dnnl_reorder_primitive_desc_create(&rpd, &e->hwio_md, engine, &e->wei_md, engine, NULL));
    TRY(dnnl_primitive_create(&e->reorder, rpd));
  }
  TRY(dnnl_primitive_create(&e->prim, pd));
  e->ok = 1;
done:
  if (!e->ok) {
    if (e->reorder) dnnl_primitive_destroy(e->reorder);
    e->reorder = NULL;
  }
  if (rpd) dnnl_primitive_desc_destroy(rpd);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (fpd) dnnl_primitive_desc_destroy(fpd);
  if (po) dnnl_post_ops_destroy(po);
  if (attr) dnnl_primitive_attr_destroy(attr);
}

/* The cache entry for op on chunks of nb images of shape s (made on a miss, evicting the least recently used). */
static entry_t *lookup(int op, const conv_shape *s, int nb, int bias, int relu) {
  const int key[KEY_LEN] = {op, nb, s->h, s->w, s->ci, s->kh, s->kw, s->co, s->oh, s->ow, s->sh, s->sw, s->pad_t, s->pad_l, bias, relu, 1};
  entry_t *victim = &cache[0];
  for (int i = 0; i < CACHE; i++) {
    if (cache[i].used && memcmp(cache[i].key, key, sizeof key) == 0) {
      cache[i].used = calls;
      return &cache[i];
    }
    if (cache[i].used < victim->used) victim = &cache[i];
  }
  drop(victim);
  memcpy(victim->key, key, sizeof key);
  victim->used = calls;
  make_entry(victim, op, s, nb, bias, relu);
  return victim;
}

/* One call's chunks: images [c·nb, c·nb + cnt) of chunk c run on entry full (cnt = nb) or last. */
typedef struct {
  int op, chunks, nb, n;
  const entry_t *full, *last;
  const float *in;       /* x (forward, backward weights) or dy (backward data) */
  float *out;            /* out (forward), dx (backward data) */
  const float *dy;       /* backward weights */
  const float *wei_full, *wei_last, *bias;
  float *partial;        /* backward weights: chunk c's filter gradient at partial + c·stride */
  size_t partial_stride; /* floats */
  char *scratch;
  size_t scratch_stride; /* bytes */
  int64_t in_image, out_image; /* floats per image of in / out (or dy) */
  volatile int failed;
} job_t;

static void run_chunk(void *ctx, int c) {
  job_t *j = ctx;
  omp_set_num_threads(1); /* this thread's own OpenMP setting: oneDNN runs single-threaded */
  const int last = c == j->chunks - 1;
  const entry_t *e = last ? j->last : j->full;
  const int64_t i0 = (int64_t)c * j->nb;
  dnnl_memory_t m[5] = {0};
  dnnl_exec_arg_t args[5];
  int na = 0;
  const float *wei = last ? j->wei_last : j->wei_full;
  void *scratch = j->scratch + (size_t)c * j->scratch_stride;
#define MEM(arg, md, ptr)                                                                       \
  do {                                                                                          \
    if (dnnl_memory_create(&m[na], (md), engine, (void *)(ptr)) != dnnl_success) goto fail;     \
    args[na] = (dnnl_exec_arg_t){(arg), m[na]};                                                 \
    na++;                                                                                       \
  } while (0)
  if (j->op == OP_FWD) {
    MEM(DNNL_ARG_SRC, &e->src_md, j->in + i0 * j->in_image);
    MEM(DNNL_ARG_WEIGHTS, &e->wei_md, wei);
    if (j->bias) MEM(DNNL_ARG_BIAS, &e->bias_md, j->bias);
    MEM(DNNL_ARG_DST, &e->dst_md, j->out + i0 * j->out_image);
  } else if (j->op == OP_BWD_DATA) {
    MEM(DNNL_ARG_DIFF_DST, &e->dst_md, j->in + i0 * j->in_image);
    MEM(DNNL_ARG_WEIGHTS, &e->wei_md, wei);
    MEM(DNNL_ARG_DIFF_SRC, &e->src_md, j->out + i0 * j->out_image);
  } else {
    MEM(DNNL_ARG_SRC, &e->src_md, j->in + i0 * j->in_image);
    MEM(DNNL_ARG_DIFF_DST, &e->dst_md, j->dy + i0 * j->out_image);
    MEM(DNNL_ARG_DIFF_WEIGHTS, &e->wei_md, j->partial + (size_t)c * j->partial_stride);
  }
  if (e->scratch_bytes) MEM(DNNL_ARG_SCRATCHPAD, &e->scratch_md, scratch);
#undef MEM
  if (dnnl_primitive_execute(e->prim, streams[c], na, args) != dnnl_success) goto fail;
  dnnl_stream_wait(streams[c]);
  for (int i = 0; i < na; i++) dnnl_memory_destroy(m[i]);
  return;
fail:
  for (int i = 0; i < na; i++) dnnl_memory_destroy(m[i]);
  j->failed = 1;
}

/* Runs a reorder from src (md a) to dst (md b) on the calling thread. */
static int reorder(const dnnl_primitive_t r, const dnnl_memory_desc_t *a, const void *src, const dnnl_memory_desc_t *b, void *dst) {
  dnnl_memory_t ma = NULL, mb = NULL;
  int rc = -1;
  if (dnnl_memory_create(&ma, a, engine, (void *)src) == dnnl_success && dnnl_memory_create(&mb, b, engine, dst) == dnnl_success) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ma}, {DNNL_ARG_TO, mb}};
    if (dnnl_primitive_execute(r, streams[0], 2, args) == dnnl_success) {
      dnnl_stream_wait(streams[0]);
      rc = 0;
    }
  }
  if (ma) dnnl_memory_destroy(ma);
  if (mb) dnnl_memory_destroy(mb);
  return rc;
}

/* The filter in entry e's layout: f itself, or a reordered copy in *buf (freed by the caller). */
static const float *filter_for(const entry_t *e, const float *f, float **buf) {
  *buf = NULL;
  if (!e->reorder) return f;
  *buf = alloc64(e->wei_bytes);
  if (!*buf) return NULL;
  if (reorder(e->reorder, &e->hwio_md, f, &e->wei_md, *buf) != 0) return NULL;
  return *buf;
}

/* Shared driver of the three ops. */
static int run(int op, const conv_shape *s, const float *in, const float *dy, const float *f, const float *bias, float *out,
               int relu) {
  if (s->dh != 1 || s->dw != 1 || s->n < 1 || init_status != 0) return 1;
  /* oneDNN 2.6.3's strided 1×1 backward-weights (jit_avx2_1x1 with its reduce-to-unit-stride copy)
   * writes past the scratchpad it books when ci is not a multiple of 8: found by a sweep with a
   * canary after the scratchpad (docs/PERFORMANCE.md, "oneDNN convolutions"); im2col instead. */
  if (op == OP_BWD_WEIGHTS && s->kh == 1 && s->kw == 1 && (s->sh > 1 || s->sw > 1) && s->ci % 8 != 0) return 1;
  /* Where im2col + OpenBLAS is faster (measured per call, docs/PERFORMANCE.md "oneDNN
   * convolutions"): the input gradient into fewer than 16 channels (oneDNN blocks them by 8),
   * and the filter gradient of wide layers (64×64 at 28×28: 46 ms against oneDNN's 51 ms). */
  if (op == OP_BWD_DATA && s->ci < 16) return 1;
  if (op == OP_BWD_WEIGHTS && s->ci >= 32 && s->co >= 64) return 1;
  omp_set_num_threads(1);
  calls++;
  const int nb = (s->n + CHUNKS - 1) / CHUNKS;
  const int chunks = (s->n + nb - 1) / nb;
  const int rest = s->n - (chunks - 1) * nb;
  entry_t *full = lookup(op, s, nb, bias != NULL, relu);
  if (!full->ok) return 1;
  entry_t *last = rest == nb ? full : lookup(op, s, rest, bias != NULL, relu);
  if (!last->ok) return 1;
  const int same_wei = dnnl_memory_desc_equal(&full->wei_md, &last->wei_md);
  if (op == OP_BWD_WEIGHTS && !same_wei) return 1; /* the chunks' gradients are summed in one layout */

  job_t j = {0};
  j.op = op;
  j.chunks = chunks;
  j.nb = nb;
  j.n = s->n;
  j.full = full;
  j.last = last;
  j.in = in;
  j.dy = dy;
  j.out = out;
  j.bias = bias;
  const int64_t x_image = (int64_t)s->h * s->w * s->ci, y_image = (int64_t)s->oh * s->ow * s->co;
  j.in_image = op == OP_BWD_DATA ? y_image : x_image;
  j.out_image = op == OP_BWD_DATA ? x_image : y_image;
  const size_t scratch = full->scratch_bytes > last->scratch_bytes ? full->scratch_bytes : last->scratch_bytes;
  j.scratch_stride = (scratch + 63) / 64 * 64;
  float *wbuf_full = NULL, *wbuf_last = NULL;
  int rc = -1;
  j.scratch = j.scratch_stride ? alloc64(j.scratch_stride * chunks) : NULL;
  if (j.scratch_stride && !j.scratch) goto out;
  if (op == OP_BWD_WEIGHTS) {
    j.partial_stride = (full->wei_bytes / sizeof(float) + 15) / 16 * 16;
    const int direct = chunks == 1 && !full->reorder; /* one chunk, plain layout: straight into df */
    j.partial = direct ? out : alloc64(sizeof(float) * j.partial_stride * chunks);
    if (!j.partial) goto out;
    parallel_blocks(s->threads, chunks, run_chunk, &j);
    if (!j.failed && !direct) {
      /* Σ over chunks in chunk order, then back to HWIO */
      const size_t len = full->wei_bytes / sizeof(float);
      float *acc = j.partial;
      for (int c = 1; c < chunks; c++) {
        const float *p = j.partial + (size_t)c * j.partial_stride;
        for (size_t i = 0; i < len; i++) acc[i] += p[i];
      }
      if (full->reorder) {
        if (reorder(full->reorder, &full->wei_md, acc, &full->hwio_md, out) != 0) j.failed = 1;
      } else {
        memcpy(out, acc, full->wei_bytes);
      }
    }
    if (!direct) free(j.partial);
  } else {
    j.wei_full = filter_for(full, f, &wbuf_full);
    if (!j.wei_full) goto out;
    if (same_wei) {
      j.wei_last = j.wei_full;
    } else {
      j.wei_last = filter_for(last, f, &wbuf_last);
      if (!j.wei_last) goto out;
    }
    parallel_blocks(s->threads, chunks, run_chunk, &j);
  }
  rc = j.failed ? -1 : 0;
out:
  free(wbuf_full);
  free(wbuf_last);
  free(j.scratch);
  return rc;
}

int onednn_conv_forward(const conv_shape *s, const float *x, const float *f, const float *bias, float *out, int relu) {
  return run(OP_FWD, s, x, NULL, f, bias, out, relu ? 1 : 0);
}

int onednn_conv_backprop_input(const conv_shape *s, const float *dy, const float *f, float *dx) {
  return run(OP_BWD_DATA, s, dy, NULL, f, NULL, dx, 0);
}

int onednn_conv_backprop_filter(const conv_shape *s, const float *x, const float *dy, float *df) {
  return run(OP_BWD_WEIGHTS, s, x, dy, NULL, NULL, df, 0);
}
