import { test } from 'node:test';
import { AT_INIT_CRITERIA, type AtInitCriterion } from '../src/pruning/saliency.js';
import assert from 'node:assert/strict';
import { buildModel, initialize, initStd, type Masks, type Model, type Weights } from '../src/models/index.js';
import { fullMasks, prune, pruneCount, randomMasks, remainingAfter, sparsity } from '../src/pruning/index.js';
import { PRUNING_CRITERIA, diffIdentity, specSchema, validateSpec, type Criterion } from '../src/spec/index.js';
import { MASK0 } from '../src/mask0/index.js';
import { resolveReset } from '../src/resets/index.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { makeRng, permutation } from '../src/util/rng.js';

/**
 * Zhou et al. (2019) on hand-computed tensors: one 2×3 kernel (and its bias), chosen values,
 * the exact mask or weights each criterion / action must give.
 */
const model: Model = {
  name: 'one-layer',
  inputShape: [2],
  numClasses: 3,
  params: [
    { name: 'k', shape: [2, 3], kind: 'fc', fanIn: 2, fanOut: 3 },
    { name: 'b', shape: [3], kind: 'none', fanIn: 2, fanOut: 3 },
  ],
  graph: { inputShape: [2], nodes: [], params: [] },
  forward: () => {
    throw new Error('not used');
  },
  forwardTrain: () => {
    throw new Error('not used');
  },
  predict: () => {
    throw new Error('not used');
  },
};
const wi = Float32Array.from([0.1, -0.9, 0.5, -0.3, 0.7, 0.2]);
const wf = Float32Array.from([0.8, -0.1, -0.6, 0.45, 0.05, -0.25]);
const theta0: Weights = { k: wi, b: Float32Array.from([0.01, 0.02, 0.03]) };
const final: Weights = { k: wf, b: Float32Array.from([0.5, 0.5, 0.5]) };
const pruningAt = (fc: number) => specSchema.parse({ name: 'x', pruning: { rates: { fc } } }).pruning;
const maskWith = (criterion: Criterion, fc = 0.5, seed = 1) => [
  ...prune({ model, masks: fullMasks(model), init: theta0, final, spec: pruningAt(fc), criterion, rng: makeRng(seed) }).k,
];

// |w_i| = .1 .9 .5 .3 .7 .2   |w_f| = .8 .1 .6 .45 .05 .25   signs i: + - + - + +   f: + - - + + -
const expected: Record<Exclude<Criterion, 'random' | 'obd' | AtInitCriterion>, { fc: number; mask: number[] }> = {
  large_final: { fc: 0.5, mask: [1, 0, 1, 1, 0, 0] },
  small_final: { fc: 0.5, mask: [0, 1, 0, 0, 1, 1] },
  large_init: { fc: 0.5, mask: [0, 1, 1, 0, 1, 0] },
  small_init: { fc: 0.5, mask: [1, 0, 0, 1, 0, 1] },
  // |w_f| − |w_i| = .7 −.8 .1 .15 −.65 .05
  magnitude_increase: { fc: 0.5, mask: [1, 0, 1, 1, 0, 0] },
  // |w_f − w_i| = .7 .8 1.1 .75 .65 .45
  movement: { fc: 0.5, mask: [0, 1, 1, 1, 0, 0] },
  // keep 2: the only weights above a shared percentile in both |w_i| and |w_f| (ranks i: 0 5 3 2 4 1, f: 5 1 4 3 0 2)
  large_init_large_final: { fc: 4 / 6, mask: [0, 0, 1, 1, 0, 0] },
  // keep 2: small in both (|w_i|, |w_f|) = (.2, .25) and (.3, .45)
  small_init_small_final: { fc: 4 / 6, mask: [0, 0, 0, 1, 0, 1] },
  // sign kept: 0, 1, 4 → scores .8 .1 0 0 .05 0
  large_final_same_sign: { fc: 0.5, mask: [1, 1, 0, 0, 1, 0] },
  // sign flipped: 2, 3, 5 → scores 0 0 .6 .45 0 .25
  large_final_diff_sign: { fc: 0.5, mask: [0, 0, 1, 1, 0, 1] },
};

