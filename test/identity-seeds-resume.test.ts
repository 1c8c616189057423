import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { buildModel, initialize } from '../src/models/index.js';
import { trialSeed, type Context } from '../src/orchestration/context.js';
import { dataOrder } from '../src/orchestration/levels.js';
import { runExperiment } from '../src/orchestration/index.js';
import { COMPUTE_VERSION, diffIdentity, EXTENDABLE, identityOf, validateSpec } from '../src/spec/index.js';
import { makeRng, permutation } from '../src/util/rng.js';
import { lth, ROOT, tinySpec, tmp } from './helpers/common.js';

before(async () => {
  await initBackend('wasm');
});

const specOf = (seed: number) => validateSpec({ name: 's', seed }, 't').spec;

test('seeds: (seed 5, trial 1) and (seed 6, trial 0) share neither θ0 nor data order', () => {
  const a = trialSeed(specOf(5), 1);
  const b = trialSeed(specOf(6), 0);
  assert.notEqual(a, b);
  // the documented rule, computed here independently: first 4 bytes of sha256(["lth-trial", seed, trial])
  assert.equal(a, createHash('sha256').update('["lth-trial",5,1]').digest().readUInt32BE(0));
  const model = buildModel('mlp-small', [16], 3);
  const t5 = initialize(model, 'glorot-normal', 'theta0', a);
  const t6 = initialize(model, 'glorot-normal', 'theta0', b);
  const k = model.params.find((p) => p.kind !== 'none')!.name;
  const same = t5[k].filter((v, i) => v === t6[k][i]).length;
  assert.ok(same < t5[k].length / 100, `θ0 shares ${same} of ${t5[k].length} values`);
  const order = (seed: number, trial: number) => permutation(1000, makeRng(...dataOrder({ spec: specOf(seed) } as Context, trial, 0), 'epoch', 0));
  assert.notDeepEqual(order(5, 1), order(6, 0));
});

test('seeds: no two (seed, trial) pairs of a 60 × 60 grid collide', () => {
  const seen = new Set<number>();
  for (let s = 0; s < 60; s++) for (let t = 0; t < 60; t++) seen.add(trialSeed(specOf(s), t));
  assert.equal(seen.size, 3600);
});

test('random streams: keys are encoded without ambiguity', () => {
  // joined with ':', ['a:1', 2] and ['a', '1:2'] were one stream
  assert.notEqual(makeRng('a:1', 2).uniform(), makeRng('a', '1:2').uniform());
});

test('diffIdentity names changed fields by dotted path, and tells extension from shrinking', () => {
  const base = validateSpec(tinySpec(), 't').spec;
  const other = validateSpec(
    tinySpec({ training: { iterations: '60it', evalEvery: '20it', batchSize: 20 }, data: { dataset: 'synthetic', validation: 100 } }),
    't',
  ).spec;
  assert.deepEqual(diffIdentity(base, other).changed, [
    'data.synthetic.classes',
    'data.synthetic.features',
    'data.synthetic.test',
    'data.synthetic.train',
    'data.validation',
    'training.batchSize',
  ]);
  const more = validateSpec(
    tinySpec({ trials: 3, pruning: { levels: 4 }, strategies: ['rewind', 'fine-tune', 'lr-rewind'], branches: [{ kind: 'supermask' }] }),
    't',
  ).spec;
  assert.deepEqual(diffIdentity(base, more), { changed: [], shrunk: [], extended: true });
  assert.deepEqual(diffIdentity(more, base).shrunk, ['trials', 'pruning.levels', 'strategies[lr-rewind]', 'branches.0']);
  assert.equal(identityOf(base).hash, identityOf(more).hash);
  assert.equal(identityOf(base).computeVersion, COMPUTE_VERSION);
});

