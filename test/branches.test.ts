import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildModel, initialize, type Masks } from '../src/models/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { specSchema, validateSpec, type SpecInput } from '../src/spec/index.js';
import { Store } from '../src/storage/db.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { trainSupermask } from '../src/training/supermask.js';
import { makeRng } from '../src/util/rng.js';
import { levelRows, tinySpec, tmp } from './helpers/common.js';

before(async () => {
  await initBackend('wasm');
});

/** Short training: branches multiply the rows, and these tests check bookkeeping, not accuracy. */
const fast = (over: Partial<SpecInput> = {}): SpecInput =>
  tinySpec({ training: { iterations: '20it', evalEvery: '10it', batchSize: 30 }, strategies: ['rewind'], ...over });

const branches: SpecInput['branches'] = [
  { kind: 'random-reinit', count: 2 },
  { kind: 'random-mask' },
  { kind: 'supermask' },
  { kind: 'learned-supermask', iterations: '20it' },
];

const query = <T>(db: string, sql: string, ...args: unknown[]): T[] => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all(...args) as T[];
  } finally {
    d.close();
  }
};

test('branch rows: labels, replicates, levels, iterations, mask reuse; a re-run adds nothing', async () => {
  const db = join(tmp(), 'b.db');
  const spec = validateSpec(fast({ branches }), 't');
  const r = await runExperiment(spec, { db, backend: 'wasm' });
  // 3 chain rows (levels 0–2) + per pruned level: 2 reinit + 1 random mask + 2 supermask; + 1 learned supermask at level 0
  assert.equal(r.levelsTrained, 3 + 2 * 5 + 1);
  const rows = levelRows(db);
  const at = (branch: string | null, level: number) => rows.filter((x) => x.branch === branch && x.level === level);
  for (const level of [1, 2]) {
    const chain = at(null, level)[0];
    assert.deepEqual(
      at('random-reinit', level).map((x) => x.replicate),
      [0, 1],
    );
    for (const x of at('random-reinit', level)) {
      assert.equal(x.strategy, 'rewind');
      assert.equal(x.mask_hash, chain.mask_hash, 'random-reinit reuses the ticket’s mask');
      assert.equal(x.iterations, 20);
    }
    const [rm] = at('random-mask', level);
    assert.notEqual(rm.mask_hash, chain.mask_hash, 'random-mask moves the positions');
    assert.equal(rm.percent_remaining, chain.percent_remaining);
    for (const label of ['supermask', 'supermask-signed-constant']) {
      const [s] = at(label, level);
      assert.equal(s.iterations, 0, `${label} is evaluated only`);
      assert.equal(s.mask_hash, chain.mask_hash);
      assert.equal(s.early_stop_iteration, 0);
    }
  }
  assert.equal(at('random-reinit', 0).length, 0, "'all' means the pruned levels");
  const [ls] = at('learned-supermask', 0);
  assert.equal(ls.iterations, 20);
  assert.ok((ls.percent_remaining as number) < 100, 'a sampled supermask drops weights');
  // per-layer counts of the random mask equal the chain's, layer by layer
  const layers = (branch: string, level: number) =>
    query<{ layer: string; remaining: number }>(
      db,
      "SELECT layer, remaining FROM layer_sparsity s JOIN results r ON r.id = s.result_id WHERE r.strategy = 'rewind' AND r.branch = ? AND r.level = ? ORDER BY layer",
      branch,
      level,
    );
  assert.deepEqual(layers('random-mask', 2), layers('', 2));
  // Branch rows store no trained weights (docs/CONTROLS.md#branches): a file only for a mask
  // that is not the chain's (random-mask) and for a learned supermask's sample and scores.
  const files = query<{ key: string }>(db, "SELECT key FROM artifacts WHERE key LIKE '%/level-%-%' ORDER BY key").map((x) => x.key);
  assert.deepEqual(files, ['trial-0/rewind/level-0-learned-supermask-0', 'trial-0/rewind/level-1-random-mask-0', 'trial-0/rewind/level-2-random-mask-0']);
  const again = await runExperiment(spec, { db, backend: 'wasm' });
  assert.equal(again.levelsTrained, 0);
  assert.deepEqual(levelRows(db), rows);
});

test('an interrupt between branch rows resumes to the same rows as an uninterrupted run', async () => {
  const spec = validateSpec(
    fast({
      pruning: { levels: 1 },
      branches: [
        { kind: 'random-reinit', count: 2 },
        { kind: 'supermask', weights: ['init'] },
      ],
    }),
    't',
  );
  const ref = join(tmp(), 'ref.db');
  await runExperiment(spec, { db: ref, backend: 'wasm' });
  {
    // dense, level 1 and one of its branch rows stored: the other two must run for the stored level
    const stopAfter = 3;
    const db = join(tmp(), `i${stopAfter}.db`);
    let done = 0;
    const r = await runExperiment(spec, { db, backend: 'wasm', onProgress: (e) => e.type === 'level-done' && done++, shouldStop: () => done >= stopAfter });
    assert.equal(r.interrupted, true);
    assert.equal(query<{ n: number }>(db, 'SELECT count(*) n FROM results')[0].n, stopAfter);
    const rest = await runExperiment(spec, { db, backend: 'wasm' });
    assert.equal(rest.levelsTrained, 5 - stopAfter);
    assert.deepEqual(levelRows(db), levelRows(ref));
  }
});

