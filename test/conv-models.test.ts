import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildModel, type Masks, type Weights } from '../src/models/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec, type SpecInput } from '../src/spec/index.js';
import { trialSeed } from '../src/orchestration/context.js';
import { Store } from '../src/storage/db.js';
import { train } from '../src/training/loop.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { levelRows, tmp } from './helpers/common.js';

before(async () => {
  await initBackend('wasm');
});

const RATES = { conv: 0.1, fc: 0.2, output: 0.1 };

/** Alive weights per level under iterative pruning at `rate`, computed here: n ← n − round(rate·n). */
const aliveAt = (n: number, rate: number, level: number): number => {
  for (let l = 0; l < level; l++) n -= Math.round(rate * n);
  return n;
};

function readLevel(store: Store, key: string): { w: Weights; m: Masks } {
  const a = store.loadArtifact(1, key);
  const w: Weights = {};
  const m: Masks = {};
  for (const [k, v] of Object.entries(a)) {
    if (k.startsWith('w/')) w[k.slice(2)] = v as Float32Array;
    if (k.startsWith('m/')) m[k.slice(2)] = v as Uint8Array;
  }
  return { w, m };
}

const sum = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0);

describe('Conv-2 end to end on synthetic images', () => {
  const levels = 3;
  const input: SpecInput = {
    name: 'conv-synthetic',
    seed: 3,
    data: { dataset: 'synthetic', validation: 60, synthetic: { train: 300, test: 120, shape: [8, 8, 1], classes: 4 } },
    model: { name: 'conv-2' },
    training: { iterations: '40it', evalEvery: '20it', batchSize: 20 },
    pruning: { levels, rates: RATES },
    strategies: ['rewind'],
  };
  const spec = validateSpec(input, 't');
  const db = join(tmp(), 'conv.db');
  const counts: number[] = [];

  before(async () => {
    await runExperiment(spec, {
      db,
      backend: 'wasm',
      onProgress: (e) => {
        if (e.type === 'level-done') counts.push(tf.memory().numTensors);
      },
    });
  });

  test('every level is stored; the net learns the images; live tensors stay flat across levels', () => {
    const rows = levelRows(db);
    assert.deepEqual(
      rows.map((r) => r.level),
      [0, 1, 2, 3],
    );
    assert.ok(rows.every((r) => r.iterations === 40));
    // 4 classes: chance is 0.25 (40 steps of batch 20 reach 0.575 on wasm)
    assert.ok((rows[0].final_test_accuracy as number) > 0.45, `level-0 accuracy ${rows[0].final_test_accuracy}`);
    assert.equal(counts.length, levels + 1);
    assert.equal(new Set(counts).size, 1, `tensor counts per level: ${counts.join(', ')}`);
  });

  test('per-layer alive counts follow the conv, fc and output rates exactly; pruned weights are exactly 0', () => {
    // Conv-2 on 8×8×1: conv1 3·3·1·64, conv2 3·3·64·64, fc1 (4·4·64)·256, fc2 256·256, output 256·4
    const sizes: Record<string, [number, number]> = {
      'conv1/kernel': [3 * 3 * 1 * 64, RATES.conv],
      'conv2/kernel': [3 * 3 * 64 * 64, RATES.conv],
      'fc1/kernel': [4 * 4 * 64 * 256, RATES.fc],
      'fc2/kernel': [256 * 256, RATES.fc],
      'output/kernel': [256 * 4, RATES.output],
    };
    const store = new Store(db);
    try {
      for (let level = 0; level <= levels; level++) {
        const { w, m } = readLevel(store, level === 0 ? 'trial-0/level-0' : `trial-0/rewind/level-${level}`);
        assert.deepEqual(Object.keys(m).sort(), Object.keys(sizes).sort());
        for (const [name, [n, rate]] of Object.entries(sizes)) {
          assert.equal(m[name].length, n, name);
          assert.equal(sum(m[name]), aliveAt(n, rate, level), `${name} at level ${level}`);
          for (let i = 0; i < n; i++) if (!m[name][i]) assert.equal(w[name][i], 0);
        }
      }
      const total = Object.values(sizes).reduce((a, [n]) => a + n, 0);
      const alive3 = Object.values(sizes).reduce((a, [n, r]) => a + aliveAt(n, r, 3), 0);
      assert.ok(Math.abs((levelRows(db)[3].percent_remaining as number) - (100 * alive3) / total) < 1e-9);
    } finally {
      store.close();
    }
  });

  test('rewind is bit-exact: replaying level 2 from θ0 ⊙ m₂ reproduces its stored weights', async () => {
    const store = new Store(db);
    let theta0: Weights;
    let stored: { w: Weights; m: Masks };
    try {
      theta0 = store.loadArtifact(1, 'trial-0/theta-0') as Weights;
      stored = readLevel(store, 'trial-0/rewind/level-2');
    } finally {
      store.close();
    }
    // θ0 ⊙ m₂ computed here; biases are never masked
    const init: Weights = {};
    for (const [name, t0] of Object.entries(theta0)) init[name] = stored.m[name] ? t0.map((v, i) => (stored.m[name][i] ? v : 0)) : Float32Array.from(t0);
    const data = await loadDataset(spec.spec.data, spec.spec.seed);
    const model = buildModel('conv-2', data.inputShape, data.numClasses);
    const plan = resolveSchedule(spec.spec.training, data.train.n);
    // the orchestrator's data order for (trial 0, level 2): ['data', trial seed, level] (orchestration/levels.ts dataOrder)
    const res = await train({
      model,
      data,
      plan,
      schedule: { kind: 'replay', from: 0 },
      init,
      masks: stored.m,
      orderKey: ['data', trialSeed(spec.spec, 0), 2],
    });
    for (const p of model.params) assert.deepEqual(res.weights[p.name], stored.w[p.name], p.name);
  });
});

