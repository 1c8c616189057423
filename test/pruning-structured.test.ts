import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { buildModel, initialize } from '../src/models/index.js';
import { activationSparsity } from '../src/models/activations.js';
import { runExperiment } from '../src/orchestration/index.js';
import { fullMasks, prune, sparsity } from '../src/pruning/index.js';
import { sampleIndices, unitStatistics } from '../src/pruning/statistics.js';
import { UNIT_CRITERIA } from '../src/pruning/registry.js';
import { unitLayers } from '../src/pruning/units.js';
import { specSchema, validateSpec } from '../src/spec/index.js';
import { makeRng } from '../src/util/rng.js';
import { levelRows, lth, tinySpec, tmp } from './helpers/common.js';
import { checkSpec } from '../src/spec/check.js';
import { identityOf } from '../src/spec/identity.js';
import { planRun } from '../src/orchestration/plan.js';

before(async () => {
  await initBackend('wasm');
});

const pruningSpec = (over: object = {}) => specSchema.parse({ name: 'x', pruning: over }).pruning;
const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);

/** Units alive in a dense kernel [in, out], counted independently: columns with any kept weight. */
const liveColumns = (m: Uint8Array, out: number): number => {
  let n = 0;
  for (let o = 0; o < out; o++) {
    let any = 0;
    for (let i = o; i < m.length; i += out) any |= m[i];
    n += any;
  }
  return n;
};
/** Rows of a dense kernel [in, out] with any kept weight. */
const liveRows = (m: Uint8Array, out: number): number => {
  let n = 0;
  for (let r = 0; r < m.length / out; r++) n += m.subarray(r * out, (r + 1) * out).some((v) => v === 1) ? 1 : 0;
  return n;
};

test('neuron pruning of LeNet-300-100: exact unit counts, shapes and weight counts after each level', () => {
  const model = buildModel('lenet-300-100', [784], 10);
  const final = initialize(model, 'glorot-normal', 'final', 2);
  const spec = pruningSpec({ granularity: 'neuron', unitCriterion: 'l1_norm' });
  let masks = fullMasks(model);
  let u1 = 300;
  let u2 = 100;
  for (let level = 1; level <= 4; level++) {
    masks = prune({ model, masks, init: final, final, spec, rng: makeRng('t', level) });
    u1 -= Math.round(0.2 * u1);
    u2 -= Math.round(0.2 * u2);
    assert.equal(count(masks['fc1/bias']), u1, `fc1 units at level ${level}`);
    assert.equal(count(masks['fc2/bias']), u2, `fc2 units at level ${level}`);
    assert.equal(liveColumns(masks['fc1/kernel'], 300), u1);
    // the next layer's input shrinks with the neuron: fc2 has u1 live input rows, output u2
    assert.equal(liveRows(masks['fc2/kernel'], 100), u1);
    assert.equal(liveRows(masks['output/kernel'], 10), u2);
    // the output layer's units are never pruned
    assert.equal(liveColumns(masks['output/kernel'], 10), 10);
    // weights: every input pixel into the u1 kept units, u1·u2, u2·10
    const sp = sparsity(model, masks);
    assert.deepEqual(
      sp.layers.map((l) => l.remaining),
      [784 * u1, u1 * u2, u2 * 10],
    );
    assert.equal(sp.percentRemaining, (100 * (784 * u1 + u1 * u2 + u2 * 10)) / 266200);
  }
  assert.deepEqual([u1, u2], [123, 41]);
});

test('l1_norm prunes exactly the units with the smallest Σ|w| of incoming weights', () => {
  const model = buildModel('mlp-small', [16], 3);
  const final = initialize(model, 'glorot-normal', 'final', 5);
  const masks = prune({
    model,
    masks: fullMasks(model),
    init: final,
    final,
    spec: pruningSpec({ granularity: 'neuron', rates: { fc: 0.25 } }),
    rng: makeRng('t'),
  });
  const w = final['fc1/kernel'];
  const norms = Array.from({ length: 32 }, (_, o) => {
    let s = 0;
    for (let i = 0; i < 16; i++) s += Math.abs(w[i * 32 + o]);
    return s;
  });
  const expected = norms
    .map((v, o) => [v, o])
    .sort((a, b) => a[0] - b[0])
    .slice(0, 8)
    .map((x) => x[1])
    .sort((a, b) => a - b);
  const pruned = [...masks['fc1/bias']].flatMap((v, o) => (v ? [] : [o]));
  assert.deepEqual(pruned, expected);
});