for (const [criterion, e] of Object.entries(expected)) {
  test(`criterion ${criterion} gives the hand-computed mask`, () => {
    assert.deepEqual(maskWith(criterion as Criterion, e.fc), e.mask);
  });
}

test('every criterion of the schema has a hand-computed test (random is tested for counts and seeding; snip, grasp, synflow in test/pruning-at-init.test.ts; obd in test/pruning-at-init.test.ts)', () => {
  assert.deepEqual([...Object.keys(expected), 'random', 'obd', ...AT_INIT_CRITERIA].sort(), [...PRUNING_CRITERIA].sort());
});

test('random criterion: exact count, reproducible from the seed, different across seeds', () => {
  const a = maskWith('random', 0.5, 1);
  assert.equal(
    a.reduce((s, v) => s + v, 0),
    3,
  );
  assert.deepEqual(maskWith('random', 0.5, 1), a);
  const masks = new Set(Array.from({ length: 8 }, (_, s) => maskWith('random', 0.5, s).join('')));
  assert.ok(masks.size > 1, 'eight seeds gave one mask');
});

test('ties at the threshold are broken from the seed: same seed same mask, and both tied weights get chosen across seeds', () => {
  const tied: Weights = { k: Float32Array.from([0.5, 0.5, 0.9, 0.5, 0.1, 0.9]), b: final.b };
  const run = (seed: number) => [...prune({ model, masks: fullMasks(model), init: theta0, final: tied, spec: pruningAt(0.5), rng: makeRng('tie', seed) }).k];
  assert.deepEqual(run(3), run(3));
  const kept = new Set<number>();
  for (let s = 0; s < 20; s++) {
    const m = run(s);
    assert.deepEqual([m[2], m[4], m[5]], [1, 0, 1]);
    assert.equal(m[0] + m[1] + m[3], 1, 'exactly one of the three tied 0.5s survives');
    kept.add(m.indexOf(1));
  }
  assert.ok(kept.size > 1, 'tie-breaking always favoured one index');
});

// ── mask-1 actions ──────────────────────────────────────────────────────────────────────
const m1: Masks = { k: Uint8Array.from([1, 0, 1, 1, 0, 0]) };
const kept = [0, 2, 3];
const sigmaD = initStd(model.params[0], 'glorot-normal'); // √(2/5), as the draws use it
const sigma = Math.fround(sigmaD);
const spec = specSchema.parse({ name: 'x', training: { iterations: '100it' } });
const plan = resolveSchedule(spec.training, 1000);
const resetWith = (name: string, rngKey: string) =>
  resolveReset(name, plan).reset({ model, init: 'glorot-normal', theta0, thetaK: null, thetaFinal: final, masks: m1, rng: makeRng(rngKey) });
const f32 = (xs: number[]) => [...Float32Array.from(xs)];

test('mask-1 rewind (original init): θ0 on kept, 0 on pruned, biases from θ0', () => {
  const w = resetWith('rewind', 'r');
  assert.deepEqual([...w.k], f32([0.1, 0, 0.5, -0.3, 0, 0]));
  assert.deepEqual([...w.b], [...theta0.b]);
});

test('mask-1 random-reinit: a fresh N(0, σ²) draw on kept weights', () => {
  const rng = makeRng('r');
  const draw = Array.from({ length: 6 }, () => rng.normal() * sigmaD);
  assert.deepEqual([...resetWith('random-reinit', 'r').k], f32(draw.map((v, i) => (m1.k[i] ? v : 0))));
});

test('mask-1 reshuffle: θ0’s kept values permuted among the kept positions', () => {
  const perm = permutation(3, makeRng('r'));
  const want = [0, 0, 0, 0, 0, 0];
  kept.forEach((dst, j) => (want[dst] = wi[kept[perm[j]]]));
  assert.deepEqual([...resetWith('reshuffle', 'r').k], f32(want));
});

