import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildModel, initialize, type Masks, type Weights } from '../src/models/index.js';
import {
  cosineDropFraction,
  cubicKept,
  dynamicSparsity,
  earlyBirdDetect,
  gradualPruning,
  gradualSteps,
  levelTargets,
  maskDistance,
} from '../src/pruning/during.js';
import { fullMasks, prune, prunePools } from '../src/pruning/index.js';
import { specSchema } from '../src/spec/index.js';
import { train, type StepCallback } from '../src/training/loop.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';
import { tinySpec } from './helpers/common.js';

/**
 * Pruning during training (docs/PAPERS.md#when-to-prune): Zhu & Gupta's cubic schedule, SET
 * and RigL, checked step by step against what the test computes itself from the weights,
 * gradients and masks it reads before each update.
 */

const spec = specSchema.parse(tinySpec({ training: { iterations: '60it', evalEvery: '20it', batchSize: 20 }, pruning: { scope: 'layerwise' } }));

before(async () => {
  await initBackend('wasm');
});

async function setup() {
  const data = await loadDataset(spec.data, spec.seed, {});
  const model = buildModel('mlp-small', data.inputShape, data.numClasses);
  const plan = resolveSchedule(spec.training, data.train.n);
  const init = initialize(model, 'glorot-normal', 'theta0', 1);
  return { data, model, plan, init };
}

const ones = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);
const copy = (m: Masks): Masks => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Uint8Array.from(v)]));

/** A callback at every step that checks pruned weights hold exactly 0 (−0 counts). */
function zeroCheck(bad: string[]): StepCallback {
  return {
    at: () => true,
    run: async (s, t) => {
      const w = await t.control!.readWeights();
      const m = await t.control!.readMasks();
      for (const [n, mm] of Object.entries(m)) mm.forEach((v, i) => !v && w[n][i] !== 0 && bad.push(`${n}[${i}] = ${w[n][i]} at step ${s}`));
    },
  };
}

test('cubic schedule (Zhu & Gupta 2017, Eq. 1): exact kept counts at each update', () => {
  // n0 = 1000, target 200 (s_f = 0.8), t0 = 0, nΔt = 1000, Δt = 250:
  // p = 0, .25, .5, .75, 1 → 1 − (1 − p)³ = 0, .578125, .875, .984375, 1 → removed round(800·…) = 0, 463, 700, 788, 800
  assert.deepEqual(gradualSteps(0, 1000, 250), [0, 250, 500, 750, 1000]);
  assert.deepEqual(
    [0, 250, 500, 750, 1000].map((t) => cubicKept(1000, 200, t, 0, 1000)),
    [1000, 537, 300, 212, 200],
  );
  // before t0 nothing is removed, after the end exactly the target remains; an end not on the grid is still an update
  assert.equal(cubicKept(1000, 200, -5, 0, 1000), 1000);
  assert.equal(cubicKept(1000, 200, 5000, 0, 1000), 200);
  assert.deepEqual(gradualSteps(10, 45, 10), [10, 20, 30, 40, 45]);
});

test('RigL drop fraction: α/2 (1 + cos(π t / T_end)), 0 from T_end on', () => {
  assert.equal(cosineDropFraction(0.3, 0, 100), 0.3);
  assert.ok(Math.abs(cosineDropFraction(0.3, 50, 100) - 0.15) < 1e-12);
  assert.ok(Math.abs(cosineDropFraction(0.3, 25, 100) - 0.15 * (1 + Math.SQRT1_2)) < 1e-12);
  assert.equal(cosineDropFraction(0.3, 100, 100), 0);
});