test('filter pruning of conv-tiny removes output channels and the flattened positions of that channel in fc1', () => {
  const model = buildModel('conv-tiny', [4, 4, 1], 3);
  const final = initialize(model, 'glorot-normal', 'final', 3);
  const masks = prune({
    model,
    masks: fullMasks(model),
    init: final,
    final,
    spec: pruningSpec({ granularity: 'filter', rates: { conv: 0.25, fc: 0.25 } }),
    rng: makeRng('t'),
  });
  const dead = [...masks['conv1/bias']].flatMap((v, c) => (v ? [] : [c]));
  assert.equal(dead.length, 2);
  const k = masks['conv1/kernel']; // [3, 3, 1, 8]
  for (let i = 0; i < k.length; i++) assert.equal(k[i], dead.includes(i % 8) ? 0 : 1);
  // after a 2×2 pool the map is 2×2×8, flattened NHWC: row (y·2 + x)·8 + c carries channel c
  const f = masks['fc1/kernel']; // [32, 32]
  const rows = unitLayers(model, 'filter').find((l) => l.layer === 'fc1')!;
  for (let r = 0; r < 32; r++) {
    const c = r % 8;
    const row = f.subarray(r * 32, (r + 1) * 32);
    const deadUnits = [...masks['fc1/bias']].flatMap((v, o) => (v ? [] : [o]));
    for (let o = 0; o < 32; o++) assert.equal(row[o], dead.includes(c) || deadUnits.includes(o) ? 0 : 1, `fc1 row ${r} col ${o}`);
  }
  assert.equal(rows.units, 32);
  assert.equal(count(masks['fc1/bias']), 24);
});

test('structured pruning is deterministic and one-shot level L has the iterative unit counts', () => {
  const model = buildModel('lenet-300-100', [784], 10);
  const final = initialize(model, 'glorot-normal', 'final', 2);
  const spec = pruningSpec({ granularity: 'neuron', unitCriterion: 'random' });
  const a = prune({ model, masks: fullMasks(model), init: final, final, spec, rng: makeRng('t', 1) });
  const b = prune({ model, masks: fullMasks(model), init: final, final, spec, rng: makeRng('t', 1) });
  assert.deepEqual(a, b);
  const one = prune({ model, masks: fullMasks(model), init: final, final, spec, rng: makeRng('t', 2), rounds: 3 });
  assert.equal(count(one['fc1/bias']), 300 - 60 - 48 - 38);
});

/**
 * A hand-computed network on mlp-small (2 → fc1 32 → fc2 16 → 3), all weights 0 but
 * fc1: W[0] = (1, −1), W[1] = (2, 1) into units 0, 1; fc2 and output pass units 0, 1 through.
 * x = (1, 1): fc1 a = (3, 0, 0…), logits (3, 0, 0). x = (1, −1): z = (−1, −2) → a = 0.
 */
function handNet() {
  const model = buildModel('mlp-small', [2], 3);
  const z = (n: number) => new Float32Array(n);
  const w = { 'fc1/kernel': z(64), 'fc1/bias': z(32), 'fc2/kernel': z(512), 'fc2/bias': z(16), 'output/kernel': z(48), 'output/bias': z(3) };
  w['fc1/kernel'].set([1, -1], 0);
  w['fc1/kernel'].set([2, 1], 32);
  w['fc2/kernel'][0] = 1;
  w['fc2/kernel'][16 + 1] = 1;
  w['output/kernel'][0] = 1;
  w['output/kernel'][3 + 1] = 1;
  return { model, weights: w };
}

