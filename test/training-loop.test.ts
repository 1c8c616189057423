import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildModel, initialize, type Masks } from '../src/models/index.js';
import { specSchema } from '../src/spec/index.js';
import { everySteps } from '../src/training/callbacks.js';
import { runLoop, train, type Trainee } from '../src/training/loop.js';
import { makeOptimizer } from '../src/training/optimizer.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';
import { tinySpec } from './helpers/common.js';

const spec = specSchema.parse(tinySpec({ training: { iterations: '100it', evalEvery: '50it', batchSize: 20 } }));

before(async () => {
  await initBackend('wasm');
});

async function setup() {
  const data = await loadDataset(spec.data, spec.seed, {});
  const model = buildModel('mlp-small', data.inputShape, data.numClasses);
  const plan = resolveSchedule(spec.training, data.train.n);
  const init = initialize(model, 'glorot-normal', 'theta0', 1);
  const rng = makeRng('mask');
  const masks: Masks = {};
  for (const p of model.params) if (p.kind !== 'none') masks[p.name] = Uint8Array.from(init[p.name], () => (rng.uniform() < 0.5 ? 1 : 0));
  return { data, model, plan, init, masks };
}

test('pruned weights stay exactly zero through 100 Adam steps; kept weights move', async () => {
  const { data, model, plan, init, masks } = await setup();
  // Start pruned weights at a non-zero value to check that the mask, not the init, zeroes them.
  const res = await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'] });
  assert.equal(res.iterations, 100);
  let moved = 0;
  for (const [name, m] of Object.entries(masks)) {
    res.weights[name].forEach((v, i) => {
      if (!m[i])
        assert.ok(v === 0, `${name}[${i}] was revived: ${v}`); // -0 counts as zero
      else if (v !== init[name][i]) moved++;
    });
  }
  assert.ok(moved > 100, 'training changed the kept weights');
});

