import type { Masks, Model, Weights } from '../models/types.js';
import type { Step } from '../spec/step.js';
import type { MaskMove, StepCallback, TrainControl } from '../training/loop.js';
import type { Rng } from '../util/rng.js';
import { keptCounts, scheduleMultiplyAdds, stepMultiplyAdds } from './compute.js';
import { fullMasks, keepTop, prunePools, remainingAfter, type PrunePool } from './masker.js';
import type { DuringLevel, DuringOutcome } from './pruner.js';
import { markLowest } from './select.js';

/**
 * Pruning during training (docs/PAPERS.md#when-to-prune), as training-loop callbacks that
 * change the mask through TrainControl: gradual magnitude pruning (Zhu & Gupta 2017) and
 * dynamic sparse training (SET, Mocanu et al. 2018; RigL, Evci et al. 2020). Every update
 * is recorded as churn: weights dropped and regrown per layer.
 */

/** One layer's change at one mask update. */
export interface Churn {
  /** the step the update ran before (the network had `step` updates) */
  readonly step: number;
  readonly layer: string;
  readonly dropped: number;
  readonly regrown: number;
  /** weights of the layer kept after the update */
  readonly remaining: number;
}

const count = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0);

/** Kept weights of each pool at pruning level `level`: the counts `level` iterative rounds leave
 *  (a pool of the ERK distribution: its layer's ERK count at that level). */
export function levelTargets(pools: readonly PrunePool[], masks: Masks, level: number): number[] {
  return pools.map((p) =>
    p.keptAt
      ? p.keptAt(level)
      : remainingAfter(
          p.names.reduce((a, n) => a + masks[n].length, 0),
          p.rate,
          level,
        ),
  );
}

/** A during-training level's pools, dense masks and per-pool targets (levelTargets). */
export function levelPools(x: Pick<DuringLevel, 'model' | 'pruning' | 'level'>): { pools: PrunePool[]; dense: Masks; targets: number[] } {
  const pools = prunePools(x.model, x.pruning);
  const dense = fullMasks(x.model);
  return { pools, dense, targets: levelTargets(pools, dense, x.level) };
}

/** θ ⊙ m; tensors without a mask (biases) copied. */
export const maskedCopy = (model: Model, w: Weights, masks: Masks): Weights =>
  Object.fromEntries(model.params.map((p) => [p.name, masks[p.name] ? w[p.name].map((v, i) => (masks[p.name][i] ? v : 0)) : Float32Array.from(w[p.name])]));

/** Multiply-adds of `iterations` training steps with fixed `masks` (./compute.ts). */
export const fixedMaskMacs = (model: Model, batch: number, masks: Masks, iterations: number): number =>
  iterations * stepMultiplyAdds(model, batch, keptCounts(masks));

/** The last mask update: `end`, or 75% of training when null (Zhu & Gupta; RigL's T_end). */
export const lastUpdate = (end: Step | null, x: Pick<DuringLevel, 'plan' | 'steps'>): number =>
  end === null ? Math.floor(0.75 * x.plan.iterations) : x.steps(end);

/**
 * Trains θ0 ⊙ `start` for the full schedule while `schedule` moves the mask: the row's final
 * masks, its churn, and its compute (counted over the mask of each stretch between updates;
 * with `gradientUpdates`, one dense gradient per update, RigL's grow score).
 */
export async function trainScheduled(x: DuringLevel, start: Masks, schedule: MaskSchedule, gradientUpdates: boolean): Promise<DuringOutcome> {
  const res = await x.trainFrom({ init: maskedCopy(x.model, x.theta0, start), masks: start, stepCallbacks: [schedule] });
  const updates = new Set(schedule.churn.map((c) => c.step)).size;
  const macs = scheduleMultiplyAdds(
    x.model,
    x.plan.spec.batchSize,
    { from: 0, to: res.iterations },
    keptCounts(start),
    schedule.churn,
    gradientUpdates ? updates : 0,
  );
  return { masks: schedule.masks(), res, compute: { totalIterations: res.iterations, totalMultiplyAdds: macs }, churn: schedule.churn };
}

/** The steps Zhu & Gupta's schedule updates the mask at: t0, t0 + Δt, … up to `end`, and `end` itself. */
export function gradualSteps(start: number, end: number, every: number): number[] {
  const out: number[] = [];
  for (let t = start; t < end; t += every) out.push(t);
  out.push(end);
  return out;
}

/**
 * Weights kept at step t under Zhu & Gupta's cubic schedule (Zhu & Gupta 2017, Eq. 1):
 * s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³, with s_i = 0 (dense at t0) and nΔt = end − t0,
 * in whole weights: kept = n0 − round((n0 − target)(1 − (1 − p)³)), p = (t − t0)/(end − t0)
 * clamped to [0, 1], so exactly `target` remain from `end` on.
 */
export function cubicKept(n0: number, target: number, t: number, start: number, end: number): number {
  const p = end === start ? (t >= end ? 1 : 0) : Math.min(1, Math.max(0, (t - start) / (end - start)));
  return n0 - Math.round((n0 - target) * (1 - (1 - p) ** 3));
}

