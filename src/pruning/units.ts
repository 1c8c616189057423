import { unitCouplings, unitsLeftOut, type UnitCoupling, type UnitLeftOut } from '../models/graph.js';
import type { Masks, Model, Weights } from '../models/types.js';
import { permutation, type Rng } from '../util/rng.js';

/**
 * Structured pruning: whole units (neurons of hidden dense layers, filters of conv layers)
 * instead of single weights (docs/DESIGN.md#structured). Masks stay the one mechanism: a pruned
 * unit u of a layer L — or of a group of layers whose channels residual adds sum, channel u of
 * every one of them — is
 * - its incoming weights: every entry of each kernel [..., in, out] of the group with index % out = u;
 * - its per-unit vectors (UnitCoupling.vectors): entry u of the layers' biases and of the γ and β
 *   of every BatchNorm its channels pass (such masks exist only under unit granularity; the
 *   training loop multiplies every masked tensor, so the unit's pre-activation is 0, its
 *   BatchNorm output 0·x̂ + 0 = 0 in training and inference mode whatever its running
 *   statistics, the sum of an add of such channels 0, its ReLU output 0, and it is dead for every
 *   input). BatchNorm's running mean and variance of a pruned channel are model state, never
 *   masked: they follow the batches (the channel's input is 0, so they decay towards 0) and are
 *   multiplied by γ = 0;
 * - its outgoing weights: the entries of every kernel it feeds whose input index i has i % U = u
 *   (U = the units). That covers dense→dense and conv→conv (i = u), and conv→dense through the
 *   row-major NHWC flatten or global average pooling, where input i = (y·w + x)·U + c carries
 *   channel c = i % U.
 * The groups and the kernels they feed are read from the model's layer graph (unitCouplings:
 * through ReLU, pooling, flatten and BatchNorm, joined by adds; Fang et al. 2023,
 * docs/PAPERS.md#fang-2023). A group is scored by all its kernels: l1_norm sums the L1 norms of
 * its layers' incoming weights, l2_norm is the L2 norm of all of them; the data-driven criteria
 * read one layer's ReLU outputs and are refused for groups of several layers (src/spec/check.ts).
 * The output layer's units are never pruned. `percent_remaining` still counts kernel weights
 * (incoming and outgoing weights of a dead unit count as removed; biases, γ and β never count).
 */

export type Granularity = 'weight' | 'neuron' | 'filter';

/** One prunable layer's units as the masker and the export see them: the graph's unit coupling (src/models/graph.ts). */
export type UnitLayer = UnitCoupling;

/** Whether `granularity` prunes units of a layer of this kind: hidden dense layers under 'neuron' and 'filter', convs under 'filter' only. */
const prunesKind = (granularity: Granularity) => (l: { kind: 'conv' | 'fc' }) => granularity !== 'weight' && (l.kind === 'fc' || granularity === 'filter');

/** The layers (and groups of layers) whose units `granularity` prunes: hidden dense layers for 'neuron'; conv filters and hidden dense layers for 'filter'. Empty for 'weight'. */
export function unitLayers(model: Pick<Model, 'graph'>, granularity: Granularity): UnitLayer[] {
  return unitCouplings(model.graph).filter(prunesKind(granularity));
}

/** The layers of the kinds `granularity` prunes whose units it cannot prune (a conv summed with the model's input, …), each with why (src/models/graph.ts unitsLeftOut). */
export function unitLayersLeftOut(model: Pick<Model, 'graph'>, granularity: Granularity): UnitLeftOut[] {
  return unitsLeftOut(model.graph).filter(prunesKind(granularity));
}

/** Alive units of a layer: the mask of its `alive` vector, or all ones before the first unit pruning (the dense level has no unit masks). */
export const aliveUnits = (l: UnitLayer, masks: Masks): Uint8Array => (masks[l.alive] ? Uint8Array.from(masks[l.alive]) : new Uint8Array(l.units).fill(1));

