import { tf } from '../util/tf.js';
import type { Split } from '../data/types.js';
import { forwardHidden, storedTensors } from '../models/activations.js';
import type { Model, Weights } from '../models/types.js';
import { makeRng, permutation } from '../util/rng.js';
import type { UnitStats } from './units.js';

/**
 * The pruning sample: `size` distinct training examples drawn by a permutation seeded with
 * `seed` alone, so every level, chain and trial of an experiment scores on the same examples
 * (pruning.sample in the spec records which). Sorted ascending. Capped at the split's size.
 */
export function sampleIndices(n: number, size: number, seed: number): number[] {
  const perm = permutation(n, makeRng('pruning-sample', seed));
  return Array.from(perm.slice(0, Math.min(size, n))).sort((a, b) => a - b);
}

/** The sample's inputs [k, dim] and labels as one batch. */
function gather(split: Split, idx: readonly number[]): { x: Float32Array; y: Int32Array; dim: number } {
  const dim = split.x.length / split.n;
  const x = new Float32Array(idx.length * dim);
  idx.forEach((i, k) => x.set(split.x.subarray(i * dim, (i + 1) * dim), k * dim));
  return { x, y: Int32Array.from(idx, (i) => split.y[i]), dim };
}

/**
 * Per hidden layer and unit, on the examples `idx` of `split` (UnitStats):
 * - mean = (1/N) Σ_n (1/P) Σ_p a_npu (P positions of a filter's map; P = 1 for a neuron);
 * - apoz = (1/(N·P)) Σ_n Σ_p [a_npu = 0] (Hu et al. 2016, eq. 1);
 * - taylor = (1/N) Σ_n |(1/P) Σ_p a_npu · ∂ℓ_n/∂a_npu| with ℓ_n the example's cross-entropy
 *   (Molchanov et al. 2017, eq. 8, averaged over examples; per-example loss, so the batch size
 *   does not scale it).
 * Weights in stored layout; computed in chunks of `chunk` examples.
 */
export async function unitStatistics(model: Model, weights: Weights, split: Split, idx: readonly number[], chunk = 250): Promise<Record<string, UnitStats>> {
  const w = storedTensors(model, weights);
  const acc = new Map<string, { mean: Float64Array; apoz: Float64Array; taylor: Float64Array }>();
  try {
    for (let s = 0; s < idx.length; s += chunk) {
      const part = gather(split, idx.slice(s, s + chunk));
      const k = part.y.length;
      const out = tf.tidy(() => {
        const x = tf.tensor2d(part.x, [k, part.dim]);
        const onehot = tf.oneHot(tf.tensor1d(part.y, 'int32'), model.numClasses);
        const { hidden } = forwardHidden(model, w, x);
        const probes = hidden.map((h) => tf.zerosLike(h.value));
        const grads = tf.grads((...ps: tf.Tensor[]) =>
          tf.sum(tf.losses.softmaxCrossEntropy(onehot, forwardHidden(model, w, x, ps).logits, undefined, 0, tf.Reduction.NONE)),
        )(probes);
        return hidden.map((h, j) => {
          const units = h.value.shape[h.value.shape.length - 1];
          const a = tf.reshape(h.value, [k, -1, units]);
          const g = tf.reshape(grads[j], [k, -1, units]);
          return {
            layer: h.layer,
            mean: tf.sum(tf.mean(a, 1), 0),
            zeros: tf.sum(tf.mean(tf.cast(tf.equal(a, 0), 'float32'), 1), 0),
            taylor: tf.sum(tf.abs(tf.mean(tf.mul(a, g), 1)), 0),
          };
        });
      });
      for (const o of out) {
        const [mean, zeros, taylor] = await Promise.all([o.mean.data(), o.zeros.data(), o.taylor.data()]);
        tf.dispose([o.mean, o.zeros, o.taylor]);
        const a = acc.get(o.layer) ?? { mean: new Float64Array(mean.length), apoz: new Float64Array(mean.length), taylor: new Float64Array(mean.length) };
        for (let u = 0; u < mean.length; u++) {
          a.mean[u] += mean[u];
          a.apoz[u] += zeros[u];
          a.taylor[u] += taylor[u];
        }
        acc.set(o.layer, a);
      }
    }
  } finally {
    for (const t of Object.values(w)) t.dispose();
  }
  const N = idx.length;
  return Object.fromEntries(
    [...acc].map(([layer, a]) => [
      layer,
      { mean: Float32Array.from(a.mean, (v) => v / N), apoz: Float32Array.from(a.apoz, (v) => v / N), taylor: Float32Array.from(a.taylor, (v) => v / N) },
    ]),
  );
}