test('unit statistics on a hand-computed network: mean activation, APoZ and Taylor', async () => {
  const { model, weights } = handNet();
  const split = { x: Float32Array.of(1, 1, 1, -1), y: Uint8Array.of(1, 0), n: 2 };
  const s = (await unitStatistics(model, weights, split, [0, 1])).fc1;
  assert.deepEqual(Array.from(s.mean.subarray(0, 3)), [1.5, 0, 0]);
  assert.deepEqual(Array.from(s.apoz.subarray(0, 3)), [0.5, 1, 1]);
  // Example 0, label 1: ∂ℓ/∂logits = softmax − onehot, softmax₀ = e³/(e³ + 2); unit 0 feeds
  // logit 0 with weight 1 (fc2's ReLU is open at 3), so a·g = 3·softmax₀. Example 1: a = 0.
  const p0 = Math.exp(3) / (Math.exp(3) + 2);
  assert.ok(Math.abs(s.taylor[0] - (3 * p0) / 2) < 1e-5, `taylor ${s.taylor[0]} vs ${(3 * p0) / 2}`);
  assert.equal(s.taylor[1], 0);
  const layer = unitLayers(model, 'neuron')[0];
  const x = { layer, kernels: [weights['fc1/kernel']], alive: new Uint8Array(32).fill(1), stats: s, rng: makeRng('t') };
  assert.deepEqual(Array.from(UNIT_CRITERIA.apoz(x).subarray(0, 2)), [-0.5, -1]);
  assert.deepEqual(Array.from(UNIT_CRITERIA.mean_activation(x).subarray(0, 2)), [1.5, 0]);
  // l1: |1| + |2| = 3, |−1| + |1| = 2; l2: √5, √2
  assert.deepEqual(Array.from(UNIT_CRITERIA.l1_norm(x).subarray(0, 3)), [3, 2, 0]);
  assert.deepEqual(
    Array.from(UNIT_CRITERIA.l2_norm(x).subarray(0, 2)).map((v) => v.toFixed(6)),
    [Math.sqrt(5).toFixed(6), Math.sqrt(2).toFixed(6)],
  );
});

test('activation sparsity counts exact zeros of the hidden ReLU outputs', async () => {
  const { model, weights } = handNet();
  const split = { x: Float32Array.of(1, 1, 1, -1, 0.5, 2), y: Uint8Array.of(1, 0, 0), n: 3 };
  // independent count: fc1 units 0, 1 are relu(x·W); the other 30 always 0; fc2 copies units 0, 1
  let live = 0;
  for (let n = 0; n < 3; n++)
    for (let o = 0; o < 2; o++) if (split.x[2 * n] * weights['fc1/kernel'][o] + split.x[2 * n + 1] * weights['fc1/kernel'][32 + o] > 0) live++;
  assert.equal(live, 3);
  assert.deepEqual(await activationSparsity(model, weights, split, 2), [
    { layer: 'fc1', zeroFraction: (96 - live) / 96 },
    { layer: 'fc2', zeroFraction: (48 - live) / 48 },
  ]);
});

test('sample indices are distinct, sorted, seeded', () => {
  const a = sampleIndices(100, 10, 3);
  assert.deepEqual(a, sampleIndices(100, 10, 3));
  assert.notDeepEqual(a, sampleIndices(100, 10, 4));
  assert.equal(new Set(a).size, 10);
  assert.deepEqual(
    a,
    [...a].sort((x, y) => x - y),
  );
  assert.equal(sampleIndices(5, 10, 0).length, 5);
});

