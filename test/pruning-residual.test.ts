import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../src/util/tf.js';
import * as tfjs from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { exportModel, slimWeights } from '../src/export/model.js';
import {
  buildGraphModel,
  buildModel,
  initialize,
  layers as L,
  runGraph,
  toLayersModel,
  unitCouplings,
  unitsLeftOut,
  type Masks,
  type Model,
  type Weights,
} from '../src/models/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { resolveReset, resetNames } from '../src/resets/index.js';
import { resolveSchedule } from '../src/training/index.js';
import { fullMasks, prune, unitLayers } from '../src/pruning/index.js';
import { checkSpec } from '../src/spec/check.js';
import { specSchema, validateSpec } from '../src/spec/index.js';
import { Store } from '../src/storage/db.js';
import { keys } from '../src/storage/levels.js';
import { makeRng } from '../src/util/rng.js';
import { loadExported } from './helpers/export.js';
import { close, rand } from './helpers/numbers.js';
import { lth, tinySpec, tmp } from './helpers/common.js';

/**
 * Filter pruning of BatchNorm and residual nets (docs/DESIGN.md#structured): a pruned filter
 * takes its BatchNorm channel's γ and β with it; the convs whose channels residual adds sum are
 * pruned as one group (docs/DESIGN.md#structured-batchnorm).
 */

before(async () => {
  await initBackend('wasm');
});

const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
const pruningSpec = (over: object) => specSchema.parse({ name: 'x', pruning: over }).pruning;

/** ResNet-20's filter groups in order, with their stage: per stage, the convs its adds sum (and the stem), and each block's first conv. */
const RESNET20_GROUPS: [string, number][] = [
  ['stem+b1_conv2+b2_conv2+b3_conv2', 0],
  ['b1_conv1', 0],
  ['b2_conv1', 0],
  ['b3_conv1', 0],
  ['b4_conv1', 1],
  ['b4_conv2+b4_down+b5_conv2+b6_conv2', 1],
  ['b5_conv1', 1],
  ['b6_conv1', 1],
  ['b7_conv1', 2],
  ['b7_conv2+b7_down+b8_conv2+b9_conv2', 2],
  ['b8_conv1', 2],
  ['b9_conv1', 2],
];

/** VGG-like: conv (bias) → BN → ReLU → pool → conv (no bias, as ResNet's) → BN → ReLU → global average pool → output. */
const chain = [
  L.conv2d(4, { name: 'c1' }),
  L.batchNormalization({ name: 'n1' }),
  L.relu({ name: 'r1' }),
  L.maxPooling2d({ name: 'p1' }),
  L.conv2d(4, { name: 'c2', useBias: false }),
  L.batchNormalization({ name: 'n2' }),
  L.relu({ name: 'r2' }),
  L.globalAveragePooling2d({ name: 'gap' }),
];

/** Two residual blocks after a stem: an identity shortcut (b1) and a projection (b2). */
const blocks = [
  L.conv2d(4, { name: 'stem' }),
  L.batchNormalization({ name: 'stem_bn' }),
  L.relu({ name: 'stem_relu' }),
  L.conv2d(4, { name: 'b1_conv1', useBias: false }),
  L.batchNormalization({ name: 'b1_bn1' }),
  L.relu({ name: 'b1_relu1' }),
  L.conv2d(4, { name: 'b1_conv2', useBias: false }),
  L.batchNormalization({ name: 'b1_bn2' }),
  L.add(['b1_bn2', 'stem_relu'], { name: 'b1_add' }),
  L.relu({ name: 'b1_out' }),
  L.conv2d(8, { name: 'b2_conv1', strides: 2, useBias: false }),
  L.batchNormalization({ name: 'b2_bn1' }),
  L.relu({ name: 'b2_relu1' }),
  L.conv2d(8, { name: 'b2_conv2', useBias: false }),
  L.batchNormalization({ name: 'b2_bn2' }),
  L.conv2d(8, { name: 'b2_down', kernelSize: 1, strides: 2, useBias: false, inputs: ['b1_out'] }),
  L.batchNormalization({ name: 'b2_down_bn' }),
  L.add(['b2_bn2', 'b2_down_bn'], { name: 'b2_add' }),
  L.relu({ name: 'b2_out' }),
  L.globalAveragePooling2d({ name: 'gap' }),
];

