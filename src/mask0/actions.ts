import { type Masks, type Model, type Weights, isPrunable } from '../models/index.js';

/**
 * Mask-0 actions (Zhou et al. 2019 §3): what a pruned weight holds while a level trains.
 * Each is a pure function giving the `frozen` values passed to train() — the value of every
 * pruned weight, 0 where the weight is kept — or null for the standard action (zero).
 */
export interface Mask0Inputs {
  readonly model: Model;
  /** θ0 of the trial (w_i) */
  readonly theta0: Weights;
  /** the final weights of the training that produced the new mask (w_f); pruned entries hold their frozen value */
  readonly prevFinal: Weights;
  /** the mask that training ran under (the dense mask at level 1 and in one-shot pruning) */
  readonly prevMasks: Masks;
  /** the new level's mask */
  readonly masks: Masks;
}

export interface Mask0Def {
  readonly describe: string;
  frozen(x: Mask0Inputs): Weights | null;
}

/** Per prunable layer: `f(i)` for pruned weights, 0 for kept ones. */
function perPruned(x: Mask0Inputs, f: (name: string, i: number) => number): Weights {
  const out: Weights = {};
  for (const p of x.model.params.filter(isPrunable)) {
    const m = x.masks[p.name];
    const w = new Float32Array(m.length);
    for (let i = 0; i < m.length; i++) if (!m[i]) w[i] = f(p.name, i);
    out[p.name] = w;
  }
  return out;
}

/** Every mask-0 action by the name a chain gives in `mask0`; the spec's enum and `lth run --help` list it. */
const DEFS = {
  zero: {
    describe: 'pruned weights are 0 (Frankle & Carbin; the standard action)',
    frozen: () => null,
  },
  'freeze-init': {
    describe: 'pruned weights are frozen at their initial value θ0 (Zhou et al.: worse than zero)',
    frozen: (x) => perPruned(x, (n, i) => x.theta0[n][i]),
  },
  // Authors' code (train_lottery.py, freeze_init_zero_mask): zero where |w_i| > |w_f|, θ0 otherwise.
  // The decision is made once, when the weight is pruned; later levels keep the value it got.
  'freeze-init-or-zero': {
    describe:
      'a newly pruned weight is frozen at θ0 if it moved away from zero in the training that pruned it (|w_f| ≥ |w_i|), else 0 (Zhou et al.: better than either)',
    frozen: (x) =>
      perPruned(x, (n, i) => {
        if (!x.prevMasks[n][i]) return x.prevFinal[n][i];
        const wi = x.theta0[n][i];
        return Math.abs(x.prevFinal[n][i]) >= Math.abs(wi) ? wi : 0;
      }),
  },
} satisfies Record<string, Mask0Def>;

export type Mask0Name = keyof typeof DEFS;
export const MASK0: Record<Mask0Name, Mask0Def> = DEFS;
