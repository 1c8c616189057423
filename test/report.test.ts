import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openReadOnly, report, summarize, summarizeExperiment, type LevelRow } from '../src/reporting/index.js';
import { metricTable } from '../src/reporting/format.js';
import { pointData } from '../src/reporting/plot.js';
import { UserError } from '../src/util/errors.js';
import { lenetDbSuite, createDb, insertExperiment, lenetFixture } from './helpers/fixture.js';

/**
 * Independent aggregation straight from the `results` and `chains` tables (not the `levels`
 * view, not the library's code): level 0 is stored once with strategy '' and belongs to every
 * chain; replicates of a branch are averaged within a trial; sample std over trials.
 */
function expected(dbFile: string, experiment: string, strategy: string, branch: string, level: number, column: string) {
  const db = new Database(dbFile, { readonly: true });
  const perTrial = db
    .prepare(
      `SELECT r.trial, avg(r.${column}) AS v FROM results r JOIN experiments e ON e.id = r.experiment_id
        WHERE e.name = ? AND r.level = ? AND r.branch = ? AND (r.strategy = ? OR (r.level = 0 AND r.strategy = ''))
          AND r.${column} IS NOT NULL
        GROUP BY r.trial`,
    )
    .all(experiment, level, branch, strategy) as { trial: number; v: number }[];
  db.close();
  const v = perTrial.map((r) => r.v);
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { n, mean, std };
}

describe('lth report', () => {
  const fx = lenetDbSuite();

  it('aggregates equal mean ± std computed independently from the raw rows', () => {
    const db = openReadOnly(fx.db);
    const s = summarizeExperiment(db, 'lenet-mnist');
    db.close();
    assert.deepEqual(
      s.series.map((x) => x.key),
      ['rewind', 'rewind:random-mask', 'random-reinit', 'fine-tune'],
    );
    assert.equal(s.levels.length, 19);
    assert.equal(s.trials, 3);
    const cols = { 'es-accuracy': 'early_stop_test_accuracy', 'es-iteration': 'early_stop_iteration', 'final-accuracy': 'final_test_accuracy' };
    let checked = 0;
    for (const l of s.levels) {
      for (const se of s.series) {
        if (se.branch && l.level === 0) {
          assert.equal(l.cells[se.key], undefined, 'a branch has no dense level');
          continue;
        }
        for (const [id, col] of Object.entries(cols)) {
          const e = expected(fx.db, 'lenet-mnist', se.strategy, se.branch ?? '', l.level, col);
          const got = l.cells[se.key][id];
          assert.equal(got.n, e.n);
          assert.ok(Math.abs(got.mean - e.mean) < 1e-12, `${se.key} L${l.level} ${id} mean`);
          assert.ok(Math.abs((got.std ?? NaN) - e.std) < 1e-12, `${se.key} L${l.level} ${id} std`);
          checked++;
        }
      }
    }
    assert.equal(checked, 19 * 3 * 3 + 18 * 3);
  });

  it('json output carries the same numbers, accuracy in %', () => {
    const j = JSON.parse(report(fx.db, 'lenet-mnist', { format: 'json' }));
    const l7 = j.levels.find((l: { level: number }) => l.level === 7);
    const e = expected(fx.db, 'lenet-mnist', 'random-reinit', '', 7, 'early_stop_test_accuracy');
    assert.ok(Math.abs(l7.values['random-reinit']['es-accuracy'].mean - e.mean * 100) < 1e-5);
    assert.ok(Math.abs(l7.values['random-reinit']['es-accuracy'].std - e.std * 100) < 1e-5);
    assert.equal(l7.values['random-reinit']['es-accuracy'].n, 3);
    assert.ok(Math.abs(l7.percent_remaining - 21.1) < 0.05);
    assert.equal(j.levels[0].dense, true);
  });

  it('table and markdown show accuracy in % with 2 decimals and iterations as integers; dense marked', () => {
    const md = report(fx.db, 'lenet-mnist', { format: 'markdown' });
    const acc = expected(fx.db, 'lenet-mnist', 'rewind', '', 12, 'early_stop_test_accuracy');
    const it12 = expected(fx.db, 'lenet-mnist', 'rewind', '', 12, 'early_stop_iteration');
    assert.ok(md.includes(`${(acc.mean * 100).toFixed(2)} ± ${(acc.std * 100).toFixed(2)}`));
    assert.ok(md.includes(`${Math.round(it12.mean)} ± ${Math.round(it12.std)}`));
    assert.match(md, /\| 0 \(dense\) \| 100\.0 \|/);
    assert.match(md, /\| 12 \| 7\.0 \|/);
    const table = report(fx.db, 'lenet-mnist');
    assert.ok(table.includes('0 (dense)'));
    assert.ok(table.includes(`${(acc.mean * 100).toFixed(2)} ± ${(acc.std * 100).toFixed(2)}`));
  });

  it('csv: one row per level, mean/std/n columns per strategy and metric', () => {
    const csv = report(fx.db, 'small', { format: 'csv', metrics: ['es-accuracy'] })
      .trim()
      .split('\n');
    assert.equal(csv.length, 1 + 4);
    const head = csv[0].split(',');
    assert.deepEqual(head.slice(0, 3), ['level', 'percent_remaining', 'dense']);
    assert.ok(head.includes('rewind es-accuracy mean') && head.includes('fine-tune es-accuracy n'));
    const row1 = csv[2].split(',');
    const e = expected(fx.db, 'small', 'fine-tune', '', 1, 'early_stop_test_accuracy');
    assert.ok(Math.abs(Number(row1[head.indexOf('fine-tune es-accuracy mean')]) - e.mean * 100) < 1e-5);
  });

  it('--metric chooses the columns', () => {
    const md = report(fx.db, 'small', { format: 'markdown', metrics: ['es-val-loss', 'wall-seconds'] });
    assert.ok(md.includes('Validation loss at early stop') && md.includes('Wall time per level (s)'));
    assert.ok(!md.includes('Test accuracy at early stop'));
    assert.throws(
      () => report(fx.db, 'small', { metrics: ['nope'] }),
      (e: Error) => e instanceof UserError && /es-accuracy/.test(e.message),
    );
  });

  it('marks cells with fewer trials than the experiment', () => {
    const f = path.join(fx.dir, 'partial.db');
    const db = createDb(f);
    insertExperiment(db, lenetFixture('partial', 2, 3));
    db.prepare("DELETE FROM curve_points WHERE result_id IN (SELECT id FROM results WHERE strategy = 'fine-tune' AND level = 2 AND trial = 2)").run();
    db.prepare("DELETE FROM results WHERE strategy = 'fine-tune' AND level = 2 AND trial = 2").run();
    db.close();
    const md = report(f, 'partial', { format: 'markdown', metrics: ['es-accuracy'] });
    assert.match(md, /\(n=2\)/);
  });

  it('unknown experiment and missing database are one-line user errors that name the fix', () => {
    assert.throws(
      () => report(fx.db, 'nope'),
      (e: Error) => e instanceof UserError && e.message.includes('lenet-mnist, small') && !e.message.includes('\n'),
    );
    assert.throws(
      () => report(fx.db, 'lenet_mnst'),
      /^UserError: no experiment "lenet_mnst" in \S+: did you mean "lenet-mnist"\? \(experiments: .*lenet-mnist.*\)$/,
    );
    assert.throws(
      () => report(path.join(fx.dir, 'missing.db'), 'x'),
      (e: Error) => e instanceof UserError && /database not found/.test(e.message) && /--db/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(fx.dir, 'missing.db')), 'a missing database is not created');
    const junk = path.join(fx.dir, 'junk.db');
    fs.writeFileSync(junk, 'not sqlite at all, just text that is long enough to be read as a header....');
    assert.throws(
      () => report(junk, 'x'),
      (e: Error) => e instanceof UserError && /lth database/.test(e.message),
    );
  });
});