/** Zeroes unit u of `l` in `masks` (incoming weights of every kernel of the group, biases, BatchNorm γ and β, the input rows of every kernel it feeds); masks are edited in place. */
export function killUnit(l: UnitLayer, masks: Masks, u: number): void {
  for (const name of l.kernels) {
    const k = masks[name];
    for (let i = u; i < k.length; i += l.units) k[i] = 0;
  }
  for (const v of l.vectors) masks[v][u] = 0;
  for (const next of l.nexts) {
    const n = masks[next.kernel];
    // conv→conv: the next kernel is [k, k, U, out], so input channel u recurs in each of the k² taps.
    const taps = n.length / (next.in * next.out);
    for (let t = 0; t < taps; t++)
      for (let row = u; row < next.in; row += l.units) n.fill(0, (t * next.in + row) * next.out, (t * next.in + row + 1) * next.out);
  }
}

/** Per-unit statistics of the hidden activations on the pruning sample (src/pruning/statistics.ts). */
export interface UnitStats {
  /** mean ReLU output per unit (over examples and, for filters, positions) */
  readonly mean: Float32Array;
  /** average percentage of zeros: the fraction of a unit's outputs that are exactly 0 (Hu et al. 2016) */
  readonly apoz: Float32Array;
  /** first-order Taylor: mean over examples of |mean over positions of a·∂C/∂a| (Molchanov et al. 2017, eq. 8) */
  readonly taylor: Float32Array;
}

export interface UnitScoreInputs {
  readonly layer: UnitLayer;
  /** the kernels of the layer (of each layer of a group) at the end of the previous level's training, stored layout [..., in, out] */
  readonly kernels: readonly Float32Array[];
  readonly alive: Uint8Array;
  /** present when the criterion needs data */
  readonly stats?: UnitStats;
  readonly rng: Rng;
}

/** A unit score function (higher = kept) carrying its help line and whether it needs the data sample. */
export type UnitCriterionDef = ((x: UnitScoreInputs) => Float32Array) & { readonly help: string; readonly needsData: boolean };
const unitCriterion = (help: string, needsData: boolean, f: (x: UnitScoreInputs) => Float32Array): UnitCriterionDef => Object.assign(f, { help, needsData });

/** Σ_i f(w_iu) over the incoming weights of each unit u (all taps and input channels; of a group: of every layer's kernel, summed). */
function incoming(x: UnitScoreInputs, f: (w: number) => number): Float32Array {
  const U = x.layer.units;
  const s = new Float64Array(U);
  for (const k of x.kernels) for (let i = 0; i < k.length; i++) s[i % U] += f(k[i]);
  return Float32Array.from(s);
}

const needStats = (x: UnitScoreInputs): UnitStats => {
  if (!x.stats) throw new Error(`unit criterion needs activation statistics for ${x.layer.layer}`);
  return x.stats;
};

/**
 * Unit importance criteria: each gives a score per unit of a layer; the masker keeps the
 * highest. They enter the pruner registry (src/pruning/registry.ts, `UNIT_CRITERIA`) as the
 * weight criteria do; the spec's enum and `lth run --help` read it there.
 */
export const UNIT_CRITERION_DEFS = {
  l1_norm: unitCriterion('keep units with the largest L1 norm of incoming weights Σ|w| (Li et al. 2017)', false, (x) => incoming(x, Math.abs)),
  l2_norm: unitCriterion('keep units with the largest L2 norm of incoming weights √Σw² (Li et al. 2017)', false, (x) =>
    incoming(x, (w) => w * w).map(Math.sqrt),
  ),
  mean_activation: unitCriterion('keep units with the largest mean ReLU output on the pruning sample (Molchanov et al. 2017 baseline)', true, (x) =>
    Float32Array.from(needStats(x).mean),
  ),
  apoz: unitCriterion('keep units with the lowest average percentage of zero outputs on the pruning sample (Hu et al. 2016)', true, (x) =>
    needStats(x).apoz.map((v) => -v),
  ),
  taylor: unitCriterion(
    'keep units with the largest first-order Taylor saliency |a·∂C/∂a| averaged over the pruning sample (Molchanov et al. 2017)',
    true,
    (x) => Float32Array.from(needStats(x).taylor),
  ),
  random: unitCriterion('keep a uniformly random subset of units (seeded)', false, (x) => Float32Array.from({ length: x.layer.units }, () => x.rng.uniform())),
} satisfies Record<string, UnitCriterionDef>;

