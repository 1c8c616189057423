import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { noiseAnalysis, runAnalysis } from '../src/analyses/index.js';
import { buildModel, initialize } from '../src/models/index.js';
import { runExperiment, trialSeed } from '../src/orchestration/index.js';
import { validateSpec } from '../src/spec/index.js';
import { plotSvg } from '../src/reporting/index.js';
import { keys, Store } from '../src/storage/index.js';
import { lth, tinySpec, tmp } from './helpers/common.js';
import { accuracy64 } from './helpers/mlp64.js';

const loaded = validateSpec(tinySpec({ pruning: { levels: 1 }, strategies: ['rewind'] }), 't');

const rows = <T>(db: string, sql: string, ...args: unknown[]): T[] => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all(...args) as T[];
  } finally {
    d.close();
  }
};

/** The stored level: final weights (w/), masks (m/), θ0 of trial 0. */
function storedLevel(db: string, level: number) {
  const store = new Store(db, { readonly: true });
  try {
    const [exp] = store.experiments();
    return {
      ...store.loadLevel(exp.id, keys.chainLevel(0, 'rewind', level)),
      theta0: store.loadArtifact(exp.id, keys.theta0(0)) as Record<string, Float32Array>,
    };
  } finally {
    store.close();
  }
}

let db = '';
before(async () => {
  await initBackend('wasm');
  db = join(tmp(), 'a.db');
  await runExperiment(loaded, { db, backend: 'wasm' });
});

test('analyze noise: clean and fully flipped inputs reproduced in float64; seeded; a re-run adds nothing', async () => {
  const def = noiseAnalysis({ gaussian: [0, 1], flip: [1] });
  const live = tf.memory().numTensors;
  const r = await runAnalysis('noise', 'tiny', { db, backend: 'wasm', def });
  assert.deepEqual(r, { measured: 2, skipped: 0 }, 'levels 0 and 1');
  assert.equal(tf.memory().numTensors, live, 'no tensors left behind');
  const data = await loadDataset(loaded.spec.data, loaded.spec.seed);
  const test = data.test;
  // a flip of every value: x ↦ lo + hi − x, with lo/hi the test split's extremes (flat input: one channel)
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of test.x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const flipped = { ...test, x: Float32Array.from(test.x, (v) => lo + hi - v) };
  for (const level of [0, 1]) {
    const { weights } = storedLevel(db, level);
    const got = rows<{ noise: string; amount: number; test_accuracy: number }>(
      db,
      'SELECT noise, amount, test_accuracy FROM noise_robustness n JOIN results r ON r.id = n.result_id WHERE r.level = ? ORDER BY noise, amount',
      level,
    );
    assert.deepEqual(
      got.map((g) => `${g.noise} ${g.amount}`),
      ['flip 1', 'gaussian 0', 'gaussian 1'],
    );
    const at = (n: string, a: number) => got.find((g) => g.noise === n && g.amount === a)!.test_accuracy;
    assert.ok(Math.abs(at('gaussian', 0) - accuracy64(weights, test)) <= 1 / test.n + 1e-12);
    assert.ok(at('gaussian', 0) > 0.6, 'a trained network (chance 1/3)');
    assert.ok(Math.abs(at('flip', 1) - accuracy64(weights, flipped)) <= 1 / test.n + 1e-12);
    assert.ok(at('gaussian', 1) < at('gaussian', 0), 'noise of one standard deviation costs accuracy');
  }
  // lth plot --kind noise: a panel per setting; --kind reinit before lth analyze reinit says what to run
  const svg = await plotSvg(db, 'tiny', { kind: 'noise' });
  for (const panel of ['gaussian 0', 'gaussian 1', 'flip 1']) assert.match(svg, new RegExp(`>${panel}<`));
  await assert.rejects(plotSvg(db, 'tiny', { kind: 'reinit' }), /run lth analyze reinit tiny/);
  const before = rows(db, 'SELECT * FROM noise_robustness');
  assert.deepEqual(await runAnalysis('noise', 'tiny', { db, backend: 'wasm', def }), { measured: 0, skipped: 2 });
  assert.deepEqual(rows(db, 'SELECT * FROM noise_robustness'), before, 'idempotent');
  // seeded: the same analysis on a second copy of the experiment gives the same numbers
  const db2 = join(tmp(), 'a2.db');
  await runExperiment(loaded, { db: db2, backend: 'wasm' });
  await runAnalysis('noise', 'tiny', { db: db2, backend: 'wasm', def });
  assert.deepEqual(
    rows(db2, 'SELECT noise, amount, test_accuracy FROM noise_robustness ORDER BY rowid'),
    rows(db, 'SELECT noise, amount, test_accuracy FROM noise_robustness ORDER BY rowid'),
  );
});