test('mask-1 signed-reinit: fresh magnitudes, θ0’s signs', () => {
  const rng = makeRng('r');
  const draw = Array.from({ length: 6 }, () => Math.abs(rng.normal() * sigmaD));
  const w = resetWith('signed-reinit', 'r');
  assert.deepEqual([...w.k], f32(draw.map((v, i) => (m1.k[i] ? Math.sign(wi[i]) * v : 0))));
  assert.deepEqual(
    kept.map((i) => Math.sign(w.k[i])),
    [1, 1, -1],
  );
});

test('mask-1 signed-reshuffle: kept magnitudes permuted, each weight keeps θ0’s sign', () => {
  const perm = permutation(3, makeRng('r'));
  const want = [0, 0, 0, 0, 0, 0];
  kept.forEach((dst, j) => (want[dst] = Math.sign(wi[dst]) * Math.abs(wi[kept[perm[j]]])));
  const w = resetWith('signed-reshuffle', 'r');
  assert.deepEqual([...w.k], f32(want));
  assert.deepEqual(kept.map((i) => Math.abs(w.k[i])).sort(), f32([0.1, 0.5, 0.3]).sort(), 'same magnitudes');
});

test('mask-1 sign-constant: sign(θ0)·σ', () => {
  assert.deepEqual([...resetWith('sign-constant', 'r').k], f32([sigma, 0, sigma, -sigma, 0, 0]));
});

test('mask-1 random-signed-constant: ±σ with signs from the rng, not from θ0', () => {
  const rng = makeRng('r');
  const signs = Array.from({ length: 6 }, () => (rng.uniform() < 0.5 ? -1 : 1));
  assert.deepEqual([...resetWith('random-signed-constant', 'r').k], f32(signs.map((s, i) => (m1.k[i] ? s * sigma : 0))));
  // over many seeds the sign of a weight is independent of θ0's
  let agree = 0;
  for (let s = 0; s < 200; s++) agree += Math.sign(resetWith('random-signed-constant', `s${s}`).k[3]) === Math.sign(wi[3]) ? 1 : 0;
  assert.ok(agree > 70 && agree < 130, `sign agreed with θ0 in ${agree}/200 draws`);
});

// ── mask-0 actions ──────────────────────────────────────────────────────────────────────
test('mask-0 zero: nothing frozen (pruned weights are 0)', () => {
  assert.equal(MASK0.zero.frozen({ model, theta0, prevFinal: final, prevMasks: fullMasks(model), masks: m1 }), null);
});

test('mask-0 freeze-init: pruned weights hold θ0, kept entries 0', () => {
  const f = MASK0['freeze-init'].frozen({ model, theta0, prevFinal: final, prevMasks: fullMasks(model), masks: m1 })!;
  assert.deepEqual([...f.k], f32([0, -0.9, 0, 0, 0.7, 0.2]));
  assert.equal(f.b, undefined, 'biases are never pruned');
});

test('mask-0 freeze-init-or-zero: θ0 where the weight moved away from zero, else 0; earlier decisions stick', () => {
  // pruned 1 (|w_f| .1 < .9: toward zero → 0), 4 (.05 < .7 → 0), 5 (.25 ≥ .2: away → θ0)
  const f = MASK0['freeze-init-or-zero'].frozen({ model, theta0, prevFinal: final, prevMasks: fullMasks(model), masks: m1 })!;
  assert.deepEqual([...f.k], f32([0, 0, 0, 0, 0, 0.2]));
  // next level: weight 3 newly pruned (|.45| ≥ |−.3| → θ0); 1, 4, 5 keep what they were frozen at
  const next: Masks = { k: Uint8Array.from([1, 0, 1, 0, 0, 0]) };
  const prevFinal: Weights = { k: Float32Array.from([0.9, 0, -0.7, 0.45, 0, 0.2]), b: final.b };
  const g = MASK0['freeze-init-or-zero'].frozen({ model, theta0, prevFinal, prevMasks: m1, masks: next })!;
  assert.deepEqual([...g.k], f32([0, 0, 0, -0.3, 0, 0.2]));
});