test("coupling from hand-built graphs: a filter group is its kernels' columns, biases, BatchNorm γ and β and the rows of every kernel it feeds; residual adds join groups; what cannot be pruned is named", () => {
  const c = buildGraphModel('chain', chain, [6, 6, 2], 3);
  assert.deepEqual(unitCouplings(c.graph), [
    {
      layer: 'c1',
      kind: 'conv',
      kernels: ['c1/kernel'],
      alive: 'c1/bias',
      vectors: ['c1/bias', 'n1/gamma', 'n1/beta'],
      state: ['n1/moving_mean', 'n1/moving_variance'],
      units: 4,
      nexts: [{ kernel: 'c2/kernel', in: 4, out: 4 }],
    },
    // no bias: the BatchNorm's γ records which units are alive; global average pooling keeps channel c as input c
    {
      layer: 'c2',
      kind: 'conv',
      kernels: ['c2/kernel'],
      alive: 'n2/gamma',
      vectors: ['n2/gamma', 'n2/beta'],
      state: ['n2/moving_mean', 'n2/moving_variance'],
      units: 4,
      nexts: [{ kernel: 'output/kernel', in: 4, out: 3 }],
    },
  ]);
  const r = buildGraphModel('res', blocks, [8, 8, 3], 3);
  const groups = unitCouplings(r.graph);
  // the identity shortcut joins the stem's channels with b1_conv2's, and they feed b1_conv1 and, through b1's output, b2's two convs
  assert.deepEqual(groups[0], {
    layer: 'stem+b1_conv2',
    kind: 'conv',
    kernels: ['stem/kernel', 'b1_conv2/kernel'],
    alive: 'stem/bias',
    vectors: ['stem/bias', 'stem_bn/gamma', 'stem_bn/beta', 'b1_bn2/gamma', 'b1_bn2/beta'],
    state: ['stem_bn/moving_mean', 'stem_bn/moving_variance', 'b1_bn2/moving_mean', 'b1_bn2/moving_variance'],
    units: 4,
    nexts: [
      { kernel: 'b1_conv1/kernel', in: 4, out: 4 },
      { kernel: 'b2_conv1/kernel', in: 4, out: 8 },
      { kernel: 'b2_down/kernel', in: 4, out: 8 },
    ],
  });
  assert.deepEqual(
    groups.slice(1).map((u) => [u.layer, u.kernels.join(' '), u.alive, u.vectors.join(' '), u.nexts.map((n) => n.kernel).join(' ')]),
    [
      ['b1_conv1', 'b1_conv1/kernel', 'b1_bn1/gamma', 'b1_bn1/gamma b1_bn1/beta', 'b1_conv2/kernel'],
      ['b2_conv1', 'b2_conv1/kernel', 'b2_bn1/gamma', 'b2_bn1/gamma b2_bn1/beta', 'b2_conv2/kernel'],
      ['b2_conv2+b2_down', 'b2_conv2/kernel b2_down/kernel', 'b2_bn2/gamma', 'b2_bn2/gamma b2_bn2/beta b2_down_bn/gamma b2_down_bn/beta', 'output/kernel'],
    ],
  );
  assert.deepEqual(unitsLeftOut(r.graph), []);
  // a conv without bias and without BatchNorm after it has nowhere to record its units; a conv summed with the input cannot lose channels
  const bare = buildGraphModel(
    'bare',
    [
      L.conv2d(2, { name: 'a', useBias: false }),
      L.relu(),
      L.conv2d(2, { name: 'b' }),
      L.conv2d(2, { name: 'c', inputs: ['input'] }),
      L.add(['input', 'c'], { name: 'sum' }),
      L.add(['b', 'sum'], { name: 'both' }),
      L.flatten(),
    ],
    [4, 4, 2],
    2,
  );
  assert.deepEqual(
    unitsLeftOut(bare.graph).map((u) => `${u.layer} ${u.why}`),
    ['a has no bias and no BatchNorm after it to record its units', "b+c is summed with the model's input"],
  );
});

