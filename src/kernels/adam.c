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
    f32 mi = m[i] * b1 + gi * c1;
    f32 vi = v[i] * b2 + (gi * gi) * c2;
    m[i] = mi;
    v[i] = vi;
    f32 wi = w[i] - (mi * a) / (__builtin_sqrtf(vi) + eps);
    out[i] = fixed ? wi * mask[i] + fixed[i] : wi;
  }
}
