import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tfjs from '@tensorflow/tfjs';
import { tf } from '../src/util/tf.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/backend/index.js';
import * as ops from '../src/models/ops.js';
import { loadDataset } from '../src/data/index.js';
import {
  buildGraphModel,
  buildModel,
  checkInput,
  initialize,
  layers as L,
  macsPerWeight,
  MODES,
  resolveGraph,
  runGraph,
  toLayersModel,
  unitCouplings,
  type Masks,
  type Model,
  type Weights,
} from '../src/models/index.js';
import { denseStepMultiplyAdds } from '../src/pruning/compute.js';
import { unitLayers } from '../src/pruning/units.js';
import { specSchema } from '../src/spec/index.js';
import { train } from '../src/training/loop.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';
import { tinySpec } from './helpers/common.js';
import { leakyRelu, leakyReluDef } from './helpers/leaky-relu.js';

/**
 * The layer graph and its one interpreter (src/models/graph.ts, docs/DESIGN.md#models): a layer
 * kind added from outside, BatchNorm against float64, a residual block, MACs and unit coupling
 * by hand.
 */

before(async () => {
  await initBackend('cpu');
});

/** The exported network, saved to memory and loaded back with plain tfjs (tf.loadLayersModel). */
async function roundTrip(model: Model, w: Weights): Promise<tfjs.LayersModel> {
  const net = toLayersModel(model.graph, (name) => ({ data: w[name], shape: [...model.params.find((p) => p.name === name)!.shape] }), tfl);
  let saved: tf.io.ModelArtifacts | undefined;
  await net.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  net.dispose();
  const json = JSON.parse(JSON.stringify({ modelTopology: saved!.modelTopology, weightSpecs: saved!.weightSpecs }));
  return tfjs.loadLayersModel(tfjs.io.fromMemory({ ...json, weightData: saved!.weightData }));
}

/** Max |a − b| between the stored network's predict logits and the loaded model's, on x [n, ...inputShape]. */
async function logitGap(model: Model, w: Weights, loaded: tfjs.LayersModel, x: Float32Array, n: number): Promise<number> {
  const ws = Object.fromEntries(model.params.map((p) => [p.name, tf.tensor(w[p.name], [...p.shape])]));
  const ours = tf.tidy(() => model.predict(ws, tf.tensor2d(x, [n, x.length / n])).dataSync());
  tf.dispose(Object.values(ws));
  const xt = tfjs.tensor(x, [n, ...model.inputShape]);
  const theirs = (loaded.predict(xt) as tfjs.Tensor).dataSync();
  xt.dispose();
  assert.equal(theirs.length, ours.length);
  return Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i])));
}

/** Trains `model` with lth's training loop on synthetic data of `shape` (all weights kept). */
async function trainOn(model: Model, shape: [number, number, number], iterations: number) {
  const spec = specSchema.parse(
    tinySpec({
      data: { dataset: 'synthetic', validation: 40, synthetic: { train: 120, test: 40, shape, classes: 3 } },
      training: { iterations: `${iterations}it`, evalEvery: `${iterations}it`, batchSize: 20 },
    }),
  );
  const data = await loadDataset(spec.data, spec.seed, {});
  const plan = resolveSchedule(spec.training, data.train.n);
  const init = initialize(model, 'he-normal', 'theta0', 1);
  const masks: Masks = {};
  for (const p of model.params) if (p.kind !== 'none') masks[p.name] = new Uint8Array(init[p.name].length).fill(1);
  const res = await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['t'] });
  return { init, res, masks, x: data.test.x.subarray(0, 8 * shape[0] * shape[1] * shape[2]) };
}

