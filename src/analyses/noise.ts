import type { Split } from '../data/index.js';
import { makeRng } from '../util/index.js';
import type { AnalysisDef, AnalysisInputs, AnalysisRow } from './types.js';

/**
 * Robustness to input noise (Ahmad & Hawkins 2016, "How do neurons operate on sparse distributed
 * representations?"; docs/PAPERS.md#robustness): test accuracy of a level's final weights when the
 * test inputs are perturbed.
 * - `gaussian`, amount σ: x + σ·ε, ε ~ N(0, 1) per input value. Inputs are normalized to unit
 *   standard deviation per channel, so σ is in units of the data's own spread (σ = 0: clean).
 * - `flip`, amount p: each input value is, with probability p, reflected within its channel's
 *   range on the test split, x ↦ lo + hi − x (a pixel flip, 1 − x for pixels in [0, 1], under any
 *   affine normalization).
 * The noise is drawn from (experiment seed, kind, amount) alone, so every level, chain and trial
 * is measured on the same perturbed test set: paired comparisons.
 */
export const NOISE_AMOUNTS = { gaussian: [0, 0.25, 0.5, 1, 2], flip: [0.05, 0.1, 0.2, 0.4] } as const;
export type NoiseKind = keyof typeof NOISE_AMOUNTS;

/** The test split perturbed by `kind` at `amount` (a new split; `test` is unchanged). */
function perturb(test: Split, channels: number, kind: NoiseKind, amount: number, seed: number): Split {
  const rng = makeRng('noise', seed, kind, amount);
  const x = new Float32Array(test.x);
  if (kind === 'gaussian') {
    if (amount > 0) for (let i = 0; i < x.length; i++) x[i] += amount * rng.normal();
  } else {
    const lo = new Float64Array(channels).fill(Infinity);
    const hi = new Float64Array(channels).fill(-Infinity);
    for (let i = 0; i < x.length; i++) {
      const c = i % channels;
      lo[c] = Math.min(lo[c], x[i]);
      hi[c] = Math.max(hi[c], x[i]);
    }
    for (let i = 0; i < x.length; i++) if (rng.uniform() < amount) x[i] = lo[i % channels] + hi[i % channels] - x[i];
  }
  return { x, y: test.y, n: test.n };
}

/** Channels normalization indexes: the innermost dimension of an image, 1 for flat inputs. */
const channelsOf = (inputShape: readonly number[]): number => (inputShape.length === 3 ? inputShape[2] : 1);

/** The noise analysis with its amounts (default NOISE_AMOUNTS). */
export function noiseAnalysis(amounts: { readonly [K in NoiseKind]: readonly number[] } = NOISE_AMOUNTS): AnalysisDef {
  // One perturbed copy per (kind, amount), shared by every level an `lth analyze` measures.
  const cache = new Map<string, Split>();
  return {
    help: 'test accuracy under additive Gaussian noise (σ in input standard deviations) and random pixel flips, seeded (Ahmad & Hawkins 2016)',
    table: 'noise_robustness',
    setting: ['noise', 'amount'],
    async measure(x: AnalysisInputs): Promise<AnalysisRow[]> {
      const rows: AnalysisRow[] = [];
      for (const kind of Object.keys(amounts) as NoiseKind[])
        for (const amount of amounts[kind]) {
          const id = `${kind}/${amount}`;
          if (!cache.has(id)) cache.set(id, perturb(x.test, channelsOf(x.model.inputShape), kind, amount, x.seed));
          const r = await x.evaluate(x.weights, cache.get(id)!);
          rows.push({ noise: kind, amount, test_loss: r.loss, test_accuracy: r.accuracy });
        }
      return rows;
    },
  };
}
