import { initStd, type InitName } from '../models/init.js';
import { paramGroup } from '../models/graph.js';
import type { Masks, Model, Weights } from '../models/index.js';
import { parseStep, stepToIterations } from '../spec/step.js';
import { finalLr, type TrainingSchedule } from '../training/schedule.js';
import type { LevelSchedule } from '../training/index.js';
import { didYouMean, SpecError, UserError, permutation, type Rng } from '../util/index.js';

/**
 * Reset strategies (docs/DESIGN.md#reset-strategies): each is a small pure function from
 * (θ0, θ_k, θ_final, mask, rng) to the weights a level starts from, plus the part of the
 * schedule the level trains. Registered by name; `name@k` passes a rewind point.
 */
export interface ResetInputs {
  readonly model: Model;
  /** the initializer of fresh draws and σ; null for a model whose θ0 is a file's weights (model.init "file"), where resets that `draw` are refused before any work */
  readonly init: InitName | null;
  /** θ0 of the trial */
  readonly theta0: Weights;
  /** θ_k of level 0, when the strategy has a rewind point */
  readonly thetaK: Weights | null;
  /** the previous level's final weights */
  readonly thetaFinal: Weights;
  /** the new level's mask */
  readonly masks: Masks;
  /** seeded for this (trial, strategy, level) */
  readonly rng: Rng;
}

interface ResetDef {
  readonly describe: string;
  /** whether `@k` is accepted, and what k defaults to */
  readonly rewindPoint: 'none' | 'optional';
  /** what the survivors start from: θ0 (or θ_k, or values derived from θ0; biases from θ0) or the previous level's final weights */
  readonly from: 'theta0' | 'final';
  /** draws from the model's initializer (fresh values or its σ) */
  readonly draws?: true;
  reset(x: ResetInputs): Weights;
  schedule(plan: TrainingSchedule, k: number): LevelSchedule;
}

/** Applies the mask to every prunable tensor; biases pass through. */
function masked(model: Model, w: Weights, masks: Masks): Weights {
  const out: Weights = {};
  for (const p of model.params) {
    const m = masks[p.name];
    out[p.name] = m ? w[p.name].map((v, i) => (m[i] ? v : 0)) : Float32Array.from(w[p.name]);
  }
  return out;
}

/**
 * Builds new weights tensor by tensor: `f` gives masked tensors' values; unmasked ones (biases
 * under weight granularity) and BatchNorm's γ and β, masked with their channel under filter
 * granularity, come from θ0 (docs/DESIGN.md#reset-strategies: BatchNorm's values are θ0's).
 */
function perLayer(x: ResetInputs, f: (name: string, theta0: Float32Array, mask: Uint8Array) => Float32Array): Weights {
  const w: Weights = {};
  const group = paramGroup(x.model.graph);
  for (const p of x.model.params)
    w[p.name] = x.masks[p.name] && group.get(p.name) !== 'batchnorm' ? f(p.name, x.theta0[p.name], x.masks[p.name]) : Float32Array.from(x.theta0[p.name]);
  return masked(x.model, w, x.masks);
}

const fullSchedule = (): LevelSchedule => ({ kind: 'replay', from: 0 });

const sigmaOf = (x: ResetInputs, name: string): number => {
  // a bug, not a user error: src/spec/check.ts refuses resets that draw when there is no initializer
  if (x.init === null) throw new Error(`reset draws from an initializer, but model.init is "file"`);
  return initStd(
    x.model.params.find((p) => p.name === name)!,
    x.init,
  );
};

/** θ0's surviving values of one layer, permuted among the surviving positions. */
function shuffledKept(t0: Float32Array, m: Uint8Array, rng: Rng): Float32Array {
  const kept: number[] = [];
  for (let i = 0; i < m.length; i++) if (m[i]) kept.push(i);
  const perm = permutation(kept.length, rng);
  const out = new Float32Array(t0.length);
  kept.forEach((dst, j) => (out[dst] = t0[kept[perm[j]]]));
  return out;
}

