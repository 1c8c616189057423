import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../src/data/index.js';
import { buildSpecModel, type Weights } from '../src/models/index.js';
import { runExperiment, trialSeed, type ProgressEvent } from '../src/orchestration/index.js';
import { resolveSchedule, train } from '../src/training/index.js';
import { checkSpec } from '../src/spec/check.js';
import { validateSpec, type SpecInput } from '../src/spec/index.js';
import { Store } from '../src/storage/db.js';
import { keys } from '../src/storage/levels.js';
import { UserError } from '../src/util/index.js';
import { lth, tinySpec, tmp } from './helpers/common.js';

/**
 * Ticket transfer (issue 25 item 2; docs/DESIGN.md#ticket-transfer): a chain of one experiment
 * starts from a stored level of another. The source trains 3 Gaussian classes in 16 dimensions;
 * the target, with the same input shape, 4 other classes (another data seed), so its output
 * layer is drawn fresh.
 */
const dir = tmp('lth-ticket-');
const db = join(dir, 'lth.db');
const source = tinySpec({ name: 'src', pruning: { levels: 2 }, strategies: ['rewind', 'rewind@20it'] });
const target = (over: Partial<SpecInput> = {}, ticket: Record<string, unknown> = {}, reset = 'rewind'): SpecInput =>
  tinySpec({
    name: 'dst',
    seed: 11,
    data: { dataset: 'synthetic', validation: 200, synthetic: { train: 600, test: 200, features: 16, classes: 4 } },
    pruning: { levels: 2 },
    strategies: [{ name: 'transfer', reset, ticket: { experiment: 'src', chain: reset === 'rewind' ? 'rewind' : reset, level: 2, ...ticket } } as never],
    ...over,
  });
const run = (s: SpecInput, dbPath = db) => runExperiment(validateSpec(s, 'test'), { db: dbPath, backend: 'cpu' });

/** A refusal: one UserError line matching `msg`. */
async function refused(p: Promise<unknown>, msg: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UserError, String(e.stack));
    assert.doesNotMatch(e.message, /\n/);
    assert.match(e.message, msg);
    return true;
  });
}

const OUTPUT = ['output/kernel', 'output/bias'];

/** Reads everything a test compares, then closes the database. */
function snapshot(name: string, chain: string, level: number, extra: string[] = [], dbPath = db) {
  const store = new Store(dbPath, { readonly: true });
  try {
    const exp = store.experiments().find((e) => e.name === name)!;
    const files = Object.fromEntries(extra.map((k) => [k, store.hasArtifact(exp.id, k) ? store.loadArtifact(exp.id, k) : null]));
    return { ...store.loadLevel(exp.id, keys.chainLevel(0, chain, level)), maskHash: store.maskHashOf(exp.id, chain, 0, level), files, spec: exp.specJson };
  } finally {
    store.close();
  }
}

before(async () => {
  await run(source);
});