/**
 * RigL's drop fraction at step t (Evci et al. 2020, Eq. 1): f(t) = α/2 · (1 + cos(π t / T_end)),
 * 0 from T_end on.
 */
export function cosineDropFraction(alpha: number, t: number, tEnd: number): number {
  return t >= tEnd ? 0 : (alpha / 2) * (1 + Math.cos((Math.PI * t) / tEnd));
}

const absOf = (w: Weights, names: readonly string[]): Weights => Object.fromEntries(names.map((n) => [n, w[n].map(Math.abs)]));

/** A mask-update callback: runs at `steps`, keeps the masks it set and the churn it caused. */
export interface MaskSchedule extends StepCallback {
  /** the masks in force now (after the last update) */
  masks(): Masks;
  readonly churn: Churn[];
}

/**
 * Gradual magnitude pruning: from `masks` (dense), at each step of gradualSteps the smallest
 * |w| of each pool are removed down to cubicKept(…) weights, reaching `targets` at `end`.
 */
export function gradualPruning(o: {
  pools: readonly PrunePool[];
  masks: Masks;
  targets: readonly number[];
  start: number;
  end: number;
  every: number;
  rng: Rng;
}): MaskSchedule {
  let masks: Masks = Object.fromEntries(Object.entries(o.masks).map(([k, v]) => [k, Uint8Array.from(v)]));
  const n0 = o.pools.map((p) => p.names.reduce((a, n) => a + count(masks[n]), 0));
  const steps = new Set(gradualSteps(o.start, o.end, o.every));
  const churn: Churn[] = [];
  return {
    churn,
    masks: () => masks,
    at: (s) => steps.has(s),
    async run(s, trainee) {
      const control = need(trainee.control);
      const w = await control.readWeights();
      const next: Masks = Object.fromEntries(Object.entries(masks).map(([k, v]) => [k, Uint8Array.from(v)]));
      o.pools.forEach((p, j) => keepTop(next, p.names, absOf(w, p.names), cubicKept(n0[j], o.targets[j], s, o.start, o.end), o.rng));
      control.setMasks(next);
      for (const p of o.pools)
        for (const n of p.names) churn.push({ step: s, layer: n, dropped: count(masks[n]) - count(next[n]), regrown: 0, remaining: count(next[n]) });
      masks = next;
    },
  };
}

/**
 * Dynamic sparse training at fixed per-layer counts: every `every` steps before `end`, in each
 * layer of the pools, k = round(f(t) · kept) weights with the smallest |w| are dropped and k
 * weights that were pruned before the update are regrown — at random (SET, Mocanu et al. 2018)
 * or where |∂L/∂w| of the step's batch is largest (RigL, Evci et al. 2020). Regrown weights
 * start at 0 with their optimizer state reset (Evci et al. 2020 §3); dropped ones are zeroed
 * with their state. The weights just dropped are not candidates for regrowth in the same
 * update, so an update moves exactly k connections (k is capped at the layer's pruned count).
 * Ties at either threshold are broken at random from `rng` (./select.ts markLowest); SET's
 * grow scores are one uniform draw per entry of the layer, pruned or not, in index order.
 *
 * An update selects over the layer's kept entries (drop) and pruned entries (grow) only, and
 * moves the chosen entries in place (TrainControl.moveMasks): its cost is a few passes over
 * each layer's entries in JS, not tensor-wide passes (docs/PERFORMANCE.md, "SET, RigL and the
 * quick preset").
 */
export function dynamicSparsity(o: {
  pools: readonly PrunePool[];
  masks: Masks;
  regrow: 'random' | 'gradient';
  dropFraction: number;
  end: number;
  every: number;
  rng: Rng;
}): MaskSchedule {
  let masks: Masks = Object.fromEntries(Object.entries(o.masks).map(([k, v]) => [k, Uint8Array.from(v)]));
  const names = o.pools.flatMap((p) => p.names);
  const churn: Churn[] = [];
  return {
    churn,
    masks: () => masks,
    at: (s, r) => s > r.from && s < Math.min(o.end, r.to) && (s - r.from) % o.every === 0,
    async run(s, trainee) {
      const control = need(trainee.control);
      const w = await control.readWeights(names);
      const g = o.regrow === 'gradient' ? await control.gradients(s, names) : null;
      const f = cosineDropFraction(o.dropFraction, s, o.end);
      const next: Masks = { ...masks };
      const moves: Record<string, MaskMove> = {};
      for (const n of names) {
        const m = masks[n];
        const { kept, pruned } = keptAndPruned(m);
        const k = Math.min(Math.round(f * kept.length), pruned.length);
        // Drop: the k smallest |w| among the kept.
        const wn = w[n];
        const dropScore = new Float32Array(kept.length);
        for (let j = 0; j < kept.length; j++) dropScore[j] = Math.abs(wn[kept[j]]);
        const drop = markLowest(dropScore, k, o.rng);
        // Grow: the k best of the weights pruned before this update (all but the
        // pruned.length − k lowest scores).
        const growScore = new Float32Array(pruned.length);
        if (g) {
          const gn = g[n];
          for (let j = 0; j < pruned.length; j++) growScore[j] = Math.abs(gn[pruned[j]]);
        } else {
          const u = o.rng.uniforms(m.length);
          for (let j = 0; j < pruned.length; j++) growScore[j] = u[pruned[j]];
        }
        const stay = markLowest(growScore, pruned.length - k, o.rng);
        const mv = { dropped: pick(kept, drop, 1), grown: pick(pruned, stay, 0) };
        const nm = Uint8Array.from(m);
        for (const i of mv.dropped) nm[i] = 0;
        for (const i of mv.grown) nm[i] = 1;
        next[n] = nm;
        moves[n] = mv;
        churn.push({ step: s, layer: n, dropped: mv.dropped.length, regrown: mv.grown.length, remaining: kept.length - mv.dropped.length + mv.grown.length });
      }
      control.moveMasks(moves);
      masks = next;
    },
  };
}

