import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../src/orchestration/index.js';
import { checkSpec } from '../src/spec/check.js';
import { applySets, loadSpec, specSchema, validateSpec, type SpecInput } from '../src/spec/index.js';
import { levelRows, lth, tinySpec, tmp } from './helpers/common.js';

const check = (over: Partial<SpecInput>) => checkSpec(validateSpec(tinySpec(over), 's.json'));
const mnist = (over: Partial<SpecInput>) => checkSpec(validateSpec({ name: 'm', ...over }, 's.json'));

test('a typo in a reset name is reported before the data: a bad --data-dir does not hide it, and nothing is written', () => {
  const dir = tmp();
  const spec = join(dir, 'typo.json');
  writeFileSync(spec, JSON.stringify({ name: 'typo', data: { dataset: 'fashion-mnist' }, strategies: ['rewnid'] }));
  const db = join(dir, 'x.db');
  const r = lth(['run', spec, '--data-dir', join(dir, 'nowhere'), '--db', db]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /invalid spec .*typo\.json: strategies\.0: unknown strategy "rewnid"/);
  assert.equal(existsSync(db), false);
});

test('every kind of mistake is found from the spec alone, naming the field', () => {
  assert.throws(() => check({ strategies: ['rewind@abc'] }), /strategies\.0: strategy "rewind@abc": step "abc" is not of the form/);
  assert.throws(() => check({ strategies: ['fine-tune@10it'] }), /strategies\.0: strategy "fine-tune" takes no rewind point/);
  assert.throws(
    () => check({ strategies: ['rewind@60it'] }),
    /strategies\.0: strategy "rewind@60it": rewind point 60 must be before the end of training \(60 iterations\)/,
  );
  assert.throws(() => check({ branches: [{ kind: 'supermask', chains: ['rewnid'] }] }), /branches\.0\.chains: no chain is named "rewnid"/);
  assert.throws(() => check({ branches: [{ kind: 'supermask', levels: [3] }] }), /branches\.0\.levels: level 3 is beyond pruning\.levels \(2\)/);
  // MNIST keeps its image shape [28, 28, 1] (conv nets take it); flat synthetic vectors do not
  assert.throws(() => check({ model: { name: 'conv-2' } }), /model\.name: model conv-2 needs image input \[h, w, c\].*shape \[\d+\]/);
  assert.throws(() => mnist({ data: { validation: 60000 } }), /data\.validation = 60000 leaves no training examples: mnist has 60000/);
  assert.throws(() => mnist({ data: { testSubset: 10001 } }), /data\.testSubset = 10001 exceeds the 10000 test examples/);
  assert.throws(
    () => mnist({ data: { dataset: 'cifar10', normalize: { mean: [0.5, 0.5], std: [0.2] } }, model: { name: 'conv-2' } }),
    /data\.normalize: mean has 2 values .* 3 channels/,
  );
  assert.throws(
    () => mnist({ pruning: { exclude: ['fc3'] } }),
    /pruning\.exclude: lenet-300-100 has no layer or kind "fc3" \(layers: fc1, fc2, output; kinds: fc, output\)/,
  );
  // a training length in epochs resolves against the split size the spec asks for: 1 epoch = floor(540 / 30) = 18 steps
  assert.throws(
    () =>
      check({
        training: { iterations: '1ep', batchSize: 30 },
        data: { dataset: 'synthetic', validation: 60, synthetic: { train: 540 } },
        strategies: ['rewind@18it'],
      }),
    /rewind point 18 must be before the end of training \(18 iterations\)/,
  );
  assert.equal(
    check({ training: { iterations: '1ep', batchSize: 30 }, data: { dataset: 'synthetic', validation: 60, synthetic: { train: 540 } } }).plan.iterations,
    18,
  );
});

test('all-zero pruning rates are refused with the fix; one zero rate, or no levels, stays allowed', () => {
  assert.throws(
    () => mnist({ pruning: { rates: { fc: 0, output: 0 } } }),
    /pruning\.rates: every rate that applies to lenet-300-100 \(fc, output\) is 0.*set one above 0/,
  );
  assert.throws(() => mnist({ pruning: { scope: 'global', globalRate: 0 } }), /pruning\.globalRate is 0.*set it above 0/);
  // conv rate 0 is irrelevant to an MLP: still all-zero for what it has
  assert.throws(() => mnist({ pruning: { rates: { conv: 0.5, fc: 0, output: 0 } } }), /pruning\.rates/);
  // the remaining layers' rates are all 0 once fc is excluded
  assert.throws(() => mnist({ pruning: { rates: { output: 0 }, exclude: ['fc'] } }), /pruning\.rates/);
  assert.throws(() => mnist({ pruning: { exclude: ['fc', 'output'] } }), /pruning\.exclude leaves no layer of lenet-300-100 to prune/);
  assert.doesNotThrow(() => mnist({ pruning: { rates: { output: 0 } } }));
  assert.doesNotThrow(() => mnist({ pruning: { rates: { fc: 0, output: 0 }, levels: 0 } }));
  assert.doesNotThrow(() => mnist({ pruning: { scope: 'global', rates: { fc: 0, output: 0 } } }));
});