// ---- float64 reference forward pass of `chain` (NHWC), written here, independent of tfjs ----

type A = Float64Array;
interface Map4 {
  v: A;
  h: number;
  w: number;
  c: number;
}
const at = (m: Map4, n: number, y: number, x: number, ch: number) => m.v[((n * m.h + y) * m.w + x) * m.c + ch];

function conv3(m: Map4, N: number, k: ArrayLike<number>, b: ArrayLike<number> | null, out: number): Map4 {
  const r: Map4 = { v: new Float64Array(N * m.h * m.w * out), h: m.h, w: m.w, c: out };
  for (let n = 0; n < N; n++)
    for (let y = 0; y < m.h; y++)
      for (let x = 0; x < m.w; x++)
        for (let o = 0; o < out; o++) {
          let s = b ? b[o] : 0;
          for (let dy = 0; dy < 3; dy++)
            for (let dx = 0; dx < 3; dx++) {
              const yy = y + dy - 1;
              const xx = x + dx - 1;
              if (yy < 0 || xx < 0 || yy >= m.h || xx >= m.w) continue;
              for (let ci = 0; ci < m.c; ci++) s += at(m, n, yy, xx, ci) * k[((dy * 3 + dx) * m.c + ci) * out + o];
            }
          r.v[((n * m.h + y) * m.w + x) * out + o] = s;
        }
  return r;
}

/** BatchNorm then ReLU; training: the batch's mean and biased variance, else the running statistics. */
function bnRelu(m: Map4, w: Weights, name: string, training: boolean): Map4 {
  const P = m.v.length / m.c;
  const v = new Float64Array(m.v.length);
  for (let ch = 0; ch < m.c; ch++) {
    let mu = w[`${name}/moving_mean`][ch];
    let s2 = w[`${name}/moving_variance`][ch];
    if (training) {
      mu = 0;
      for (let i = 0; i < P; i++) mu += m.v[i * m.c + ch] / P;
      s2 = 0;
      for (let i = 0; i < P; i++) s2 += (m.v[i * m.c + ch] - mu) ** 2 / P;
    }
    for (let i = 0; i < P; i++) {
      const y = (w[`${name}/gamma`][ch] * (m.v[i * m.c + ch] - mu)) / Math.sqrt(s2 + 1e-5) + w[`${name}/beta`][ch];
      v[i * m.c + ch] = Math.max(0, y);
    }
  }
  return { ...m, v };
}

function pool2(m: Map4, N: number): Map4 {
  const r: Map4 = { v: new Float64Array((N * m.h * m.w * m.c) / 4), h: m.h / 2, w: m.w / 2, c: m.c };
  for (let n = 0; n < N; n++)
    for (let y = 0; y < r.h; y++)
      for (let x = 0; x < r.w; x++)
        for (let ch = 0; ch < m.c; ch++)
          r.v[((n * r.h + y) * r.w + x) * m.c + ch] = Math.max(
            at(m, n, 2 * y, 2 * x, ch),
            at(m, n, 2 * y + 1, 2 * x, ch),
            at(m, n, 2 * y, 2 * x + 1, ch),
            at(m, n, 2 * y + 1, 2 * x + 1, ch),
          );
  return r;
}

/** The chain's ReLU outputs r1, r2 and logits, in float64. */
function chain64(w: Weights, x: Float32Array, N: number, training: boolean) {
  const r1 = bnRelu(conv3({ v: Float64Array.from(x), h: 6, w: 6, c: 2 }, N, w['c1/kernel'], w['c1/bias'], 4), w, 'n1', training);
  const r2 = bnRelu(conv3(pool2(r1, N), N, w['c2/kernel'], null, 4), w, 'n2', training);
  const logits = new Float64Array(N * 3);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < 3; o++) {
      let s = w['output/bias'][o];
      for (let ch = 0; ch < 4; ch++) {
        let g = 0;
        for (let p = 0; p < 9; p++) g += r2.v[(n * 9 + p) * 4 + ch] / 9;
        s += g * w['output/kernel'][ch * 3 + o];
      }
      logits[n * 3 + o] = s;
    }
  return { r1, r2, logits };
}

