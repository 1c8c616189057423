import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/index.js';
import { loadNativeAddon } from '../src/backend/native.js';
import { randomSplit } from '../src/bench/run.js';
import { buildModel, heldIndices, initialize, transposeValues, type Masks, type Model, type Weights } from '../src/models/index.js';
import { dynamicSparsity, type Churn } from '../src/pruning/during.js';
import { kthSmallest, markLowest } from '../src/pruning/select.js';
import { trainingSchema } from '../src/spec/index.js';
import { resolveSchedule, train, type StepCallback } from '../src/training/index.js';
import { makeRng, type Rng } from '../src/util/index.js';

/**
 * Mask updates of dynamic sparse training (SET, Mocanu et al. 2018; RigL, Evci et al. 2020) as
 * dynamicSparsity runs them — selection over kept and pruned lists (src/pruning/select.ts),
 * entries moved in place (TrainControl.moveMasks), bulk uniform draws (Rng.uniforms) — against a
 * reference written here from first principles: every entry of a layer scored and sorted in
 * float64, ties at the threshold broken by a Fisher–Yates shuffle of the tied entries, and the
 * masks, optimizer state and weights changed through setMasks, resetOptimizerState and
 * writeWeights. Same masks, churn and weights, bit for bit (−0 included), on the backends with
 * and without sparse kernels, with ties at both thresholds.
 */

const load = loadNativeAddon();
const backends = load.ok ? (['wasm', 'native'] as const) : (['wasm'] as const);

