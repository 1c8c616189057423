import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { readModelWeights, resolveModel, runGraph, MODES } from '../src/models/index.js';
import { Store } from '../src/storage/index.js';
import { validateSpec, type SpecInput } from '../src/spec/index.js';
import { makeRng } from '../src/util/rng.js';
import { assertOneLineError, filesUnder, levelRows, lth, ROOT, tinySpec, tmp } from './helpers/common.js';

/**
 * Models from files (docs/DESIGN.md#model-files): a LayersModel saved by tfjs-layers itself and
 * a hand-written Keras-converter-style model.json become lth's layer graph, train, prune by the
 * file's layer names, export back with those names, and bad files are one line each.
 */

before(async () => {
  await initBackend('cpu');
});

/** Saves a tfjs-layers model the way `model.save('file://dir')` lays it out: model.json + one weights .bin. */
async function saveLayersModel(net: tfjs.LayersModel, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await net.save(
    tfjs.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      const json = {
        format: 'layers-model',
        generatedBy: 'test',
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(dir, 'model.json');
}

/** A residual conv net in tfjs-layers' functional API: every kind lth reads, with non-trivial BatchNorm statistics. */
function residualNet(): tfjs.LayersModel {
  const L = tfjs.layers;
  const x = tfjs.input({ shape: [6, 6, 2], name: 'pixels' });
  const c1 = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(x) as tfjs.SymbolicTensor;
  const c2 = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c2' }).apply(c1) as tfjs.SymbolicTensor;
  const sum = L.add({ name: 'sum' }).apply([c1, c2]) as tfjs.SymbolicTensor;
  const bn = L.batchNormalization({ name: 'bn', epsilon: 1e-3 }).apply(sum) as tfjs.SymbolicTensor;
  const r = L.reLU({ name: 'act' }).apply(bn) as tfjs.SymbolicTensor;
  const p = L.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(r) as tfjs.SymbolicTensor;
  const a = L.averagePooling2d({ poolSize: 3, padding: 'valid', name: 'avg' }).apply(p) as tfjs.SymbolicTensor;
  const g = L.flatten({ name: 'flat' }).apply(a) as tfjs.SymbolicTensor;
  const d = L.dropout({ rate: 0.5, name: 'drop' }).apply(g) as tfjs.SymbolicTensor;
  const h = L.dense({ units: 5, activation: 'relu', name: 'hidden' }).apply(d) as tfjs.SymbolicTensor;
  const out = L.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(h) as tfjs.SymbolicTensor;
  const net = tfjs.model({ inputs: x, outputs: out });
  // every weight drawn from a seed (BatchNorm variances positive), so the comparison is not of zeros and ones
  const rng = makeRng('model-file', 'residual');
  net.setWeights(
    net.weights.map((w) => {
      const shape = w.shape as number[];
      const size = shape.reduce((s, n) => s * n, 1);
      return tfjs.tensor(
        Float32Array.from({ length: size }, () => (w.name.includes('variance') ? 0.5 + rng.uniform() : rng.normal() * 0.5)),
        shape,
      );
    }),
  );
  return net;
}

test('a functional tfjs-layers model file: lth computes the logits tfjs computes (softmax equal within 1e-5)', async () => {
  const net = residualNet();
  const file = await saveLayersModel(net, join(tmp(), 'net'));
  const g = resolveModel({ file, init: 'glorot-normal' }, [6, 6, 2], 3);
  assert.deepEqual(
    g.nodes.map((n) => `${n.name}:${n.kind}`),
    [
      'c1:conv2d',
      'c1_relu:relu',
      'c2:conv2d',
      'sum:add',
      'bn:batchNormalization',
      'act:relu',
      'pool:maxPooling2d',
      'avg:averagePooling2d',
      'flat:flatten',
      'hidden:dense',
      'hidden_relu:relu',
      'probs:dense',
    ],
  );
  assert.deepEqual(
    g.params.filter((p) => p.kind !== 'none').map((p) => `${p.name}:${p.kind}`),
    ['c1/kernel:conv', 'c2/kernel:conv', 'hidden/kernel:fc', 'probs/kernel:output'],
  );
  const w = readModelWeights(file, g);
  const n = 7;
  const rng = makeRng('model-file', 'x');
  const xs = Float32Array.from({ length: n * 72 }, () => rng.normal());
  const x = tfjs.tensor(xs, [n, 6, 6, 2]);
  const wt = Object.fromEntries(g.params.map((p) => [p.name, tfjs.tensor(w[p.name], [...p.shape])]));
  const logits = runGraph(g, wt, x, { mode: MODES.predict });
  const ours = tfjs.softmax(logits).dataSync();
  const theirs = (net.predict(x) as tfjs.Tensor).dataSync();
  let gap = 0;
  for (let i = 0; i < ours.length; i++) gap = Math.max(gap, Math.abs(ours[i] - theirs[i]));
  assert.ok(gap < 1e-5, `max |lth − tfjs| = ${gap}`);
  assert.ok(Math.max(...theirs) - Math.min(...theirs) > 0.05, 'outputs differ between classes: the test compares something');
  tfjs.dispose([x, logits, ...Object.values(wt)]);
  net.dispose();
});

/** A model.json as tensorflowjs_converter writes it from a Keras functional model (model_config, inbound_nodes), written by hand. */
function kerasJson(layers: object[], inputShape: number[] = [16]): object {
  const input = {
    class_name: 'InputLayer',
    name: 'features',
    inbound_nodes: [],
    config: { batch_input_shape: [null, ...inputShape], dtype: 'float32', name: 'features' },
  };
  const all = [input, ...layers];
  const last = (all[all.length - 1] as { name: string }).name;
  return {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Functional',
        config: { name: 'model', layers: all, input_layers: [['features', 0, 0]], output_layers: [[last, 0, 0]] },
      },
    },
    weightsManifest: [],
  };
}

