import type { Masks, Model, Weights } from '../models/types.js';
import { isPrunable } from '../models/types.js';
import type { Criterion, PruningSpec } from '../spec/schema.js';
import { sha256 } from '../util/hash.js';
import { permutation, type Rng } from '../util/rng.js';
import { CRITERIA } from './criteria.js';
import { pruneUnits, type UnitCriterionName, type UnitStats } from './units.js';

/** All ones: the dense network's mask. */
export function denseMasks(model: Model): Masks {
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
 * Removes the `count` lowest-scoring weights of the pool. Finds the threshold with a native
 * numeric sort, removes everything below it, and breaks ties at the threshold at random
 * (a permutation drawn from the trial's rng), so equal scores never favour low indices.
 */
function removeLowest(pool: Pool, count: number, names: string[], out: Masks, rng: Rng): void {
  if (count <= 0) return;
  const sorted = Float32Array.from(pool.scores).sort();
  const threshold = sorted[count - 1];
  let below = 0;
  while (below < count && sorted[below] < threshold) below++;
  const tied: number[] = [];
  for (let i = 0; i < pool.scores.length; i++) {
    const s = pool.scores[i];
    if (s < threshold) out[names[pool.layer[i]]][pool.index[i]] = 0;
    else if (s === threshold) tied.push(i);
  }
  const perm = permutation(tied.length, rng);
  for (let j = 0; j < count - below; j++) {
    const i = tied[perm[j]];
    out[names[pool.layer[i]]][pool.index[i]] = 0;
  }
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
  /** the chain's unit criterion (neuron/filter granularity); default spec.unitCriterion */
  unitCriterion?: UnitCriterionName;
  /** per layer, activation statistics on the pruning sample, for data-driven unit criteria */
  unitStats?: Record<string, UnitStats>;
}

/** The layer a tensor belongs to: "fc1/kernel" → "fc1". */
export const layerOf = (paramName: string): string => paramName.split('/')[0];

/** Whether pruning.exclude names this tensor's layer or its kind (such layers are never pruned). */
export const isExcluded = (p: { name: string; kind: string }, exclude: readonly string[]): boolean => exclude.includes(layerOf(p.name)) || exclude.includes(p.kind);

/**
 * One pruning level: score alive weights with the criterion, remove the lowest fraction of what
 * remains. Layers in `spec.exclude` keep their mask and, under global scope, are left out of
 * the pool, so `globalRate` is a fraction of the other layers' survivors (OpenLTH's
 * `prunable_layer_names`).
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
      excluded: (l) => isExcluded({ name: l.kernel, kind: l.kind }, a.spec.exclude ?? []),
      stats: a.unitStats,
      rng: a.rng,
      removed,
    });
  const score = CRITERIA[a.criterion ?? a.spec.criterion];
  const layers = a.model.params.filter(isPrunable);
  const names = layers.map((p) => p.name);
  const out: Masks = {};
  const parts = layers.map((p, layer) => {
    const alive = a.masks[p.name];
    out[p.name] = Uint8Array.from(alive);
    return { layer, alive, scores: score({ init: a.init[p.name], final: a.final[p.name], alive, rng: a.rng }) };
  });
  const exclude = a.spec.exclude ?? [];
  const prunable = parts.filter((_, i) => !isExcluded(layers[i], exclude));
  if (a.spec.scope === 'layerwise') {
    parts.forEach((part, i) => {
      if (isExcluded(layers[i], exclude)) return;
      const candidates = pool([part]);
      const rate = a.spec.rates[layers[i].kind as 'conv' | 'fc' | 'output'];
      removeLowest(candidates, removed(candidates.scores.length, rate), names, out, a.rng);
    });
  } else {
    const candidates = pool(prunable);
    removeLowest(candidates, removed(candidates.scores.length, a.spec.globalRate), names, out, a.rng);
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