test('lth run with neuron granularity: unit counts and activation sparsity stored per level; taylor chain runs; deterministic', async () => {
  const spec = validateSpec(
    tinySpec({
      pruning: { levels: 2, granularity: 'neuron', rates: { fc: 0.25 } },
      strategies: ['rewind', 'random-reinit', { reset: 'rewind', unitCriterion: 'taylor' }],
    }),
    't',
  );
  const a = join(tmp(), 'a.db');
  const b = join(tmp(), 'b.db');
  await runExperiment(spec, { db: a, backend: 'wasm' });
  await runExperiment(spec, { db: b, backend: 'wasm' });
  assert.deepEqual(levelRows(a), levelRows(b));
  const db = new Database(a, { readonly: true });
  const units = db
    .prepare(
      "SELECT r.strategy, r.level, u.layer, u.remaining FROM unit_counts u JOIN results r ON r.id = u.result_id WHERE r.strategy = 'rewind' ORDER BY r.level, u.layer",
    )
    .all();
  // mlp-small: fc1 32 → 24 → 18, fc2 16 → 12 → 9 (dense level 0 has no unit pruning: all units)
  assert.deepEqual(
    units.map((u) => Object.values(u as object).join(':')),
    ['rewind:1:fc1:24', 'rewind:1:fc2:12', 'rewind:2:fc1:18', 'rewind:2:fc2:9'],
  );
  const acts = db.prepare('SELECT count(*) n, min(zero_fraction) lo, max(zero_fraction) hi FROM activation_sparsity').get() as {
    n: number;
    lo: number;
    hi: number;
  };
  // 7 rows (dense + 3 chains × 2 levels) × 2 hidden layers
  assert.equal(acts.n, 14);
  assert.ok(acts.lo >= 0 && acts.hi <= 1);
  // pruned units output exactly 0, so a layer with 25% of its units pruned has at least 25% zeros
  const l1 = db
    .prepare(
      "SELECT a.zero_fraction z FROM activation_sparsity a JOIN results r ON r.id = a.result_id WHERE r.strategy = 'rewind' AND r.level = 1 AND a.layer = 'fc1'",
    )
    .get() as { z: number };
  assert.ok(l1.z >= 0.25, `fc1 zero fraction ${l1.z}`);
  const view = db.prepare("SELECT activation_sparsity v, result_id id FROM levels WHERE strategy = 'rewind' AND level = 2").get() as { v: number; id: number };
  const perLayer = db.prepare('SELECT zero_fraction z FROM activation_sparsity WHERE result_id = ?').all(view.id) as { z: number }[];
  assert.equal(view.v, (perLayer[0].z + perLayer[1].z) / 2);
  db.close();
  const r = lth(['report', 'tiny', '--db', a, '--metric', 'activation-sparsity']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /act\. zeros/);
  assert.ok(r.stdout.includes((100 * view.v).toFixed(1)), r.stdout);
});

test('spec check: unit granularity needs layerwise scope and a layer to prune, in one line naming the field', () => {
  const check = (pruning: object, model = 'mlp-small') =>
    checkSpec(validateSpec(tinySpec({ model: { name: model as 'mlp-small' }, pruning: { levels: 2, ...pruning } }), 's.json'));
  assert.throws(() => check({ granularity: 'neuron', scope: 'global' }), /pruning\.scope: granularity "neuron" prunes units layer by layer .*"layerwise"/);
  assert.throws(() => check({ granularity: 'neuron', exclude: ['fc'] }), /pruning\.granularity: "neuron" finds no hidden dense layer of mlp-small/);
  assert.doesNotThrow(() => check({ granularity: 'neuron' }));
});

test('identity: the new pruning fields at their defaults leave the hash of a weight-pruning spec unchanged; set, they change it', () => {
  const base = specSchema.parse({ name: 'x' });
  const fixed = identityOf(base).fixed as { pruning: Record<string, unknown> };
  for (const k of ['granularity', 'unitCriterion', 'sample', 'maxAccuracyDrop']) assert.equal(k in fixed.pruning, false, k);
  assert.notEqual(identityOf(specSchema.parse({ name: 'x', pruning: { granularity: 'neuron' } })).hash, identityOf(base).hash);
  assert.equal(identityOf(specSchema.parse({ name: 'x', pruning: { maxAccuracyDrop: 2 } })).hash, identityOf(base).hash);
});

test('plan: maxAccuracyDrop stops a chain at the first stored level more than X points below the dense level', () => {
  const spec = specSchema.parse({ name: 'x', pruning: { levels: 6, maxAccuracyDrop: 2 }, strategies: ['rewind', 'fine-tune'] });
  const row = (strategy: string, level: number, acc: number) => ({
    strategy,
    branch: '',
    replicate: 0,
    trial: 0,
    level,
    percentRemaining: 100 * 0.8 ** level,
    finalTestAccuracy: acc,
  });
  const stored = [row('', 0, 0.9), row('rewind', 1, 0.895), row('rewind', 2, 0.885), row('rewind', 3, 0.879), row('fine-tune', 1, 0.885)];
  const p = planRun(spec, stored);
  // rewind: 0.9 − 0.885 = 1.5 points (goes on), 0.9 − 0.879 = 2.1 points (stops at 3); fine-tune 1.5 points goes on
  assert.deepEqual(
    p.chains.map((c) => [c.chain, c.stoppedAt, c.levels.length, c.done]),
    [
      ['rewind', 3, 3, true],
      ['fine-tune', null, 6, false],
    ],
  );
  const off = planRun({ ...spec, pruning: { ...spec.pruning, maxAccuracyDrop: null } }, stored);
  assert.equal(off.chains[0].stoppedAt, null);
});