/** Bit patterns of a float32 array: equal iff every entry is the same float, −0 and NaNs told apart. */
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Fisher–Yates with rng.int, as src/util/rng.ts permutation draws it. */
function shuffle(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Ties seen by the reference: updates where the threshold fell on tied scores and some, not all, of them went. */
interface TieCount {
  drop: number;
  grow: number;
}

/**
 * The `count` lowest of `scores` (positions): all below the count-th smallest (a full sort,
 * float64), and among those equal to it the first count − below of a shuffle of their positions.
 */
function lowest(scores: number[], count: number, rng: Rng, tie: () => void): Set<number> {
  if (count <= 0) return new Set();
  const sorted = [...scores].sort((a, b) => a - b);
  const threshold = sorted[count - 1];
  const out = new Set<number>();
  const tied: number[] = [];
  scores.forEach((s, i) => (s < threshold ? out.add(i) : s === threshold && tied.push(i)));
  const perm = shuffle(tied.length, rng);
  const need = count - out.size;
  if (need > 0 && need < tied.length) tie();
  for (let j = 0; j < need; j++) out.add(tied[perm[j]]);
  return out;
}

/** The reference schedule: SET/RigL at every `every` steps before `end`, through setMasks + resetOptimizerState + writeWeights. */
function reference(o: { masks: Masks; names: string[]; regrow: 'random' | 'gradient'; alpha: number; end: number; every: number; rng: Rng }) {
  let masks = o.masks;
  const churn: Churn[] = [];
  const ties: TieCount = { drop: 0, grow: 0 };
  const cb: StepCallback = {
    at: (s, r) => s > r.from && s < Math.min(o.end, r.to) && (s - r.from) % o.every === 0,
    async run(s, trainee) {
      const c = trainee.control!;
      const w = await c.readWeights();
      const g = o.regrow === 'gradient' ? await c.gradients(s) : null;
      const f = (o.alpha / 2) * (1 + Math.cos((Math.PI * s) / o.end));
      const next: Masks = { ...masks };
      const grown: Masks = {};
      const zeroed: Weights = {};
      for (const n of o.names) {
        const m = masks[n];
        const kept = [...m.keys()].filter((i) => m[i] === 1);
        const pruned = [...m.keys()].filter((i) => m[i] === 0);
        const k = Math.min(Math.round(f * kept.length), pruned.length);
        const drop = lowest(
          kept.map((i) => Math.abs(w[n][i])),
          k,
          o.rng,
          () => ties.drop++,
        );
        // SET: one draw per entry of the layer, as float32
        const score = g ? Array.from(g[n], Math.abs) : Array.from(m, () => Math.fround(o.rng.uniform()));
        const stay = lowest(
          pruned.map((i) => score[i]),
          pruned.length - k,
          o.rng,
          () => ties.grow++,
        );
        const nm = Uint8Array.from(m);
        kept.forEach((i, j) => drop.has(j) && (nm[i] = 0));
        grown[n] = new Uint8Array(m.length);
        pruned.forEach((i, j) => !stay.has(j) && ((nm[i] = 1), (grown[n][i] = 1)));
        zeroed[n] = w[n].map((v, i) => (grown[n][i] ? 0 : v));
        next[n] = nm;
        churn.push({ step: s, layer: n, dropped: drop.size, regrown: pruned.length - stay.size, remaining: nm.reduce((a, b) => a + b, 0) });
      }
      c.setMasks(next);
      c.resetOptimizerState(grown);
      c.writeWeights(zeroed);
      masks = next;
    },
  };
  return { cb, churn, ties, masks: () => masks };
}

/** An MLP (784 → 32 → 16 → 10) at 10% of each kernel, with ties built in: all but `live` input
 *  features are always 0 (their fc1 weights get no gradient, so never move, and RigL's early
 *  updates regrow more than the 16 features' pruned entries: the rest tie at |∂L/∂w| = 0), and
 *  θ0 is rounded to multiples of 1/20 (equal |w| among the weights that do not move). */
function setup(live = 16) {
  const shape = [28, 28, 1];
  const model = buildModel('mlp-small', shape, 10);
  const split = randomSplit(shape, 600, 'dynamic-update');
  for (let i = 0; i < split.x.length; i++) if (i % 784 >= live) split.x[i] = 0;
  const data = { name: 'r', inputShape: shape, numClasses: 10, train: split, val: split, test: split, source: 'r' };
  const plan = resolveSchedule(trainingSchema.parse({ batchSize: 20, iterations: '60it', evalEvery: '61it' }), split.n);
  const rng = makeRng('dynamic-update', 'masks');
  const masks: Masks = {};
  const init = initialize(model, 'glorot-normal', 'dynamic-update');
  for (const p of model.params) {
    if (p.kind === 'none') continue;
    masks[p.name] = Uint8Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() < 0.1 ? 1 : 0));
    init[p.name] = init[p.name].map((v, i) => (masks[p.name][i] ? Math.round(v * 20) / 20 : 0));
  }
  return { model, data, plan, masks, init };
}

const prunable = (model: Model) => model.params.filter((p) => p.kind !== 'none').map((p) => p.name);

describe('SET and RigL mask updates: the same masks and weights as a float64 reference that sorts every entry', () => {
  for (const backend of backends)
    for (const regrow of ['random', 'gradient'] as const)
      it(`${regrow === 'random' ? 'SET' : 'RigL'} on ${backend}: 5 updates of an MLP at 10%, ties at the thresholds`, async () => {
        await initBackend(backend);
        const { model, data, plan, masks, init } = setup();
        const names = prunable(model);
        const o = { regrow, end: 55, every: 10 };
        const fast = dynamicSparsity({ pools: [{ names, rate: 0.9 }], masks, dropFraction: 0.3, rng: makeRng('d', regrow), ...o });
        const ref = reference({ masks, names, alpha: 0.3, rng: makeRng('d', regrow), ...o });
        const seen = (into: Map<number, { w: Weights; m: Masks }>): StepCallback => ({
          at: (s) => s % 10 === 0 || s % 10 === 1,
          run: async (s, t) => void into.set(s, { w: await t.control!.readWeights(), m: await t.control!.readMasks() }),
        });
        const run = async (cb: StepCallback) => {
          const at = new Map<number, { w: Weights; m: Masks }>();
          const res = await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['d'], stepCallbacks: [cb, seen(at)] });
          return { res, at };
        };
        const a = await run(fast);
        const b = await run(ref.cb);
        assert.deepEqual(fast.churn, ref.churn);
        assert.equal(fast.churn.length, 5 * names.length);
        assert.ok(
          fast.churn.every((c) => c.dropped === c.regrown),
          'an update moves as many as it drops',
        );
        assert.ok(fast.churn.reduce((s, c) => s + c.dropped, 0) > 100, 'the updates moved almost nothing: the comparison would be vacuous');
        assert.ok(ref.ties.drop > 0, 'no update broke a tie among the dropped: the tie path is untested');
        if (regrow === 'gradient') assert.ok(ref.ties.grow > 0, 'no update broke a tie among the regrown');
        for (const n of names) assert.deepEqual(fast.masks()[n], ref.masks()[n], `${n}: final masks`);
        for (const [s, x] of a.at) {
          const y = b.at.get(s)!;
          for (const n of names) {
            assert.deepEqual(x.m[n], y.m[n], `${n}: masks at step ${s}`);
            assert.deepEqual(bits(x.w[n]), bits(y.w[n]), `${n}: weights at step ${s}`);
          }
        }
        for (const p of model.params) assert.deepEqual(bits(a.res.weights[p.name]), bits(b.res.weights[p.name]), `${p.name}: final weights`);
      });
});

