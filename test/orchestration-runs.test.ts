import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../src/util/tf.js';
import Database from 'better-sqlite3';
import { runExperiment } from '../src/orchestration/index.js';
import { trialSeed } from '../src/orchestration/context.js';
import { validateSpec } from '../src/spec/index.js';
import { initBackend } from '../src/backend/index.js';
import { buildModel, initialize } from '../src/models/index.js';
import { Store } from '../src/storage/db.js';
import { levelRows, tinySpec, tmp } from './helpers/common.js';

before(async () => {
  await initBackend('wasm');
});

test('same seed twice gives identical levels rows; re-running adds nothing', async () => {
  const spec = validateSpec(tinySpec({ trials: 2, strategies: ['rewind', 'fine-tune', 'rewind@20it', 'sign-constant'] }), 't');
  const a = join(tmp(), 'a.db');
  const b = join(tmp(), 'b.db');
  const ra = await runExperiment(spec, { db: a, backend: 'wasm' });
  await runExperiment(spec, { db: b, backend: 'wasm' });
  assert.equal(ra.levelsTrained, 2 * (1 + 4 * 2));
  const rows = levelRows(a);
  assert.equal(rows.length, 2 * 4 * 3, 'level 0 appears under each of the 4 strategies');
  assert.deepEqual(levelRows(b), rows);
  const again = await runExperiment(spec, { db: a, backend: 'wasm' });
  assert.equal(again.levelsTrained, 0);
  assert.deepEqual(levelRows(a), rows);
  // percent remaining follows the rates: fc 20%, output 10%
  const pct = [...new Set(rows.map((r) => (r.percent_remaining as number).toFixed(3)))];
  assert.equal(pct.length, 3);
});

test('θ0 stored for a trial is the seeded draw, bit for bit', async () => {
  const spec = validateSpec(tinySpec(), 't');
  const db = join(tmp(), 'w.db');
  await runExperiment(spec, { db, backend: 'wasm' });
  const store = new Store(db);
  try {
    const stored = store.loadArtifact(1, 'trial-0/theta-0');
    const model = buildModel('mlp-small', [16], 3);
    const fresh = initialize(model, 'glorot-normal', 'theta0', trialSeed(spec.spec, 0));
    for (const p of model.params) assert.deepEqual(stored[p.name], fresh[p.name]);
  } finally {
    store.close();
  }
});

test('live tensor count stays flat across levels and branch rows', async () => {
  const spec = validateSpec(
    tinySpec({
      pruning: { levels: 5 },
      strategies: ['rewind', 'lr-rewind'],
      // every kind of branch work: evaluate (supermask), train (random-mask), learn a mask
      branches: [
        { kind: 'supermask', weights: ['init'], levels: [5] },
        { kind: 'random-mask', levels: [3], chains: ['rewind'] },
        { kind: 'learned-supermask', iterations: '20it', chains: ['rewind'] },
      ],
    }),
    't',
  );
  const counts: number[] = [];
  await runExperiment(spec, {
    db: join(tmp(), 'mem.db'),
    backend: 'wasm',
    onProgress: (e) => {
      if (e.type === 'level-done') counts.push(tf.memory().numTensors);
    },
  });
  assert.equal(counts.length, 11 + 2 + 1 + 1);
  assert.deepEqual(new Set(counts).size, 1, `tensor counts per level: ${counts.join(', ')}`);
});

test('a changed spec under the same name is refused and nothing is written', async () => {
  const db = join(tmp(), 'c.db');
  await runExperiment(validateSpec(tinySpec({ pruning: { levels: 1 } }), 't'), { db, backend: 'wasm' });
  const before = levelRows(db);
  await assert.rejects(
    runExperiment(validateSpec(tinySpec({ pruning: { levels: 1 }, seed: 8 }), 't'), { db, backend: 'wasm' }),
    /already exists with a different spec: seed differ/,
  );
  assert.deepEqual(levelRows(db), before);
});

test('targetPercent stops a chain once reached', async () => {
  const db = join(tmp(), 't.db');
  await runExperiment(validateSpec(tinySpec({ pruning: { levels: 10, targetPercent: 60 }, strategies: ['rewind'] }), 't'), { db, backend: 'wasm' });
  const rows = levelRows(db);
  assert.equal(rows.length, 4); // 100 → 80.3 → 64.5 → 51.9 (≤ 60: stop)
  assert.ok((rows[3].percent_remaining as number) <= 60 && (rows[2].percent_remaining as number) > 60);
});

test('an interrupt stops cleanly: only whole levels are stored, and a re-run completes them', async () => {
  const spec = validateSpec(tinySpec(), 't');
  const db = join(tmp(), 'i.db');
  let levels = 0;
  const r = await runExperiment(spec, { db, backend: 'wasm', onProgress: (e) => e.type === 'level-done' && levels++, shouldStop: () => levels >= 2 });
  assert.equal(r.interrupted, true);
  assert.equal(r.levelsTrained, 2);
  const d = new Database(db, { readonly: true });
  assert.equal((d.prepare('SELECT count(*) n FROM results').get() as { n: number }).n, 2);
  d.close();
  const ref = join(tmp(), 'ref.db');
  await runExperiment(spec, { db: ref, backend: 'wasm' });
  await runExperiment(spec, { db, backend: 'wasm' });
  assert.deepEqual(levelRows(db), levelRows(ref));
  assert.ok(existsSync(db));
});
