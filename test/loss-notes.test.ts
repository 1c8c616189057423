import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { codeVersion } from '../src/orchestration/index.js';
import { WRONG_LOSS_VERSIONS } from '../src/reporting/caveats.js';
import { createDb, insertExperiment, lenetFixture, tempDir } from './helpers/fixture.js';
import { lth, ROOT } from './helpers/common.js';

/**
 * Issue #10 item 1: databases written by lth 0.1.0 keep their wrong losses; report, compare,
 * plot and export say so when they show a loss column (or an early-stop point that the wrong
 * losses may have moved), and say nothing for rows written since.
 */

const LOSS_NOTE = /note: (\S+) was written by lth 0\.1\.0: its stored validation\/test losses are wrong/;
const ES_NOTE = /note: (\S+) was written by lth 0\.1\.0 with 1003 validation examples: its early-stop points may not be/;

describe('notes on losses stored by lth 0.1.0', () => {
  let db = '';
  let dir = '';
  before(() => {
    dir = tempDir();
    db = path.join(dir, 'lth.db');
    const h = createDb(db);
    // three experiments alike but for the version that wrote them and the validation split
    for (const [name, version, validation] of [
      ['old5000', 'lth 0.1.0', 5000],
      ['old1003', 'lth 0.1.0', 1003],
      ['new1003', 'lth 0.2.0', 1003],
    ] as const) {
      insertExperiment(h, lenetFixture(name, 3, 2));
      h.prepare('UPDATE experiments SET code_version = ?, spec_json = ? WHERE name = ?').run(version, JSON.stringify({ name, data: { validation } }), name);
    }
    h.close();
  });

  const run = (...args: string[]) => {
    const r = lth([...args, '--db', db]);
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  };

  test('report: the loss note only with a loss column; the early-stop note only for a split it can have moved', () => {
    assert.match(run('report', 'old5000', '--metric', 'es-val-loss'), LOSS_NOTE);
    const plain = run('report', 'old5000');
    assert.doesNotMatch(plain, /note:/);
    const es = run('report', 'old1003');
    assert.match(es, ES_NOTE);
    assert.doesNotMatch(es, LOSS_NOTE);
    assert.doesNotMatch(run('report', 'new1003', '--metric', 'es-val-loss'), /note:/);
  });

  test('compare: a loss metric is noted, an accuracy at the end of training is not', () => {
    assert.match(run('compare', 'old5000', 'rewind', 'fine-tune', '--metric', 'es-val-loss'), LOSS_NOTE);
    assert.doesNotMatch(run('compare', 'old1003', 'rewind', 'fine-tune', '--metric', 'final-accuracy'), /note:/);
  });

  test('export always writes loss columns: noted for old rows only', () => {
    const out = path.join(dir, 'csv');
    assert.match(run('export', 'old5000', '--out', out), LOSS_NOTE);
    assert.doesNotMatch(run('export', 'new1003', '--out', out, '--force'), /note:/);
  });

  test('plot: early-stop figures are noted where the split is affected, learning curves (test accuracy) are not', () => {
    assert.match(run('plot', 'old1003', '--kind', 'early-stop', '--out', path.join(dir, 'es.svg')), ES_NOTE);
    assert.doesNotMatch(run('plot', 'old1003', '--kind', 'curves', '--out', path.join(dir, 'c.svg')), /note:/);
  });
});

test('this version is not one whose losses are wrong, and it is what new experiments record', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(codeVersion(), `lth ${pkg.version}`);
  assert.ok(!WRONG_LOSS_VERSIONS.includes(codeVersion()), `${codeVersion()} is listed as writing wrong losses`);
});
