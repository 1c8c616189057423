import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec, type SpecInput } from '../src/spec/index.js';
import { exportModel } from '../src/export/model.js';
import { Store } from '../src/storage/db.js';
import { keys } from '../src/storage/levels.js';
import { levelRows, lth, tinySpec, tmp } from './helpers/common.js';
import { loadExported } from './helpers/export.js';
import { createDb } from './helpers/fixture.js';

before(async () => {
  await initBackend('cpu');
});

/** Accuracy of a loaded model on the experiment's test split, computed here: argmax of its outputs against the labels. */
async function accuracy(m: tfjs.LayersModel, over: SpecInput): Promise<number> {
  const spec = validateSpec(over, 't').spec;
  const data = await loadDataset(spec.data, spec.seed);
  const x = tfjs.tensor(data.test.x, [data.test.n, ...data.inputShape]);
  const pred = (m.predict(x) as tfjs.Tensor).argMax(1).dataSync();
  x.dispose();
  let right = 0;
  for (let i = 0; i < data.test.n; i++) right += pred[i] === data.test.y[i] ? 1 : 0;
  return right / data.test.n;
}

const stored = (db: string, strategy: string, level: number): number =>
  (
    new Database(db, { readonly: true })
      .prepare('SELECT final_test_accuracy a FROM levels WHERE strategy = ? AND level = ? AND branch IS NULL')
      .get(strategy, level) as { a: number }
  ).a;

