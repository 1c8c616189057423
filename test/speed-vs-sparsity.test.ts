import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../src/util/tf.js';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { measureSpeed, speedChains, speedFigureData } from '../src/bench/sparsity.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec, type SpecInput } from '../src/spec/index.js';
import { Store, keys } from '../src/storage/index.js';
import { lth, tinySpec, tmp } from './helpers/common.js';

before(async () => {
  await initBackend('cpu');
});

// mlp-small: 16 inputs → fc1 32 → fc2 16 → output 3 (src/models/zoo.ts); two levels at 25% of units
const neuronSpec = (): SpecInput => tinySpec({ pruning: { levels: 2, granularity: 'neuron', rates: { fc: 0.25 } }, strategies: ['rewind'] });
const weightSpec = (): SpecInput => tinySpec({ name: 'tiny-w', pruning: { levels: 2 }, strategies: ['rewind'] });

async function run(spec: SpecInput): Promise<string> {
  const db = join(tmp(), 'speed.db');
  await runExperiment(validateSpec(spec, 't'), { db, backend: 'cpu' });
  return db;
}

/** Alive units per hidden layer, counted here from the stored bias masks (all alive at level 0, which has none). */
function aliveFromMasks(db: string, experiment: string, level: number): { fc1: number; fc2: number } {
  const store = new Store(db, { readonly: true });
  try {
    const id = store.experiments().find((e) => e.name === experiment)!.id;
    const { masks } = store.loadLevel(id, keys.chainLevel(0, 'rewind', level));
    const count = (name: string, units: number) => (masks[name] ? masks[name].reduce((s, v) => s + v, 0) : units);
    return { fc1: count('fc1/bias', 32), fc2: count('fc2/bias', 16) };
  } finally {
    store.close();
  }
}

/** units remaining per layer as lth stored them (table unit_counts), keyed by layer. */
function storedUnits(db: string, level: number): Record<string, number> {
  const d = new Database(db, { readonly: true });
  try {
    const rows = d
      .prepare(
        "SELECT u.layer, u.remaining FROM unit_counts u JOIN results r ON r.id = u.result_id WHERE r.strategy = 'rewind' AND r.level = ? AND r.branch = ''",
      )
      .all(level) as { layer: string; remaining: number }[];
    return Object.fromEntries(rows.map((r) => [r.layer, r.remaining]));
  } finally {
    d.close();
  }
}

test('speed: a neuron-pruned chain exports smaller networks level by level; parameters match the stored masks and unit counts; tensors do not leak', async () => {
  const db = await run(neuronSpec());
  const store = new Store(db, { readonly: true });
  const before = tf.memory().numTensors;
  let r;
  try {
    r = await measureSpeed(store, speedChains(store, 'tiny', undefined, 0), { batch: 50, warmup: 1, repeats: 3 });
  } finally {
    store.close();
  }
  assert.equal(tf.memory().numTensors, before, 'live tensors after measureSpeed');
  assert.deepEqual(
    r.rows.map((x) => x.level),
    [0, 1, 2],
  );
  for (const x of r.rows) {
    assert.ok(Number.isFinite(x.examplesPerSecond) && x.examplesPerSecond > 0, `level ${x.level}: ${x.examplesPerSecond} examples/s`);
    assert.ok(Number.isFinite(x.forwardExamplesPerSecond) && x.forwardExamplesPerSecond > 0);
    // training: lth's step at the spec's batch size, its examples/s consistent with its ms
    assert.ok(Number.isFinite(x.trainMs) && x.trainMs > 0, `level ${x.level}: train ${x.trainMs} ms`);
    assert.ok(Math.abs(x.trainExamplesPerSecond - r.trainBatch / (x.trainMs / 1000)) < 1e-6 * x.trainExamplesPerSecond);
    assert.equal(x.granularity, 'neuron');
    const alive = aliveFromMasks(db, 'tiny', x.level);
    // dense layers' kernels and biases: 16·u1 + u1 + u1·u2 + u2 + u2·3 + 3
    const params = 16 * alive.fc1 + alive.fc1 + alive.fc1 * alive.fc2 + alive.fc2 + alive.fc2 * 3 + 3;
    assert.equal(x.params, params, `level ${x.level} params`);
    assert.deepEqual(x.units, { fc1: alive.fc1, fc2: alive.fc2, output: 3 });
    if (x.level > 0) assert.deepEqual(storedUnits(db, x.level), { fc1: alive.fc1, fc2: alive.fc2 });
  }
  // 25% of units per level, rounded as the masker does: 32 → 24 → 18, 16 → 12 → 9
  assert.deepEqual(
    r.rows.map((x) => [x.units.fc1, x.units.fc2]),
    [
      [32, 16],
      [24, 12],
      [18, 9],
    ],
  );
  for (let i = 1; i < r.rows.length; i++) {
    assert.ok(r.rows[i].params < r.rows[i - 1].params);
    assert.ok(r.rows[i].percentRemaining < r.rows[i - 1].percentRemaining);
  }
  assert.equal(r.rows[0].speedup, 1);
  assert.equal(r.rows[0].trainSpeedup, 1);
  assert.equal(r.rows[0].percentRemaining, 100);
  assert.equal(r.trainBatch, validateSpec(neuronSpec(), 't').spec.training.batchSize);
  // the figure: one point per level and timed call (predict, forward, train)
  const fig = speedFigureData(r);
  assert.deepEqual([...new Set(fig.map((d) => d.call))], ['predict', 'forward', 'train']);
  assert.equal(fig.length, 3 * r.rows.length);
});