test('a layer kind added as one file plus one registry line is accepted by a model, trains, exports and loads with plain tfjs (logits within 1e-5)', async () => {
  const kinds = { ...L.LAYERS, leakyReLU: leakyReluDef };
  const nodes = [L.conv2d(4), leakyRelu(0.2), L.maxPooling2d(), L.flatten(), L.dense(6), leakyRelu(0.1)];
  const model = buildGraphModel('leaky', nodes, [6, 6, 2], 3, kinds);
  assert.deepEqual(
    model.graph.nodes.map((n) => n.name),
    ['conv1', 'leaky1', 'pool1', 'flatten1', 'fc1', 'leaky2', 'output'],
  );
  // without the registry line the kind is refused with one line naming the kinds there are
  assert.throws(() => buildGraphModel('leaky', nodes, [6, 6, 2], 3), /unknown layer kind "leakyReLU": use one of dense, conv2d, /);
  const { init, res, x } = await trainOn(model, [6, 6, 2], 30);
  assert.notDeepEqual(res.weights['fc1/kernel'], init['fc1/kernel'], 'trained weights moved');
  assert.ok(Number.isFinite(res.final.valLoss));
  const loaded = await roundTrip(model, res.weights);
  assert.deepEqual(
    loaded.layers.map((l) => l.getClassName()),
    ['InputLayer', 'Conv2D', 'LeakyReLU', 'MaxPooling2D', 'Flatten', 'Dense', 'LeakyReLU', 'Dense'],
  );
  assert.ok((await logitGap(model, res.weights, loaded, x, 8)) < 1e-5);
  loaded.dispose();
});

/** BatchNorm over the last axis in float64: output and the running statistics' update (PyTorch's rule, unbiased variance). */
function batchNorm64(x: Float64Array, C: number, g: number[], b: number[], rm: number[], rv: number[], training: boolean, momentum = 0.9, eps = 1e-5) {
  const N = x.length / C;
  const mean = new Float64Array(C);
  const v = new Float64Array(C);
  for (let i = 0; i < x.length; i++) mean[i % C] += x[i] / N;
  for (let i = 0; i < x.length; i++) v[i % C] += (x[i] - mean[i % C]) ** 2 / N;
  const mu = training ? Array.from(mean) : rm;
  const va = training ? Array.from(v) : rv;
  const y = Float64Array.from(x, (xi, i) => (g[i % C] * (xi - mu[i % C])) / Math.sqrt(va[i % C] + eps) + b[i % C]);
  const newMean = rm.map((r, c) => momentum * r + (1 - momentum) * mean[c]);
  const newVar = rv.map((r, c) => momentum * r + (1 - momentum) * v[c] * (N / (N - 1)));
  return { y, newMean, newVar };
}

test('batchNormalization: training mode normalizes by the batch and moves the running statistics; inference mode uses them (float64 reference)', () => {
  const graph = resolveGraph('bn', [L.batchNormalization({ name: 'bn' }), L.flatten()], [2, 2, 3], 2);
  assert.deepEqual(
    graph.params.map((p) => [p.name, p.role ?? 'param', p.kind, p.fill ?? 0]),
    [
      ['bn/gamma', 'param', 'none', 1],
      ['bn/beta', 'param', 'none', 0],
      ['bn/moving_mean', 'state', 'none', 0],
      ['bn/moving_variance', 'state', 'none', 1],
      ['output/kernel', 'param', 'output', 0],
      ['output/bias', 'param', 'none', 0],
    ],
  );
  const rng = makeRng('bn-test');
  const n = 5;
  const x = Float64Array.from({ length: n * 12 }, () => rng.normal() * 2 + 1);
  const g = [1.5, 0.5, -0.7];
  const b = [0.1, -0.2, 0.3];
  const rm = [0.2, -0.1, 0.4];
  const rv = [1.3, 0.6, 2.0];
  const K = Array.from({ length: 24 }, () => rng.normal());
  const ob = [0.05, -0.05];
  const w = {
    'bn/gamma': tf.tensor1d(g),
    'bn/beta': tf.tensor1d(b),
    'bn/moving_mean': tf.tensor1d(rm),
    'bn/moving_variance': tf.tensor1d(rv),
    'output/kernel': tf.tensor2d(K, [12, 2]),
    'output/bias': tf.tensor1d(ob),
  };
  const logits64 = (y: Float64Array) =>
    Array.from(
      { length: n * 2 },
      (_, k) => ob[k % 2] + Array.from({ length: 12 }, (_, i) => y[Math.floor(k / 2) * 12 + i] * K[i * 2 + (k % 2)]).reduce((s, v) => s + v, 0),
    );
  for (const training of [true, false]) {
    const ref = batchNorm64(x, 3, g, b, rm, rv, training);
    const state: Record<string, tf.Tensor> = {};
    const out = runGraph(graph, w, tf.tensor2d(Float32Array.from(x), [n, 12]), {
      mode: training ? MODES.train : MODES.predict,
      setState: (p, t) => (state[p] = t),
    });
    const got = out.dataSync();
    logits64(ref.y).forEach((v, i) => assert.ok(Math.abs(v - got[i]) < 1e-4, `${training ? 'training' : 'inference'} logit ${i}: ${got[i]} vs ${v}`));
    if (training) {
      const m = state['bn/moving_mean'].dataSync();
      const v = state['bn/moving_variance'].dataSync();
      ref.newMean.forEach((e, c) => assert.ok(Math.abs(e - m[c]) < 1e-5, `moving_mean ${c}: ${m[c]} vs ${e}`));
      ref.newVar.forEach((e, c) => assert.ok(Math.abs(e - v[c]) < 1e-5, `moving_variance ${c}: ${v[c]} vs ${e}`));
    } else assert.deepEqual(Object.keys(state), [], 'inference mode updates no state');
    tf.dispose([out, ...Object.values(state)]);
  }
  tf.dispose(Object.values(w));
});