/** Weights ⊙ masks, every masked tensor (kernels, biases, γ, β). */
const masked = (model: Model, w: Weights, masks: Masks): Weights =>
  Object.fromEntries(model.params.map((p) => [p.name, masks[p.name] ? w[p.name].map((v, i) => (masks[p.name][i] ? v : 0)) : w[p.name]]));

/** Every tensor nonzero (β, biases and running means included), so only the masks can make a channel 0; variances > 0. */
function randomWeights(model: Model, seed: number): Weights {
  const w: Weights = {};
  model.params.forEach((p, j) => {
    const r = rand(
      p.shape.reduce((a, b) => a * b, 1),
      seed + j,
    );
    w[p.name] = p.name.endsWith('variance') ? r.map((v) => 0.5 + Math.abs(v)) : p.name.endsWith('gamma') ? r.map((v) => 1 + 0.5 * v) : r;
  });
  return w;
}

/** The masked network's logits and every ReLU output (unfused pass), on batch x of n examples, in training or inference mode. */
function forwardTaps(model: Model, wm: Weights, x: Float32Array, n: number, training: boolean) {
  const taps: Record<string, Float32Array> = {};
  const logits = tf.tidy(() => {
    const ws = Object.fromEntries(model.params.map((p) => [p.name, tf.tensor(wm[p.name], [...p.shape])]));
    const out = runGraph(model.graph, ws, tf.tensor2d(x, [n, x.length / n]), {
      mode: { training, lth: false, fuse: false },
      tap: (relu, v) => {
        taps[relu.name] = v.dataSync() as Float32Array;
        return v;
      },
    });
    return out.dataSync();
  });
  return { taps, logits };
}

/** Exactly 0 (−0 included: ReLU passes it, and it is 0) on the `dead` channels of a map of `units` channels, and some positive value on the others. */
function assertDead(got: ArrayLike<number>, dead: readonly number[], units: number, what: string): void {
  for (let i = 0; i < got.length; i++) if (dead.includes(i % units)) assert.ok(got[i] === 0, `${what} channel ${i % units}: ${got[i]}`);
  // a channel killed by accident would pass the check above
  assert.ok(
    Array.from(got).some((v, i) => !dead.includes(i % units) && v > 0),
    `${what} has live channels`,
  );
}

/** Slimmed as `lth export-model` slims it (pruned units cut out) and loaded as a tfjs-layers model, the network gives the masked network's logits. */
function assertSlimmedLogits(model: Model, w: Weights, masks: Masks, x: Float32Array, n: number, what: string): Record<string, number> {
  const slim = slimWeights(model.graph, 'filter', w, masks);
  const net = toLayersModel(model.graph, (name) => slim.weights[name], tfl);
  const ours = forwardTaps(model, masked(model, w, masks), x, n, false).logits;
  const theirs = tf.tidy(() => (net.predict(tf.tensor(x, [n, ...model.inputShape])) as tf.Tensor).dataSync());
  net.dispose();
  close(theirs, ours, `${what} slimmed logits`, 1e-5);
  return slim.units;
}

/** One filter-pruning level at rate 0.5 from the dense mask (l1_norm of `final`). */
const halfPruned = (model: Model, init: Weights, final: Weights, seed: string): Masks =>
  prune({ model, masks: fullMasks(model), init, final, spec: pruningSpec({ granularity: 'filter', rates: { conv: 0.5 } }), rng: makeRng(seed) });

/** The units whose entry of a per-unit mask is 0. */
const deadUnits = (masks: Masks, name: string): number[] => [...masks[name].keys()].filter((u) => masks[name][u] === 0);