test('a transferred chain trains exactly the source level’s mask from its θ0; the output layer (other classes) starts fresh and unpruned', async () => {
  await run(target());
  const src = snapshot('src', 'rewind', 2, [keys.theta0(0)]);
  const dst = snapshot('dst', 'transfer', 1, [keys.theta0(0), keys.chainTheta0(0, 'transfer')]);
  const srcTheta0 = src.files[keys.theta0(0)]!;
  const ownTheta0 = dst.files[keys.theta0(0)]!;
  const chainTheta0 = dst.files[keys.chainTheta0(0, 'transfer')]!;
  assert.ok(chainTheta0, 'the transferred θ0 is stored with the chain');
  let pruned = 0;
  for (const name of ['fc1/kernel', 'fc1/bias', 'fc2/kernel', 'fc2/bias']) {
    assert.deepEqual(chainTheta0[name], srcTheta0[name], `θ0 ${name} is the source's, bit for bit`);
    if (name.endsWith('kernel')) assert.notDeepEqual(chainTheta0[name], ownTheta0[name], `${name} is not this trial's own θ0 draw`);
  }
  for (const name of ['fc1/kernel', 'fc2/kernel']) {
    assert.deepEqual(dst.masks[name], src.masks[name], `mask ${name} is the source level's`);
    dst.masks[name].forEach((m, i) => {
      if (!m) {
        pruned++;
        assert.equal(dst.weights[name][i], 0, `${name}[${i}] is pruned and stays exactly 0`);
      }
    });
  }
  assert.ok(pruned > 0.3 * (16 * 32 + 32 * 16), `the source's level 2 pruned ~36% of the hidden weights (${pruned})`);
  // the output layer: 4 classes here, 3 in the source: this trial's θ0 draw, all kept
  assert.equal(dst.masks['output/kernel'].length, 16 * 4);
  assert.ok(dst.masks['output/kernel'].every((m) => m === 1));
  for (const name of OUTPUT) assert.deepEqual(chainTheta0[name], ownTheta0[name], `${name} starts from this trial's θ0`);
  // level 1 is exactly a level trained from that θ0 ⊙ m on this trial's batches of level 1: retrained here, the same bits
  const spec = validateSpec(target(), 't').spec;
  const data = await loadDataset(spec.data, spec.seed);
  const model = buildSpecModel(spec.model, data.inputShape, data.numClasses);
  const again = await train({
    model,
    data,
    plan: resolveSchedule(spec.training, data.train.n),
    schedule: { kind: 'replay', from: 0 },
    init: chainTheta0 as Weights,
    masks: dst.masks,
    orderKey: ['data', trialSeed(spec, 0), 1],
  });
  // (=== : a pruned weight may be +0 or −0)
  for (const p of model.params)
    assert.ok(
      again.weights[p.name].every((v, i) => v === dst.weights[p.name][i]),
      `level 1 ${p.name}`,
    );
  // the source's mask hash is pinned in the stored spec
  const stored = JSON.parse(dst.spec) as { strategies: { ticket: { maskHash: string } }[] };
  assert.equal(stored.strategies[0].ticket.maskHash, src.maskHash);
  // level 2 prunes on from level 1's survivors, and rewinds to the transferred θ0
  const l2 = snapshot('dst', 'transfer', 2);
  for (const name of ['fc1/kernel', 'fc2/kernel']) dst.masks[name].forEach((m, i) => assert.ok(m || !l2.masks[name][i], `${name}[${i}] stays pruned`));
});

test('with the same classes, the first level’s mask is the source level’s (same mask hash); rewind@k starts from the source’s θ_k', async () => {
  const same = { data: source.data, seed: 5, pruning: { levels: 1 } };
  await run({ ...target(same, { chain: 'rewind@20it' }, 'rewind@20it'), name: 'same' });
  const src = snapshot('src', 'rewind@20it', 2, [keys.thetaK(0, 20)]);
  const dst = snapshot('same', 'transfer', 1, [keys.chainThetaK(0, 'transfer', 20), keys.chainTheta0(0, 'transfer')]);
  assert.equal(dst.maskHash, src.maskHash);
  const thetaK = dst.files[keys.chainThetaK(0, 'transfer', 20)]!;
  for (const name of Object.keys(src.files[keys.thetaK(0, 20)]!)) assert.deepEqual(thetaK[name], src.files[keys.thetaK(0, 20)]![name], `θ_k ${name}`);
});