/** The flat indices of a mask's kept and pruned entries, ascending. */
function keptAndPruned(m: Uint8Array): { kept: Int32Array; pruned: Int32Array } {
  let nk = 0;
  for (let i = 0; i < m.length; i++) nk += m[i] ? 1 : 0;
  const kept = new Int32Array(nk);
  const pruned = new Int32Array(m.length - nk);
  for (let i = 0, a = 0, b = 0; i < m.length; i++) {
    if (m[i]) kept[a++] = i;
    else pruned[b++] = i;
  }
  return { kept, pruned };
}

/** The entries of `from` whose flag is `want`. */
function pick(from: Int32Array, flags: Uint8Array, want: 0 | 1): Int32Array {
  let n = 0;
  for (let j = 0; j < flags.length; j++) n += flags[j] === want ? 1 : 0;
  const out = new Int32Array(n);
  for (let j = 0, o = 0; j < flags.length; j++) if (flags[j] === want) out[o++] = from[j];
  return out;
}

function need(c: TrainControl | undefined): TrainControl {
  if (!c) throw new Error('mask updates during training need a trainee with TrainControl (weight training)');
  return c;
}

/** Normalized Hamming distance between two masks: the fraction of the named tensors' entries
 *  where they differ (You et al. 2020, §3.2). */
export function maskDistance(a: Masks, b: Masks, names: readonly string[]): number {
  let diff = 0;
  let total = 0;
  for (const n of names) {
    const x = a[n];
    const y = b[n];
    for (let i = 0; i < x.length; i++) diff += x[i] !== y[i] ? 1 : 0;
    total += x.length;
  }
  return total ? diff / total : 0;
}

/**
 * Early-bird detection (You et al. 2020, §3.2): the index into `distances` of the first
 * evaluation at which the last `window` distances are all below ε (the maximum of the FIFO
 * queue < ε), or null when that never happens.
 */
export function earlyBirdDetect(distances: readonly number[], epsilon: number, window: number): number | null {
  for (let i = window - 1; i < distances.length; i++) {
    let max = -Infinity;
    for (let j = i - window + 1; j <= i; j++) max = Math.max(max, distances[j]);
    if (max < epsilon) return i;
  }
  return null;
}

/**
 * Early-bird search while a dense network trains: at every `every` steps from the first, the
 * magnitude mask with the pools' `targets` counts and its distance to the previous such mask;
 * once earlyBirdDetect fires it keeps the mask and the step in `found` and asks the training
 * loop to stop (LoopControl.requestStop): training ends there, nothing is thrown.
 */
export function earlyBirdSearch(o: {
  pools: readonly PrunePool[];
  dense: Masks;
  targets: readonly number[];
  every: number;
  epsilon: number;
  window: number;
  rng: Rng;
}): StepCallback & {
  readonly distances: { iteration: number; distance: number }[];
  /** the ticket and the step it was detected at; null until then */
  found(): { step: number; masks: Masks } | null;
} {
  const names = o.pools.flatMap((p) => p.names);
  const distances: { iteration: number; distance: number }[] = [];
  let prev: Masks | null = null;
  let found: { step: number; masks: Masks } | null = null;
  return {
    distances,
    found: () => found,
    at: (s, r) => found === null && (s - r.from) % o.every === 0,
    async run(s, trainee, loop) {
      const w = await need(trainee.control).readWeights();
      const m: Masks = Object.fromEntries(Object.entries(o.dense).map(([k, v]) => [k, Uint8Array.from(v)]));
      o.pools.forEach((p, j) => keepTop(m, p.names, absOf(w, p.names), o.targets[j], o.rng));
      if (prev) {
        distances.push({ iteration: s, distance: maskDistance(prev, m, names) });
        if (
          earlyBirdDetect(
            distances.map((d) => d.distance),
            o.epsilon,
            o.window,
          ) ===
          distances.length - 1
        ) {
          found = { step: s, masks: m };
          loop.requestStop();
        }
      }
      prev = m;
    },
  };
}
