import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { loadDataset, type Split } from '../src/data/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec, type SpecInput } from '../src/spec/index.js';
import { Store } from '../src/storage/db.js';
import { tinySpec, tmp } from './helpers/common.js';

/**
 * Stored validation and test losses (issue #10 item 1) against an independent computation:
 * a plain-JS forward pass of the dense stack over the weight files lth stored, in float64,
 * with the cross-entropy −log softmax(z)[y] averaged over every example of the split.
 */

before(async () => {
  await initBackend('wasm');
});

type Arrays = Record<string, Float32Array | Uint8Array>;

/** Mean cross-entropy and accuracy of an MLP (kernels [in, out] row-major, ReLU between layers). */
function reference(w: Arrays, prefix: string, split: Split): { loss: number; accuracy: number } {
  const layers = [
    ...new Set(
      Object.keys(w)
        .filter((k) => k.startsWith(prefix) && k.endsWith('/kernel'))
        .map((k) => k.slice(prefix.length, -'/kernel'.length)),
    ),
  ];
  // fc1, fc2, … then output
  layers.sort((a, b) => (a === 'output' ? 1 : b === 'output' ? -1 : Number(a.slice(2)) - Number(b.slice(2))));
  const dim = split.x.length / split.n;
  let sum = 0;
  let correct = 0;
  for (let e = 0; e < split.n; e++) {
    let h: Float64Array = Float64Array.from(split.x.subarray(e * dim, (e + 1) * dim));
    layers.forEach((name, li) => {
      const k = w[`${prefix}${name}/kernel`] as Float32Array;
      const b = w[`${prefix}${name}/bias`] as Float32Array;
      const out = b.length;
      assert.equal(k.length, h.length * out, `${name} kernel shape`);
      const z = Float64Array.from(b);
      for (let i = 0; i < h.length; i++) if (h[i] !== 0) for (let j = 0; j < out; j++) z[j] += h[i] * k[i * out + j];
      if (li < layers.length - 1) for (let j = 0; j < out; j++) z[j] = Math.max(0, z[j]);
      h = z;
    });
    const max = Math.max(...h);
    const lse = max + Math.log(h.reduce((a, v) => a + Math.exp(v - max), 0));
    sum += lse - h[split.y[e]];
    if (h.indexOf(max) === split.y[e]) correct++;
  }
  return { loss: sum / split.n, accuracy: correct / split.n };
}

interface CurveRow {
  iteration: number;
  val_loss: number;
  val_accuracy: number;
  test_loss: number;
  test_accuracy: number;
}

