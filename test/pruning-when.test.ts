import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec } from '../src/spec/index.js';
import { checkSpec } from '../src/spec/check.js';
import { withDb } from '../src/reporting/db.js';
import { levelRows, tinySpec, tmp } from './helpers/common.js';

/**
 * When to prune, end to end (docs/PAPERS.md#when-to-prune): IMP, gradual, RigL, early-bird and
 * an at-init chain in one experiment; levels line up at the same % remaining, mask churn and
 * distances are stored, and every row's compute equals a count the test makes from the stored
 * layer sizes and updates (3 × batch × kept weights per step for an MLP, docs/SCHEMA.md).
 */

before(async () => {
  await initBackend('wasm');
});

const T = 60;
const B = 30;
const spec = () =>
  validateSpec(
    tinySpec({
      training: { iterations: `${T}it`, evalEvery: '10it', batchSize: B },
      pruning: { levels: 2 },
      strategies: [
        'rewind',
        { reset: 'rewind', during: { kind: 'gradual', start: '10it', end: '40it', every: '10it' } },
        { reset: 'rewind', during: { kind: 'dynamic', regrow: 'gradient', every: '10it' } },
        { reset: 'rewind', during: { kind: 'early-bird', epsilon: 0.5, window: 2 } },
        { reset: 'rewind', criterion: 'snip', name: 'snip' },
      ],
      branches: [{ kind: 'random-mask', chains: ['rewind'], levels: [1, 2] }],
    }),
    't',
  );

const q = <T>(db: string, sql: string, ...args: unknown[]): T[] => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all(...args) as T[];
  } finally {
    d.close();
  }
};

type Row = Record<string, unknown> & { strategy: string; branch: string | null; level: number; result_id?: number };