test('gradual pruning in training: per-layer counts follow the cubic schedule at each update, churn recorded, pruned weights exactly 0 at every step', async () => {
  const { data, model, plan, init } = await setup();
  const pools = prunePools(model, spec.pruning);
  const dense = fullMasks(model);
  const targets = levelTargets(pools, dense, 3);
  const sched = gradualPruning({ pools, masks: dense, targets, start: 10, end: 40, every: 10, rng: makeRng('g') });
  const bad: string[] = [];
  const seen: { step: number; masks: Masks }[] = [];
  const after: StepCallback = {
    at: (s) => [10, 20, 30, 40].includes(s),
    run: async (s, t) => void seen.push({ step: s, masks: await t.control!.readMasks() }),
  };
  const res = await train({
    model,
    data,
    plan,
    schedule: { kind: 'replay', from: 0 },
    init,
    masks: dense,
    orderKey: ['g'],
    stepCallbacks: [sched, after, zeroCheck(bad)],
  });
  assert.deepEqual(bad, []);
  assert.deepEqual(
    seen.map((x) => x.step),
    [10, 20, 30, 40],
  );
  pools.forEach((p, j) => {
    const [n] = p.names;
    const n0 = dense[n].length;
    // hidden 20%, output 10% per round: 3 rounds
    let target = n0;
    for (let r = 0; r < 3; r++) target -= Math.round(p.rate * target);
    assert.equal(targets[j], target);
    for (const { step, masks } of seen) {
      const pr = (step - 10) / 30;
      assert.equal(ones(masks[n]), n0 - Math.round((n0 - target) * (1 - (1 - pr) ** 3)), `${n} at ${step}`);
    }
    assert.equal(ones(sched.masks()[n]), target);
    const rows = sched.churn.filter((c) => c.layer === n);
    assert.deepEqual(
      rows.map((c) => c.step),
      [10, 20, 30, 40],
    );
    let prev = n0;
    for (const c of rows) {
      assert.equal(c.dropped, prev - c.remaining);
      assert.equal(c.regrown, 0);
      prev = c.remaining;
    }
    res.weights[n].forEach((v, i) => assert.ok(sched.masks()[n][i] || v === 0));
  });
});

