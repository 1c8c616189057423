import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import type { Split } from '../src/data/index.js';
import { interpolate, SECOND_COPY } from '../src/branches/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildGraphModel, buildSpecModel, initialize, layers, type Weights } from '../src/models/index.js';
import { runExperiment, trialSeed } from '../src/orchestration/index.js';
import { keys, Store } from '../src/storage/index.js';
import { specSchema, validateSpec } from '../src/spec/index.js';
import { evaluateWeights, resolveSchedule, reestimateState } from '../src/training/index.js';
import { BatchSource } from '../src/training/loop.js';
import { makeRng } from '../src/util/index.js';
import { tinySpec, tmp } from './helpers/common.js';

/**
 * BatchNorm statistics of the instability analysis's interpolated networks, re-estimated on
 * training batches as Frankle et al. 2020 do (branch option batchnorm "reestimate";
 * docs/DESIGN.md#branches).
 */

before(async () => {
  await initBackend('cpu');
});

const [IN, UNITS, N, BATCH, BATCHES] = [6, 5, 40, 10, 7];

test('re-estimated BatchNorm statistics: the layers’ own update over the training batches from mean 0, variance 1, reproduced in float64; parameters untouched', async () => {
  const model = buildGraphModel('bn-mlp', [layers.dense(UNITS, { name: 'fc1' }), layers.batchNormalization({ name: 'bn' }), layers.relu()], [IN], 3);
  const rng = makeRng('bn-test');
  const w: Weights = initialize(model, 'glorot-normal', 'w', 1);
  for (const name of ['fc1/bias', 'bn/gamma', 'bn/beta', 'bn/moving_mean']) w[name] = Float32Array.from(w[name], () => rng.normal());
  w['bn/moving_variance'] = Float32Array.from(w['bn/moving_variance'], () => 1 + rng.uniform());
  const split: Split = { x: Float32Array.from({ length: N * IN }, () => 2 * rng.normal() + 1), y: Uint8Array.from({ length: N }, () => rng.int(3)), n: N };
  const plan = resolveSchedule(specSchema.parse(tinySpec({ training: { batchSize: BATCH, iterations: '10it', evalEvery: '10it' } })).training, N);
  const before = tf.memory().numTensors;
  const out = await reestimateState(model, w, split, plan, BATCHES, ['stats']);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  // the stored statistics play no part: they are reset first
  const other = await reestimateState(model, { ...w, 'bn/moving_mean': new Float32Array(UNITS).fill(7) }, split, plan, BATCHES, ['stats']);
  assert.deepEqual(other['bn/moving_mean'], out['bn/moving_mean']);
  for (const name of ['fc1/kernel', 'fc1/bias', 'bn/gamma', 'bn/beta', 'output/kernel', 'output/bias']) assert.deepEqual(out[name], w[name], name);

  // float64: the BatchNorm input h = x·W + b of each batch (the batches drawn as training draws them), its
  // mean and unbiased variance per unit, r ← 0.9·r + 0.1·b from (0, 1)
  const source = new BatchSource(split, BATCH, ['stats']);
  const mean = new Float64Array(UNITS);
  const variance = new Float64Array(UNITS).fill(1);
  for (let b = 0; b < BATCHES; b++) {
    const { x, y } = source.at(b);
    const xs = x.dataSync();
    x.dispose();
    y.dispose();
    for (let u = 0; u < UNITS; u++) {
      const h: number[] = [];
      for (let e = 0; e < BATCH; e++) {
        let s = w['fc1/bias'][u];
        for (let i = 0; i < IN; i++) s += xs[e * IN + i] * w['fc1/kernel'][i * UNITS + u];
        h.push(s);
      }
      const m = h.reduce((a, v) => a + v, 0) / BATCH;
      const v = h.reduce((a, t) => a + (t - m) ** 2, 0) / (BATCH - 1);
      mean[u] = 0.9 * mean[u] + 0.1 * m;
      variance[u] = 0.9 * variance[u] + 0.1 * v;
    }
  }
  for (let u = 0; u < UNITS; u++) {
    assert.ok(Math.abs(out['bn/moving_mean'][u] - mean[u]) < 1e-5 * (1 + Math.abs(mean[u])), `mean ${u}: ${out['bn/moving_mean'][u]} vs ${mean[u]}`);
    assert.ok(
      Math.abs(out['bn/moving_variance'][u] - variance[u]) < 1e-5 * (1 + variance[u]),
      `variance ${u}: ${out['bn/moving_variance'][u]} vs ${variance[u]}`,
    );
  }
  // a network without state comes back as it is
  const plain = buildGraphModel('mlp', [layers.dense(UNITS), layers.relu()], [IN], 3);
  const pw = initialize(plain, 'glorot-normal', 'w', 2);
  assert.equal(await reestimateState(plain, pw, split, plan, BATCHES, ['stats']), pw);
});

test('an instability branch with batchnorm "reestimate" on a BatchNorm network: each stored point is the interpolated network with re-estimated statistics', async () => {
  const dir = tmp();
  const db = join(dir, 'bn.db');
  // a model module of plain nodes: dense, BatchNorm, ReLU (the output layer is appended)
  const module = join(dir, 'bn-net.js');
  writeFileSync(module, "export const layers = [{ kind: 'dense', units: 8 }, { kind: 'batchNormalization', name: 'stem_bn' }, { kind: 'relu' }];\n");
  const input = tinySpec({
    name: 'bn-instability',
    model: { module },
    training: { iterations: '20it', evalEvery: '20it', batchSize: 30 },
    pruning: { levels: 0 },
    strategies: ['rewind'],
    branches: [{ kind: 'instability', points: 3, levels: [0], batchnorm: 'reestimate', statsBatches: 4 }],
  });
  const loaded = validateSpec(input, 't');
  await runExperiment(loaded, { db, backend: 'cpu' });
  const d = new Database(db, { readonly: true });
  const curve = d.prepare('SELECT i.point, i.alpha, i.test_error e FROM instability i ORDER BY i.point').all() as { point: number; alpha: number; e: number }[];
  d.close();
  assert.equal(curve.length, 3);
  // the midpoint again, from the two stored copies: interpolated, its statistics re-estimated on the same batches
  const store = new Store(db, { readonly: true });
  const file = store.loadArtifact(store.experiments()[0].id, keys.branch(0, 'rewind', 0, 'instability', 0));
  store.close();
  const a: Weights = {};
  const b: Weights = {};
  for (const [k, v] of Object.entries(file))
    if (k.startsWith(SECOND_COPY)) b[k.slice(SECOND_COPY.length)] = v as Float32Array;
    else if (k.startsWith('w/')) a[k.slice(2)] = v as Float32Array;
  const { spec } = loaded;
  const data = await loadDataset(spec.data, spec.seed);
  const model = buildSpecModel(spec.model, data.inputShape, data.numClasses);
  const plan = resolveSchedule(spec.training, data.train.n);
  const mixed = interpolate(a, b, 0.5);
  const re = await reestimateState(model, mixed, data.train, plan, 4, ['instability-state', trialSeed(spec, 0), '', 0, 'instability']);
  assert.notDeepEqual(re['stem_bn/moving_mean'], mixed['stem_bn/moving_mean'], 'the statistics are recomputed, not interpolated');
  const empty = { x: new Float32Array(0), y: new Uint8Array(0), n: 0 };
  const p = await evaluateWeights(model, re, { val: empty, test: data.test });
  assert.equal(curve[1].alpha, 0.5);
  assert.equal(curve[1].e, 1 - p.testAccuracy);
});