describe('TrainControl.moveMasks', () => {
  it('(every input feature live) equals setMasks + resetOptimizerState + writeWeights (grown at 0), bit for bit, with and without frozen mask-0 values; rejects bad moves', async () => {
    await initBackend('wasm');
    const { model, data, plan, masks, init } = setup(784);
    const names = prunable(model);
    const frozen: Weights = Object.fromEntries(names.map((n) => [n, init[n].map((_, i) => (i % 3) - 1)]));
    const rng = makeRng('moves');
    // Per tensor: 7 kept entries dropped and 7 pruned ones grown.
    const moves = Object.fromEntries(
      names.map((n) => {
        const kept = Int32Array.from([...masks[n].keys()].filter((i) => masks[n][i]));
        const pruned = Int32Array.from([...masks[n].keys()].filter((i) => !masks[n][i]));
        const pick = (xs: Int32Array) => Int32Array.from(shuffle(xs.length, rng).slice(0, 7), (j) => xs[j]);
        return [n, { dropped: pick(kept), grown: pick(pruned) }];
      }),
    );
    const at = (s: number) => s === 7;
    const viaMove: StepCallback = { at, run: (_s, t) => t.control!.moveMasks(moves) };
    const viaSet: StepCallback = {
      at,
      async run(_s, t) {
        const c = t.control!;
        const w = await c.readWeights();
        const next: Masks = {};
        const grown: Masks = {};
        for (const n of names) {
          next[n] = Uint8Array.from(masks[n]);
          grown[n] = new Uint8Array(masks[n].length);
          for (const i of moves[n].dropped) next[n][i] = 0;
          for (const i of moves[n].grown) {
            next[n][i] = 1;
            grown[n][i] = 1;
            w[n][i] = 0;
          }
        }
        c.setMasks(next);
        c.resetOptimizerState(grown);
        c.writeWeights(w);
      },
    };
    const bad: StepCallback = {
      at: (s) => s === 3,
      run: (_s, t) => {
        const c = t.control!;
        const [n] = names;
        const keptOne = Int32Array.of(moves[n].dropped[0]);
        const prunedOne = Int32Array.of(moves[n].grown[0]);
        assert.throws(() => c.moveMasks({ [n]: { dropped: prunedOne, grown: new Int32Array(0) } }), /dropped but not kept/);
        assert.throws(() => c.moveMasks({ [n]: { dropped: new Int32Array(0), grown: keptOne } }), /grown but not pruned/);
        assert.throws(() => c.moveMasks({ [n]: { dropped: Int32Array.of(masks[n].length), grown: new Int32Array(0) } }), /cannot move entry/);
        const bias = model.params.find((p) => p.kind === 'none')!.name;
        assert.throws(() => c.moveMasks({ [bias]: { dropped: new Int32Array(0), grown: new Int32Array(0) } }), /has no mask/);
      },
    };
    for (const withFrozen of [false, true]) {
      const run = (cb: StepCallback) =>
        train({
          model,
          data,
          plan,
          schedule: { kind: 'replay', from: 0 },
          init,
          masks,
          frozen: withFrozen ? frozen : undefined,
          orderKey: ['m'],
          stepCallbacks: [bad, cb],
        });
      const a = await run(viaMove);
      const b = await run(viaSet);
      for (const p of model.params) assert.deepEqual(bits(a.weights[p.name]), bits(b.weights[p.name]), `${p.name}${withFrozen ? ', frozen' : ''}`);
      const trained = names.flatMap((n) => [...moves[n].grown].filter((i) => a.weights[n][i] !== 0));
      assert.ok(trained.length >= 7, `regrown weights train after the move (${trained.length} of ${7 * names.length} moved)`);
    }
  });
});