describe('chains at different sparsities on one level (a transferred ticket starts at its source’s)', () => {
  const row = (strategy: string, level: number, pct: number, acc: number): LevelRow => ({
    experiment: 'x',
    spec_hash: 'h',
    strategy,
    branch: null,
    replicate: 0,
    trial: 0,
    level,
    percent_remaining: pct,
    early_stop_iteration: 100,
    early_stop_val_loss: 0.5,
    early_stop_val_accuracy: acc,
    early_stop_test_accuracy: acc,
    final_test_accuracy: acc,
    iterations: 200,
    wall_seconds: 1,
    backend: 'wasm',
    mask_hash: `${strategy}${level}`,
    result_id: level,
    total_iterations: null,
    total_multiply_adds: null,
    detection_iteration: null,
    seed: 1,
  });
  const rows = [row('', 0, 100, 0.8), row('rewind', 1, 80, 0.82), row('ticket', 1, 64.0625, 0.84)];

  it('the plot puts each chain at its own % remaining; the table shows the range, not a mean no chain has', () => {
    const s = { experiment: 'x', specHash: 'h', ...summarize(rows, ['es-accuracy']) };
    const level1 = pointData(s, 'es-accuracy', 'none').filter((d) => d.level === 1);
    assert.deepEqual(level1.map((d) => [d.series, d.percent]).sort(), [
      ['rewind', 80],
      ['ticket', 64.0625],
    ]);
    const table = metricTable(s, s.metrics[0]);
    assert.equal(table.rows[1][1], '64.1–80.0');
    assert.equal(table.rows[0][1], '100.0');
  });
});
