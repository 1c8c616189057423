import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildModel, initialize, type Masks, type Weights } from '../src/models/index.js';
import { resolveReset } from '../src/resets/index.js';
import { specSchema, type SpecInput } from '../src/spec/index.js';
import { train } from '../src/training/loop.js';
import { trainSupermask } from '../src/training/supermask.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';
import { tinySpec } from './helpers/common.js';

/**
 * BatchNorm under the resets and the optimizer (issue #23 item 2; docs/DESIGN.md#batchnorm):
 * what each reset does with γ, β and the running statistics, pruned weights under SGD with
 * momentum, Nesterov and weight decay, and training.freeze.
 */

before(async () => {
  await initBackend('cpu');
});

const SHAPE = [8, 8, 3] as const;
const BN = ['stem_bn/gamma', 'stem_bn/beta', 'stem_bn/moving_mean', 'stem_bn/moving_variance', 'b4_down_bn/moving_variance', 'b9_bn2/gamma'];

/** A resnet-20 of width 4 trained `iterations` steps on synthetic 8×8×3 images, a seeded random half of every kernel pruned. */
async function trainResnet(training: SpecInput['training'], iterations: number, snapshotAt: number[] = []) {
  const spec = specSchema.parse(
    tinySpec({
      model: { name: 'resnet-20', width: 4 },
      data: { dataset: 'synthetic', validation: 20, synthetic: { train: 60, test: 20, shape: [...SHAPE], classes: 3 } },
      training: { iterations: `${iterations}it`, evalEvery: `${iterations}it`, batchSize: 10, ...training },
    }),
  );
  const model = buildModel('resnet-20', [...SHAPE], 3, 4);
  const data = await loadDataset(spec.data, spec.seed, {});
  const plan = resolveSchedule(spec.training, data.train.n);
  const init = initialize(model, 'he-normal', 'theta0', 3);
  const rng = makeRng('mask');
  const masks: Masks = {};
  for (const p of model.params) if (p.kind !== 'none') masks[p.name] = Uint8Array.from(init[p.name], () => (rng.uniform() < 0.5 ? 1 : 0));
  const res = await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'], snapshotAt });
  return { model, plan, init, masks, res };
}

/** Equal values (a pruned weight may be +0 or −0). */
const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

test('each reset and BatchNorm: rewind@k restores θ_k’s γ, β and running statistics exactly; random-reinit starts γ 1, β 0, mean 0, variance 1; fine-tune and lr-rewind keep the previous level’s', async () => {
  const { model, plan, init, masks, res } = await trainResnet({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } }, 6, [2]);
  const thetaK = res.snapshots.get(2)!;
  const final = res.weights;
  for (const n of BN) {
    assert.ok(!same(thetaK[n], init[n]) && !same(thetaK[n], final[n]), `${n} moved between θ0, θ_k and θ_final`);
  }
  const inputs = { model, init: 'he-normal' as const, theta0: init, thetaK, thetaFinal: final, masks, rng: makeRng('reset') };
  const rewound = resolveReset('rewind@2it', plan).reset(inputs);
  const reinit = resolveReset('random-reinit', plan).reset({ ...inputs, thetaK: null });
  const fineTuned = resolveReset('fine-tune', plan).reset({ ...inputs, thetaK: null });
  const lrRewound = resolveReset('lr-rewind', plan).reset({ ...inputs, thetaK: null });
  for (const p of model.params.filter((q) => q.name.includes('_bn'))) {
    const n = p.name;
    assert.ok(same(rewound[n], thetaK[n]), `rewind@k: ${n} = θ_k's`);
    assert.ok(same(fineTuned[n], final[n]) && same(lrRewound[n], final[n]), `fine-tune, lr-rewind: ${n} = the previous level's`);
    const fresh = n.endsWith('gamma') || n.endsWith('moving_variance') ? 1 : 0;
    assert.ok(
      reinit[n].every((v) => v === fresh),
      `random-reinit: ${n} = ${fresh}`,
    );
  }
});