test('a pruned filter outputs exactly 0 after its BatchNorm in training and inference mode, whatever the running statistics; logits match a float64 forward pass', () => {
  const model = buildGraphModel('chain', chain, [6, 6, 2], 3);
  const w = randomWeights(model, 11);
  const masks = halfPruned(model, w, w, 'z');
  const dead = (alive: string) => deadUnits(masks, alive);
  const dead1 = dead('c1/bias');
  const dead2 = dead('n2/gamma');
  assert.equal(dead1.length, 2);
  assert.deepEqual(dead('n1/gamma'), dead1);
  assert.deepEqual(dead('n1/beta'), dead1);
  assert.deepEqual(dead('n2/beta'), dead2);
  assert.ok(!('n1/moving_mean' in masks) && !('n2/moving_variance' in masks), 'running statistics are state, never masked');
  for (const b of ['n1/beta', 'n2/beta', 'n1/moving_mean', 'n2/moving_mean'])
    assert.ok(
      w[b].every((v) => v !== 0),
      b,
    );
  const wm = masked(model, w, masks);
  const N = 5;
  const x = rand(N * 6 * 6 * 2, 99);
  for (const training of [true, false]) {
    const { taps, logits } = forwardTaps(model, wm, x, N, training);
    const ref = chain64(wm, x, N, training);
    for (const [name, d] of [
      ['r1', dead1],
      ['r2', dead2],
    ] as const) {
      assertDead(taps[name], d, 4, `${name} (training ${training})`);
      assertDead(ref[name].v, d, 4, `float64 ${name} (training ${training})`);
    }
    close(logits, ref.logits, `logits (training ${training})`, 1e-4);
  }
});

test('residual groups: a pruned channel is exactly 0 at every ReLU its group reaches (identity and projection shortcuts), in training and inference mode; slimmed, the logits stay', () => {
  const model = buildGraphModel('res', blocks, [8, 8, 3], 3);
  const w = randomWeights(model, 21);
  const masks = halfPruned(model, w, w, 'g');
  // the ReLUs that carry each group's channels, read off the graph by hand
  const relus: Record<string, string[]> = {
    'stem+b1_conv2': ['stem_relu', 'b1_out'],
    b1_conv1: ['b1_relu1'],
    b2_conv1: ['b2_relu1'],
    'b2_conv2+b2_down': ['b2_out'],
  };
  const groups = unitCouplings(model.graph);
  assert.deepEqual(
    groups.map((g) => g.layer),
    Object.keys(relus),
  );
  const N = 3;
  const x = rand(N * 8 * 8 * 3, 7);
  for (const training of [true, false]) {
    const { taps } = forwardTaps(model, masked(model, w, masks), x, N, training);
    for (const g of groups) {
      const dead = deadUnits(masks, g.alive);
      assert.equal(dead.length, g.units / 2, g.layer);
      for (const v of g.vectors) assert.deepEqual(deadUnits(masks, v), dead, v);
      for (const r of relus[g.layer]) assertDead(taps[r], dead, g.units, `${r} (training ${training})`);
    }
  }
  const units = assertSlimmedLogits(model, w, masks, x, N, 'two blocks');
  assert.deepEqual(units, { stem: 2, b1_conv1: 2, b1_conv2: 2, b2_conv1: 4, b2_conv2: 4, b2_down: 4, output: 3 });
});

test('every reset gives a pruned channel γ = β = 0 and a kept one the γ, β of its source (θ0, or the previous final weights), never a draw or a shuffle of them', () => {
  const model = buildGraphModel('chain', chain, [6, 6, 2], 3);
  const theta0 = initialize(model, 'he-normal', 'r', 1);
  const final = initialize(model, 'he-normal', 'r', 2);
  for (const [j, v] of ['n1/gamma', 'n1/beta', 'n2/gamma', 'n2/beta'].entries()) final[v] = rand(4, 40 + j);
  const masks = halfPruned(model, theta0, final, 'r');
  const plan = resolveSchedule(specSchema.parse({ name: 'x' }).training, 1000);
  for (const name of resetNames()) {
    const w = resolveReset(name, plan).reset({ model, init: 'he-normal', theta0, thetaK: null, thetaFinal: final, masks, rng: makeRng('reset', name) });
    const source = name === 'fine-tune' || name === 'lr-rewind' ? final : theta0;
    for (const v of ['n1/gamma', 'n1/beta', 'n2/gamma', 'n2/beta'])
      assert.deepEqual(
        Array.from(w[v]),
        Array.from(source[v], (x, c) => (masks[v][c] ? x : 0)),
        `${name} ${v}`,
      );
    // the kernels are the reset's own business; masked, whatever it is
    for (let i = 0; i < masks['c2/kernel'].length; i++) if (!masks['c2/kernel'][i]) assert.equal(w['c2/kernel'][i], 0);
  }
});