test('errors name --set when the bad value came from --set, and the file otherwise', () => {
  const dir = tmp();
  const file = join(dir, 's.json');
  writeFileSync(file, JSON.stringify({ name: 's', pruning: { levels: 2 } }));
  assert.throws(() => checkSpec(loadSpec(file, ['strategies=["rewnid"]'])), /^UserError: --set strategies=\["rewnid"\]: strategies\.0: unknown strategy/);
  assert.throws(
    () => checkSpec(loadSpec(file, ['branches=[{"kind":"supermask","levels":[5]}]'])),
    /--set branches=.*: branches\.0\.levels: level 5 is beyond pruning\.levels \(2\)/,
  );
  assert.throws(() => loadSpec(file, ['training.batchSize=0']), /--set training\.batchSize=0: training\.batchSize: /);
  assert.throws(() => loadSpec(file, ['trainig.batchSize=30']), /--set trainig\.batchSize=30: trainig: unknown field: did you mean training\?/);
  assert.throws(
    () => loadSpec(file, ['pruning.xyzzy=1']),
    /--set pruning\.xyzzy=1: pruning\.xyzzy: unknown field \(pruning's fields: granularity, .*, schedule; lth spec explains them\)$/,
  );
  // the same mistake in the file names the file
  writeFileSync(file, JSON.stringify({ name: 's', strategies: ['rewnid'], training: { batchSize: 30 } }));
  assert.throws(
    () => checkSpec(loadSpec(file, ['training.batchSize=20'])),
    (e: Error) => e.message.startsWith(`invalid spec ${file}: strategies.0`),
  );
});

test("a cross-field mistake names the --set of either field: the other field's --set with the file, or both --sets", () => {
  const dir = tmp();
  const file = join(dir, 's.json');
  writeFileSync(file, JSON.stringify({ name: 's', pruning: { levels: 3 }, branches: [{ kind: 'supermask', levels: [3] }], strategies: ['rewind@20it'] }));
  const fails = (sets: string[]) => {
    try {
      checkSpec(loadSpec(file, sets));
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail(`${sets.join(' ')} passed`);
  };
  // the branch's level is the file's; pruning.levels, which it is checked against, is the --set's
  assert.equal(fails(['pruning.levels=2']), `invalid spec ${file} with --set pruning.levels=2: branches.0.levels: level 3 is beyond pruning.levels (2)`);
  assert.match(
    fails(['pruning.levels=2', 'branches.0.levels=[3]']),
    /^--set branches\.0\.levels=\[3\], --set pruning\.levels=2: branches\.0\.levels: level 3 /,
  );
  // a rewind point is checked against the training length
  assert.match(
    fails(['training.iterations=10it']),
    new RegExp(
      `^invalid spec ${file} with --set training\\.iterations=10it: strategies\\.0: strategy "rewind@20it": rewind point 20 must be before the end of training \\(10 iterations\\)$`,
    ),
  );
  // the data set's size, for the split sizes
  assert.match(
    fails(['data.testSubset=300', 'data.dataset=synthetic', 'data.synthetic.test=200']),
    /^--set data\.testSubset=300, --set data\.dataset=synthetic, --set data\.synthetic\.test=200: data\.testSubset = 300 exceeds the 200 test examples/,
  );
  // a --set of a field the check did not read is not named
  writeFileSync(file, JSON.stringify({ name: 's', pruning: { levels: 2 }, branches: [{ kind: 'supermask', levels: [3] }] }));
  assert.equal(fails(['training.batchSize=20']), `invalid spec ${file}: branches.0.levels: level 3 is beyond pruning.levels (2)`);
});

test("a model file with a layer lth cannot read: its field and the layer, without a note on the data's shape", () => {
  const dir = tmp();
  const model = join(dir, 'lstm.json');
  const layer = (class_name: string, config: object) => ({ class_name, config });
  writeFileSync(
    model,
    JSON.stringify({
      modelTopology: {
        class_name: 'Sequential',
        config: { name: 'm', layers: [layer('LSTM', { name: 'rnn', units: 4, batch_input_shape: [null, 16] }), layer('Dense', { name: 'out', units: 3 })] },
      },
    }),
  );
  assert.throws(
    () => check({ model: { file: model } }),
    (e: Error) => /^invalid spec s\.json: model\.file .*lstm\.json: layer "rnn" is a LSTM, which lth cannot read/.test(e.message) && !/shape/.test(e.message),
  );
  // what a model cannot take of the data keeps the note
  assert.throws(() => check({ model: { name: 'conv-2' } }), /\(data\.dataset "synthetic" gives examples of shape \[16\]\)$/);
});

/** Dotted paths of every field of a resolved spec, with its value (plain objects recursed, the rest whole). */
function leaves(v: unknown, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !('unit' in v) && !TAGGED.includes(path))
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  else out.set(path, v);
  return out;
}

/** Tagged unions: listed whole, and per variant as path(tag=value).field */
const TAGGED = ['training.optimizer', 'training.schedule'];

test('lth spec lists every field of the resolved defaults with its default, and every branch kind', () => {
  const r = lth(['spec']);
  assert.equal(r.status, 0, r.stderr);
  const listed = new Map<string, string>();
  for (const m of r.stdout.matchAll(/^(\S+)\n {4}([^\n]*)/gm)) listed.set(m[1], m[2]);
  const defaults = leaves(specSchema.parse({ name: 'x' }), '', new Map());
  for (const [path, value] of defaults) {
    if (path === 'name') continue;
    assert.ok(listed.has(path), `lth spec does not list ${path}`);
    // the listed default, written into a spec, resolves to the resolved default
    const shown = /default (.*)$/.exec(listed.get(path)!)?.[1];
    assert.ok(shown !== undefined, `${path}: no default in "${listed.get(path)}"`);
    const resolved = leaves(validateSpec(applySets({ name: 'x' }, [`${path}=${shown}`]), 't').spec, '', new Map()).get(path);
    assert.deepEqual(resolved, value, `${path}: listed default ${shown}`);
  }
  const adam = specSchema.parse({ name: 'x' }).training.optimizer;
  for (const [k, v] of Object.entries(adam))
    if (k !== 'name') assert.ok(listed.get(`training.optimizer(name=adam).${k}`)?.endsWith(`default ${JSON.stringify(v)}`), k);
  for (const kind of ['random-reinit', 'random-mask', 'supermask', 'learned-supermask']) assert.ok(listed.has(`branches[](kind=${kind})`), kind);
  assert.match(r.stdout, /^ {2}lr-rewind\[@k\]: /m);
});

test('lth spec FILE --set prints the resolved spec and its identity', () => {
  const dir = tmp();
  const file = join(dir, 's.json');
  writeFileSync(file, JSON.stringify(tinySpec()));
  const r = lth(['spec', file, '--set', 'pruning.levels=3']);
  assert.equal(r.status, 0, r.stderr);
  const expected = loadSpec(file, ['pruning.levels=3']);
  const printed = r.stdout.slice(0, r.stdout.lastIndexOf('\nidentity '));
  assert.deepEqual(JSON.parse(printed), JSON.parse(expected.json));
  assert.equal(JSON.parse(printed).pruning.levels, 3);
  assert.match(r.stdout, new RegExp(`identity ${expected.hash} \\(compute version 2;`));
  const bad = lth(['spec', file, '--set', 'model.name=conv-2']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^lth: error: --set model\.name=conv-2: model\.name: /);
});

test('--set into a section chosen by its name (optimizer): one line naming the --set and the missing name', () => {
  const dir = tmp();
  const file = join(dir, 's.json');
  writeFileSync(file, JSON.stringify({ name: 'x' }));
  const r = lth(['spec', file, '--set', 'training.optimizer.lr=0.01']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^lth: error: --set training\.optimizer\.lr=0\.01: training\.optimizer\.name must be one of adam, sgd .*--set training\.optimizer\.name=adam/,
  );
  const ok = lth(['spec', file, '--set', 'training.optimizer.name=adam', '--set', 'training.optimizer.lr=0.01']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout.slice(0, ok.stdout.lastIndexOf('\nidentity '))).training.optimizer.lr, 0.01);
});