/** A ResNet basic block (He et al. 2016) with the 1×1 stride-2 conv + BatchNorm shortcut, after a stem. */
const residual = [
  L.conv2d(4, { name: 'stem' }),
  L.batchNormalization({ name: 'stem_bn' }),
  L.relu({ name: 'stem_relu' }),
  L.conv2d(8, { name: 'b1_conv1', strides: 2, useBias: false }),
  L.batchNormalization({ name: 'b1_bn1' }),
  L.relu(),
  L.conv2d(8, { name: 'b1_conv2', useBias: false }),
  L.batchNormalization({ name: 'b1_bn2' }),
  L.conv2d(8, { name: 'b1_down', kernelSize: 1, strides: 2, useBias: false, inputs: ['stem_relu'] }),
  L.batchNormalization({ name: 'b1_down_bn' }),
  L.add(['b1_bn2', 'b1_down_bn'], { name: 'b1_add' }),
  L.relu(),
  L.globalAveragePooling2d(),
];

test('a residual block with BatchNorm and add trains (running statistics move, never masked), exports and round-trips with plain tfjs', async () => {
  const model = buildGraphModel('res', residual, [8, 8, 3], 3);
  const shapes = Object.fromEntries(model.graph.nodes.map((n) => [n.name, n.outputShape.join('×')]));
  assert.equal(shapes.b1_conv1, '4×4×8');
  assert.equal(shapes.b1_down, '4×4×8');
  assert.equal(shapes.gap1, '8');
  // the add sums the channels of b1_conv2 and b1_down: their filters are one group (test/pruning-residual.test.ts)
  assert.deepEqual(
    unitCouplings(model.graph).map((u) => u.layer),
    ['stem', 'b1_conv1', 'b1_conv2+b1_down'],
  );
  const { init, res, masks, x } = await trainOn(model, [8, 8, 3], 12);
  assert.ok(!('b1_bn1/moving_mean' in masks) && !('b1_bn1/gamma' in masks), 'BatchNorm tensors are never masked');
  assert.deepEqual(Array.from(init['b1_bn1/moving_variance']), new Array(8).fill(1));
  assert.deepEqual(Array.from(init['b1_bn1/gamma']), new Array(8).fill(1));
  for (const s of ['stem_bn/moving_mean', 'b1_bn2/moving_variance', 'b1_down_bn/moving_mean', 'b1_bn1/gamma', 'b1_down/kernel'])
    assert.notDeepEqual(res.weights[s], init[s], `${s} moved`);
  const loaded = await roundTrip(model, res.weights);
  assert.ok(loaded.layers.some((l) => l.getClassName() === 'Add') && loaded.layers.some((l) => l.getClassName() === 'BatchNormalization'));
  assert.ok((await logitGap(model, res.weights, loaded, x, 8)) < 1e-5);
  loaded.dispose();
});