test('speed: weight-pruned levels export full-size dense kernels (same parameter count) while % remaining falls', async () => {
  const db = await run(weightSpec());
  const store = new Store(db, { readonly: true });
  const before = tf.memory().numTensors;
  try {
    const r = await measureSpeed(store, speedChains(store, 'tiny-w', ['rewind'], 0), { batch: 20, warmup: 0, repeats: 1 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(r.rows.length, 3);
    const dense = 16 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3;
    for (const x of r.rows) {
      assert.equal(x.params, dense);
      assert.equal(x.granularity, 'weight');
      assert.ok(x.examplesPerSecond > 0);
    }
    assert.ok(r.rows[2].percentRemaining < r.rows[1].percentRemaining && r.rows[1].percentRemaining < 100);
    assert.throws(() => speedChains(store, 'tiny-w', ['nope'], 0), /no chain "nope".*--strategy with one of rewind/);
    assert.throws(() => speedChains(store, 'tiny-w', undefined, 4), /no pruned level stored for trial 4/);
  } finally {
    store.close();
  }
  // no exported folder is left behind
  assert.deepEqual(
    readdirSync(tmpdir()).filter((f) => f.startsWith('lth-speed-') && existsSync(join(tmpdir(), f, '0'))),
    [],
  );
});

test('lth plot --kind speed writes a PNG and prints one row per level; bad --out and unknown chains stop before measuring', async () => {
  const db = await run(neuronSpec());
  const out = join(tmp(), 'speed.png');
  const r = lth(['plot', 'tiny', '--kind', 'speed', '--out', out, '--db', db, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  const png = readFileSync(out);
  assert.ok(png.length > 1000);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const levelRows = r.stdout.split('\n').filter((l) => /│ rewind \(neuron\)\s+│ \d/.test(l));
  assert.equal(levelRows.length, 3, r.stdout);
  const bad = lth(['plot', 'tiny', '--kind', 'speed', '--out', join(tmp(), 'x.txt'), '--db', db]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--out must end in \.svg or \.png/);
  const nope = join(tmp(), 'n.png');
  const unknown = lth(['plot', 'tiny', '--kind', 'speed', '--strategy', 'nope', '--out', nope, '--db', db, '--backend', 'cpu']);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /no chain "nope"/);
  assert.equal(existsSync(nope), false);
});

test('lth bench --only sparsity --quick: trains the weight/neuron pair, one row per level, the figure and JSON', { timeout: 120_000 }, () => {
  const dir = tmp();
  const json = join(dir, 'b.json');
  const png = join(dir, 'speed.png');
  const r = lth(['bench', '--quick', '--only', 'sparsity', '--backends', 'wasm', '--json', json, '--out', png]);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(readFileSync(json, 'utf8')) as {
    sparsity: { rows: { series: string; level: number; params: number; examplesPerSecond: number; units: Record<string, number> }[] };
  };
  const rows = rep.sparsity.rows;
  const w = rows.filter((x) => x.series === 'rewind (weight)');
  const n = rows.filter((x) => x.series === 'rewind (neuron)');
  assert.deepEqual(
    w.map((x) => x.level),
    [0, 1, 2],
  );
  assert.deepEqual(
    n.map((x) => x.level),
    [0, 1, 2],
  );
  // LeNet-300-100, half the hidden units per level: 300 → 150 → 75, 100 → 50 → 25
  assert.deepEqual(
    n.map((x) => [x.units.fc1, x.units.fc2]),
    [
      [300, 100],
      [150, 50],
      [75, 25],
    ],
  );
  assert.deepEqual(
    n.map((x) => x.params),
    [0, 1, 2].map((i) => {
      const [a, b] = [300 / 2 ** i, 100 / 2 ** i];
      return 784 * a + a + a * b + b + b * 10 + 10;
    }),
  );
  assert.ok(w.every((x) => x.params === 266610));
  assert.ok(rows.every((x) => x.examplesPerSecond > 0));
  assert.ok(readFileSync(png).length > 1000);
  assert.match(r.stdout, /examples\/s|ex\/s/);
  const misuse = lth(['bench', '--only', 'step', '--experiment', 'x']);
  assert.notEqual(misuse.status, 0);
  assert.match(misuse.stderr, /--experiment is an option of the sparsity section/);
});