async function runDense(input: SpecInput) {
  const dir = tmp();
  const db = join(dir, 'lth.db');
  const loaded = validateSpec(input, 't');
  const spec = loaded.spec;
  await runExperiment(loaded, { db, backend: 'wasm' });
  const data = await loadDataset(spec.data, spec.seed, {});
  const h = new Database(db, { readonly: true });
  // the trial's dense level 0 (stored once, with strategy '')
  const dense = "SELECT id FROM results WHERE strategy = '' AND branch = '' AND level = 0 AND trial = 0";
  const curve = h
    .prepare(`SELECT iteration, val_loss, val_accuracy, test_loss, test_accuracy FROM curve_points WHERE result_id = (${dense}) ORDER BY iteration`)
    .all() as CurveRow[];
  const row = h.prepare(`SELECT early_stop_iteration, early_stop_val_loss, early_stop_test_accuracy FROM results WHERE id = (${dense})`).get() as {
    early_stop_iteration: number;
    early_stop_val_loss: number;
    early_stop_test_accuracy: number;
  };
  const id = h.prepare('SELECT id FROM experiments').pluck().get() as number;
  h.close();
  const store = new Store(db);
  /** stored weights (key prefix '' for θ0 / θ_k, 'w/' inside a level file) after `iteration` steps */
  const weightsAt = (iteration: number, last: number): { w: Arrays; prefix: string } =>
    iteration === 0
      ? { w: store.loadArtifact(id, 'trial-0/theta-0'), prefix: '' }
      : iteration === last
        ? { w: store.loadArtifact(id, 'trial-0/level-0'), prefix: 'w/' }
        : { w: store.loadArtifact(id, `trial-0/theta-k${iteration}`), prefix: '' };
  return { data, curve, row, weightsAt, close: () => store.close() };
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: stored ${a}, independent ${b}`);

for (const [val, testN] of [
  [1, 1003],
  [999, 5000],
  [1003, 1],
  [5000, 999],
]) {
  test(`stored losses are the mean cross-entropy over the whole split (validation ${val}, test ${testN})`, async () => {
    const r = await runDense(
      tinySpec({
        data: { dataset: 'synthetic', validation: val, synthetic: { train: 300 + val, test: testN, features: 12, classes: 5 } },
        training: { iterations: '40it', evalEvery: '20it', batchSize: 30 },
        pruning: { levels: 0 },
        strategies: ['rewind@20it'],
      }),
    );
    try {
      assert.equal(r.data.val.n, val);
      assert.equal(r.data.test.n, testN);
      assert.deepEqual(
        r.curve.map((p) => p.iteration),
        [0, 20, 40],
      );
      for (const p of r.curve) {
        const { w, prefix } = r.weightsAt(p.iteration, 40);
        const v = reference(w, prefix, r.data.val);
        const t = reference(w, prefix, r.data.test);
        close(p.val_loss, v.loss, `val loss @${p.iteration}`);
        close(p.test_loss, t.loss, `test loss @${p.iteration}`);
        // float32 vs float64 logits may break a near-tie differently: one example at most
        assert.ok(Math.abs(p.val_accuracy - v.accuracy) <= 1.5 / val, `val accuracy @${p.iteration}`);
        assert.ok(Math.abs(p.test_accuracy - t.accuracy) <= 1.5 / testN, `test accuracy @${p.iteration}`);
      }
      // an untrained 5-class network is near chance: about ln 5 = 1.61 nats, not 1/1000 of it
      assert.ok(r.curve[0].val_loss > 0.8 && r.curve[0].val_loss < 5, `θ0 val loss ${r.curve[0].val_loss}`);
    } finally {
      r.close();
    }
  });
}

const FASHION = '/usr/share/datasets/fashion-mnist';
const skip = existsSync(FASHION) ? false : `${FASHION} absent (apt-get install dataset-fashion-mnist)`;

test('issue #10 example: the early-stop iteration is the independent argmin of the validation loss (Fashion-MNIST, validation 1003)', { skip }, async () => {
  const every = [25, 50, 75, 100, 125, 150, 175, 200, 225, 250, 275];
  const r = await runDense({
    name: 'fmnist-1003',
    seed: 3,
    trials: 1,
    data: { dataset: 'fashion-mnist', validation: 1003, normalize: 'none', trainSubset: 3000, testSubset: 1000 },
    model: { name: 'mlp-small' },
    training: { optimizer: { name: 'adam', lr: 0.003 }, batchSize: 60, iterations: '300it', evalEvery: '25it' },
    pruning: { levels: 0 },
    // θ_k stored at every evaluation step, so each point's loss can be recomputed from a weight file
    strategies: every.map((k) => `rewind@${k}it`),
  });
  try {
    assert.equal(r.curve.length, 13);
    const losses = r.curve.map((p) => {
      const { w, prefix } = r.weightsAt(p.iteration, 300);
      const v = reference(w, prefix, r.data.val);
      close(p.val_loss, v.loss, `val loss @${p.iteration}`);
      return v.loss;
    });
    const argmin = r.curve[losses.indexOf(Math.min(...losses))].iteration;
    assert.equal(r.row.early_stop_iteration, argmin);
    // (the issue's 225 / 81.8% came from lth 0.1.0's seeds; compute version 2 derives other ones)
    close(r.row.early_stop_val_loss, Math.min(...losses), 'early-stop val loss');
  } finally {
    r.close();
  }
});

test('one fused evaluation of validation and test gives each split what evaluating it alone gives, for any chunking', async () => {
  const { buildModel, initialize } = await import('../src/models/index.js');
  const { evaluate, evaluateSplits, evalChunk, toTensors } = await import('../src/training/evaluate.js');
  const model = buildModel('lenet-300-100', [784], 10);
  const w = toTensors(model, initialize(model, 'glorot-normal', 'fused'));
  const split = (n: number, k: number) => ({
    x: Float32Array.from({ length: n * 784 }, (_, i) => Math.sin(i * 0.37 + k)),
    y: Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) % 10),
    n,
  });
  const [a, b] = [split(701, 1), split(333, 2)];
  try {
    const fused = await evaluateSplits(model, w, [a, b, { x: new Float32Array(0), y: new Uint8Array(0), n: 0 }], 250);
    for (const [i, s] of [a, b].entries()) {
      const alone = await evaluate(model, w, s, 1000);
      assert.ok(Math.abs(fused[i].loss - alone.loss) < 1e-5 * alone.loss, `${fused[i].loss} vs ${alone.loss}`);
      assert.equal(fused[i].accuracy, alone.accuracy);
    }
    assert.ok(Number.isNaN(fused[2].loss) && Number.isNaN(fused[2].accuracy));
    // the chunk rule: LeNet's widest per-example tensor is its 784 inputs → 64 MB / (4 B × 784), capped at 5,000
    assert.equal(evalChunk(model), 5000);
    assert.equal(evalChunk(buildModel('conv-2', [28, 28, 1], 10)), Math.floor((64 * 2 ** 20) / (4 * 28 * 28 * 64)));
  } finally {
    Object.values(w).forEach((t) => t.dispose());
  }
});