test('when to prune: one experiment, same % remaining per level, churn, distances, compute totals by an independent count, deterministic', async () => {
  const db = join(tmp(), 'w.db');
  await runExperiment(spec(), { db, backend: 'wasm' });
  const rows = q<Row>(db, 'SELECT * FROM levels ORDER BY strategy, level, branch');
  const at = (s: string, level: number, branch: string | null = null) => rows.find((r) => r.strategy === s && r.level === level && r.branch === branch)!;
  const layers = (id: unknown) =>
    q<{ layer: string; total: number; remaining: number }>(db, 'SELECT layer, total, remaining FROM layer_sparsity WHERE result_id = ? ORDER BY layer', id);
  const kept = (id: unknown) => layers(id).reduce((a, l) => a + l.remaining, 0);
  const stepMacs = (k: number) => 3 * B * k; // mlp-small: one multiply-add per kept weight per example

  // Same per-layer counts at every level, whatever the method.
  for (const level of [1, 2]) {
    const ref = layers(at('rewind', level).result_id).map((l) => l.remaining);
    for (const s of ['gradual', 'rigl', 'early-bird@0.5', 'snip'])
      assert.deepEqual(
        layers(at(s, level).result_id).map((l) => l.remaining),
        ref,
        `${s} level ${level}`,
      );
  }

  const dense = at('rewind', 0);
  const denseKept = kept(dense.result_id);
  assert.equal(dense.total_iterations, T);
  assert.equal(dense.total_multiply_adds, T * stepMacs(denseKept));
  // IMP: dense + each level's own training at its mask.
  let imp = T * stepMacs(denseKept);
  for (const level of [1, 2]) {
    const r = at('rewind', level);
    imp += T * stepMacs(kept(r.result_id));
    assert.equal(r.total_iterations, T * (level + 1));
    assert.equal(r.total_multiply_adds, imp);
    // The random-mask control: what m_L cost (IMP up to level L − 1) plus its own training.
    const b = at('rewind', level, 'random-mask');
    const prev = level === 1 ? dense : at('rewind', level - 1);
    assert.equal(b.total_iterations, (prev.total_iterations as number) + T);
    assert.equal(b.total_multiply_adds, (prev.total_multiply_adds as number) + T * stepMacs(kept(b.result_id)));
    // SNIP scores θ0: no dense training is counted.
    const sn = at('snip', level);
    assert.equal(sn.total_iterations, T);
    assert.equal(sn.total_multiply_adds, T * stepMacs(kept(sn.result_id)));
  }

  for (const level of [1, 2]) {
    // Gradual: updates at 10, 20, 30, 40; cost of each segment at the counts then in force.
    const g = at('gradual', level);
    const churn = q<{ step: number; layer: string; dropped: number; regrown: number; remaining: number }>(
      db,
      'SELECT * FROM mask_updates WHERE result_id = ? ORDER BY step, layer',
      g.result_id,
    );
    assert.deepEqual([...new Set(churn.map((c) => c.step))], [10, 20, 30, 40]);
    const finals = layers(g.result_id);
    for (const l of finals) {
      const mine = churn.filter((c) => c.layer === l.layer);
      assert.equal(
        mine.reduce((a, c) => a + c.dropped, 0),
        l.total - l.remaining,
        `${l.layer}: dropped in all = pruned`,
      );
      assert.equal(mine[mine.length - 1].remaining, l.remaining);
    }
    const keptAt = (s: number) =>
      s < 10 ? denseKept : churn.filter((c) => c.step === Math.floor(Math.min(s, 40) / 10) * 10).reduce((a, c) => a + c.remaining, 0);
    let gm = 0;
    for (let s = 0; s < T; s++) gm += stepMacs(keptAt(s));
    assert.equal(g.total_iterations, T);
    assert.equal(g.total_multiply_adds, gm);

    // RigL: fixed counts, updates every 10 steps before 45 (75% of 60), one dense step per update for the gradient.
    const r = at('rigl', level);
    const rc = q<{ step: number; dropped: number; regrown: number }>(db, 'SELECT step, dropped, regrown FROM mask_updates WHERE result_id = ?', r.result_id);
    assert.deepEqual(
      [...new Set(rc.map((c) => c.step))].sort((a, b) => a - b),
      [10, 20, 30, 40],
    );
    assert.ok(rc.every((c) => c.dropped === c.regrown) && rc.some((c) => c.dropped > 0));
    assert.equal(r.total_multiply_adds, T * stepMacs(kept(r.result_id)) + 4 * stepMacs(denseKept));

    // Early-bird: distances every evaluation after the first, detection where two in a row are < 0.5.
    const e = at('early-bird@0.5', level);
    const dist = q<{ iteration: number; distance: number }>(
      db,
      'SELECT iteration, distance FROM mask_distances WHERE result_id = ? ORDER BY iteration',
      e.result_id,
    );
    assert.ok(dist.length >= 2);
    const d = e.detection_iteration as number;
    assert.equal(d, dist[dist.length - 1].iteration, 'the search stops at detection');
    const firstPair = dist.findIndex((x, i) => i >= 1 && x.distance < 0.5 && dist[i - 1].distance < 0.5);
    assert.equal(dist[firstPair].iteration, d);
    assert.ok(d < T);
    assert.equal(e.total_iterations, d + T);
    assert.equal(e.total_multiply_adds, d * stepMacs(denseKept) + T * stepMacs(kept(e.result_id)));
  }

  // lth plot --kind compute: one point per (series, level), at the stored totals and accuracies.
  const { figureSpec } = await import('../src/reporting/plot.js');
  const fig = withDb(db, (d) => figureSpec(d, 'tiny', { kind: 'compute' })) as {
    data: { values: { series: string; level: number; macs: number; accuracy: number }[] };
  };
  const pts = fig.data.values;
  const chainRows = rows.filter((r) => r.total_multiply_adds !== null);
  assert.equal(pts.length, chainRows.length);
  for (const p of pts) {
    const [s, b] = p.series.split(':');
    const r = at(s, p.level, b ?? null);
    assert.equal(p.macs, r.total_multiply_adds);
    assert.ok(Math.abs(p.accuracy - (r.early_stop_test_accuracy as number) * 100) < 1e-9);
  }

  // Determinism: the same spec again stores the same rows, churn and distances.
  const db2 = join(tmp(), 'w2.db');
  await runExperiment(spec(), { db: db2, backend: 'wasm' });
  assert.deepEqual(levelRows(db2), levelRows(db));
  const strip = (xs: Record<string, unknown>[]) => xs.map(({ result_id, ...x }) => (void result_id, x));
  for (const t of ['mask_updates', 'mask_distances'])
    assert.deepEqual(strip(q(db2, `SELECT * FROM ${t} ORDER BY result_id, 2, 3`)).length, strip(q(db, `SELECT * FROM ${t} ORDER BY result_id, 2, 3`)).length);
  assert.deepEqual(
    q(
      db2,
      'SELECT l.strategy, l.level, u.step, u.layer, u.dropped, u.remaining FROM mask_updates u JOIN levels l ON l.result_id = u.result_id ORDER BY 1, 2, 3, 4',
    ),
    q(
      db,
      'SELECT l.strategy, l.level, u.step, u.layer, u.dropped, u.remaining FROM mask_updates u JOIN levels l ON l.result_id = u.result_id ORDER BY 1, 2, 3, 4',
    ),
  );
});

test('during-training chains: bad settings are one clear spec error', () => {
  const bad = (strategies: unknown[], re: RegExp) => assert.throws(() => checkSpec(validateSpec(tinySpec({ strategies: strategies as never }), 't')), re);
  bad(['early-bird@2'], /ε must be a number in \(0, 1\)/);
  bad([{ reset: 'fine-tune', during: { kind: 'gradual' } }], /reset must be "rewind"/);
  bad([{ reset: 'rewind', mask0: 'freeze-init', during: { kind: 'gradual' } }], /keeps pruned weights at zero/);
  bad([{ reset: 'rewind', criterion: 'snip', during: { kind: 'gradual' } }], /remove "criterion"/);
  bad([{ reset: 'rewind', during: { kind: 'gradual', end: '500it' } }], /past the end of training/);
  const s = validateSpec(tinySpec({ strategies: ['gradual', 'set', 'rigl', 'early-bird', 'early-bird@0.05'] }), 't').spec;
  assert.deepEqual(
    s.strategies.map((c) => [c.name, c.reset, c.during?.kind]),
    [
      ['gradual', 'rewind', 'gradual'],
      ['set', 'rewind', 'dynamic'],
      ['rigl', 'rewind', 'dynamic'],
      ['early-bird', 'rewind', 'early-bird'],
      ['early-bird@0.05', 'rewind', 'early-bird'],
    ],
  );
});