test('branches can be limited to chains and levels; unknown chains and levels are refused before anything runs', async () => {
  const db = join(tmp(), 'l.db');
  const spec = validateSpec(
    fast({ strategies: ['rewind', 'fine-tune'], branches: [{ kind: 'supermask', weights: ['init'], chains: ['fine-tune'], levels: [2] }] }),
    't',
  );
  await runExperiment(spec, { db, backend: 'wasm' });
  const b = levelRows(db).filter((x) => x.branch !== null);
  assert.deepEqual(
    b.map((x) => [x.strategy, x.branch, x.level]),
    [['fine-tune', 'supermask', 2]],
  );
  const bad = join(tmp(), 'bad.db');
  await assert.rejects(
    runExperiment(validateSpec(fast({ branches: [{ kind: 'supermask', chains: ['nope'] }] }), 't'), { db: bad, backend: 'wasm' }),
    /no chain is named "nope"/,
  );
  await assert.rejects(
    runExperiment(validateSpec(fast({ branches: [{ kind: 'supermask', levels: [9] }] }), 't'), { db: bad, backend: 'wasm' }),
    /beyond pruning.levels/,
  );
  await assert.rejects(
    runExperiment(validateSpec(fast({ branches: [{ kind: 'random-mask' }, { kind: 'random-mask', levels: [1] }] }), 't'), { db: bad, backend: 'wasm' }),
    /both labelled "random-mask"/,
  );
  assert.throws(() => validateSpec(fast({ branches: [{ kind: 'supermsk' } as never] }), 't'), /branches\.0/);
});

test('mask-0 actions in a chain: pruned weights end exactly at θ0 (freeze-init) or exactly 0 (zero)', async () => {
  const db = join(tmp(), 'm0.db');
  const spec = validateSpec(fast({ pruning: { levels: 1 }, strategies: ['rewind', { reset: 'rewind', mask0: 'freeze-init' }] }), 't');
  await runExperiment(spec, { db, backend: 'wasm' });
  const store = new Store(db);
  try {
    const theta0 = store.loadArtifact(1, 'trial-0/theta-0');
    for (const [chain, expect] of [
      ['rewind', 'zero'],
      ['rewind/freeze-init', 'theta0'],
    ] as const) {
      const a = store.loadArtifact(1, `trial-0/${encodeURIComponent(chain)}/level-1`);
      let pruned = 0;
      let moved = 0;
      for (const k of Object.keys(a).filter((k) => k.startsWith('m/'))) {
        const name = k.slice(2);
        const m = a[k];
        const w = a[`w/${name}`];
        for (let i = 0; i < m.length; i++) {
          if (m[i]) moved += w[i] !== theta0[name][i] ? 1 : 0;
          else {
            pruned++;
            assert.ok(expect === 'zero' ? w[i] === 0 : Object.is(w[i], theta0[name][i]), `${chain} ${name}[${i}] = ${w[i]}`);
          }
        }
      }
      assert.ok(pruned > 0 && moved > 0);
    }
  } finally {
    store.close();
  }
});

test('one-shot and iterative series line up at the same % remaining', async () => {
  const rows = async (schedule: 'iterative' | 'one-shot') => {
    const db = join(tmp(), `${schedule}.db`);
    await runExperiment(validateSpec(fast({ pruning: { levels: 3, schedule } }), 't'), { db, backend: 'wasm' });
    return levelRows(db);
  };
  const it = await rows('iterative');
  const os = await rows('one-shot');
  assert.deepEqual(
    os.map((r) => r.percent_remaining),
    it.map((r) => r.percent_remaining),
  );
  assert.notEqual(os[3].mask_hash, it[3].mask_hash, 'different pruning paths give different masks');
});

test('learned supermask: scores move, the frozen weights do not (bit for bit), samples stay inside m_L', async () => {
  const spec = specSchema.parse(fast());
  const data = await loadDataset(spec.data, spec.seed, {});
  const model = buildModel('mlp-small', data.inputShape, data.numClasses);
  const plan = resolveSchedule(spec.training, data.train.n);
  const theta0 = initialize(model, 'glorot-normal', 'theta0', 1);
  const rng = makeRng('m');
  const masks: Masks = {};
  const frozen = { ...theta0 };
  for (const p of model.params)
    if (p.kind !== 'none') {
      masks[p.name] = Uint8Array.from(theta0[p.name], () => (rng.uniform() < 0.8 ? 1 : 0));
      frozen[p.name] = theta0[p.name].map((v, i) => (masks[p.name][i] ? v : 0));
    }
  const before = Object.fromEntries(Object.entries(frozen).map(([k, v]) => [k, Float32Array.from(v)]));
  const res = await trainSupermask({ model, data, plan, frozen, masks, steps: 30, lr: 0.1, scoreInit: 0, orderKey: ['d'], sampleKey: ['s'] });
  const bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];
  for (const p of model.params) {
    assert.deepEqual(bits(res.weights[p.name]), bits(before[p.name]), `${p.name} moved`);
    assert.deepEqual(bits(frozen[p.name]), bits(before[p.name]), `${p.name} input was modified`);
  }
  for (const [name, s] of Object.entries(res.scores)) {
    const m = masks[name];
    assert.ok(
      s.some((v, i) => m[i] && v !== 0),
      `${name}: no score moved`,
    );
    s.forEach((v, i) => m[i] || assert.equal(v, 0, 'scores outside m_L stay put'));
    res.sampled[name].forEach((v, i) => m[i] || assert.equal(v, 0, 'a sample revived a pruned weight'));
  }
  assert.equal(res.curve.length, 4); // evals at 0, 10, 20 and the end
  assert.equal(res.iterations, 30);
});
