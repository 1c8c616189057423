import type { Masks, Model, Weights } from '../models/types.js';
import { isPrunable } from '../models/types.js';
import type { Criterion, PruningSpec } from '../spec/schema.js';
import { sha256 } from '../util/hash.js';
import type { Rng } from '../util/rng.js';
import { CRITERIA } from './criteria.js';

/** All ones: the dense network's mask. */
export function denseMasks(model: Model): Masks {
  const m: Masks = {};
  for (const p of model.params) if (isPrunable(p)) m[p.name] = new Uint8Array(p.shape.reduce((a, b) => a * b, 1)).fill(1);
  return m;
}

/** Number of weights removed from `alive` at `rate`: round(rate × alive), exact to the weight. */
export const pruneCount = (alive: number, rate: number): number => Math.round(rate * alive);

const countAlive = (m: Uint8Array): number => {
  let c = 0;
  for (let i = 0; i < m.length; i++) c += m[i];
  return c;
};

interface Candidate {
  layer: string;
  index: number;
  score: number;
  tie: number;
}

/** Removes the `count` lowest-scoring candidates; ties are broken by a random key from the trial's rng. */
function removeLowest(cands: Candidate[], count: number, out: Masks): void {
  cands.sort((a, b) => a.score - b.score || a.tie - b.tie);
  for (let i = 0; i < count; i++) out[cands[i].layer][cands[i].index] = 0;
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
}

/** One pruning level: score alive weights with the criterion, remove the lowest fraction of what remains. */
export function prune(a: PruneArgs): Masks {
  const score = CRITERIA[a.criterion ?? a.spec.criterion];
  const out: Masks = {};
  const perLayer: Candidate[][] = [];
  const layers = a.model.params.filter(isPrunable);
  for (const p of layers) {
    const alive = a.masks[p.name];
    out[p.name] = Uint8Array.from(alive);
    const s = score({ init: a.init[p.name], final: a.final[p.name], alive, rng: a.rng });
    const cands: Candidate[] = [];
    for (let i = 0; i < alive.length; i++) if (alive[i]) cands.push({ layer: p.name, index: i, score: s[i], tie: a.rng.uniform() });
    perLayer.push(cands);
  }
  if (a.spec.scope === 'layerwise') {
    layers.forEach((p, i) => {
      const rate = a.spec.rates[p.kind as 'conv' | 'fc' | 'output'];
      removeLowest(perLayer[i], pruneCount(perLayer[i].length, rate), out);
    });
  } else {
    const all = perLayer.flat();
    removeLowest(all, pruneCount(all.length, a.spec.globalRate), out);
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