test('mask counts per coupled group: VGG-11 and ResNet-20 (width 4) over two filter-pruning levels', () => {
  const rate = 0.25;
  const kept = (u: number, levels: number) => {
    for (let l = 0; l < levels; l++) u -= Math.round(rate * u);
    return u;
  };
  const spec = pruningSpec({ granularity: 'filter', rates: { conv: rate } });
  for (const [name, shape] of [
    ['vgg-11', [16, 16, 3]],
    ['resnet-20', [8, 8, 3]],
  ] as const) {
    const model = buildModel(name, shape, 3, 4);
    const w = randomWeights(model, 3);
    let masks = fullMasks(model);
    for (let level = 1; level <= 2; level++) masks = prune({ model, masks, init: w, final: w, spec, rng: makeRng('mc', level) });
    const units = unitLayers(model, 'filter');
    // VGG: every conv; ResNet-20: the first conv of each block, and per stage one group of the convs its adds sum
    assert.deepEqual(
      units.map((u) => u.layer),
      name === 'vgg-11' ? ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'conv6', 'conv7', 'conv8'] : RESNET20_GROUPS.map(([g]) => g),
    );
    for (const u of units) {
      for (const v of u.vectors) assert.equal(count(masks[v]), kept(u.units, 2), `${name} ${v}`);
      for (const s of u.state) assert.ok(!(s in masks));
    }
    // every kernel keeps taps × (kept inputs) × (kept outputs): its output channels are pruned when it is one of a
    // group's kernels, its input channels when a group feeds it; every kernel of ResNet-20 is both but the stem and the output
    for (const p of model.params.filter((q) => q.kind !== 'none')) {
      const own = units.find((u) => u.kernels.includes(p.name));
      const from = units.find((u) => u.nexts.some((n) => n.kernel === p.name));
      if (name === 'resnet-20') assert.equal(!own, p.name === 'output/kernel', p.name);
      if (name === 'resnet-20') assert.equal(!from, p.name === 'stem/kernel', p.name);
      const [cin, cout] = p.shape.slice(-2);
      const taps = p.shape.length === 4 ? p.shape[0] * p.shape[1] : 1;
      assert.equal(count(masks[p.name]), taps * (from ? kept(cin, 2) : cin) * (own ? kept(cout, 2) : cout), `${name} ${p.name}`);
    }
    // slimmed for export (pruned filters, their BatchNorm channels and the next kernel's rows cut out), the network computes the same logits
    const slim = assertSlimmedLogits(model, w, masks, rand(4 * shape[0] * shape[1] * 3, 8), 4, name);
    assert.equal(slim[units[units.length - 1].layer], kept(units[units.length - 1].units, 2));
    if (name !== 'resnet-20') continue;
    // excluding one layer of each stage group keeps the groups dense: Li et al.'s first convs of the blocks alone
    const li = prune({
      model,
      masks: fullMasks(model),
      init: w,
      final: w,
      spec: pruningSpec({ ...spec, exclude: ['stem', 'b4_down', 'b7_down'] }),
      rng: makeRng('li'),
    });
    for (const [g, s] of RESNET20_GROUPS) {
      const u = units.find((x) => x.layer === g)!;
      assert.equal(count(li[u.alive]), g.includes('+') ? [4, 8, 16][s] : kept([4, 8, 16][s], 1), g);
    }
  }
});