// ── one-shot pruning ────────────────────────────────────────────────────────────────────
test('one-shot level L prunes the dense network to exactly the per-layer counts of L iterative rounds', () => {
  const lenet = buildModel('lenet-300-100', [784], 10);
  const i0 = initialize(lenet, 'glorot-normal', 'theta0', 1);
  const fin = initialize(lenet, 'glorot-normal', 'final', 1);
  const ps = specSchema.parse({ name: 'x', pruning: { schedule: 'one-shot' } }).pruning;
  const iterative: Masks[] = [fullMasks(lenet)];
  for (let l = 1; l <= 7; l++) iterative.push(prune({ model: lenet, masks: iterative[l - 1], init: i0, final: fin, spec: ps, rng: makeRng('i', l) }));
  for (const L of [1, 2, 3, 7]) {
    const oneShot = prune({ model: lenet, masks: fullMasks(lenet), init: i0, final: fin, spec: ps, rng: makeRng('o', L), rounds: L });
    const a = sparsity(lenet, oneShot).layers.map((l) => l.remaining);
    assert.deepEqual(
      a,
      sparsity(lenet, iterative[L]).layers.map((l) => l.remaining),
      `level ${L}`,
    );
    // hand check on fc1: 235200 → 188160 → 150528 → 120422 (round at each step)
    if (L === 3) assert.equal(a[0], 120422);
    // one-shot keeps the largest dense-final weights of each layer outright
    const w = fin['fc2/kernel'];
    let minKept = Infinity;
    let maxPruned = -Infinity;
    oneShot['fc2/kernel'].forEach((m, i) => (m ? (minKept = Math.min(minKept, Math.abs(w[i]))) : (maxPruned = Math.max(maxPruned, Math.abs(w[i])))));
    assert.ok(maxPruned <= minKept);
  }
  assert.equal(remainingAfter(1000, 0.1, 3), 1000 - 100 - 90 - 81);
  assert.equal(remainingAfter(1000, 0.1, 1), 1000 - pruneCount(1000, 0.1));
  // ≈ the closed form 1 − (1 − rate)^L (exact up to one weight per round of rounding)
  assert.ok(Math.abs(remainingAfter(235200, 0.2, 7) - 235200 * 0.8 ** 7) <= 7);
});

test('pruning.schedule is documented, defaults to iterative and keeps old hashes', () => {
  const base = validateSpec({ name: 'h' }, 't');
  assert.equal(base.spec.pruning.schedule, 'iterative');
  assert.equal(validateSpec({ name: 'h', pruning: { schedule: 'iterative' } }, 't').hash, base.hash);
  assert.notEqual(validateSpec({ name: 'h', pruning: { schedule: 'one-shot' } }, 't').hash, base.hash);
  // mask0 'zero' written out or not: same experiment; a chain's mask0 changed: a different one
  const a = validateSpec({ name: 'h', strategies: ['rewind', 'fine-tune'] }, 't').spec;
  assert.deepEqual(diffIdentity(a, validateSpec({ name: 'h', strategies: [{ reset: 'rewind', mask0: 'zero' }, 'fine-tune'] }, 't').spec).changed, []);
  assert.deepEqual(
    diffIdentity(a, validateSpec({ name: 'h', strategies: [{ reset: 'rewind', name: 'rewind', mask0: 'freeze-init' }, 'fine-tune'] }, 't').spec).changed,
    ['strategies[rewind].mask0'],
  );
  assert.equal(validateSpec({ name: 'h', strategies: [{ reset: 'rewind', mask0: 'freeze-init' }] }, 't').spec.strategies[0].name, 'rewind/freeze-init');
});

test('random masks keep each layer’s count and move the positions', () => {
  const lenet = buildModel('lenet-300-100', [784], 10);
  const ps = specSchema.parse({ name: 'x' }).pruning;
  const m = prune({
    model: lenet,
    masks: fullMasks(lenet),
    init: initialize(lenet, 'glorot-normal', 'a', 1),
    final: initialize(lenet, 'glorot-normal', 'b', 1),
    spec: ps,
    rng: makeRng(1),
  });
  const r = randomMasks(lenet, m, makeRng(2));
  assert.deepEqual(sparsity(lenet, r).layers, sparsity(lenet, m).layers);
  assert.notDeepEqual(r['fc1/kernel'], m['fc1/kernel']);
});