test('multiply-adds per kept weight from the graph: Conv-2 and LeNet against a hand count', () => {
  const conv2 = buildModel('conv-2', [28, 28, 1], 10);
  assert.deepEqual(macsPerWeight(conv2.graph), { 'conv1/kernel': 784, 'conv2/kernel': 784, 'fc1/kernel': 1, 'fc2/kernel': 1, 'output/kernel': 1 });
  // forward MACs of one example, by hand: 3·3·1·64 and 3·3·64·64 weights at 28·28 positions, then 14·14·64 → 256 → 256 → 10
  const conv2Forward = 3 * 3 * 1 * 64 * 28 * 28 + 3 * 3 * 64 * 64 * 28 * 28 + 14 * 14 * 64 * 256 + 256 * 256 + 256 * 10;
  assert.equal(denseStepMultiplyAdds(conv2, 1), 3 * conv2Forward);
  const lenet = buildModel('lenet-300-100', [28, 28, 1], 10);
  assert.equal(denseStepMultiplyAdds(lenet, 60), 3 * 60 * (784 * 300 + 300 * 100 + 100 * 10));
  // Conv-6 on 28×28: pools at 28 → 14 → 7 → 3, so conv5/conv6 run at 7×7
  assert.equal(macsPerWeight(checkInput('conv-6', [28, 28, 1]))['conv5/kernel'], 49);
  // a strided 'valid' conv: ⌊(9 − 3)/2⌋ + 1 = 4 positions a side
  assert.equal(macsPerWeight(resolveGraph('s', [L.conv2d(2, { strides: 2, padding: 'valid' }), L.flatten()], [9, 9, 1], 2))['conv1/kernel'], 16);
});

test("unit coupling of conv-2 from the graph: each unit layer and the kernel its units feed, as the former 'next kernel' rule gave", () => {
  const model = buildModel('conv-2', [28, 28, 1], 10);
  assert.deepEqual(unitLayers(model, 'filter'), [
    {
      layer: 'conv1',
      kind: 'conv',
      kernels: ['conv1/kernel'],
      alive: 'conv1/bias',
      vectors: ['conv1/bias'],
      state: [],
      units: 64,
      nexts: [{ kernel: 'conv2/kernel', in: 64, out: 64 }],
    },
    {
      layer: 'conv2',
      kind: 'conv',
      kernels: ['conv2/kernel'],
      alive: 'conv2/bias',
      vectors: ['conv2/bias'],
      state: [],
      units: 64,
      nexts: [{ kernel: 'fc1/kernel', in: 14 * 14 * 64, out: 256 }],
    },
    {
      layer: 'fc1',
      kind: 'fc',
      kernels: ['fc1/kernel'],
      alive: 'fc1/bias',
      vectors: ['fc1/bias'],
      state: [],
      units: 256,
      nexts: [{ kernel: 'fc2/kernel', in: 256, out: 256 }],
    },
    {
      layer: 'fc2',
      kind: 'fc',
      kernels: ['fc2/kernel'],
      alive: 'fc2/bias',
      vectors: ['fc2/bias'],
      state: [],
      units: 256,
      nexts: [{ kernel: 'output/kernel', in: 256, out: 10 }],
    },
  ]);
  assert.deepEqual(
    unitLayers(model, 'neuron').map((l) => l.layer),
    ['fc1', 'fc2'],
  );
});