test('the spec accepts filter pruning of resnet-20 and vgg-11; a data-driven unit criterion on residual groups, and a net with nothing unit-prunable, are refused in one line naming the layers and the fix', () => {
  const spec = (model: object, data: object, more: object = {}) =>
    validateSpec({ name: 'f', data, model, pruning: { granularity: 'filter' }, training: { iterations: '10it' }, ...more }, 's.json');
  const synth = (s: number) => ({ dataset: 'synthetic', validation: 20, synthetic: { train: 60, test: 20, shape: [s, s, 3], classes: 3 } });
  assert.deepEqual(checkSpec(spec({ name: 'resnet-20', width: 4 }, synth(8))).warnings, []);
  assert.deepEqual(checkSpec(spec({ name: 'vgg-11', width: 4 }, synth(16))).warnings, []);
  // taylor, apoz and mean_activation read one layer's ReLU outputs: a group has several layers' channels summed
  assert.throws(
    () => checkSpec(spec({ name: 'resnet-20', width: 4 }, synth(8), { pruning: { granularity: 'filter', unitCriterion: 'taylor' } })),
    /^UserError: invalid spec s\.json: pruning\.unitCriterion: "taylor" scores the ReLU outputs of one layer, but residual adds sum the channels of several layers of resnet-20 into one group \(3 groups, e\.g\. stem, b1_conv2, b2_conv2, b3_conv2\): use l1_norm, l2_norm or random, which score a group by all its kernels, or keep the groups dense by adding \["stem","b4_conv2","b7_conv2"\] to pruning\.exclude$/,
  );
  assert.doesNotThrow(() => checkSpec(spec({ name: 'vgg-11', width: 4 }, synth(16), { pruning: { granularity: 'filter', unitCriterion: 'taylor' } })));
  // with the stage groups excluded (Li et al.'s setting) each pruned group is one conv, and taylor is accepted
  const li = { granularity: 'filter', unitCriterion: 'taylor', exclude: ['stem', 'b4_down', 'b7_down'] };
  assert.doesNotThrow(() => checkSpec(spec({ name: 'resnet-20', width: 4 }, synth(8), { pruning: li })));
  // a conv whose channels are summed with the model's input cannot lose any
  const dir = tmp();
  const mod = join(dir, 'skip.js');
  writeFileSync(
    mod,
    "export const layers = [{ kind: 'conv2d', filters: 3, name: 'a' }, { kind: 'add', inputs: ['input', 'a'], name: 'sum' }, { kind: 'globalAveragePooling2d' }];\n",
  );
  assert.throws(
    () => checkSpec(spec({ module: mod }, synth(6))),
    /^UserError: invalid spec s\.json: pruning\.granularity: "filter" finds no conv or hidden dense layer of .* with a rate above 0 to prune units of \(a is summed with the model's input\): set pruning\.rates\.fc or pruning\.rates\.conv above 0, check pruning\.exclude, or use granularity "weight"$/,
  );
  // the CLI, for a chain's own criterion: exit 2, one line, nothing written
  const file = join(dir, 'spec.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'f',
      data: synth(8),
      model: { name: 'resnet-20', width: 4 },
      pruning: { granularity: 'filter' },
      strategies: ['rewind', { reset: 'rewind', name: 'apoz', unitCriterion: 'apoz' }],
    }),
  );
  const r = lth(['run', file, '--db', join(dir, 'out', 'lth.db'), '--quiet']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(
    r.stderr,
    /strategies\.1\.unitCriterion: "apoz" scores the ReLU outputs of one layer, but residual adds sum the channels of several layers of resnet-20/,
  );
  assert.equal(existsSync(join(dir, 'out')), false, 'nothing written');
});

