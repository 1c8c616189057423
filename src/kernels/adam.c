/*
 * Masked Adam as one pass over memory, compiled to WebAssembly (SIMD128) and run directly on
 * the tfjs wasm backend's heap (see wasm.ts). The tensor version in src/training/optimizer.ts
 * costs ~13 kernels per weight tensor; this is one.
 *
 * Bit-identical to that tensor version: every operation is one IEEE float32 operation in the
 * same order as the tensor kernels (no FMA contraction: built with -ffp-contract=off), and
 * c1 = fround(1 - beta1), c2 = fround(1 - beta2), a, eps arrive already rounded to float32,
 * as tfjs's scalar tensors are.
 *
 * Rules for this file (it shares memory with tfjs, so it must never write anywhere but the
 * arrays it is handed): no globals, no static data, no address-taken locals (nothing on the
 * shadow stack), no libc. test/wasm-kernels.test.ts checks the built module for data segments and
 * stack-pointer use.
 */
#include <stdint.h>

typedef float f32;

/* One entry of the update below: m and v in place, returns the new weight (always inlined:
 * the wasm module makes no calls). */
static inline __attribute__((always_inline)) f32 adam_entry(f32 wi, f32 gi, f32 *restrict m, f32 *restrict v, f32 b1,
                                                            f32 c1, f32 b2, f32 c2, f32 a, f32 eps) {
  f32 mi = *m * b1 + gi * c1;
  f32 vi = *v * b2 + (gi * gi) * c2;
  *m = mi;
  *v = vi;
  return wi - (mi * a) / (__builtin_sqrtf(vi) + eps);
}

/*
 * For i in [0, n):
 *   g' = g * mask            (mask absent: g' = g)
 *   m  = m * b1 + g' * c1    (in place)
 *   v  = v * b2 + (g' * g') * c2   (in place)
 *   out = w - (m * a) / (sqrt(v) + eps)
 *   with frozen pruned values: out = out * mask + fixed
 * Pointers are byte offsets into the shared heap; mask and fixed may be 0 (absent).
 */
__attribute__((export_name("masked_adam"))) void masked_adam(
    const f32 *restrict w, const f32 *restrict g, const f32 *restrict mask, f32 *restrict m,
    f32 *restrict v, const f32 *restrict fixed, f32 *restrict out, int32_t n, f32 b1, f32 c1,
    f32 b2, f32 c2, f32 a, f32 eps) {
  /* mask and fixed are loop-invariant: clang unswitches this into one vectorized loop per case */
  for (int32_t i = 0; i < n; i++) {
    f32 gi = mask ? g[i] * mask[i] : g[i];
    f32 wi = adam_entry(w[i], gi, &m[i], &v[i], b1, c1, b2, c2, a, eps);
    out[i] = fixed ? wi * mask[i] + fixed[i] : wi;
  }
}

/*
 * The same update at the kept entries idx[0 … nnz) only (ascending flat indices; no mask, no
 * frozen values); out is not written elsewhere. Bit for bit masked_adam's values there: g·1 = g.
 * For sparse dense layers (src/kernels/sparse.ts), on wasm (wasm.ts) and native (native/src/addon.c).
 */
__attribute__((export_name("masked_adam_at"))) void masked_adam_at(const int32_t *restrict idx, int32_t nnz, const f32 *restrict w, const f32 *restrict g,
                    f32 *restrict m, f32 *restrict v, f32 *restrict out, f32 b1, f32 c1, f32 b2, f32 c2, f32 a,
                    f32 eps) {
  for (int32_t j = 0; j < nnz; j++) {
    const int32_t i = idx[j];
    out[i] = adam_entry(w[i], g[i], &m[i], &v[i], b1, c1, b2, c2, a, eps);
  }
}
