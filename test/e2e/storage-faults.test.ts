import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../../src/backend/index.js';
import { runExperiment } from '../../src/orchestration/index.js';
import { validateSpec } from '../../src/spec/index.js';
import { assertOneLineError, CLI, filesUnder, lth, tinySpec, tmp } from '../helpers/common.js';
import { finishedTinyRun } from '../helpers/tiny-run.js';

/**
 * Faults of storage that a user meets (issue #22 items 2, 3 and 6): a full disk under `lth merge`,
 * a merge killed mid-write, a corrupt θ0 in a finished experiment, and an extension refused
 * after the spec was checked.
 */

const one = <T>(db: string, sql: string): T => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).pluck().get() as T;
  } finally {
    d.close();
  }
};

test('lth merge onto a full disk (tmpfs): one line, no temporary or partial file, nothing committed; a later merge completes', (t) => {
  if (process.getuid?.() !== 0) return t.skip('mounting a tmpfs needs root');
  const dir = mkdtempSync('/tmp/storage-merge-full-');
  const { db: src } = finishedTinyRun(dir, 'src.db');
  const into = join(dir, 'into.db');
  const weights = join(dir, 'into.weights');
  mkdirSync(weights);
  // 12 KiB: the first of the source's ~5 KB weight files fit, the rest do not.
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', weights]).status !== 0) return t.skip('cannot mount a tmpfs here');
  try {
    const r = lth(['merge', src, '--into', into]);
    assertOneLineError(r, /cannot write weight file .*: the disk is full; free space/);
    assert.deepEqual(
      filesUnder(weights).filter((f) => f.includes('.tmp-')),
      [],
    );
    assert.equal(one<number>(into, 'SELECT count(*) FROM results'), 0, 'a source is merged whole or not at all');
    assert.equal(spawnSync('mount', ['-o', 'remount,size=64m', weights]).status, 0);
    const again = lth(['merge', src, '--into', into]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(one<number>(into, 'SELECT count(*) FROM results'), 5);
    assert.deepEqual(
      filesUnder(weights).filter((f) => f.includes('.tmp-')),
      [],
    );
  } finally {
    spawnSync('umount', [weights]);
  }
});

test('a merge killed (SIGKILL) while it writes a weight file leaves its temporary file; the next merge removes it and completes', () => {
  const dir = tmp('lth-merge-kill-');
  const { db: src } = finishedTinyRun(dir, 'src.db');
  const into = join(dir, 'into.db');
  // The merge kills itself at the first fsync of a weight file: its bytes are written, the rename is not done.
  const preload = join(dir, 'kill-at-fsync.cjs');
  writeFileSync(
    preload,
    "const fs = require('node:fs'); fs.fsyncSync = () => process.kill(process.pid, 'SIGKILL'); require('node:module').syncBuiltinESMExports();\n",
  );
  const killed = spawnSync(process.execPath, ['--require', preload, CLI, 'merge', src, '--into', into], { encoding: 'utf8' });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  const weights = join(dir, 'into.weights');
  const temps = filesUnder(weights).filter((f) => f.includes('.tmp-'));
  assert.equal(temps.length, 1, `the killed merge left its temporary file: ${filesUnder(weights).join(', ')}`);
  // and one in the name lth 0.2 used (no host), of another dead process
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const old = join(weights, 'tiny', 'trial-0', `level-0.bin.tmp-${dead}`);
  writeFileSync(old, 'partial');
  const r = lth(['merge', src, '--into', into]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    filesUnder(weights).filter((f) => f.includes('.tmp-')),
    [],
  );
  assert.equal(existsSync(old), false);
  assert.equal(one<number>(into, 'SELECT count(*) FROM results'), 5);
});

test('a corrupt θ0 in a finished experiment: lth run says so in one line; a refused extension leaves the stored spec unchanged', () => {
  const dir = tmp('lth-theta0-');
  const { db, spec } = finishedTinyRun(dir, 'src.db');
  const storedSpec = one<string>(db, 'SELECT spec_json FROM experiments');
  const theta0 = join(dir, 'src.weights', 'tiny', 'trial-0', 'theta-0.bin');
  const bytes = readFileSync(theta0);
  for (const i of [bytes.length - 1, bytes.length - 100, bytes.length - 200]) bytes[i] ^= 0xff;
  writeFileSync(theta0, bytes);
  assertOneLineError(lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']), /theta-0\.bin is corrupt/);
  assertOneLineError(lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet', '--set', 'pruning.levels=4']), /theta-0\.bin is corrupt/);
  assert.equal(one<string>(db, 'SELECT spec_json FROM experiments'), storedSpec, 'the refused extension must not be stored');
  assert.equal(one<number>(db, 'SELECT count(*) FROM results'), 5);
});

test('an extension is stored with its first new level: stopped before it, the stored spec is unchanged; after it, extended', async () => {
  await initBackend('cpu');
  const dir = tmp('lth-extend-');
  const db = join(dir, 'x.db');
  await runExperiment(validateSpec(tinySpec(), 't'), { db, backend: 'cpu' });
  const storedSpec = one<string>(db, 'SELECT spec_json FROM experiments');
  const longer = validateSpec(tinySpec({ pruning: { levels: 3 } }), 't');
  const stopped = await runExperiment(longer, { db, backend: 'cpu', shouldStop: () => true });
  assert.equal(stopped.interrupted, true);
  assert.equal(one<number>(db, 'SELECT count(*) FROM results'), 5);
  assert.equal(one<string>(db, 'SELECT spec_json FROM experiments'), storedSpec, 'no new level, no extended spec');
  const done = await runExperiment(longer, { db, backend: 'cpu' });
  assert.equal(done.levelsTrained, 2);
  assert.equal((JSON.parse(one<string>(db, 'SELECT spec_json FROM experiments')) as { pruning: { levels: number } }).pruning.levels, 3);
});
