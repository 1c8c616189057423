import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { analysesPage } from '../src/ui/data.js';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec, type SpecInput } from '../src/spec/index.js';
import { plotSvg } from '../src/reporting/index.js';
import { keys, Store } from '../src/storage/index.js';
import { tinySpec, tmp } from './helpers/common.js';
import { accuracy64 } from './helpers/mlp64.js';

before(async () => {
  await initBackend('wasm');
});

/** Frankle et al. 2020 on the dense level for k = 0 and k = 20 (two chains), and on pruned level 1 of rewind. */
const spec = (over: Partial<SpecInput> = {}): SpecInput =>
  tinySpec({
    training: { iterations: '60it', evalEvery: '20it', batchSize: 30 },
    pruning: { levels: 1 },
    strategies: ['rewind', 'rewind@20it'],
    branches: [{ kind: 'instability', points: 5, levels: [0, 1] }],
    ...over,
  });

const rows = <T>(db: string, sql: string, ...args: unknown[]): T[] => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all(...args) as T[];
  } finally {
    d.close();
  }
};

type Point = { strategy: string; level: number; point: number; alpha: number; test_error: number; test_loss: number };
const curveSql = `SELECT r.strategy, r.level, i.point, i.alpha, i.test_error, i.test_loss FROM instability i JOIN results r ON r.id = i.result_id
                   ORDER BY r.strategy, r.level, i.point`;

test('instability: curves and barriers stored; one point reproduced in float64 from the two stored end weights; re-run adds nothing', async () => {
  const db = join(tmp(), 'i.db');
  const loaded = validateSpec(spec(), 't');
  const before = tf.memory().numTensors;
  await runExperiment(loaded, { db, backend: 'wasm' });
  assert.ok(tf.memory().numTensors <= before + 2, 'no tensors left behind');
  const curve = rows<Point>(db, curveSql);
  // 2 chains × level 0 + level 1 = 4 branch rows × 5 points
  assert.equal(curve.length, 4 * 5);
  for (const c of curve) assert.ok(Math.abs(c.alpha - c.point / 4) < 1e-12);
  // the barrier view: max error − mean of the two ends, recomputed here
  const barriers = rows<{ strategy: string; level: number; barrier: number }>(
    db,
    "SELECT strategy, level, instability_barrier AS barrier FROM levels WHERE branch = 'instability' ORDER BY strategy, level",
  );
  assert.equal(barriers.length, 4);
  for (const b of barriers) {
    const errs = curve.filter((c) => c.strategy === b.strategy && c.level === b.level).map((c) => c.test_error);
    assert.ok(Math.abs(b.barrier - (Math.max(...errs) - (errs[0] + errs[4]) / 2)) < 1e-12);
    assert.ok(b.barrier >= -1e-12, 'a barrier is never below the mean of its ends');
  }

  // lth plot --kind instability: barrier vs k (level 0 of rewind and rewind@20it) and vs % remaining
  const svg = await plotSvg(db, 'tiny', { kind: 'instability' });
  assert.match(svg, /Rewind point k/);
  assert.match(svg, /k: 20it; barrier \(%\): [0-9.]+"/);
  assert.match(svg, /error barrier between two copies/);
  await assert.rejects(plotSvg(join(tmp(), 'none.db'), 'tiny', { kind: 'instability' }));

  // One point, independently: load the two copies' final weights, interpolate in float64, forward in float64.
  const store = new Store(db, { readonly: true });
  const [exp] = store.experiments();
  const file = store.loadArtifact(exp.id, keys.branch(0, 'rewind@20it', 1, 'instability', 0));
  store.close();
  const alpha = 0.5;
  const w: Record<string, Float64Array> = {};
  for (const name of ['fc1/kernel', 'fc1/bias', 'fc2/kernel', 'fc2/bias', 'output/kernel', 'output/bias']) {
    const a = file[`w/${name}`] as Float32Array;
    const b = file[`b/${name}`] as Float32Array;
    assert.equal(a.length, b.length);
    w[name] = Float64Array.from(a, (x, i) => (1 - alpha) * x + alpha * b[i]);
  }
  assert.ok(
    (file['w/fc1/kernel'] as Float32Array).some((x, i) => x !== (file['b/fc1/kernel'] as Float32Array)[i]),
    'the two copies saw different data orders',
  );
  // pruned weights are exactly zero in both copies
  const m = file['m/fc1/kernel'] as Uint8Array;
  assert.ok(m.some((x) => x === 0));
  for (let i = 0; i < m.length; i++) if (m[i] === 0) assert.equal(w['fc1/kernel'][i], 0);
  const data = await loadDataset(loaded.spec.data, loaded.spec.seed);
  const stored = curve.find((c) => c.strategy === 'rewind@20it' && c.level === 1 && c.point === 2)!;
  assert.equal(stored.alpha, alpha);
  assert.ok(stored.test_error < 0.3, 'a trained network (chance is 2/3): a wrong forward pass would not match');
  // float32 vs float64 rounding may move an example that sits on a tie: at most one in 200
  const error64 = 1 - accuracy64(w, data.test);
  assert.ok(Math.abs(error64 - stored.test_error) <= 1 / data.test.n + 1e-12, `${error64} vs ${stored.test_error}`);

  // resumable and idempotent: the same run again trains nothing
  const again = await runExperiment(loaded, { db, backend: 'wasm' });
  assert.equal(again.levelsTrained, 0);
  assert.equal(rows(db, 'SELECT * FROM instability').length, 4 * 5);

  // seeded: a fresh database gives the identical curves
  const db2 = join(tmp(), 'i2.db');
  await runExperiment(loaded, { db: db2, backend: 'wasm' });
  assert.deepEqual(rows<Point>(db2, curveSql), curve);

  // the dashboard's Analyses page shows the barriers: one table row per instability branch row, each the
  // largest stored error on its curve minus the mean of its two ends (recomputed here from the curve)
  const d = new Database(db, { readonly: true });
  try {
    const view = analysesPage(d, loaded.spec.name).views.find((v) => v.id === 'instability')!;
    assert.ok(view.figure, 'a figure');
    const barrierCol = view.table!.columns.indexOf('error barrier (%)');
    const byRow = new Map<string, Point[]>();
    for (const p of curve) byRow.set(`${p.strategy}/${p.level}`, [...(byRow.get(`${p.strategy}/${p.level}`) ?? []), p]);
    const want = [...byRow.values()].map(
      (c) => Math.round(100 * 100 * (Math.max(...c.map((p) => p.test_error)) - (c[0].test_error + c.at(-1)!.test_error) / 2)) / 100,
    );
    assert.deepEqual(
      view.table!.rows.map((r) => r[barrierCol]),
      want,
    );
  } finally {
    d.close();
  }
});

test('instability: the dense level of rewind@k starts from θ_k and trains from step k', async () => {
  const db = join(tmp(), 'k.db');
  await runExperiment(
    validateSpec(spec({ pruning: { levels: 0 }, strategies: ['rewind@20it'], branches: [{ kind: 'instability', points: 2, levels: [0] }] }), 't'),
    {
      db,
      backend: 'wasm',
    },
  );
  const [r] = rows<{ iterations: number }>(db, "SELECT iterations FROM results WHERE branch = 'instability'");
  assert.equal(r.iterations, 40, '60 iterations replayed from k = 20');
});