for (const regrow of ['gradient', 'random'] as const) {
  test(`${regrow === 'gradient' ? 'RigL' : 'SET'}: constant per-layer counts, drops the smallest |w|, ${regrow === 'gradient' ? 'grows the largest |∂L/∂w|' : 'grows among the pruned'}, regrown weights start at 0 with fresh Adam state, nothing revives`, async () => {
    const { data, model, plan, init } = await setup();
    const pools = prunePools(model, spec.pruning);
    const start = prune({ model, masks: fullMasks(model), init, final: init, spec: spec.pruning, criterion: 'random', rng: makeRng('r'), rounds: 4 });
    const alpha = 0.3;
    const end = 45;
    const sched = dynamicSparsity({ pools, masks: start, regrow, dropFraction: alpha, end, every: 10, rng: makeRng('d') });
    const pre = new Map<number, { w: Weights; g: Weights; m: Masks }>();
    const post = new Map<number, { w: Weights; g: Weights; m: Masks }>();
    const next = new Map<number, Weights>();
    const bad: string[] = [];
    const snap = (into: Map<number, { w: Weights; g: Weights; m: Masks }>): StepCallback => ({
      at: (s) => s > 0 && s < end && s % 10 === 0,
      run: async (s, t) => void into.set(s, { w: await t.control!.readWeights(), g: await t.control!.gradients(s), m: await t.control!.readMasks() }),
    });
    const nextStep: StepCallback = { at: (s) => s > 1 && s <= end && s % 10 === 1, run: async (s, t) => void next.set(s - 1, await t.control!.readWeights()) };
    const masked = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, start[k] ? v.map((x, i) => (start[k][i] ? x : 0)) : v]));
    await train({
      model,
      data,
      plan,
      schedule: { kind: 'replay', from: 0 },
      init: masked,
      masks: start,
      orderKey: ['d'],
      stepCallbacks: [snap(pre), sched, snap(post), nextStep, zeroCheck(bad)],
    });
    assert.deepEqual(bad, []);
    assert.deepEqual([...pre.keys()], [10, 20, 30, 40]);
    const adam = spec.training.optimizer as { lr: number; beta1: number; beta2: number; epsilon: number };
    let moved = 0;
    for (const [s, before] of pre) {
      const after = post.get(s)!;
      const f = (alpha / 2) * (1 + Math.cos((Math.PI * s) / end));
      for (const n of Object.keys(start)) {
        const m0 = before.m[n];
        const m1 = after.m[n];
        const kept = ones(m0);
        assert.equal(ones(m1), kept, `${n} count changed at ${s}`);
        const k = Math.min(Math.round(f * kept), m0.length - kept);
        const dropped = [...m0.keys()].filter((i) => m0[i] && !m1[i]);
        const grown = [...m0.keys()].filter((i) => !m0[i] && m1[i]);
        assert.equal(dropped.length, k);
        assert.equal(grown.length, k);
        moved += k;
        // Dropped: no surviving weight has a smaller |w| than a dropped one.
        const survivors = [...m0.keys()].filter((i) => m0[i] && m1[i]);
        const maxDropped = Math.max(...dropped.map((i) => Math.abs(before.w[n][i])));
        assert.ok(
          survivors.every((i) => Math.abs(before.w[n][i]) >= maxDropped),
          `${n} at ${s}: a larger weight was dropped`,
        );
        if (regrow === 'gradient') {
          const minGrown = Math.min(...grown.map((i) => Math.abs(before.g[n][i])));
          const others = [...m0.keys()].filter((i) => !m0[i] && !m1[i]);
          assert.ok(
            others.every((i) => Math.abs(before.g[n][i]) <= minGrown),
            `${n} at ${s}: a larger gradient was not grown`,
          );
        }
        for (const i of [...dropped, ...grown]) assert.ok(after.w[n][i] === 0, `${n}[${i}] not 0 after the update at ${s}`);
        // One Adam step later a regrown weight moved exactly as from fresh state (m = v = 0) at t = s + 1:
        // w = −a (1 − β1) g / (√((1 − β2) g²) + ε), a = lr √(1 − β2^t) / (1 − β1^t).
        const t = s + 1;
        const a = (adam.lr * Math.sqrt(1 - adam.beta2 ** t)) / (1 - adam.beta1 ** t);
        for (const i of grown) {
          const g = after.g[n][i];
          const want = (-a * (1 - adam.beta1) * g) / (Math.sqrt((1 - adam.beta2) * g * g) + adam.epsilon);
          const got = next.get(s)![n][i];
          assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want) + 1e-9, `${n}[${i}] after regrowth at ${s}: ${got} vs fresh-state ${want}`);
        }
        for (const i of dropped) if (!m1[i]) assert.ok(next.get(s)![n][i] === 0, `${n}[${i}] revived after being dropped at ${s}`);
      }
    }
    assert.ok(moved > 50, 'updates moved almost nothing: the checks would be vacuous');
    // churn as recorded
    for (const c of sched.churn) {
      assert.equal(c.dropped, c.regrown);
      assert.equal(c.remaining, ones(start[c.layer]));
    }
    // determinism: a second run gives the same masks
    const again = dynamicSparsity({ pools, masks: start, regrow, dropFraction: alpha, end, every: 10, rng: makeRng('d') });
    await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init: masked, masks: start, orderKey: ['d'], stepCallbacks: [again] });
    assert.deepEqual(again.masks(), sched.masks());
    assert.deepEqual(again.churn, sched.churn);
  });
}

test('early-bird detection on a constructed distance sequence: first evaluation where the last `window` distances are all below ε', () => {
  const d = [0.5, 0.3, 0.09, 0.08, 0.2, 0.05, 0.04, 0.03, 0.02, 0.01, 0.01];
  // window 5, ε 0.1: windows ending at 4 contain 0.2 … the first all-below window is 5..9 → index 9
  assert.equal(earlyBirdDetect(d, 0.1, 5), 9);
  assert.equal(earlyBirdDetect(d, 0.1, 2), 3);
  assert.equal(earlyBirdDetect(d, 0.25, 3), 4);
  assert.equal(earlyBirdDetect(d, 0.01, 5), null);
  assert.equal(earlyBirdDetect([0.05, 0.05], 0.1, 5), null, 'fewer distances than the window');
});

test('mask distance is the normalized Hamming distance', () => {
  const a: Masks = { x: Uint8Array.from([1, 0, 1, 1]), y: Uint8Array.from([0, 0]) };
  const b: Masks = { x: Uint8Array.from([1, 1, 0, 1]), y: Uint8Array.from([0, 1]) };
  assert.equal(maskDistance(a, b, ['x', 'y']), 3 / 6);
  assert.equal(maskDistance(a, copy(a), ['x', 'y']), 0);
});