export type UnitCriterionName = keyof typeof UNIT_CRITERION_DEFS;

/**
 * Indices of the `count` lowest-scoring alive units; ties at the threshold are broken by a
 * permutation from `rng` (as the weight masker does), so equal scores never favour low indices.
 */
export function lowestUnits(scores: Float32Array, alive: Uint8Array, count: number, rng: Rng): number[] {
  const idx: number[] = [];
  for (let u = 0; u < alive.length; u++) if (alive[u]) idx.push(u);
  if (count <= 0) return [];
  const sorted = idx.map((u) => scores[u]).sort((a, b) => a - b);
  const threshold = sorted[count - 1];
  const out = idx.filter((u) => scores[u] < threshold);
  const tied = idx.filter((u) => scores[u] === threshold);
  const perm = permutation(tied.length, rng);
  for (let j = 0; out.length < count; j++) out.push(tied[perm[j]]);
  return out.sort((a, b) => a - b);
}

/** Units per layer: the count pruning left (recorded per level, table `unit_counts`). */
export function unitCounts(model: Model, granularity: Granularity, masks: Masks): { layer: string; total: number; remaining: number }[] {
  return unitLayers(model, granularity).map((l) => {
    const a = aliveUnits(l, masks);
    return { layer: l.layer, total: l.units, remaining: a.reduce((s, v) => s + v, 0) };
  });
}

/** Masks with a mask (all ones) for every per-unit vector of every unit layer (biases, BatchNorm γ and β), so the training loop masks them from the first structured level on. */
export function withUnitMasks(model: Model, granularity: Granularity, masks: Masks): Masks {
  const out: Masks = {};
  for (const [k, v] of Object.entries(masks)) out[k] = Uint8Array.from(v);
  for (const l of unitLayers(model, granularity)) for (const v of l.vectors) out[v] ??= new Uint8Array(l.units).fill(1);
  return out;
}

export interface UnitPruneArgs {
  model: Model;
  granularity: Granularity;
  masks: Masks;
  /** the previous level's final weights (stored layout) */
  final: Weights;
  criterion: UnitCriterionName;
  /** rate of remaining units removed per level, by layer kind */
  rates: { conv: number; fc: number };
  /** layers never pruned (pruning.exclude, by name or kind) */
  excluded: (layer: UnitLayer) => boolean;
  /** per layer name, when the criterion needs data */
  stats?: Record<string, UnitStats>;
  rng: Rng;
  /** units removed = units − remainingAfter(units, rate, rounds) (one-shot level L: rounds = L) */
  removed: (alive: number, rate: number) => number;
}

/**
 * One structured pruning level: in each unit layer (unitLayers), score the alive units and
 * remove the lowest `rate` of them (layerwise: unit scores of different layers are not on one
 * scale). Returns new masks with unit masks; kernel masks keep everything pruned before.
 */
export function pruneUnits(a: UnitPruneArgs): Masks {
  const out = withUnitMasks(a.model, a.granularity, a.masks);
  const score = UNIT_CRITERION_DEFS[a.criterion];
  for (const l of unitLayers(a.model, a.granularity)) {
    if (a.excluded(l)) continue;
    const alive = aliveUnits(l, out);
    const n = alive.reduce((s, v) => s + v, 0);
    const count = a.removed(n, a.rates[l.kind]);
    // Scores are drawn for every layer (even count 0) so the random stream never depends on rates.
    const scores = score({ layer: l, kernels: l.kernels.map((k) => a.final[k]), alive, stats: a.stats?.[l.layer], rng: a.rng });
    for (const u of lowestUnits(scores, alive, Math.min(count, n - 1), a.rng)) killUnit(l, out, u);
  }
  return out;
}