test('resume: more levels and trials extend a finished experiment; a changed field is refused by name', async () => {
  const dir = tmp();
  const db = join(dir, 'x.db');
  const first = validateSpec(tinySpec({ pruning: { levels: 1 }, strategies: ['rewind'] }), 't');
  assert.equal((await runExperiment(first, { db, backend: 'wasm' })).levelsTrained, 2);
  const rowsBefore = new Database(db, { readonly: true }).prepare('SELECT level, percent_remaining, final_test_accuracy FROM results ORDER BY level').all();
  const more = validateSpec(tinySpec({ pruning: { levels: 2 }, trials: 2, strategies: ['rewind'] }), 't');
  // trial 1: levels 0, 1, 2; trial 0: level 2
  assert.equal((await runExperiment(more, { db, backend: 'wasm' })).levelsTrained, 4);
  const h = new Database(db, { readonly: true });
  const stored = JSON.parse((h.prepare('SELECT spec_json FROM experiments').get() as { spec_json: string }).spec_json);
  assert.equal(stored.pruning.levels, 2);
  assert.equal(stored.trials, 2);
  assert.deepEqual(
    h.prepare('SELECT level, percent_remaining, final_test_accuracy FROM results WHERE trial = 0 AND level <= 1 ORDER BY level').all(),
    rowsBefore,
  );
  h.close();
  await assert.rejects(
    runExperiment(
      validateSpec(
        tinySpec({ pruning: { levels: 2 }, trials: 2, strategies: ['rewind'], training: { iterations: '60it', evalEvery: '20it', batchSize: 20 } }),
        't',
      ),
      { db, backend: 'wasm' },
    ),
    /different spec: training\.batchSize differs; .*new "name"/,
  );
  await assert.rejects(runExperiment(first, { db, backend: 'wasm' }), /already goes further than this spec: trials, pruning\.levels may only grow/);
});

test('a database of lth 0.1.0 (test/fixtures/v1.db) still reads, and resuming it is refused with the compute version', () => {
  const dir = tmp();
  cpSync(join(ROOT, 'test/fixtures/v1.db'), join(dir, 'v1.db'));
  cpSync(join(ROOT, 'test/fixtures/v1.weights'), join(dir, 'v1.weights'), { recursive: true });
  const db = join(dir, 'v1.db');
  const status = lth(['status', '--db', db]);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /v1 .*1 × 1 .*complete/);
  const report = lth(['report', 'v1', '--db', db]);
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, /77\.00/);
  const query = lth(['query', 'SELECT count(*) AS n FROM levels', '--db', db, '--format', 'json']);
  assert.equal(query.status, 0, query.stderr);
  assert.match(query.stdout, /"n":\s*3/);
  const resume = lth(['run', join(ROOT, 'test/fixtures/v1.json'), '--db', db]);
  assert.notEqual(resume.status, 0);
  const lines = resume.stderr.trim().split('\n');
  assert.equal(lines.length, 1, resume.stderr);
  assert.match(lines[0], /computed by an older lth \(compute version 1; this lth computes version 2.*new "name", or use another --db/);
  const h = new Database(db, { readonly: true });
  assert.equal((h.prepare('SELECT count(*) n FROM results').get() as { n: number }).n, 3, 'nothing was added');
  h.close();
});

// ---------------------------------------------------------------- identity derived from the schema (#21 item 4)

/** Specs and their spec_hash as lth computed them at ddb3b72, when identity kept its own lists of extendable fields. */
const before21 = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/spec-hashes.json'), 'utf8')) as {
  specs: { what: string; spec: unknown; hash: string }[];
  diffs: { stored: unknown; variants: { what: string; spec: unknown; diff: { changed: string[]; shrunk: string[]; extended: boolean } }[] };
};

test('spec_hash of every preset and of specs with branches, rewind@k, structured, at-init and RigL chains is what the earlier lth stored', () => {
  assert.ok(before21.specs.length >= 30);
  for (const { what, spec, hash } of before21.specs) assert.equal(validateSpec(spec, what).hash, hash, what);
});

test('resuming: changed, shrunk and extended are what the earlier lth decided, for growing, shrinking and changed fields', () => {
  const stored = validateSpec(before21.diffs.stored, 'stored').spec;
  for (const v of before21.diffs.variants) {
    const d = diffIdentity(stored, validateSpec(v.spec, v.what).spec);
    assert.deepEqual([...d.changed].sort(), [...v.diff.changed].sort(), v.what);
    assert.deepEqual([...d.shrunk].sort(), [...v.diff.shrunk].sort(), v.what);
    assert.equal(d.extended, v.diff.extended, v.what);
  }
});

test('the fields that may grow on resume are the ones the schema declares, and none of them enters the hash', () => {
  assert.deepEqual([...EXTENDABLE].sort(), ['branches', 'pruning.levels', 'pruning.maxAccuracyDrop', 'pruning.targetPercent', 'strategies', 'trials']);
  const a = validateSpec(tinySpec(), 't');
  const b = validateSpec(
    tinySpec({ trials: 4, pruning: { levels: 9, targetPercent: 3, maxAccuracyDrop: 1 }, strategies: ['lr-rewind'], branches: [{ kind: 'supermask' }] }),
    't',
  );
  assert.equal(a.hash, b.hash);
  assert.notEqual(validateSpec(tinySpec({ seed: 8 }), 't').hash, a.hash, 'a fixed field does enter it');
});
