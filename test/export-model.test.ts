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
import { lth, tinySpec, tmp } from './helpers/common.js';
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
  assert.equal(r.stderr, `lth: error: no experiment "tiny" in ${db}: it has no experiments yet — run \`lth run SPEC\` first\n`);
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