test('θ_k snapshot equals the weights after training k steps; same key gives identical weights', async () => {
  const { data, model, plan, init, masks } = await setup();
  const full = await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'], snapshotAt: [30] });
  const short = await train({ model, data, plan: { ...plan, iterations: 30 }, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'] });
  for (const name of Object.keys(init)) assert.deepEqual(full.snapshots.get(30)![name], short.weights[name]);
  const again = await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'] });
  for (const name of Object.keys(init)) assert.deepEqual(again.weights[name], full.weights[name]);
});

test('the early-stop point is the evaluation of minimum validation loss', async () => {
  const { data, model, plan, init, masks } = await setup();
  const res = await train({ model, data, plan: { ...plan, evalEvery: 10 }, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'] });
  assert.equal(res.curve.length, 11);
  const min = Math.min(...res.curve.map((p) => p.valLoss));
  assert.equal(res.earlyStop.valLoss, min);
  assert.equal(res.final.iteration, 100);
});

test('training leaves no tensors behind', async () => {
  const { data, model, plan, init, masks } = await setup();
  await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'] });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await train({ model, data, plan, schedule: { kind: 'constant', steps: 20, lr: 1e-3 }, init, masks, orderKey: ['t', i] });
  assert.equal(tf.memory().numTensors, before);
});

test('callbacks run before the update of the steps they name, and once after the last step', async () => {
  const seen: [string, number][] = [];
  let updates = 0;
  const trainee: Trainee = {
    step: (s) => {
      assert.equal(s, 5 + updates);
      updates++;
    },
    takeTrainLoss: async () => null,
    evalNetwork: async () => ({ weights: {}, release: () => {} }),
    readWeights: async () => ({}),
  };
  await runLoop(trainee, { from: 5, to: 20 }, [
    everySteps(7, (s) => void seen.push(['every7', s])),
    { at: (s) => s === 9, run: (s) => void seen.push(['at9', s - 5 - updates]) },
  ]);
  assert.equal(updates, 15);
  // every 7 steps counted from `from` (5, 12, 19) and at the end (20); at9 saw 4 updates done (5…8)
  assert.deepEqual(seen, [
    ['every7', 5],
    ['at9', 0],
    ['every7', 12],
    ['every7', 19],
    ['every7', 20],
  ]);
});

test('slow steps: the loop hands the event loop a turn within about one step (so Ctrl-C and SIGTERM are handled)', async () => {
  // Synchronous 150 ms steps, as a conv step on wasm blocks the thread; a macrotask queued before
  // the loop must run before the third update, not after 32 of them.
  const busy = (ms: number) => {
    const t = performance.now();
    while (performance.now() - t < ms);
  };
  let updates = 0;
  let ranAfter = -1;
  setImmediate(() => (ranAfter = updates));
  const trainee: Trainee = {
    step: () => {
      busy(150);
      updates++;
    },
    takeTrainLoss: async () => null,
    evalNetwork: async () => ({ weights: {}, release: () => {} }),
    readWeights: async () => ({}),
  };
  await runLoop(trainee, { from: 0, to: 6 }, []);
  assert.equal(updates, 6);
  assert.ok(ranAfter >= 0 && ranAfter <= 2, `the queued task ran after ${ranAfter} updates`);
});

test('a mask-update callback: newly pruned weights are zero at once and stay zero, regrown ones train from 0', async () => {
  const { data, model, plan, init, masks } = await setup();
  const name = model.params.find((p) => p.kind !== 'none')!.name;
  const old = masks[name];
  // swap: prune the first 20 kept entries, regrow the first 20 pruned entries
  const next = Uint8Array.from(old);
  const pruned: number[] = [];
  const grown: number[] = [];
  for (let i = 0; i < old.length && (pruned.length < 20 || grown.length < 20); i++) {
    if (old[i] && pruned.length < 20) {
      next[i] = 0;
      pruned.push(i);
    } else if (!old[i] && grown.length < 20) {
      next[i] = 1;
      grown.push(i);
    }
  }
  let atUpdate: { w: Float32Array; m: Uint8Array } | null = null;
  const res = await train({
    model,
    data,
    plan,
    schedule: { kind: 'replay', from: 0 },
    init,
    masks,
    orderKey: ['t'],
    stepCallbacks: [
      {
        at: (s) => s === 40,
        run: async (_s, t) => {
          const c = t.control!;
          c.setMasks({ [name]: next });
          c.resetOptimizerState({ [name]: Uint8Array.from(next, (v, i) => (v && !old[i] ? 1 : 0)) });
          atUpdate = { w: (await c.readWeights())[name], m: (await c.readMasks())[name] };
          const bias = model.params.find((p) => p.kind === 'none')!;
          assert.throws(() => c.setMasks({ [bias.name]: new Uint8Array(bias.shape.reduce((a, b) => a * b, 1)) }), /has no mask/);
          assert.throws(() => c.setMasks({ [name]: new Uint8Array(3) }), /has \d+ entries, got 3/);
        },
      },
    ],
  });
  assert.ok(atUpdate);
  const u = atUpdate as { w: Float32Array; m: Uint8Array };
  assert.deepEqual(u.m, next);
  for (const i of pruned) assert.ok(u.w[i] === 0 && res.weights[name][i] === 0, `pruned ${i}: ${u.w[i]} → ${res.weights[name][i]}`);
  for (const i of grown) assert.ok(u.w[i] === 0, `regrown ${i} starts at 0`);
  assert.ok(grown.filter((i) => res.weights[name][i] !== 0).length > 10, 'regrown weights train after the update');
});

test("resetOptimizerState zeroes Adam's moments at the given entries only", async () => {
  const w = tf.variable(tf.tensor1d([1, 1, 1, 1]));
  const opt = makeOptimizer({ name: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, { vars: { w }, masks: {} });
  const g = tf.tensor1d([1, 1, 1, 1]);
  const zero = tf.zeros([4]);
  for (let i = 0; i < 3; i++) opt.step({ w: g }, 0.1);
  const where = tf.tensor1d([0, 1, 0, 1]);
  opt.resetState('w', where);
  const before = w.dataSync().slice();
  // With a zero gradient, only the momentum moves a weight: reset entries stay put.
  opt.step({ w: zero }, 0.1);
  const after = w.dataSync();
  assert.notEqual(after[0], before[0]);
  assert.equal(after[1], before[1]);
  assert.notEqual(after[2], before[2]);
  assert.equal(after[3], before[3]);
  assert.throws(() => opt.resetState('nope', where), /no optimizer state for 'nope'/);
  opt.dispose();
  tf.dispose([w, g, zero, where]);
});