const FASHION = '/usr/share/datasets/fashion-mnist';

describe('Conv-2 on a small Fashion-MNIST subset', { skip: existsSync(FASHION) ? false : `${FASHION} absent (apt-get install dataset-fashion-mnist)` }, () => {
  test('28×28×1 images train a Conv-2 chain well above chance and prune its convs at the conv rate', async () => {
    const spec = validateSpec(
      {
        name: 'conv-fmnist',
        // 40 steps of 10 images reach 0.6–0.7 test accuracy (chance 0.1), well above the bar below
        data: { dataset: 'fashion-mnist', validation: 100, trainSubset: 1000, testSubset: 200 },
        model: { name: 'conv-2' },
        training: { iterations: '40it', evalEvery: '40it', batchSize: 10 },
        pruning: { levels: 1, rates: RATES },
        strategies: ['rewind'],
      },
      't',
    );
    const db = join(tmp(), 'fm.db');
    await runExperiment(spec, { db, backend: 'wasm', data: { offline: true, cacheDir: tmp('lth-cache-') } });
    const rows = levelRows(db);
    assert.deepEqual(
      rows.map((r) => r.level),
      [0, 1],
    );
    // 10 classes: chance is 0.1
    for (const r of rows) assert.ok((r.final_test_accuracy as number) > 0.4, `level ${r.level}: accuracy ${r.final_test_accuracy}`);
    const store = new Store(db);
    try {
      const { m } = readLevel(store, 'trial-0/rewind/level-1');
      assert.equal(sum(m['conv1/kernel']), aliveAt(3 * 3 * 1 * 64, RATES.conv, 1));
      assert.equal(sum(m['conv2/kernel']), aliveAt(3 * 3 * 64 * 64, RATES.conv, 1));
      // 28 → 14 after the pool: fc1 takes 14·14·64 values
      assert.equal(m['fc1/kernel'].length, 14 * 14 * 64 * 256);
    } finally {
      store.close();
    }
  });
});