test('analyze reinit: one layer reset to θ0 ⊙ m or to a fresh draw ⊙ m, reproduced in float64', async () => {
  const r = await runAnalysis('reinit', 'tiny', { db, backend: 'wasm' });
  assert.deepEqual(r, { measured: 2, skipped: 0 });
  const data = await loadDataset(loaded.spec.data, loaded.spec.seed);
  const model = buildModel((loaded.spec.model as { name: string }).name, data.inputShape, data.numClasses);
  const { weights, masks, theta0 } = storedLevel(db, 1);
  const got = rows<{ layer: string; mode: string; test_accuracy: number }>(
    db,
    "SELECT layer, mode, test_accuracy FROM layer_reset t JOIN results r ON r.id = t.result_id WHERE r.level = 1 AND r.strategy = 'rewind'",
  );
  assert.equal(got.length, 3 * 2, 'fc1, fc2, output × reinit, rerandomize');
  const fresh = initialize(model, (loaded.spec.model as { init: 'glorot-normal' }).init, 'rerandomize', trialSeed(loaded.spec, 0), 'fc2');
  for (const [mode, source] of [
    ['reinit', theta0],
    ['rerandomize', fresh],
  ] as const) {
    const w: Record<string, ArrayLike<number>> = { ...weights };
    w['fc2/kernel'] = Array.from(source['fc2/kernel'], (v, i) => (masks['fc2/kernel'][i] ? v : 0));
    w['fc2/bias'] = source['fc2/bias'];
    const stored = got.find((g) => g.layer === 'fc2' && g.mode === mode)!.test_accuracy;
    assert.ok(Math.abs(stored - accuracy64(w, data.test)) <= 1 / data.test.n + 1e-12, `${mode}: ${stored} vs ${accuracy64(w, data.test)}`);
  }
  assert.deepEqual(await runAnalysis('reinit', 'tiny', { db, backend: 'wasm' }), { measured: 0, skipped: 2 });
});

test('lth analyze: an unknown experiment is one line and a non-zero exit; lth report --metric noise shows the stored table', () => {
  const bad = lth(['analyze', 'noise', 'nope', '--db', db]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr.trim(), /^[^\n]*no experiment "nope"[^\n]*tiny[^\n]*$/);
  const badSigma = lth(['analyze', 'noise', 'tiny', '--db', db, '--sigma', '-1']);
  assert.notEqual(badSigma.status, 0);
  assert.match(badSigma.stderr, /--sigma takes numbers/);
  // the CLI measures what is missing (everything when this test runs alone; nothing after the first test)
  const run = lth(['analyze', 'noise', 'tiny', '--db', db, '--backend', 'wasm', '--sigma', '0,1', '--flip', '1', '--quiet']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^tiny: noise measured [02] level\(s\), [02] already stored; lth report tiny --metric noise\n$/);
  const shown = lth(['report', 'tiny', '--db', db, '--metric', 'noise', '--format', 'csv']);
  assert.equal(shown.status, 0, shown.stderr);
  const [head, ...lines] = shown.stdout.trim().split('\n');
  assert.equal(head, 'strategy,level,% remaining,gaussian 0,gaussian 1,flip 1');
  assert.equal(lines.length, 2);
  const stored = rows<{ a: number }>(
    db,
    "SELECT test_accuracy a FROM noise_robustness n JOIN results r ON r.id = n.result_id WHERE r.level = 1 AND noise = 'gaussian' AND amount = 0",
  );
  assert.equal(Number(lines[1].split(',')[3]), Number((100 * stored[0].a).toFixed(2)));
  // lth rm drops the analysis rows with their levels (foreign keys: nothing may be left pointing at them)
  const rm = lth(['rm', 'tiny', '--db', db, '--yes']);
  assert.equal(rm.status, 0, rm.stderr);
  for (const t of ['noise_robustness', 'layer_reset', 'results']) assert.equal(rows(db, `SELECT * FROM ${t}`).length, 0, t);
});