/** A Keras layer entry reading `from` (Keras 2 inbound_nodes). */
const keras = (class_name: string, name: string, from: string, config: object = {}) => ({
  class_name,
  name,
  config: { name, trainable: true, dtype: 'float32', ...config },
  inbound_nodes: [[[from, 0, 0, {}]]],
});

const MLP = [
  keras('Dense', 'hidden', 'features', { units: 12, activation: 'relu', use_bias: true }),
  keras('Dropout', 'drop', 'hidden', { rate: 0.5 }),
  keras('Dense', 'logits', 'drop', { units: 3, activation: 'softmax', use_bias: true }),
];

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value, null, 1));
  return path;
}

const specFile = (dir: string, over: Partial<SpecInput>): string => writeJson(join(dir, 'spec.json'), tinySpec(over));

test('a hand-written Keras-converter model.json trains end to end, prunes by its own layer names, and exports with them (logits within 1e-5)', async () => {
  const dir = tmp();
  const file = writeJson(join(dir, 'model.json'), kerasJson(MLP));
  const db = join(dir, 'lth.db');
  const spec = specFile(dir, { model: { file }, pruning: { levels: 1, exclude: ['hidden'] }, strategies: ['rewind'] });
  const r = lth(['run', spec, '--db', db, '--backend', 'cpu', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const store = new Store(db);
  let stored: Record<string, Float32Array>;
  try {
    const id = store.experiments()[0].id;
    const l1 = store.loadLevel(id, 'trial-0/rewind/level-1');
    stored = l1.weights;
    // the file's layer names are the parameter names; excluded "hidden" stays dense, the output layer is pruned at its rate (0.1)
    assert.deepEqual(Object.keys(l1.masks).sort(), ['hidden/kernel', 'logits/kernel']);
    assert.equal(
      l1.masks['hidden/kernel'].reduce((a, b) => a + b, 0),
      16 * 12,
    );
    assert.equal(
      l1.masks['logits/kernel'].reduce((a, b) => a + b, 0),
      36 - Math.round(0.1 * 36),
    );
  } finally {
    store.close();
  }
  const out = join(dir, 'export');
  const e = lth(['export-model', 'tiny', '--strategy', 'rewind', '--level', '1', '--out', out, '--db', db]);
  assert.equal(e.status, 0, e.stderr);
  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  const bin = readFileSync(join(out, json.weightsManifest[0].paths[0]));
  const loaded = await tfjs.loadLayersModel(
    tfjs.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
  assert.deepEqual(
    loaded.layers.slice(1).map((l) => l.name),
    ['hidden', 'logits'],
  );
  // logits against a float64 forward pass of the stored weights, written here
  const rng = makeRng('model-file', 'export');
  const n = 5;
  const xs = Float64Array.from({ length: n * 16 }, () => rng.normal());
  const got = (loaded.predict(tfjs.tensor(Float32Array.from(xs), [n, 16])) as tfjs.Tensor).dataSync();
  const dense = (x: Float64Array, k: Float32Array, b: Float32Array, inN: number, outN: number, relu: boolean) => {
    const y = new Float64Array(n * outN);
    for (let i = 0; i < n; i++)
      for (let o = 0; o < outN; o++) {
        let s = b[o];
        for (let j = 0; j < inN; j++) s += x[i * inN + j] * k[j * outN + o];
        y[i * outN + o] = relu ? Math.max(0, s) : s;
      }
    return y;
  };
  const h = dense(xs, stored['hidden/kernel'], stored['hidden/bias'], 16, 12, true);
  const want = dense(h, stored['logits/kernel'], stored['logits/bias'], 12, 3, false);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `logit ${i}: ${got[i]} vs ${want[i]}`);
  loaded.dispose();
});

test('the content digest, not the path, is the identity: a moved file keeps the hash, a changed layer changes it (old name specs: test/identity.test.ts)', () => {
  const a = tmp();
  const b = tmp();
  const fa = writeJson(join(a, 'model.json'), kerasJson(MLP));
  const fb = writeJson(join(b, 'moved.json'), kerasJson(MLP));
  const changed = writeJson(join(b, 'changed.json'), kerasJson([{ ...MLP[0], config: { ...MLP[0].config, units: 13 } }, ...MLP.slice(1)]));
  const hash = (file: string) => validateSpec(tinySpec({ model: { file } }), 't').hash;
  assert.equal(hash(fa), hash(fb));
  assert.notEqual(hash(fa), hash(changed));
  const spec = validateSpec(tinySpec({ model: { file: fa } }), 't').spec.model as { digest?: string };
  assert.match(spec.digest ?? '', /^[0-9a-f]{64}$/);
  // a mistake inside one form of the union is named at its field, not as "model: Invalid input"
  assert.throws(() => validateSpec(tinySpec({ model: { name: 'nope' } as never }), 't'), /model\.name: "nope" is not one of "lenet-300-100"/);
  assert.throws(
    () => validateSpec(tinySpec({ model: { file: fa, weights: 'yes' } as never }), 't'),
    /model\.weights: "yes" is not one of "none", "pretrained"/,
  );
});

test('bad model files: one line naming the file and the fix, exit 2, nothing written', () => {
  const dir = tmp();
  const db = join(dir, 'out', 'lth.db');
  const cases: [string, object | string, RegExp, Partial<SpecInput>?][] = [
    [
      'lstm.json',
      kerasJson([keras('LSTM', 'rnn', 'features', { units: 4 }), keras('Dense', 'logits', 'rnn', { units: 3 })]),
      /model\.file .*lstm\.json: layer "rnn" is a LSTM, which lth cannot read; supported layers: InputLayer, Dense, Conv2D, .*Dropout/,
    ],
    ['wide.json', kerasJson(MLP, [20]), /model\.file .*wide\.json takes examples of shape \[20\], but the data gives \[16\]/],
    ['garbled.json', '{"modelTopology": {"class_name": "Functional", "config": ', /model\.file .*garbled\.json is not valid JSON .*tensorflowjs_converter/],
    [
      'tanh.json',
      kerasJson([keras('Dense', 'logits', 'features', { units: 3, activation: 'tanh' })]),
      /layer "logits" \(Dense\) has activation "tanh"; lth supports "relu" and "linear"/,
    ],
    ['four.json', kerasJson([keras('Dense', 'logits', 'features', { units: 4 })]), /ends in layer logits of shape \[4\], but the data set has 3 classes/],
  ];
  for (const [name, content, msg] of cases) {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    const r = lth(['run', specFile(dir, { model: { file } }), '--db', db, '--backend', 'cpu', '--quiet']);
    assertOneLineError(r, msg);
    assert.deepEqual(filesUnder(join(dir, 'out')), [], name);
  }
  const missing = lth(['run', specFile(dir, { model: { file: join(dir, 'nope', 'model.json') } }), '--db', db, '--quiet']);
  assertOneLineError(missing, /model\.file .*nope\/model\.json not found: give the model\.json that tensorflowjs_converter/);
  assert.equal(existsSync(join(dir, 'out')), false);
});

/** The MLP file with weights drawn here (float32 values), written as a weights manifest and one .bin. */
function pretrainedMlp(dir: string): { file: string; w: Record<string, Float32Array> } {
  const rng = makeRng('model-file', 'pretrained');
  const shapes: [string, number[]][] = [
    ['hidden/kernel', [16, 12]],
    ['hidden/bias', [12]],
    ['logits/kernel', [12, 3]],
    ['logits/bias', [3]],
  ];
  const w = Object.fromEntries(shapes.map(([n, s]) => [n, Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.6)]));
  const json = kerasJson(MLP) as { weightsManifest: object[] };
  json.weightsManifest = [{ paths: ['group1-shard1of1.bin'], weights: shapes.map(([name, shape]) => ({ name, shape, dtype: 'float32' })) }];
  const bytes = new Uint8Array(shapes.reduce((a, [n]) => a + 4 * w[n].length, 0));
  let at = 0;
  for (const [n] of shapes) {
    bytes.set(new Uint8Array(w[n].buffer), at);
    at += 4 * w[n].length;
  }
  writeFileSync(join(dir, 'group1-shard1of1.bin'), bytes);
  return { file: writeJson(join(dir, 'model.json'), json), w };
}

test('weights "pretrained": level 0 is evaluated, not trained, to the accuracy a float64 forward pass gives; fine-tune prunes from it; θ0 resets are refused in one line', async () => {
  const dir = tmp();
  const { file, w } = pretrainedMlp(dir);
  const db = join(dir, 'lth.db');
  const over: Partial<SpecInput> = { model: { file, weights: 'pretrained' }, pruning: { levels: 1 }, strategies: ['fine-tune', 'lr-rewind'] };
  const r = lth(['run', specFile(dir, over), '--db', db, '--backend', 'cpu', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const rows = levelRows(db);
  const l0 = rows.find((x) => x.level === 0)!;
  assert.equal(l0.early_stop_iteration, 0);
  // independent: the test split as lth loads it, through the file's weights in float64
  const spec = validateSpec(tinySpec(over), 't').spec;
  const data = await loadDataset(spec.data, spec.seed);
  let right = 0;
  for (let i = 0; i < data.test.n; i++) {
    const x = data.test.x.subarray(i * 16, (i + 1) * 16);
    const h = Array.from({ length: 12 }, (_, o) => Math.max(0, w['hidden/bias'][o] + x.reduce((s, v, j) => s + v * w['hidden/kernel'][j * 12 + o], 0)));
    const z = Array.from({ length: 3 }, (_, o) => w['logits/bias'][o] + h.reduce((s, v, j) => s + v * w['logits/kernel'][j * 3 + o], 0));
    right += z.indexOf(Math.max(...z)) === data.test.y[i] ? 1 : 0;
  }
  assert.equal(l0.final_test_accuracy, right / data.test.n);
  assert.ok(right > 0 && right < data.test.n, 'random weights: neither all right nor all wrong');
  assert.deepEqual(
    rows
      .filter((x) => x.level === 1)
      .map((x) => x.strategy)
      .sort(),
    ['fine-tune', 'lr-rewind'],
  );
  // the level-0 weights are the file's, bit for bit
  const store = new Store(db);
  try {
    const l = store.loadLevel(store.experiments()[0].id, 'trial-0/level-0');
    for (const k of Object.keys(w)) assert.deepEqual(l.weights[k], w[k], k);
  } finally {
    store.close();
  }
  const out = join(dir, 'refused');
  const bad = lth(['run', specFile(dir, { ...over, strategies: ['rewind'] }), '--db', join(out, 'lth.db'), '--quiet']);
  assertOneLineError(
    bad,
    /strategies\.0: reset "rewind" starts from θ0, and a pretrained model file has no θ0: use "fine-tune" or "lr-rewind".*"init": "file"/,
  );
  assert.equal(existsSync(out), false);
});

test('init "file": the file\'s weights are θ0 (bit for bit) and level 0 trains from them; rewind works', async () => {
  const dir = tmp();
  const { file, w } = pretrainedMlp(dir);
  const db = join(dir, 'lth.db');
  const r = lth([
    'run',
    specFile(dir, { model: { file, weights: 'pretrained', init: 'file' }, pruning: { levels: 1 }, strategies: ['rewind'] }),
    '--db',
    db,
    '--backend',
    'cpu',
    '--quiet',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const store = new Store(db);
  try {
    const id = store.experiments()[0].id;
    const t0 = store.loadArtifact(id, 'trial-0/theta-0') as Record<string, Float32Array>;
    for (const k of Object.keys(w)) assert.deepEqual(t0[k], w[k], k);
    const l0 = store.loadLevel(id, 'trial-0/level-0');
    assert.notDeepEqual(l0.weights['hidden/kernel'], w['hidden/kernel'], 'level 0 trained');
  } finally {
    store.close();
  }
  assert.equal(levelRows(db).length, 2);
  const noWeights = lth(['run', specFile(dir, { model: { file, init: 'file' } }), '--db', join(dir, 'x', 'lth.db'), '--quiet']);
  assertOneLineError(noWeights, /model\.init: "file" takes θ0 from the file's weights: add "weights": "pretrained"/);
});

test('model.module: examples/my-net.js (lth nodes) trains end to end under its own layer names; a module without layers is one line', () => {
  const dir = tmp();
  const db = join(dir, 'lth.db');
  const small = [
    '--set',
    'training.iterations=20it',
    '--set',
    'training.evalEvery=10it',
    '--set',
    'pruning.levels=1',
    '--set',
    'data.synthetic.train=400',
    '--set',
    'strategies=["rewind"]',
  ];
  const r = lth(['run', 'examples/my-net.json', '--db', db, '--backend', 'cpu', '--quiet', ...small], { cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(levelRows(db).length, 2);
  const store = new Store(db);
  try {
    const l1 = store.loadLevel(store.experiments()[0].id, 'trial-0/rewind/level-1');
    assert.deepEqual(Object.keys(l1.masks).sort(), ['b1_conv1/kernel', 'b1_conv2/kernel', 'fc1/kernel', 'output/kernel', 'stem/kernel']);
  } finally {
    store.close();
  }
  const mod = join(dir, 'empty.js');
  writeFileSync(mod, 'export const nodes = [];\n');
  const bad = lth(['run', specFile(dir, { model: { module: mod } }), '--db', join(dir, 'x', 'lth.db'), '--quiet']);
  assertOneLineError(bad, /model\.module .*empty\.js exports no "layers": export a list of lth nodes/);
  assert.equal(existsSync(join(dir, 'x')), false);
});

test('Keras 3 topologies (batch_shape, inbound_nodes as keras tensors) and Sequential models read alike', () => {
  const dir = tmp();
  const layer = (class_name: string, name: string, config: object, from?: string) => ({
    class_name,
    name,
    config: { name, ...config },
    inbound_nodes: from
      ? [{ args: [{ class_name: '__keras_tensor__', config: { shape: [null, 16], dtype: 'float32', keras_history: [from, 0, 0] } }], kwargs: {} }]
      : [],
  });
  const functional = {
    class_name: 'Functional',
    config: {
      name: 'f',
      layers: [
        layer('InputLayer', 'x', { batch_shape: [null, 4, 4, 1] }),
        layer('Flatten', 'flat', {}, 'x'),
        layer('Dense', 'h', { units: 8, activation: 'relu' }, 'flat'),
        layer('Dense', 'out', { units: 3 }, 'h'),
      ],
      input_layers: [['x', 0, 0]],
      output_layers: [['out', 0, 0]],
    },
  };
  const sequential = {
    class_name: 'Sequential',
    config: {
      name: 's',
      layers: [
        layer('InputLayer', 'x', { batch_shape: [null, 4, 4, 1] }),
        layer('Flatten', 'flat', {}),
        layer('Dense', 'h', { units: 8, activation: 'relu' }),
        layer('Dense', 'out', { units: 3, activation: 'softmax' }),
      ],
    },
  };
  const shape = (topology: object, name: string) => {
    const file = writeJson(join(dir, name), { modelTopology: topology });
    return resolveModel({ file, init: 'glorot-normal' }, [16], 3).nodes.map((n) => `${n.name}:${n.kind}:${n.inputs.join('+')}:[${n.outputShape.join(',')}]`);
  };
  const want = ['flat:flatten:input:[16]', 'h:dense:flat:[8]', 'h_relu:relu:h:[8]', 'out:dense:h_relu:[3]'];
  assert.deepEqual(shape(functional, 'f.json'), want);
  assert.deepEqual(shape(sequential, 's.json'), want);
});