test('no pruned weight moves under SGD with momentum, Nesterov and weight decay, and kept ones do; BatchNorm’s γ, β are never masked', async () => {
  const { model, masks, init, res } = await trainResnet({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 } }, 5);
  let kept = 0;
  for (const p of model.params.filter((q) => q.kind !== 'none')) {
    const m = masks[p.name];
    res.weights[p.name].forEach((v, i) => {
      if (!m[i]) assert.ok(v === 0, `${p.name}[${i}] is pruned`);
      else if (v !== init[p.name][i]) kept++;
    });
  }
  assert.ok(kept > 0, 'kept weights move');
  assert.ok(!('stem_bn/gamma' in masks) && !same(res.weights['stem_bn/gamma'], init['stem_bn/gamma']));
});

test('Nesterov SGD (PyTorch’s update): from zero momentum, one step is (1 + μ) times plain SGD’s, weight decay included', async () => {
  // two steps of w ← w − lr·(g + μ·buf), buf ← μ·buf + g + λw, on the output bias (kind none, never masked)
  const lr = 0.05;
  const [mu, wd] = [0.9, 0.01];
  const runs: Record<string, Weights> = {};
  for (const nesterov of [false, true])
    runs[String(nesterov)] = (await trainResnet({ optimizer: { name: 'sgd', lr, momentum: mu, nesterov, weightDecay: wd } }, 1)).res.weights;
  // one step from b0 = 0: buf = g; plain: b1 = −lr·g; Nesterov: b1 = −lr·(1 + μ)·g
  const plain = runs.false['output/bias'];
  const nest = runs.true['output/bias'];
  plain.forEach((v, i) => assert.ok(Math.abs(nest[i] - (1 + mu) * v) < 1e-6 * Math.max(1, Math.abs(v)), `bias ${i}: ${nest[i]} vs ${(1 + mu) * v}`));
  assert.ok(plain.some((v) => v !== 0));
});

test('training.freeze: frozen groups keep their starting values (θ0 ⊙ m) exactly; running statistics still follow the batches; BatchNorm’s γ, β train', async () => {
  const { model, init, masks, res } = await trainResnet({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, freeze: ['output', 'others'] }, 3);
  for (const p of model.params) {
    const start = masks[p.name] ? init[p.name].map((v, i) => (masks[p.name][i] ? v : 0)) : init[p.name];
    const moved = !same(res.weights[p.name], start);
    const bn = /_bn\d?\//.test(p.name);
    assert.equal(moved, bn, `${p.name} ${bn ? 'trains (BatchNorm)' : 'is frozen'}`);
  }
  assert.throws(() => specSchema.parse(tinySpec({ training: { freeze: ['bn'] as never } })), /batchnorm/);
});

test('learned supermask on a BatchNorm net: parameters stay frozen bit for bit, the running statistics follow the sampled networks’ batches (inference-mode evaluation sees them)', async () => {
  const { model, plan, init, masks } = await trainResnet({}, 1);
  const spec = specSchema.parse(
    tinySpec({ data: { dataset: 'synthetic', validation: 20, synthetic: { train: 60, test: 20, shape: [...SHAPE], classes: 3 } } }),
  );
  const data = await loadDataset(spec.data, spec.seed, {});
  const frozen: Weights = Object.fromEntries(
    model.params.map((p) => [p.name, masks[p.name] ? init[p.name].map((v, i) => (masks[p.name][i] ? v : 0)) : init[p.name]]),
  );
  const live = tf.memory().numTensors;
  const res = await trainSupermask({ model, data, plan, frozen, masks, steps: 4, lr: 0.1, scoreInit: 0, orderKey: ['d'], sampleKey: ['s'] });
  assert.equal(tf.memory().numTensors, live, 'no tensor left behind (replaced statistics are disposed)');
  for (const p of model.params) {
    const moved = !same(res.weights[p.name], frozen[p.name]);
    assert.equal(moved, p.role === 'state', `${p.name} ${p.role === 'state' ? 'follows the batches' : 'stays frozen'}`);
  }
});