test('graph errors are one line naming the problem and the fix', () => {
  assert.throws(() => resolveGraph('m', [L.dense(4), L.dense(4, { name: 'fc1' })], [3], 2), /two layers are named "fc1": give each layer its own name/);
  assert.throws(() => resolveGraph('m', [L.dense(4), L.add(['fc1', 'nope'])], [3], 2), /layer "add1" takes "nope", which is not an earlier layer/);
  assert.throws(
    () => resolveGraph('m', [L.conv2d(4), L.dense(4)], [6, 6, 1], 2),
    /model m, layer fc1: dense needs flat input, got \[6, 6, 4\]: put a flatten before it/,
  );
  assert.throws(
    () => resolveGraph('m', [L.dense(4, { name: 'a' }), L.dense(5, { name: 'b', inputs: ['input'] }), L.add(['a', 'b'])], [3], 2),
    /add needs inputs of one shape/,
  );
});

test('conv2dStrided: the value and the three gradients equal tfjs conv2d’s own for strided, 1×1 and valid convolutions', () => {
  const rng = makeRng('strided');
  const r = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
      shape,
    );
  for (const [k, s, pad, hw] of [
    [3, 2, 'same', 7],
    [1, 2, 'same', 8],
    [3, 2, 'valid', 9],
    [3, 1, 'valid', 5],
    [2, 2, 'same', 5],
  ] as const) {
    const x = r([2, hw, hw, 3]) as tf.Tensor4D;
    const f = r([k, k, 3, 4]) as tf.Tensor4D;
    const b = r([4]) as tf.Tensor1D;
    const dy = r([2, ...tf.conv2d(x, f, s, pad).shape.slice(1, 3), 4]);
    const ours = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(tf.mul(ops.conv2dStrided(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor1D, s, pad), dy)),
    )([x, f, b]);
    const ref = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.conv2d(a as tf.Tensor4D, c as tf.Tensor4D, s, pad), d), dy)))([
      x,
      f,
      b,
    ]);
    const gap = (p: tf.Tensor, q: tf.Tensor) => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0];
    assert.ok(gap(ops.conv2dStrided(x, f, b, s, pad), tf.add(tf.conv2d(x, f, s, pad), b)) < 1e-5, `value k${k} s${s} ${pad}`);
    ['x', 'filter', 'bias'].forEach((what, i) => assert.ok(gap(ours[i], ref[i]) < 1e-4, `∂/∂${what} k${k} s${s} ${pad}: ${gap(ours[i], ref[i])}`));
    tf.dispose([x, f, b, dy, ...ours, ...ref]);
  }
});

test('the residual block trains on wasm too (strided and 1×1 convolutions need no Conv2DBackpropFilter), leaving no tensor behind', async () => {
  await initBackend('wasm');
  const model = buildGraphModel('res', residual, [8, 8, 3], 3);
  const live = tf.memory().numTensors;
  const { init, res } = await trainOn(model, [8, 8, 3], 6);
  assert.equal(tf.memory().numTensors, live, 'training (running statistics included) leaves no tensor behind');
  assert.ok(Number.isFinite(res.final.valLoss));
  for (const s of ['b1_conv1/kernel', 'b1_down/kernel', 'b1_down_bn/moving_variance']) assert.notDeepEqual(res.weights[s], init[s], `${s} moved`);
});

test('resnet-20 and vgg-11 (width 4) train a few steps, export as tfjs LayersModels and load with plain tfjs, logits within 1e-5 (issue #23 item 5)', async () => {
  for (const [name, shape] of [
    ['resnet-20', [8, 8, 3]],
    ['vgg-11', [16, 16, 1]],
  ] as const) {
    const model = buildModel(name, shape, 3, 4);
    const { res, x } = await trainOn(model, [...shape], 3);
    const loaded = await roundTrip(model, res.weights);
    assert.ok(
      loaded.layers.some((l) => l.getClassName() === 'BatchNormalization'),
      `${name} exports its BatchNorm layers`,
    );
    if (name === 'resnet-20') assert.equal(loaded.layers.filter((l) => l.getClassName() === 'Add').length, 9);
    const gap = await logitGap(model, res.weights, loaded, x, 8);
    assert.ok(gap < 1e-5, `${name}: max |logit gap| ${gap}`);
    loaded.dispose();
  }
});
