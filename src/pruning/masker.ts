import { type Masks, type Model, type Weights, isPrunable } from '../models/index.js';
import type { Criterion, PruningSpec } from '../spec/index.js';
import { sha256, permutation, type Rng } from '../util/index.js';
import { markLowest } from './select.js';
import { CRITERIA } from './registry.js';
import { erkCounts } from './erk.js';
import { pruneUnits, type UnitCriterionName, type UnitStats } from './units.js';

/** The full mask: all ones (nothing pruned). */
export function fullMasks(model: Model): Masks {
  const m: Masks = {};
  for (const p of model.params) if (isPrunable(p)) m[p.name] = new Uint8Array(p.shape.reduce((a, b) => a * b, 1)).fill(1);
  return m;
}

/** Number of weights removed from `alive` at `rate`: round(rate × alive), exact to the weight. */
export const pruneCount = (alive: number, rate: number): number => Math.round(rate * alive);

/** Weights left of `alive` after `rounds` iterative rounds at `rate`. One-shot pruning removes
 *  down to exactly this count, so one-shot level L and iterative level L have equal counts. */
export function remainingAfter(alive: number, rate: number, rounds: number): number {
  let n = alive;
  for (let r = 0; r < rounds; r++) n -= pruneCount(n, rate);
  return n;
}

const countAlive = (m: Uint8Array): number => {
  let c = 0;
  for (let i = 0; i < m.length; i++) c += m[i];
  return c;
};

/** Scores of the alive weights of one or more layers, flattened, with where each came from. */
interface Pool {
  scores: Float32Array;
  layer: Uint16Array;
  index: Uint32Array;
}

/**
 * Removes the `count` lowest-scoring weights of the pool (./select.ts markLowest: the threshold
 * by selection, not a sort; ties at the threshold broken by a permutation drawn from the trial's
 * rng, so equal scores never favour low indices).
 */
function removeLowest(pool: Pool, count: number, names: string[], out: Masks, rng: Rng): void {
  if (count <= 0) return;
  const low = markLowest(pool.scores, count, rng);
  for (let i = 0; i < low.length; i++) if (low[i]) out[names[pool.layer[i]]][pool.index[i]] = 0;
}

function pool(parts: { layer: number; alive: Uint8Array; scores: Float32Array }[]): Pool {
  const n = parts.reduce((a, p) => a + countAlive(p.alive), 0);
  const out: Pool = { scores: new Float32Array(n), layer: new Uint16Array(n), index: new Uint32Array(n) };
  let k = 0;
  for (const p of parts)
    for (let i = 0; i < p.alive.length; i++)
      if (p.alive[i]) {
        out.scores[k] = p.scores[i];
        out.layer[k] = p.layer;
        out.index[k++] = i;
      }
  return out;
}

export interface PruneArgs {
  model: Model;
  masks: Masks;
  /** θ0 */
  init: Weights;
  /** the previous level's final weights */
  final: Weights;
  spec: PruningSpec;
  criterion?: Criterion;
  rng: Rng;
  /** prune as many weights as this many iterative rounds would, in one go (one-shot level L: rounds = L); default 1 */
  rounds?: number;
  /** the level being pruned: the ERK distribution (scope "erk") targets level L's counts; required there */
  level?: number;
  /** scores that need the network (src/pruning/saliency.ts), for the masks pruned so far;
   *  required by the at-init criteria (snip, grasp, synflow) */
  saliency?: (masks: Masks) => Weights;
  /** reach the level's count in this many rounds, rescoring in between, the kept fraction
   *  shrinking geometrically (SynFlow, Tanaka et al. 2020, Algorithm 1); default 1 */
  iterations?: number;
  /** the chain's unit criterion (neuron/filter granularity); default spec.unitCriterion */
  unitCriterion?: UnitCriterionName;
  /** per layer, activation statistics on the pruning sample, for data-driven unit criteria */
  unitStats?: Record<string, UnitStats>;
}

/** The layer a tensor belongs to: "fc1/kernel" → "fc1". */
export const layerOf = (paramName: string): string => paramName.split('/')[0];