test('lth run: filter pruning of resnet-20 (width 4, 8×8 synthetic): unit counts and % remaining exact; the slimmed export gives the stored logits within 1e-5', async () => {
  const over = tinySpec({
    data: { dataset: 'synthetic', validation: 40, synthetic: { train: 80, test: 40, shape: [8, 8, 3], classes: 3 } },
    model: { name: 'resnet-20', width: 4 },
    training: { iterations: '4it', evalEvery: '4it', batchSize: 20 },
    pruning: { levels: 1, granularity: 'filter', rates: { conv: 0.25 } },
    strategies: ['rewind'],
  });
  const db = join(tmp(), 'r.db');
  await runExperiment(validateSpec(over, 't'), { db, backend: 'wasm' });
  const d = new Database(db, { readonly: true });
  const units = d
    .prepare(
      "SELECT r.level, u.layer, u.total, u.remaining FROM unit_counts u JOIN results r ON r.id = u.result_id WHERE r.strategy = 'rewind' ORDER BY r.level, u.rowid",
    )
    .all() as { level: number; layer: string; total: number; remaining: number }[];
  // every group of stage s (its adds' group and each block's first conv) has 4, 8, 16 filters: 4 → 3, 8 → 6, 16 → 12
  // (two levels' counts: the mask-count test above)
  const kept = [
    [4, 8, 16],
    [3, 6, 12],
  ];
  assert.deepEqual(
    units.map((u) => `${u.level}:${u.layer}:${u.total}:${u.remaining}`),
    [1].flatMap((level) => RESNET20_GROUPS.map(([g, s]) => `${level}:${g}:${kept[0][s]}:${kept[level][s]}`)),
  );
  // % remaining, counted by hand from the architecture with k_s filters kept per stage: the stem 3×3×3×k0; per block of
  // stage s conv1 3×3×cin×k_s (cin = k_{s−1} in a stage's first block, else k_s) and conv2 3×3×k_s×k_s; the 1×1
  // projections k_{s−1}×k_s; the output layer k2×3
  const weightsKept = (k: number[]) => {
    let n = 9 * 3 * k[0] + k[2] * 3;
    for (let b = 0; b < 9; b++) {
      const s = Math.floor(b / 3);
      const first = s > 0 && b % 3 === 0;
      n += 9 * (first ? k[s - 1] : k[s]) * k[s] + 9 * k[s] * k[s] + (first ? k[s - 1] * k[s] : 0);
    }
    return n;
  };
  const rows = d.prepare("SELECT level, percent_remaining p FROM levels WHERE strategy = 'rewind' AND branch IS NULL ORDER BY level").all() as {
    level: number;
    p: number;
  }[];
  assert.equal(rows.length, 2);
  for (const { level, p } of rows) assert.equal(p, (100 * weightsKept(kept[level])) / weightsKept(kept[0]), `level ${level}`);
  d.close();
  // the stored level: pruned channels' γ and β are 0; exported slimmed, its logits equal the stored network's
  const store = new Store(db);
  try {
    const id = store.experiments()[0].id;
    const { weights, masks } = store.loadLevel(id, keys.chainLevel(0, 'rewind', 1));
    const model = buildModel('resnet-20', [8, 8, 3], 3, 4);
    for (const u of unitLayers(model, 'filter')) for (const v of u.vectors) masks[u.alive].forEach((a, c) => a || assert.equal(weights[v][c], 0, `${v}[${c}]`));
    const out = join(tmp(), 'ticket');
    const exp = await exportModel(store, 'tiny', { strategy: 'rewind', trial: 0, level: 1 }, out, 'final');
    assert.equal(exp.units.b7_conv1, 12);
    const net = await loadExported(out);
    // level 1 keeps 3, 6, 12 filters per stage
    assert.deepEqual(net.getLayer('b7_conv1').getWeights()[0].shape, [3, 3, 6, 12]);
    assert.deepEqual(net.getLayer('b7_bn1').getWeights()[0].shape, [12]);
    assert.deepEqual(net.getLayer('b7_conv2').getWeights()[0].shape, [3, 3, 12, 12]);
    assert.deepEqual(net.getLayer('b7_down').getWeights()[0].shape, [1, 1, 6, 12]);
    assert.deepEqual(net.getLayer('output').getWeights()[0].shape, [12, 3]);
    const x = rand(6 * 8 * 8 * 3, 5);
    const ours = tf.tidy(() => {
      const ws = Object.fromEntries(model.params.map((p) => [p.name, tf.tensor(masked(model, weights, masks)[p.name], [...p.shape])]));
      return model.predict(ws, tf.tensor2d(x, [6, 192])).dataSync();
    });
    const theirs = tfjs.tidy(() => (net.predict(tfjs.tensor(x, [6, 8, 8, 3])) as tfjs.Tensor).dataSync());
    net.dispose();
    assert.ok(Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i]))) < 1e-5);
  } finally {
    store.close();
  }
});
