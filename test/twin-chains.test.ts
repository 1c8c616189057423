import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { runExperiment, type ProgressEvent } from '../src/orchestration/index.js';
import { planRun } from '../src/orchestration/plan.js';
import { checkSpec } from '../src/spec/check.js';
import { validateSpec } from '../src/spec/index.js';
import { Store } from '../src/storage/db.js';
import { keys } from '../src/storage/levels.js';
import { tinySpec, tmp } from './helpers/common.js';

// Under the constant learning rate of tinySpec, with fineTuneIterations = iterations, lr-rewind
// and fine-tune are one computation (issue 10 item 9): fine-tune is the twin, lr-rewind trains.
const twinSpec = (name: string, strategies: string[]) => validateSpec(tinySpec({ name, pruning: { levels: 2 }, strategies }), 't');

/** A stored chain level with everything that belongs to it, read with plain SQL (not the Store). */
function chainLevels(dbPath: string, experiment: string, strategy: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db
      .prepare(
        "SELECT r.* FROM results r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ? AND r.strategy = ? AND r.branch = '' ORDER BY r.trial, r.level",
      )
      .all(experiment, strategy) as Record<string, unknown>[];
    return rows.map((r) => {
      const { id, strategy: _s, created_at, ...numbers } = r;
      void _s;
      void created_at;
      const art = db
        .prepare('SELECT file, sha256 FROM artifacts a JOIN experiments e ON e.id = a.experiment_id WHERE e.name = ? AND a.key = ?')
        .get(experiment, keys.level(r.trial as number, strategy, r.level as number)) as { file: string; sha256: string } | undefined;
      return {
        numbers,
        layers: db.prepare('SELECT layer, total, remaining FROM layer_sparsity WHERE result_id = ? ORDER BY layer').all(id),
        curve: db
          .prepare('SELECT iteration, train_loss, val_loss, val_accuracy, test_loss, test_accuracy FROM curve_points WHERE result_id = ? ORDER BY iteration')
          .all(id),
        art,
      };
    });
  } finally {
    db.close();
  }
}

const count = (db: string, table: string) => {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare(`SELECT count(*) n FROM ${table}`).get() as { n: number }).n;
  } finally {
    d.close();
  }
};

for (const workers of [1, 2]) {
  test(`a twin chain is trained once and copied, with --workers ${workers}: lr-rewind and fine-tune under a constant LR`, async () => {
    const db = join(tmp(), 'twins.db');
    const events: ProgressEvent[] = [];
    const spec = twinSpec('twins', ['lr-rewind', 'fine-tune']);
    const run = await runExperiment(spec, { db, backend: 'wasm', workers, onProgress: (e) => events.push(e) });
    assert.equal(run.interrupted, false);
    // trained: the dense level and lr-rewind's 2 levels; fine-tune's 2 levels are copies
    const starts = events.filter((e) => e.type === 'level-start').map((e) => (e as { job: string }).job);
    assert.deepEqual(starts.sort(), ['dense t0', 'lr-rewind t0', 'lr-rewind t0']);
    assert.equal(events.filter((e) => e.type === 'level-done').length, 3);
    assert.equal(run.levelsTrained, 3);
    assert.deepEqual(
      events.filter((e) => e.type === 'level-copied').map((e) => e.type === 'level-copied' && `${e.job} L${e.level} from ${e.from}`),
      ['fine-tune t0 L1 from lr-rewind', 'fine-tune t0 L2 from lr-rewind'],
    );
    assert.ok(events.some((e) => e.type === 'log' && /"fine-tune" is not trained: its levels are copies of "lr-rewind"/.test(e.message)));

    // the twin's rows equal the source's: every number, every layer, every curve point, the same weight file
    const src = chainLevels(db, 'twins', 'lr-rewind');
    const twin = chainLevels(db, 'twins', 'fine-tune');
    assert.equal(src.length, 2);
    assert.deepEqual(twin, src);
    assert.ok(src.every((l) => l.art && l.curve.length === 4 && l.layers.length > 0));

    // the run plan counts the copied rows as planned and done
    const store = new Store(db, { readonly: true });
    const id = store.experiments()[0].id;
    const plan = planRun(spec.spec, store.storedRows(id));
    store.close();
    assert.equal(plan.total, 1 + 2 + 2);
    assert.equal(plan.done, plan.total);
    assert.ok(plan.chains.every((c) => c.done));

    // a rerun stores nothing new; copying again is refused without duplicating
    const before = ['results', 'layer_sparsity', 'curve_points', 'artifacts'].map((t) => count(db, t));
    const again: ProgressEvent[] = [];
    const rerun = await runExperiment(spec, { db, backend: 'wasm', workers, onProgress: (e) => again.push(e) });
    assert.equal(rerun.levelsTrained, 0);
    assert.deepEqual(
      again.filter((e) => e.type === 'level-start' || e.type === 'level-copied'),
      [],
    );
    const w = new Store(db);
    assert.equal(
      w.copyLevel(id, { strategy: 'lr-rewind', trial: 0, level: 1 }, 'fine-tune', [{ from: keys.level(0, 'lr-rewind', 1), to: keys.level(0, 'fine-tune', 1) }]),
      false,
    );
    w.close();
    assert.deepEqual(
      ['results', 'layer_sparsity', 'curve_points', 'artifacts'].map((t) => count(db, t)),
      before,
    );
  });
}

test('the copied twin rows are what training the twin gives: fine-tune trained alone has the same numbers', async () => {
  const db = join(tmp(), 'alone.db');
  await runExperiment(twinSpec('pair', ['lr-rewind', 'fine-tune']), { db, backend: 'wasm' });
  const events: ProgressEvent[] = [];
  await runExperiment(twinSpec('alone', ['fine-tune']), { db, backend: 'wasm', onProgress: (e) => events.push(e) });
  // fine-tune alone is no twin: it trains its 2 levels
  assert.equal(events.filter((e) => e.type === 'level-start' && e.job === 'fine-tune t0').length, 2);
  const strip = (ls: ReturnType<typeof chainLevels>) =>
    ls.map(({ numbers, layers, curve }) => {
      // what differs between two experiments: their id, weight file, timing and device label
      const { experiment_id, weights_file, wall_seconds, backend, ...rest } = numbers;
      void [experiment_id, weights_file, wall_seconds, backend];
      return { rest, layers, curve };
    });
  assert.deepEqual(strip(chainLevels(db, 'pair', 'fine-tune')), strip(chainLevels(db, 'alone', 'fine-tune')));
});

test('twin detection gives structured pairs: the later chain in spec order copies the earliest one', () => {
  const c = checkSpec(
    validateSpec(
      tinySpec({ strategies: [{ reset: 'rewind', name: 'a' }, 'fine-tune', { reset: 'rewind', name: 'b' }, 'lr-rewind', { reset: 'rewind', name: 'c' }] }),
      's.json',
    ),
  );
  assert.deepEqual(
    c.twins.map((p) => [p.chain, p.twinOf]),
    [
      ['b', 'a'],
      ['lr-rewind', 'fine-tune'],
      ['c', 'a'],
    ],
  );
  assert.equal(c.warnings.length, 3);
  assert.match(
    c.warnings[1],
    /strategies "fine-tune" and "lr-rewind" are the same computation: .*"lr-rewind" is not trained: its levels are copies of "fine-tune"'s/,
  );
});