/** Whether pruning.exclude names this tensor's layer or its kind (such layers are never pruned). */
export const isExcluded = (p: { name: string; kind: string }, exclude: readonly string[]): boolean =>
  exclude.includes(layerOf(p.name)) || exclude.includes(p.kind);

/** Whether pruning.exclude names a layer of a unit layer or group (by name or kind): then none of its units is pruned. */
export const isUnitExcluded = (l: { kernels: readonly string[]; kind: string }, exclude: readonly string[]): boolean =>
  l.kernels.some((k) => isExcluded({ name: k, kind: l.kind }, exclude));

/**
 * One pruning level: score alive weights with the criterion, remove the lowest fraction of what
 * remains. Layers in `spec.exclude` keep their mask and, under global scope, are left out of
 * the pool, so `globalRate` is a fraction of the other layers' survivors (OpenLTH's
 * `prunable_layer_names`). With `iterations` n > 1, round k of n keeps
 * round(alive · (target/alive)^(k/n)) of each pool (the last round exactly the target).
 */
export function prune(a: PruneArgs): Masks {
  const rounds = a.rounds ?? 1;
  const removed = (alive: number, rate: number) => alive - remainingAfter(alive, rate, rounds);
  const granularity = a.spec.granularity ?? 'weight';
  if (granularity !== 'weight')
    return pruneUnits({
      model: a.model,
      granularity,
      masks: a.masks,
      final: a.final,
      criterion: a.unitCriterion ?? a.spec.unitCriterion,
      rates: a.spec.rates,
      excluded: (l) => isUnitExcluded(l, a.spec.exclude ?? []),
      stats: a.unitStats,
      rng: a.rng,
      removed,
    });
  const criterion = a.criterion ?? a.spec.criterion;
  const score = CRITERIA[criterion];
  const iterations = a.iterations ?? 1;
  const layers = a.model.params.filter(isPrunable);
  const names = layers.map((p) => p.name);
  const out: Masks = {};
  for (const p of layers) out[p.name] = Uint8Array.from(a.masks[p.name]);
  const exclude = a.spec.exclude ?? [];
  const kept = layers.map((p, i) => i).filter((i) => !isExcluded(layers[i], exclude));
  // Pools pruned together: each layer alone (layerwise, erk) or all not excluded (global).
  const groups = a.spec.scope === 'global' ? [kept] : kept.map((i) => [i]);
  const rate = (g: number[]) => (a.spec.scope === 'layerwise' ? a.spec.rates[layers[g[0]].kind as 'conv' | 'fc' | 'output'] : a.spec.globalRate);
  const start = groups.map((g) => g.reduce((n, i) => n + countAlive(a.masks[names[i]]), 0));
  const erk =
    a.spec.scope === 'erk'
      ? erkTargets(
          kept.map((i) => layers[i]),
          a.spec.globalRate,
          need(a.level),
        )
      : null;
  // ERK: the level's count per layer from the dense sizes (never more than is alive).
  const target = groups.map((g, j) => (erk ? Math.min(start[j], erk[j]) : remainingAfter(start[j], rate(g), rounds)));
  for (let it = 1; it <= iterations; it++) {
    const sal = a.saliency?.(out);
    const scores = layers.map((p) => score({ init: a.init[p.name], final: a.final[p.name], alive: out[p.name], rng: a.rng, saliency: sal?.[p.name] }));
    groups.forEach((g, j) => {
      const keep = it === iterations || start[j] === 0 ? target[j] : Math.round(start[j] * (target[j] / start[j]) ** (it / iterations));
      const candidates = pool(g.map((i) => ({ layer: i, alive: out[names[i]], scores: scores[i] })));
      removeLowest(candidates, candidates.scores.length - keep, names, out, a.rng);
    });
  }
  return out;
}

const need = (level: number | undefined): number => {
  if (level === undefined) throw new Error('pruning.scope "erk" targets a level: pass prune() the level');
  return level;
};

/**
 * Per-layer kept counts of the ERK distribution at `level` (./erk.ts): the overall count is what
 * `level` rounds at `globalRate` leave of these layers' weights, spread by Erdős–Rényi-Kernel.
 */
