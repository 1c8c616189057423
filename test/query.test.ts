import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderQuery, runQuery } from '../src/reporting/index.js';
import { UserError } from '../src/util/errors.js';
import { lenetDbSuite } from './helpers/fixture.js';

function fingerprint(dbFile: string): string {
  const h = crypto.createHash('sha256');
  for (const f of [dbFile, `${dbFile}-wal`]) if (fs.existsSync(f)) h.update(fs.readFileSync(f));
  return h.digest('hex');
}

describe('lth query', () => {
  const fx = lenetDbSuite();

  it('runs read-only SQL against the views', () => {
    const r = runQuery(fx.db, 'SELECT experiment, count(*) AS n FROM levels GROUP BY experiment ORDER BY experiment');
    assert.deepEqual(r.columns, ['experiment', 'n']);
    // lenet-mnist: 3 chains × 19 levels + 1 branch × 18 levels × 2 replicates, per trial
    assert.deepEqual(r.rows, [
      ['lenet-mnist', 3 * (3 * 19 + 18 * 2)],
      ['small', 2 * (3 * 4 + 3 * 2)],
    ]);
    const cte = runQuery(
      fx.db,
      "-- a comment\nWITH d AS (SELECT * FROM levels WHERE level = 0) SELECT count(DISTINCT result_id) FROM d WHERE experiment = 'lenet-mnist';",
    );
    assert.deepEqual(cte.rows, [[3]], 'level 0 stored once per trial');
    assert.ok(runQuery(fx.db, 'PRAGMA table_info(levels)').rows.length >= 18);
    assert.deepEqual(runQuery(fx.db, 'PRAGMA user_version').rows, [[0]]);
  });

  it('renders every format', () => {
    const r = runQuery(fx.db, "SELECT 'a,b' AS s, 1.5 AS x, NULL AS z");
    assert.equal(renderQuery(r, 'csv'), 's,x,z\n"a,b",1.5,\n');
    assert.deepEqual(JSON.parse(renderQuery(r, 'json')), [{ s: 'a,b', x: 1.5, z: null }]);
    assert.match(renderQuery(r, 'markdown'), /\| s \| x \| z \|/);
    assert.match(renderQuery(r, 'table'), /1 row/);
  });

  const writes = [
    "INSERT INTO meta (key, value) VALUES ('x', 'y')",
    "insert or replace into meta values ('x','y')",
    "REPLACE INTO meta VALUES ('x', 'y')",
    'UPDATE results SET level = 99',
    '  /* sneaky */ -- comment\n  update results set level = 99',
    'DELETE FROM results',
    'DROP TABLE results',
    'DROP VIEW levels',
    'CREATE TABLE t (x)',
    'CREATE TEMP TABLE t (x)',
    'ALTER TABLE results ADD COLUMN x',
    "ATTACH DATABASE 'other.db' AS other",
    'DETACH DATABASE main',
    'PRAGMA user_version = 7',
    'PRAGMA main.user_version = 7',
    'PRAGMA user_version(7)',
    'PRAGMA journal_mode = DELETE',
    'PRAGMA wal_checkpoint(TRUNCATE)',
    'PRAGMA writable_schema = ON',
    'VACUUM',
    "VACUUM INTO 'copy.db'",
    'REINDEX',
    'ANALYZE',
    "WITH x AS (SELECT 1) INSERT INTO meta SELECT 'k', 'v' FROM x",
    'SELECT 1; DELETE FROM results',
  ];
  for (const sql of writes) {
    it(`refuses: ${sql.replace(/\s+/g, ' ').slice(0, 60)}`, () => {
      const before = fingerprint(fx.db);
      const cwd = process.cwd();
      process.chdir(fx.dir);
      try {
        assert.throws(
          () => runQuery(fx.db, sql),
          (e: Error) => e instanceof UserError && /read-only|one statement/.test(e.message) && !e.message.includes('\n'),
        );
      } finally {
        process.chdir(cwd);
      }
      assert.equal(fingerprint(fx.db), before, 'the database file is unchanged');
      assert.ok(!fs.existsSync(path.join(fx.dir, 'other.db')) && !fs.existsSync(path.join(fx.dir, 'copy.db')), 'no file created');
    });
  }

  it('a bad query is a user error that points at the schema doc', () => {
    assert.throws(
      () => runQuery(fx.db, 'SELECT nope FROM levels'),
      (e: Error) => e instanceof UserError && /SCHEMA\.md/.test(e.message),
    );
    assert.throws(() => runQuery(fx.db, '   '), UserError);
  });
});
