import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { levelRows, ROOT, tinySpec, tmp } from '../helpers/common.js';

const reproduce = (args: string[]) => spawnSync('bash', [join(ROOT, 'scripts/reproduce'), ...args], { cwd: ROOT, encoding: 'utf8' });

test('scripts/reproduce runs a preset-shaped spec, writes report, figure and comparison, and resumes without duplicates', () => {
  const dir = tmp('lth-repro-');
  // named like a preset so the script's comparison pair (rewind vs rewind:random-reinit) applies
  const spec = join(dir, 'frankle-carbin-lenet-quick.json');
  writeFileSync(
    spec,
    JSON.stringify(
      tinySpec({
        name: 'frankle-carbin-lenet-quick',
        trials: 2,
        pruning: { levels: 1 },
        training: { iterations: '20it', evalEvery: '10it', batchSize: 30 },
        strategies: ['rewind'],
        branches: [{ kind: 'random-reinit', count: 1 }],
      }),
    ),
  );
  const db = join(dir, 'r.db');
  const out = join(dir, 'out');
  const r = reproduce([spec, '--db', db, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const md = readFileSync(join(out, 'frankle-carbin-lenet-quick.md'), 'utf8');
  assert.match(md, /lth run .*frankle-carbin-lenet-quick\.json/, 'the report names the commands that produced it');
  assert.match(md, /\| rewind \| rewind:random-reinit \|/);
  assert.match(md, /## compare rewind rewind:random-reinit/);
  assert.ok(existsSync(join(out, 'frankle-carbin-lenet-quick.svg')));
  const rows = levelRows(db);
  assert.equal(rows.length, 2 * 3);
  const again = reproduce([spec, '--db', db, '--out', out]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /0 level\(s\) trained/);
  assert.deepEqual(levelRows(db), rows);
});

test('scripts/reproduce refuses an unknown preset in one line: the nearest preset, then the list (with --quick: those with a -quick variant)', () => {
  const r = reproduce(['no-such-preset']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^reproduce: no preset "no-such-preset" \(experiments\/no-such-preset\.json not found\) \(presets: .*zhou-supermask\)\n$/);
  const typo = reproduce(['frankle-carbin-lenett']);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /^reproduce: no preset "frankle-carbin-lenett" \([^)]*\): did you mean "frankle-carbin-lenet"\? \(presets: [^\n]*\)\n$/);
  const quick = reproduce(['zhou-supermsk', '--quick']);
  assert.equal(quick.status, 2);
  assert.match(
    quick.stderr,
    /^reproduce: no preset "zhou-supermsk" \(experiments\/zhou-supermsk-quick\.json not found\): did you mean "zhou-supermask"\? \(presets with --quick: /,
  );
  assert.doesNotMatch(quick.stderr, /quickstart|-quick /, 'with --quick, the names that take it, without the suffix');
});

test('scripts/reproduce: an option without its value is one line, exit 2', () => {
  for (const opt of ['--db', '--out', '--workers', '--backend']) {
    const r = reproduce(['frankle-carbin-lenet', opt]);
    assert.equal(r.status, 2, opt);
    assert.equal(r.stderr, `reproduce: ${opt} needs a value (see scripts/reproduce --help)\n`);
  }
});
