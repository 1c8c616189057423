import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildModel, initialize, type Masks } from '../src/models/index.js';
import { specSchema } from '../src/spec/index.js';
import { train } from '../src/training/loop.js';
import { planTraining } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';
import { tinySpec } from './helpers.js';

const spec = specSchema.parse(tinySpec({ training: { iterations: '100it', evalEvery: '50it', batchSize: 20 } }));

before(async () => {
  await initBackend('wasm');
});

async function setup() {
  const data = await loadDataset(spec.data, spec.seed, {});
  const model = buildModel('mlp-small', data.inputShape, data.numClasses);
  const plan = planTraining(spec.training, data.train.n);
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
      if (!m[i]) assert.ok(v === 0, `${name}[${i}] was revived: ${v}`); // -0 counts as zero
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