test('export-model: a neuron-pruned level loads with plain tfjs, is physically smaller, and its test accuracy equals the stored one', async () => {
  const over = tinySpec({ pruning: { levels: 2, granularity: 'neuron', rates: { fc: 0.25 } }, strategies: ['rewind'] });
  const db = join(tmp(), 'n.db');
  await runExperiment(validateSpec(over, 't'), { db, backend: 'cpu' });
  const out = join(tmp(), 'ticket');
  const r = lth(['export-model', 'tiny', '--strategy', 'rewind', '--level', '2', '--out', out, '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  // it says which weights it wrote: the level's final ones, whose accuracy is the stored final one checked below
  assert.match(r.stdout, /final weights of rewind trial 0 level 2 \(after its last training step, not at early stop\)/);
  assert.deepEqual(readdirSync(out).sort(), ['model.json', 'weights.bin']);
  const m = await loadExported(out);
  // mlp-small 32/16 units; two levels at 25%: 32 → 24 → 18, 16 → 12 → 9; inputs 16, classes 3
  assert.deepEqual(
    m.layers.filter((l) => l.getClassName() === 'Dense').map((l) => (l.getWeights()[0].shape as number[]).join('×')),
    ['16×18', '18×9', '9×3'],
  );
  assert.equal(await accuracy(m, over), stored(db, 'rewind', 2));
  m.dispose();
  // a second export into the same folder is refused, in one line, and the folder is untouched
  const again = lth(['export-model', 'tiny', '--strategy', 'rewind', '--level', '2', '--out', out, '--db', db]);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /--out .* is not empty/);
  const missing = lth(['export-model', 'tiny', '--strategy', 'rewind', '--level', '5', '--out', join(tmp(), 'x'), '--db', db]);
  assert.match(missing.stderr, /level 5 of rewind trial 0 is not stored .*stored levels: 0, 1, 2/);
  // what a user of the file needs: input shape and normalization, and that the outputs are logits
  const meta = m.getUserDefinedMetadata() as {
    lth: { input: { shape: number[]; normalization: { rule: string } }; output: { classes: number; kind: string }; level: number };
  };
  assert.deepEqual(meta.lth.input.shape, [16]);
  assert.equal(meta.lth.output.classes, 3);
  assert.match(meta.lth.output.kind, /^logits/);
  assert.equal(meta.lth.level, 2);
  // bad --level, --trial and --out: one line each, exit 2, nothing written
  const file = join(tmp(), 'a-file');
  writeFileSync(file, 'x');
  for (const [args, pattern] of [
    [['--level', '1.5', '--out', join(tmp(), 'y')], /--level must be a whole number/],
    [['--level', 'abc', '--out', join(tmp(), 'y')], /--level must be a whole number/],
    [['--level', '1', '--trial', '5', '--out', join(tmp(), 'y')], /trial 5 is not stored .*\(trials: 0\)/],
    [['--level', '1', '--out', file], /--out .*a-file is a file/],
  ] as const) {
    const bad = lth(['export-model', 'tiny', '--strategy', 'rewind', ...args, '--db', db]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, pattern);
  }
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

test('export-model: a weight-pruned conv level exports w ⊙ m at full size with the masks alongside, and matches the stored accuracy', async () => {
  const over = tinySpec({
    data: { dataset: 'synthetic', validation: 100, synthetic: { train: 400, test: 200, shape: [6, 6, 1], classes: 3 } },
    model: { name: 'conv-tiny' },
    pruning: { levels: 1 },
    strategies: ['rewind'],
  });
  const db = join(tmp(), 'w.db');
  await runExperiment(validateSpec(over, 't'), { db, backend: 'cpu' });
  const out = join(tmp(), 'masked');
  const r = lth(['export-model', 'tiny', '--strategy', 'rewind', '--level', '1', '--out', out, '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(out, 'masks.json')) && existsSync(join(out, 'masks.bin')));
  const m = await loadExported(out);
  const man = JSON.parse(readFileSync(join(out, 'masks.json'), 'utf8')) as { masks: { name: string; offset: number; length: number }[] };
  const bits = readFileSync(join(out, 'masks.bin'));
  const conv = man.masks.find((e) => e.name === 'conv1/kernel')!;
  const k = m.getLayer('conv1').getWeights()[0].dataSync();
  assert.equal(k.length, 9 * 8);
  for (let i = 0; i < k.length; i++) if (bits[conv.offset + i] === 0) assert.equal(k[i], 0);
  const kept = [...bits.subarray(conv.offset, conv.offset + conv.length)].filter((b) => b === 1).length;
  assert.equal(kept, 72 - Math.round(0.1 * 72));
  assert.equal(await accuracy(m, over), stored(db, 'rewind', 1));
  m.dispose();
});

test('export-model from a database with no experiments: says to run one first, not an empty list', () => {
  const db = join(tmp(), 'empty.db');
  createDb(db).close();
  const r = lth(['export-model', 'tiny', '--strategy', 'rewind', '--level', '1', '--out', join(tmp(), 'x'), '--db', db]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `lth: error: no experiment "tiny" in ${db}: it has no experiments yet — run it first with \`lth run SPEC\`\n`);
});

test('export-model of a pruned level before any pruned level is stored: says to run the experiment, no empty chain list', async () => {
  const db = join(tmp(), 'dense-only.db');
  const over = tinySpec({ name: 'dense-only', strategies: ['rewind'] });
  // stop as soon as the dense level is stored
  let dense = false;
  await runExperiment(validateSpec(over, 't'), {
    db,
    backend: 'cpu',
    onProgress: (e) => {
      if (e.type === 'level-done') dense = true;
    },
    shouldStop: () => dense,
  }).catch(() => {});
  const r = lth(['export-model', 'dense-only', '--strategy', 'rewind', '--level', '1', '--out', join(tmp(), 'x'), '--db', db]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, 'lth: error: experiment "dense-only" has no finished pruned levels yet — run `lth run` on its spec, or check `lth status`\n');
});

/** Logits of mlp-small (dense 32 relu, dense 16 relu, output) in float64, from stored-layout weights [in, out]: independent of lth's and tfjs's kernels. */
function mlpLogits(w: Record<string, Float32Array>, x: Float32Array, n: number, sizes: number[]): Float64Array[] {
  const layers = ['fc1', 'fc2', 'output'];
  const out: Float64Array[] = [];
  for (let e = 0; e < n; e++) {
    let a: Float64Array = Float64Array.from(x.subarray(e * sizes[0], (e + 1) * sizes[0]));
    layers.forEach((l, j) => {
      const [nin, nout] = [sizes[j], sizes[j + 1]];
      const z = new Float64Array(nout);
      for (let o = 0; o < nout; o++) {
        let s = w[`${l}/bias`][o];
        for (let i = 0; i < nin; i++) s += a[i] * w[`${l}/kernel`][i * nout + o];
        z[o] = j < 2 ? Math.max(0, s) : s;
      }
      a = z;
    });
    out.push(a);
  }
  return out;
}

test('export-model --weights early-stop: the spec keeps each level’s early-stop weights (changing no number); the export’s logits are a forward pass over them; refused where not kept', async () => {
  // a small training split and a high learning rate: validation loss is lowest at step 20 of 60, where test accuracy differs from the final one
  const base = tinySpec({
    name: 'es',
    data: { dataset: 'synthetic', validation: 200, synthetic: { train: 60, test: 200, features: 16, classes: 3 } },
    training: { iterations: '60it', evalEvery: '10it', batchSize: 30, optimizer: { name: 'adam', lr: 0.01 } },
    pruning: { levels: 1 },
    strategies: ['rewind'],
  });
  const kept = { ...base, training: { ...base.training, keepEarlyStop: true } };
  assert.equal(validateSpec(kept, 't').hash === validateSpec(base, 't').hash, false, 'keepEarlyStop, when set, is part of the spec');
  const [dbKept, dbPlain] = [join(tmp(), 'kept.db'), join(tmp(), 'plain.db')];
  await runExperiment(validateSpec(kept, 't'), { db: dbKept, backend: 'cpu' });
  await runExperiment(validateSpec(base, 't'), { db: dbPlain, backend: 'cpu' });
  const numbers = (db: string) => levelRows(db).map(({ spec_hash, ...r }) => (void spec_hash, r));
  assert.deepEqual(numbers(dbKept), numbers(dbPlain), 'keeping the early-stop weights changes no stored number');
  const store = new Store(dbKept, { readonly: true });
  const id = store.experiments()[0].id;
  const es = store.loadArtifact(id, keys.earlyStop(0, 'rewind', 1)) as Record<string, Float32Array>;
  const level = store.loadLevel(id, keys.chainLevel(0, 'rewind', 1));
  assert.ok(store.hasArtifact(id, keys.earlyStop(0, '', 0)), 'level 0 keeps its early-stop weights too');
  store.close();
  const row = new Database(dbKept, { readonly: true })
    .prepare("SELECT early_stop_iteration it, early_stop_test_accuracy acc, final_test_accuracy fin FROM levels WHERE strategy = 'rewind' AND level = 1")
    .get() as { it: number; acc: number; fin: number };
  for (const [name, m] of Object.entries(level.masks)) m.forEach((b, i) => b || assert.equal(es[name][i], 0, `${name}[${i}] pruned`));
  assert.ok(row.it < 60 && row.acc !== row.fin, `early stop (${row.it}) before the end, at another accuracy: the checks below tell the two apart`);
  assert.notDeepEqual(es['fc1/kernel'], level.weights['fc1/kernel']);
  const out = join(tmp(), 'es');
  const r = lth(['export-model', 'es', '--strategy', 'rewind', '--level', '1', '--weights', 'early-stop', '--out', out, '--db', dbKept]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /early-stop weights of rewind trial 0 level 1 \(at its evaluation of minimum validation loss, not the final ones\)/);
  const m = await loadExported(out);
  assert.equal((m.getUserDefinedMetadata() as { lth: { weights: string } }).lth.weights, 'early-stop');
  const spec = validateSpec(kept, 't').spec;
  const data = await loadDataset(spec.data, spec.seed);
  const x = tfjs.tensor(data.test.x, [data.test.n, ...data.inputShape]);
  const got = (m.predict(x) as tfjs.Tensor).arraySync() as number[][];
  x.dispose();
  m.dispose();
  const want = mlpLogits(es, data.test.x, data.test.n, [16, 32, 16, 3]);
  let right = 0;
  want.forEach((z, e) => {
    z.forEach((v, o) => assert.ok(Math.abs(got[e][o] - v) < 1e-4 * (1 + Math.abs(v)), `logit ${e},${o}: ${got[e][o]} vs ${v}`));
    right += z.indexOf(Math.max(...z)) === data.test.y[e] ? 1 : 0;
  });
  // float64 argmax of the stored early-stop weights gives the stored early-stop accuracy
  assert.equal(right / data.test.n, row.acc);
  // not kept: one line naming the option
  const storePlain = new Store(dbPlain, { readonly: true });
  try {
    await assert.rejects(
      exportModel(storePlain, 'es', { strategy: 'rewind', trial: 0, level: 1 }, join(tmp(), 'none'), 'early-stop'),
      /^UserError: --weights early-stop: level 1 of rewind trial 0 in "es" has no early-stop weights \(they are kept with training.keepEarlyStop/,
    );
  } finally {
    storePlain.close();
  }
});