describe('selection and layout helpers', () => {
  it('kthSmallest is sorted[k] of a numeric sort, with ties, ±0 and NaN', () => {
    const rng = makeRng('kth');
    for (const n of [1, 2, 7, 600, 601, 5000]) {
      for (const levels of [3, 1000, 0]) {
        const a = Float32Array.from({ length: n }, () => (levels ? Math.floor(rng.uniform() * levels) / levels : rng.normal()));
        if (n > 10) a[3] = -0;
        const sorted = Float32Array.from(a).sort();
        for (const k of [0, n - 1, Math.floor(n / 2), Math.floor(n / 3)]) assert.ok(kthSmallest(a, k) === sorted[k], `n ${n}, k ${k}`);
      }
    }
    const withNaN = Float32Array.of(3, NaN, 1, 2);
    assert.equal(kthSmallest(withNaN, 2), 3);
    assert.ok(Number.isNaN(kthSmallest(withNaN, 3)));
    assert.throws(() => kthSmallest(withNaN, 4), RangeError);
  });

  it('markLowest marks exactly `count`, all below the threshold, and breaks ties from the rng', () => {
    const scores = Float32Array.of(0.5, 0.1, 0.5, 0.9, 0.5, 0.2, 0.5);
    const marked = markLowest(scores, 4, makeRng('ties'));
    assert.equal(
      marked.reduce((a, b) => a + b, 0),
      4,
    );
    assert.equal(marked[1] + marked[5], 2);
    assert.equal(marked[3], 0);
    // a different rng picks a different pair of the four tied 0.5s at least once
    const picks = new Set(Array.from({ length: 8 }, (_, r) => markLowest(scores, 4, makeRng('ties', r)).join('')));
    assert.ok(picks.size > 1, 'ties are not broken at random');
    assert.equal(markLowest(scores, 0, makeRng('x')).join(''), '0000000');
  });

  it('Rng.uniforms gives the next n uniform() draws and leaves the stream where n draws would', () => {
    const a = makeRng('u', 1);
    const b = makeRng('u', 1);
    for (const n of [10, 5000, 70001]) {
      const u = a.uniforms(n);
      for (let k = 0; k < n; k++) assert.ok(u[k] === b.uniform(), `draw ${k} of ${n}`);
      assert.equal(a.uniform(), b.uniform());
      assert.equal(a.normal(), b.normal());
    }
  });

  it('transposeValues and heldIndices agree with the stored ↔ held layout', () => {
    const [rows, cols] = [70, 130];
    const v = Float32Array.from({ length: rows * cols }, (_, i) => i);
    const t = transposeValues(v, rows, cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) assert.equal(t[c * rows + r], v[r * cols + c]);
    const p = { name: 'k', kind: 'fc', shape: [rows, cols], layout: 'transposed' } as const;
    const stored = Int32Array.of(0, 1, cols, rows * cols - 1, 5 * cols + 7);
    assert.deepEqual(
      [...heldIndices(p as never, stored)].map((h) => t[h]),
      [...stored],
    );
  });
});