function erkTargets(layers: readonly { shape: readonly number[] }[], globalRate: number, level: number): number[] {
  const total = layers.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  return erkCounts(
    layers.map((p) => p.shape),
    remainingAfter(total, globalRate, level),
  );
}

/** Weights pruned together: one pool per layer under layerwise scope (at that layer's rate) and
 *  under ERK (at its ERK count, `keptAt`), one of every layer not excluded under global scope
 *  (at globalRate). Excluded layers are in none. */
export interface PrunePool {
  readonly names: readonly string[];
  readonly rate: number;
  /** weights this pool keeps at a level, where that is not `level` rounds at `rate` (ERK) */
  readonly keptAt?: (level: number) => number;
}

export function prunePools(model: Model, spec: PruningSpec): PrunePool[] {
  const layers = model.params.filter(isPrunable).filter((p) => !isExcluded(p, spec.exclude ?? []));
  if (spec.scope === 'layerwise') return layers.map((p) => ({ names: [p.name], rate: spec.rates[p.kind as 'conv' | 'fc' | 'output'] }));
  if (spec.scope === 'erk')
    return layers.map((p, j) => ({ names: [p.name], rate: spec.globalRate, keptAt: (level: number) => erkTargets(layers, spec.globalRate, level)[j] }));
  return [{ names: layers.map((p) => p.name), rate: spec.globalRate }];
}

/** In place: removes the lowest-scoring alive weights of the named tensors from `masks` until
 *  `keep` of them remain (ties at the threshold broken at random from `rng`, as in prune). */
export function keepTop(masks: Masks, names: readonly string[], scores: Weights, keep: number, rng: Rng): void {
  const candidates = pool(names.map((n, layer) => ({ layer, alive: masks[n], scores: scores[n] })));
  removeLowest(candidates, candidates.scores.length - keep, [...names], masks, rng);
}

/** The mask with each layer's kept positions permuted within that layer (Su et al. 2020's
 *  layer-wise shuffle control: per-layer counts kept, positions random). For a mask this is
 *  the same distribution as randomMasks; it is its own branch so tables name the control. */
export function shuffledMasks(model: Model, masks: Masks, rng: Rng): Masks {
  const out: Masks = {};
  for (const p of model.params.filter(isPrunable)) {
    const m = masks[p.name];
    const perm = permutation(m.length, rng);
    const r = new Uint8Array(m.length);
    for (let j = 0; j < m.length; j++) r[perm[j]] = m[j];
    out[p.name] = r;
  }
  return out;
}

/** A mask with the same number of kept weights in each layer as `masks`, at uniformly random
 *  positions (the random-mask control: only the per-layer keep ratios are preserved). */
export function randomMasks(model: Model, masks: Masks, rng: Rng): Masks {
  const out: Masks = {};
  for (const p of model.params.filter(isPrunable)) {
    const m = masks[p.name];
    const keep = countAlive(m);
    const perm = permutation(m.length, rng);
    const r = new Uint8Array(m.length);
    for (let j = 0; j < keep; j++) r[perm[j]] = 1;
    out[p.name] = r;
  }
  return out;
}

export interface Sparsity {
  percentRemaining: number;
  layers: { layer: string; total: number; remaining: number }[];
}

/** % of prunable weights remaining (biases excluded, as in Frankle & Carbin's counts). */
export function sparsity(model: Model, masks: Masks): Sparsity {
  let total = 0;
  let remaining = 0;
  const layers = model.params.filter(isPrunable).map((p) => {
    const m = masks[p.name];
    const r = countAlive(m);
    total += m.length;
    remaining += r;
    return { layer: p.name, total: m.length, remaining: r };
  });
  return { percentRemaining: (100 * remaining) / total, layers };
}

/** A fingerprint of the mask, to tell identical tickets apart in SQL. */
export function maskHash(model: Model, masks: Masks): string {
  const parts = model.params.filter(isPrunable).map((p) => masks[p.name]);
  const buf = new Uint8Array(parts.reduce((a, m) => a + m.length, 0));
  let o = 0;
  for (const m of parts) {
    buf.set(m, o);
    o += m.length;
  }
  return sha256(buf).slice(0, 16);
}