test('two chains that are one computation are named in a warning before any level trains', async () => {
  const constant = check({ strategies: ['lr-rewind', 'fine-tune', 'rewind'] }).warnings;
  assert.equal(constant.length, 1);
  assert.match(
    constant[0],
    /strategies "lr-rewind" and "fine-tune" are the same computation: .*fineTuneIterations = iterations.*Renda et al\. \(2020\).*"kind":"step"/,
  );
  // a decaying schedule, a shorter fine-tune or a rewind point other than 0: different computations
  assert.deepEqual(
    check({
      strategies: ['lr-rewind', 'fine-tune'],
      training: { iterations: '60it', evalEvery: '20it', batchSize: 30, schedule: { kind: 'step', milestones: ['30it'] } },
    }).warnings,
    [],
  );
  assert.deepEqual(
    check({ strategies: ['lr-rewind', 'fine-tune'], training: { iterations: '60it', evalEvery: '20it', batchSize: 30, fineTuneIterations: '40it' } }).warnings,
    [],
  );
  assert.deepEqual(check({ strategies: ['lr-rewind@20it', 'fine-tune'] }).warnings, []);
  // the same reset under two names
  assert.match(
    check({
      strategies: [
        { reset: 'rewind', name: 'a' },
        { reset: 'rewind', name: 'b' },
      ],
    }).warnings[0],
    /strategies "a" and "b" are the same computation/,
  );
  assert.deepEqual(
    check({
      strategies: [
        { reset: 'rewind', name: 'a' },
        { reset: 'rewind', name: 'b', mask0: 'freeze-init' },
      ],
    }).warnings,
    [],
  );
  // random draws keyed by the chain name: independent, not twins
  assert.deepEqual(
    check({
      strategies: [
        { reset: 'random-reinit', name: 'a' },
        { reset: 'random-reinit', name: 'b' },
      ],
    }).warnings,
    [],
  );
  assert.deepEqual(check({ strategies: ['lr-rewind', 'fine-tune'], pruning: { levels: 2, criterion: 'random' } }).warnings, []);

  const events: string[] = [];
  const db = join(tmp(), 'w.db');
  await runExperiment(validateSpec(tinySpec({ pruning: { levels: 2 }, strategies: ['lr-rewind', 'fine-tune'] }), 't'), {
    db,
    backend: 'wasm',
    onProgress: (e) => events.push(e.type === 'log' ? e.message : e.type),
  });
  const warn = events.findIndex((e) => e.startsWith('warning: strategies "lr-rewind" and "fine-tune"'));
  assert.ok(warn >= 0 && warn < events.indexOf('level-start'), events.slice(0, 4).join(' | '));
  // fine-tune is stored as a copy of lr-rewind (test/twin-chains.test.ts checks it against fine-tune trained alone)
  const rows = levelRows(db).map(({ strategy, ...r }) => ({ strategy, r: JSON.stringify(r) }));
  const of = (s: string) => rows.filter((x) => x.strategy === s).map((x) => x.r);
  assert.equal(of('lr-rewind').length, 3);
  assert.deepEqual(of('fine-tune'), of('lr-rewind'));
});

