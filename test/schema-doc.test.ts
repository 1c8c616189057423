import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runQuery } from '../src/reporting/index.js';
import { SCHEMA_SQL } from '../src/storage/schema.js';
import { lenetDbSuite } from './helpers/fixture.js';

// dist/test/schema-doc.test.js → repository root
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = fs.readFileSync(path.join(root, 'docs', 'SCHEMA.md'), 'utf8');

describe('docs/SCHEMA.md', () => {
  const fx = lenetDbSuite();

  it('documents every table and view of the schema', () => {
    const names = [...SCHEMA_SQL.matchAll(/CREATE (?:TABLE IF NOT EXISTS|VIEW) (\w+)/g)].map((m) => m[1]);
    assert.ok(names.length >= 9);
    for (const n of names) assert.match(doc, new RegExp(`### (View )?\`${n}\``), `section for ${n}`);
  });

  it('every example query runs through lth query and returns rows', () => {
    const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.length >= 8);
    for (const sql of blocks) {
      const r = runQuery(fx.db, sql);
      assert.ok(r.columns.length > 0, sql);
      // the fixture has no per-layer counts, unit counts or activation sparsity; every other example returns rows on it
      if (!/layer_sparsity|unit_counts|activation_sparsity/.test(sql)) assert.ok(r.rows.length > 0, `no rows: ${sql}`);
    }
  });
});