test('refused in one line before any work: shapes that disagree, a missing source, and resets a ticket cannot start', async () => {
  const wider = target({ name: 'wide', data: { dataset: 'synthetic', validation: 200, synthetic: { train: 600, test: 200, features: 20, classes: 3 } } });
  await refused(
    run(wider),
    /^strategies\.0\.ticket: fc1\/kernel is \[16,32\] in the source "src" \(mlp-small on synthetic, examples \[16\]\) and \[20,32\] in mlp-small/,
  );
  await refused(
    run(target({ name: 'x1' }, { experiment: 'nope' })),
    /^strategies\.0\.ticket\.experiment: no experiment "nope" in \S+ \(experiments: src, dst, same\): run it first, or set strategies\.0\.ticket\.db to the database that holds it$/,
  );
  await refused(
    run(target({ name: 'x7' }, { experiment: 'scr' })),
    /^strategies\.0\.ticket\.experiment: no experiment "scr" in \S+: did you mean "src"\? \(experiments: src, dst, same\)$/,
  );
  await refused(
    run(target({ name: 'x2' }, { chain: 'fine-tune' })),
    /^strategies\.0\.ticket\.chain: experiment "src" has no stored level of chain "fine-tune" in trial 0 \(chains: /,
  );
  await refused(
    run(target({ name: 'x3' }, { level: 3 })),
    /^strategies\.0\.ticket\.level: chain "rewind" of experiment "src" has no stored level 3 in trial 0 \(stored: 1, 2\)/,
  );
  await refused(run(target({ name: 'x4' }, { db: join(dir, 'absent.db') })), /^strategies\.0\.ticket\.db: no database .*absent\.db/);
  await refused(run(target({ name: 'x5' }, { chain: 'rewind' }, 'rewind@30it')), /rewinds to θ_k at 30 iterations, which experiment "src" did not keep/);
  await refused(run(target({ name: 'x6' }, { maskHash: '0123456789abcdef' })), /^strategies\.0\.ticket\.maskHash: .* the spec pins 0123456789abcdef/);
  const names = snapshotNames();
  assert.deepEqual(names, ['src', 'dst', 'same'], 'nothing of a refused run is stored');
  assert.throws(
    () => checkSpec(validateSpec(target({}, {}, 'fine-tune'), 't')),
    /strategies\.0\.reset: "fine-tune" starts from the previous level's final weights/,
  );
  assert.throws(
    () => checkSpec(validateSpec({ ...target(), branches: [{ kind: 'supermask', levels: [0] }] }, 't')),
    /branches\.0: level 0 is this experiment's dense network/,
  );
});

function snapshotNames(): string[] {
  const store = new Store(db, { readonly: true });
  try {
    return store.experiments().map((e) => e.name);
  } finally {
    store.close();
  }
}

test("identity: another source level is a changed chain, refused on resume; moving the source's database is no change", async () => {
  await refused(
    run(target({}, { level: 1 })),
    /experiment "dst" already exists with a different spec: strategies\[transfer\]\.ticket\.level, strategies\[transfer\]\.ticket\.maskHash differ/,
  );
  // the source copied elsewhere (its weights folder beside it): the same ticket, so the stored experiment resumes with nothing to do
  const other = join(dir, 'moved.db');
  copyFileSync(db, other);
  const r = await runExperiment(validateSpec(target({}, { db: other }), 't'), { db, backend: 'cpu' });
  assert.equal(r.levelsTrained, 0);
});

test('a chain that starts from a ticket says so in one progress line, when its level 1 starts (not again on resume; lth run prints it, --quiet does not)', async () => {
  const spec = { ...target({ strategies: ['rewind', ...(target().strategies ?? [])] }), name: 'told' };
  const logs = async () => {
    const events: ProgressEvent[] = [];
    await runExperiment(validateSpec(spec, 't'), { db, backend: 'cpu', onProgress: (e) => events.push(e) });
    return events.flatMap((e) => (e.type === 'log' ? [e.message] : e.type === 'level-start' ? [`start ${e.job} ${e.level}`] : []));
  };
  const store = new Store(db, { readonly: true });
  const p = store.percentRemaining(store.experiments().find((e) => e.name === 'src')!.id, 'rewind', 0, 2)!;
  store.close();
  assert.ok(p > 30 && p < 90, `the source's level 2 (${p}% remaining)`);
  const first = await logs();
  const line = `transfer t0: starts from the ticket of src chain rewind level 2 (${p.toFixed(1)}% remaining, db ${db}; output layer from this trial's θ0: other classes)`;
  assert.deepEqual(
    first.filter((l) => !l.startsWith('start ')),
    [line],
    'one line, for the chain with a ticket only (not for its rewind chain)',
  );
  assert.equal(first.indexOf(line) + 1, first.indexOf('start transfer t0 1'), 'right before its level 1 trains');
  assert.deepEqual(await logs(), [], 'resumed with nothing to do: no line');
  // the CLI, progress as lines (stderr is not a terminal here), and --quiet
  const dir2 = tmp('lth-ticket-cli-');
  const file = join(dir2, 'told.json');
  writeFileSync(file, JSON.stringify({ ...spec, name: 'told-cli' }));
  const r = lth(['run', file, '--db', db, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n');
  const at = lines.findIndex((l) => l.startsWith('transfer t0: starts from the ticket of src chain rewind level 2 ('));
  assert.ok(at > 0 && lines[at + 1].startsWith('transfer t0 level 1: '), r.stderr);
  writeFileSync(file, JSON.stringify({ ...spec, name: 'told-quiet' }));
  const q = lth(['run', file, '--db', db, '--backend', 'wasm', '--quiet']);
  assert.equal(q.status, 0, q.stderr);
  assert.doesNotMatch(q.stderr + q.stdout, /starts from the ticket/);
});

test('ticket level 0 is refused in one line: a ticket is a pruned level, level 0 the dense network', () => {
  for (const level of [0, -1])
    assert.throws(
      () => validateSpec(target({}, { level }), 't'),
      (e: Error) => {
        assert.ok(e instanceof UserError);
        assert.equal(
          e.message,
          "invalid spec t: strategies.0.ticket.level: a ticket is a pruned level of the source (level ≥ 1); level 0 is its dense network: give level 1 or higher, or leave out ticket to start from this trial's θ0",
        );
        return true;
      },
    );
});