const REGISTRY: Record<string, ResetDef> = {
  rewind: {
    describe: 'θ0 ⊙ m, or θ_k ⊙ m with rewind@k; schedule replayed from k (Frankle & Carbin; Frankle et al. 2019)',
    rewindPoint: 'optional',
    from: 'theta0',
    reset: (x) => masked(x.model, x.thetaK ?? x.theta0, x.masks),
    schedule: (_, k) => ({ kind: 'replay', from: k }),
  },
  'sign-constant': {
    describe: "sign(θ0)·σ ⊙ m, σ = std of the layer's initializer (Zhou et al. 'signed constant')",
    rewindPoint: 'none',
    from: 'theta0',
    draws: true,
    reset: (x) =>
      perLayer(x, (name, t0) => {
        const s = sigmaOf(x, name);
        return t0.map((v) => Math.sign(v) * s);
      }),
    schedule: fullSchedule,
  },
  'random-reinit': {
    describe: 'a fresh draw from the initializer (new seed every level) ⊙ m (Frankle & Carbin control)',
    rewindPoint: 'none',
    from: 'theta0',
    draws: true,
    reset: (x) =>
      perLayer(x, (name, t0) => {
        const s = sigmaOf(x, name);
        return t0.map(() => x.rng.normal() * s);
      }),
    schedule: fullSchedule,
  },
  reshuffle: {
    describe: "θ0's surviving values permuted within each layer ⊙ m (Zhou et al. 'reshuffle')",
    rewindPoint: 'none',
    from: 'theta0',
    reset: (x) => perLayer(x, (_, t0, m) => shuffledKept(t0, m, x.rng)),
    schedule: fullSchedule,
  },
  // Zhou et al. §4: keeping only each weight's original sign is enough to match rewinding.
  'signed-reinit': {
    describe: "|a fresh draw from the initializer| with θ0's sign, ⊙ m (Zhou et al. 'signed reinit')",
    rewindPoint: 'none',
    from: 'theta0',
    draws: true,
    reset: (x) =>
      perLayer(x, (name, t0) => {
        const s = sigmaOf(x, name);
        return t0.map((v) => Math.sign(v) * Math.abs(x.rng.normal() * s));
      }),
    schedule: fullSchedule,
  },
  'signed-reshuffle': {
    describe: "θ0's surviving magnitudes permuted within each layer, each weight keeping θ0's sign, ⊙ m (Zhou et al. 'signed reshuffle')",
    rewindPoint: 'none',
    from: 'theta0',
    reset: (x) => perLayer(x, (_, t0, m) => shuffledKept(t0, m, x.rng).map((v, i) => Math.sign(t0[i]) * Math.abs(v))),
    schedule: fullSchedule,
  },
  'random-signed-constant': {
    describe: "±σ with a random sign (p = ½ each) ⊙ m, σ = std of the layer's initializer (Zhou et al. 'random signed constant': signs matter)",
    rewindPoint: 'none',
    from: 'theta0',
    draws: true,
    reset: (x) =>
      perLayer(x, (name, t0) => {
        const s = sigmaOf(x, name);
        return t0.map(() => (x.rng.uniform() < 0.5 ? -s : s));
      }),
    schedule: fullSchedule,
  },
  'fine-tune': {
    describe: "θ_final of the previous level ⊙ m, trained fineTuneIterations at the schedule's final LR (Renda et al.)",
    rewindPoint: 'none',
    from: 'final',
    reset: (x) => masked(x.model, x.thetaFinal, x.masks),
    schedule: (plan) => ({ kind: 'constant', steps: plan.fineTuneIterations, lr: finalLr(plan) }),
  },
  'lr-rewind': {
    describe: 'θ_final of the previous level ⊙ m, schedule replayed from k (default 0) (Renda et al.)',
    rewindPoint: 'optional',
    from: 'final',
    reset: (x) => masked(x.model, x.thetaFinal, x.masks),
    schedule: (_, k) => ({ kind: 'replay', from: k }),
  },
};

/** A strategy name resolved against a training plan. */
export interface Reset {
  /** as written in the spec, e.g. "rewind@1000it" */
  readonly name: string;
  readonly base: string;
  /** rewind point in iterations (0 when none) */
  readonly k: number;
  /** true when θ_k must be kept from level 0 */
  readonly needsThetaK: boolean;
  /** what the survivors start from (ResetDef.from) */
  readonly from: 'theta0' | 'final';
  /** draws from the model's initializer (ResetDef.draws) */
  readonly draws: boolean;
  reset(x: Omit<ResetInputs, 'thetaK'> & { thetaK: Weights | null }): Weights;
  schedule(plan: TrainingSchedule): LevelSchedule;
}

/** The reset of a registered strategy without a rewind point, for branches that reuse one (e.g. random-reinit). */
export function resetOf(base: 'random-reinit' | 'sign-constant' | 'rewind'): (x: ResetInputs) => Weights {
  return REGISTRY[base].reset;
}

export function resetNames(): string[] {
  return Object.keys(REGISTRY);
}

/** Every reset strategy with its help text, for `lth spec` (names take `@k` where a rewind point applies). */
export function describeResets(): { name: string; describe: string }[] {
  return Object.entries(REGISTRY).map(([name, d]) => ({ name: d.rewindPoint === 'none' ? name : `${name}[@k]`, describe: d.describe }));
}

export function resolveReset(text: string, plan: TrainingSchedule): Reset {
  const [base, arg, ...rest] = text.split('@');
  const def = REGISTRY[base];
  if (!def || rest.length > 0)
    throw new UserError(
      `unknown strategy "${text}": use one of ${resetNames().join(', ')} (rewind and lr-rewind take @k, e.g. rewind@500it)${didYouMean(base, resetNames())}`,
    );
  if (arg !== undefined && def.rewindPoint === 'none') throw new UserError(`strategy "${base}" takes no rewind point: write "${base}"`);
  let k = 0;
  if (arg !== undefined) {
    try {
      k = stepToIterations(parseStep(arg), plan.itersPerEpoch);
    } catch (e) {
      throw new UserError(`strategy "${text}": ${(e as Error).message}`);
    }
    // (a SpecError of the field it is checked against, so that a --set of it is named)
    if (k >= plan.iterations)
      throw new SpecError('training.iterations', `strategy "${text}": rewind point ${k} must be before the end of training (${plan.iterations} iterations)`);
  }
  const needsThetaK = base === 'rewind' && k > 0;
  return {
    name: text,
    base,
    k,
    needsThetaK,
    from: def.from,
    draws: def.draws === true,
    reset: (x) => def.reset({ ...x, thetaK: needsThetaK ? x.thetaK : null }),
    schedule: (p) => def.schedule(p, k),
  };
}
