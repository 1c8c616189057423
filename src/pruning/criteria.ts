import type { Rng } from '../util/index.js';
import { criterion, type CriterionDef } from './pruner.js';

/**
 * Mask criteria of single weights (Zhou et al. 2019, Table 1): each is just a score per weight;
 * the masker keeps the highest scores. Scores are only read where the weight is still alive.
 * A criterion that is a function of (w_i, w_f) alone is one line here; one that scores the
 * network (SNIP, GraSP, SynFlow, OBD) is a file of its own; all are listed in ./registry.ts.
 */
export interface ScoreInputs {
  /** w_i: the weights at initialization (θ0) */
  readonly init: Float32Array;
  /** w_f: the weights at the end of the previous level's training */
  readonly final: Float32Array;
  readonly alive: Uint8Array;
  readonly rng: Rng;
  /** the score computed from the network (SNIP, GraSP, SynFlow, OBD: src/pruning/saliency.ts) */
  readonly saliency?: Float32Array;
}

export type ScoreFn = (x: ScoreInputs) => Float32Array;

const map = (x: ScoreInputs, f: (wi: number, wf: number) => number): Float32Array => {
  const out = new Float32Array(x.final.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.init[i], x.final[i]);
  return out;
};

/** Fractional rank in [0, 1) of each alive weight's value (ties broken by index). */
function rankAmongAlive(values: Float32Array, alive: Uint8Array): Float32Array {
  const idx: number[] = [];
  for (let i = 0; i < values.length; i++) if (alive[i]) idx.push(i);
  idx.sort((a, b) => values[a] - values[b] || a - b);
  const r = new Float32Array(values.length);
  idx.forEach((i, k) => (r[i] = k / idx.length));
  return r;
}

/** Keep weights above a shared percentile in both: the score is the smaller of the two ranks. */
const jointRank = (a: Float32Array, b: Float32Array, alive: Uint8Array): Float32Array => {
  const ra = rankAmongAlive(a, alive);
  const rb = rankAmongAlive(b, alive);
  return ra.map((v, i) => Math.min(v, rb[i]));
};

/** The network-level saliency, which the masker is given for the criteria that declare one (./pruner.ts). */
export const given =
  (name: string) =>
  (x: ScoreInputs): Float32Array => {
    if (!x.saliency) throw new Error(`criterion ${name} scores the network, not single weights: pass prune() a saliency function`);
    return x.saliency;
  };

export const WEIGHT_CRITERIA = {
  large_final: criterion('keep the largest |w_f| (Frankle & Carbin; the standard)', (x) => map(x, (_, wf) => Math.abs(wf))),
  small_final: criterion('keep the smallest |w_f|', (x) => map(x, (_, wf) => -Math.abs(wf))),
  large_init: criterion('keep the largest |w_i|', (x) => map(x, (wi) => Math.abs(wi)), { readsInit: true }),
  small_init: criterion('keep the smallest |w_i|', (x) => map(x, (wi) => -Math.abs(wi)), { readsInit: true }),
  large_init_large_final: criterion(
    'keep weights above a shared percentile in both |w_i| and |w_f|',
    (x) =>
      jointRank(
        map(x, (wi) => Math.abs(wi)),
        map(x, (_, wf) => Math.abs(wf)),
        x.alive,
      ),
    { readsInit: true },
  ),
  small_init_small_final: criterion(
    'keep weights below a shared percentile in both |w_i| and |w_f|',
    (x) =>
      jointRank(
        map(x, (wi) => -Math.abs(wi)),
        map(x, (_, wf) => -Math.abs(wf)),
        x.alive,
      ),
    { readsInit: true },
  ),
  magnitude_increase: criterion('keep the largest |w_f| − |w_i|', (x) => map(x, (wi, wf) => Math.abs(wf) - Math.abs(wi)), { readsInit: true }),
  movement: criterion('keep the largest |w_f − w_i|', (x) => map(x, (wi, wf) => Math.abs(wf - wi)), { readsInit: true }),
  random: criterion('keep a uniformly random subset (seeded)', (x) => map(x, () => x.rng.uniform())),
  // Weights whose sign flipped during training score 0 (Zhou et al. §3).
  large_final_same_sign: criterion(
    'keep the largest |w_f| among weights that kept their sign',
    (x) => map(x, (wi, wf) => (Math.sign(wi) === Math.sign(wf) ? Math.abs(wf) : 0)),
    { readsInit: true },
  ),
  large_final_diff_sign: criterion(
    'keep the largest |w_f| among weights whose sign flipped',
    (x) => map(x, (wi, wf) => (Math.sign(wi) !== Math.sign(wf) ? Math.abs(wf) : 0)),
    { readsInit: true },
  ),
} satisfies Record<string, CriterionDef>;
