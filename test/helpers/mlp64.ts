import type { Split } from '../../src/data/index.js';

/**
 * Test accuracy of mlp-small (fc1, fc2 with ReLU, then output; stored kernels [in, out]) computed
 * in float64, written here from the layer list (src/models/layers.ts) and independent of the
 * tfjs model: what the analysis tests check stored numbers against.
 */
export function accuracy64(w: Record<string, ArrayLike<number>>, split: Split): number {
  const dim = split.x.length / split.n;
  let right = 0;
  for (let e = 0; e < split.n; e++) {
    let h: Float64Array = Float64Array.from(split.x.subarray(e * dim, (e + 1) * dim));
    for (const [layer, relu] of [
      ['fc1', true],
      ['fc2', true],
      ['output', false],
    ] as const) {
      const k = w[`${layer}/kernel`];
      const b = w[`${layer}/bias`];
      const out = b.length;
      const next = new Float64Array(out);
      for (let j = 0; j < out; j++) {
        let s = b[j];
        for (let i = 0; i < h.length; i++) s += h[i] * k[i * out + j];
        next[j] = relu ? Math.max(0, s) : s;
      }
      h = next;
    }
    let arg = 0;
    for (let j = 1; j < h.length; j++) if (h[j] > h[arg]) arg = j;
    if (arg === split.y[e]) right++;
  }
  return right / split.n;
}