test('a weight criterion under neuron or filter granularity is refused, not silently unused', () => {
  for (const over of [
    { pruning: { granularity: 'neuron' as const, criterion: 'obd' as const } },
    { pruning: { granularity: 'neuron' as const }, strategies: [{ reset: 'rewind', criterion: 'magnitude_increase' as const }] },
  ])
    assert.throws(
      () => check(over),
      /ranks single weights, but pruning\.granularity "neuron" removes whole units: choose a unit score with pruning\.unitCriterion/,
    );
  assert.doesNotThrow(() => check({ pruning: { granularity: 'neuron', unitCriterion: 'apoz' } }));
  assert.doesNotThrow(() => check({ pruning: { criterion: 'obd' } }));
});

test('a folder given as the spec or the database, and several unknown fields: one line each that names them all', () => {
  const dir = tmp();
  const folder = lth(['run', dir, '--db', join(dir, 'x.db')]);
  assert.equal(folder.status, 2);
  assert.match(folder.stderr, /is a folder: give the path of a JSON spec in it/);
  for (const cmd of [['status'], ['report', 'x'], ['query', 'SELECT 1']]) {
    const r = lth([...cmd, '--db', dir]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /is a folder, not a database file: pass --db FOLDER\/lth\.db/);
  }
  const file = join(dir, 's.json');
  writeFileSync(file, JSON.stringify({ name: 'x', foo: 1, training: { bar: 2 } }));
  const r = lth(['spec', file]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /(foo|training\.bar): unknown field.*\(also: (foo|training\.bar)\)/);
  assert.equal(existsSync(join(dir, 'x.db')), false, 'nothing written');
});

test('milestones at or past the end of training are named in a warning (the LR would never step there)', () => {
  const steps = { iterations: '60it', evalEvery: '20it', batchSize: 30 } as const;
  const late = check({ training: { ...steps, schedule: { kind: 'step', milestones: ['30it', '60it', '90it'] } } }).warnings;
  assert.equal(late.length, 1);
  assert.match(
    late[0],
    /^training\.schedule\.milestones: 60it, 90it are at or past the end of training \(training\.iterations = 60it\).*--set training\.schedule\.milestones/,
  );
  assert.deepEqual(check({ training: { ...steps, schedule: { kind: 'step', milestones: ['30it', '59it'] } } }).warnings, []);
});
