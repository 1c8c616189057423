import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec } from '../src/spec/index.js';
import { mergeDatabases } from '../src/storage/merge.js';
import { SCHEMA_VERSION } from '../src/storage/schema.js';
import { levelRows, tinySpec, tmp } from './helpers/common.js';
import { dump } from './helpers/dump.js';

const fileSha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const rowCount = (db: string, table: string) => {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare(`SELECT count(*) n FROM ${table}`).get() as { n: number }).n;
  } finally {
    d.close();
  }
};

let dir: string;
let full: string; // a whole run of tiny (2 trials × 2 chains × 2 levels)
let partial: string; // the same experiment, stopped after 4 levels
let other: string; // another experiment
before(async () => {
  await initBackend('cpu');
  dir = tmp('lth-merge-');
  const spec = validateSpec(tinySpec({ trials: 2 }), 't');
  full = join(dir, 'full.db');
  await runExperiment(spec, { db: full, backend: 'cpu' });
  partial = join(dir, 'partial.db');
  let n = 0;
  await runExperiment(spec, { db: partial, backend: 'cpu', onProgress: (e) => void (e.type === 'level-done' && n++), shouldStop: () => n >= 4 });
  other = join(dir, 'other.db');
  await runExperiment(validateSpec(tinySpec({ name: 'other', seed: 8 }), 't'), { db: other, backend: 'cpu' });
});

test('merge: partial + full in any order gives the full run; merging again changes nothing; ids are remapped', () => {
  assert.equal(rowCount(partial, 'results'), 4, 'the partial run stopped after 4 levels');
  const a = join(dir, 'a.db');
  const b = join(dir, 'b.db');
  // `other` first, so that tiny's rows cannot keep the ids they have in their source
  const ra = mergeDatabases([other, partial, full], a);
  assert.deepEqual(
    ra.sources.map((s) => [s.added, s.duplicates]),
    [
      [5, 0],
      [4, 0],
      [10 - 4, 4],
    ],
  );
  mergeDatabases([full, other, partial], b);
  assert.deepEqual(dump(a), dump(b));
  const before = dump(a);
  const again = mergeDatabases([partial, full, other], a);
  assert.equal(
    again.sources.reduce((n, s) => n + s.added, 0),
    0,
  );
  assert.deepEqual(dump(a), before);
  // tiny's rows equal those of the full run (levels view, timing aside), each with its own curve
  const tinyRows = levelRows(a).filter((r) => r.experiment === 'tiny');
  assert.deepEqual(tinyRows, levelRows(full));
  const src = dump(full);
  assert.deepEqual(
    before.curve_points.filter((p) => (p as { name: string }).name === 'tiny'),
    src.curve_points,
  );
  const ids = new Database(a, { readonly: true });
  try {
    const shifted = ids.prepare("SELECT min(r.id) m FROM results r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'tiny'").get() as { m: number };
    assert.ok(shifted.m > 5, `tiny's results got new ids after other's 5 rows (min id ${shifted.m})`);
  } finally {
    ids.close();
  }
  // every weight file came along, byte for byte
  for (const art of before.artifacts as { name: string; file: string; sha256: string }[]) assert.equal(fileSha(join(dir, 'a.weights', art.file)), art.sha256);
});

test('merge: a conflicting duplicate is refused naming experiment, chain, trial and level; nothing is written', () => {
  const dir2 = tmp('lth-merge-conflict-');
  const bad = join(dir2, 'bad.db');
  copyFileSync(full, bad);
  cpSync(join(dir, 'full.weights'), join(dir2, 'bad.weights'), { recursive: true });
  const d = new Database(bad);
  d.prepare("UPDATE results SET early_stop_test_accuracy = early_stop_test_accuracy + 0.01 WHERE strategy = 'fine-tune' AND trial = 1 AND level = 2").run();
  d.close();
  const into = join(dir2, 'into.db');
  mergeDatabases([other], into);
  const before = dump(into);
  assert.throws(
    () => mergeDatabases([partial, full, bad], into),
    (e: Error) =>
      e.name === 'UserError' && /experiment "tiny", chain "fine-tune", trial 1, level 2/.test(e.message) && /early_stop_test_accuracy/.test(e.message),
  );
  assert.deepEqual(dump(into), before, 'no source was merged, not even the ones before the conflict');
});

test('merge: a corrupt weight file is refused before its rows commit', () => {
  const dir3 = tmp('lth-merge-corrupt-');
  const src = join(dir3, 'src.db');
  copyFileSync(full, src);
  cpSync(join(dir, 'full.weights'), join(dir3, 'src.weights'), { recursive: true });
  const f = join(dir3, 'src.weights', 'tiny', 'trial-1', 'theta-0.bin');
  const buf = readFileSync(f);
  buf[buf.length - 1] ^= 1;
  writeFileSync(f, buf);
  const into = join(dir3, 'into.db');
  assert.throws(() => mergeDatabases([src], into), /theta-0\.bin.*corrupt \(sha256 mismatch\)/);
  assert.equal(existsSync(into), false, 'a refused merge leaves no target behind');
});

test('merge: another schema version is refused; differing lth versions are reported', () => {
  const dir4 = tmp('lth-merge-version-');
  const v2 = join(dir4, 'v2.db');
  copyFileSync(full, v2);
  const d = new Database(v2);
  d.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
  d.close();
  assert.throws(() => mergeDatabases([v2], join(dir4, 'x.db')), new RegExp(`schema version 99, this lth has ${SCHEMA_VERSION}`));

  const old = join(dir4, 'old.db');
  copyFileSync(partial, old);
  cpSync(join(dir, 'partial.weights'), join(dir4, 'old.weights'), { recursive: true });
  const o = new Database(old);
  o.prepare("UPDATE experiments SET code_version = 'lth 0.0.9', created_at = '2000-01-01T00:00:00.000Z'").run();
  o.close();
  const into = join(dir4, 'into.db');
  const r = mergeDatabases([full, old], into);
  const current = (dump(full).experiments[0] as { code_version: string }).code_version;
  assert.deepEqual(r.versionMismatches, [{ experiment: 'tiny', versions: ['lth 0.0.9', current].sort() }]);
  // the earlier registration wins, whatever the order
  const into2 = join(dir4, 'into2.db');
  mergeDatabases([old, full], into2);
  assert.deepEqual(dump(into).experiments, dump(into2).experiments);
  assert.equal((dump(into).experiments[0] as { code_version: string }).code_version, 'lth 0.0.9');
});

test('merge: an experiment of the same name with another spec is refused', () => {
  const dir5 = tmp('lth-merge-spec-');
  const s = join(dir5, 's.db');
  copyFileSync(other, s);
  const d = new Database(s);
  d.prepare("UPDATE experiments SET name = 'tiny'").run();
  d.close();
  assert.throws(() => mergeDatabases([full, s], join(dir5, 'x.db')), /experiment "tiny" has a different spec/);
});
