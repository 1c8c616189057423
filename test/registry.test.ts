import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogMarkdown, README_END, README_START } from '../src/cli/catalog.js';
import { DATASETS } from '../src/data/index.js';
import { buildModel, checkInput, MODELS } from '../src/models/index.js';
import { CRITERIA } from '../src/pruning/index.js';
import { branchSchema, dataSchema, MASK0_ACTIONS, MODELS as SPEC_MODELS, PRUNING_CRITERIA, validateSpec } from '../src/spec/index.js';
import { BENCH_MODELS } from '../src/bench/index.js';
import { MASK0 } from '../src/mask0/index.js';
import { resetNames } from '../src/resets/index.js';
import { levelRows, lth, ROOT, tinySpec, tmp } from './helpers/common.js';

/** The names `lth run --help` lists under a section title, e.g. "models (model.name):". */
function helpSection(help: string, title: string): string[] {
  const start = help.indexOf(`\n${title} (`);
  assert.ok(start >= 0, `--help has no "${title}" section`);
  const body = help.slice(help.indexOf('\n', start + 1) + 1).split('\n\n')[0];
  return body
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.trim().split(' — ')[0]);
}

test('each registry is the only list: spec enums, --help and the README all equal its keys', () => {
  const help = lth(['run', '--help']);
  assert.equal(help.status, 0, help.stderr);
  const models = Object.keys(MODELS);
  assert.deepEqual([...SPEC_MODELS], models);
  assert.deepEqual(helpSection(help.stdout, 'models'), models);
  assert.deepEqual(
    [...dataSchema._zod.propValues.dataset].filter((v) => v !== undefined),
    Object.keys(DATASETS),
  );
  assert.deepEqual(helpSection(help.stdout, 'data sets'), Object.keys(DATASETS));
  assert.deepEqual([...PRUNING_CRITERIA], Object.keys(CRITERIA));
  assert.deepEqual(helpSection(help.stdout, 'mask criteria'), Object.keys(CRITERIA));
  assert.deepEqual([...MASK0_ACTIONS], Object.keys(MASK0));
  assert.deepEqual(helpSection(help.stdout, 'mask-0 actions'), Object.keys(MASK0));
  assert.deepEqual(
    helpSection(help.stdout, 'reset strategies').map((n) => n.replace('[@k]', '')),
    resetNames(),
  );
  assert.deepEqual(
    helpSection(help.stdout, 'branch kinds'),
    branchSchema.options.map((o) => o.shape.kind.value),
  );
  // the bench's default models are registered ones, and the bench accepts every registered model
  for (const m of BENCH_MODELS) assert.ok(models.includes(m));
  const bad = lth(['bench', '--only', 'step', '--models', 'resnet']);
  assert.match(bad.stderr, new RegExp(`use ${models.join(', ')}\\)`));
  // README: the generated block is current (rewrite it with scripts/readme-catalog.ts)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf(README_START), readme.indexOf(README_END) + README_END.length);
  assert.equal(block, catalogMarkdown(), 'README.md catalog is stale: run node dist/scripts/readme-catalog.js');
  for (const m of models) assert.ok(block.includes(`| \`model.name\` | \`${m}\` |`), m);
});

test('conv-tiny, added as one file plus one registry line, is accepted by the spec, trains, and is in --help', async () => {
  const spec = tinySpec({
    name: 'tiny-conv',
    data: { dataset: 'synthetic', validation: 60, synthetic: { train: 240, test: 60, shape: [6, 6, 1], classes: 3 } },
    model: { name: 'conv-tiny' },
    training: { iterations: '40it', evalEvery: '20it', batchSize: 20 },
    pruning: { levels: 1 },
    strategies: ['rewind'],
  });
  assert.equal((validateSpec(spec, 't').spec.model as { name: string }).name, 'conv-tiny');
  const dir = tmp();
  const path = join(dir, 'spec.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path, JSON.stringify(spec));
  const r = lth(['run', path, '--db', join(dir, 'r.db'), '--backend', 'wasm', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const rows = levelRows(join(dir, 'r.db'));
  assert.equal(rows.length, 2);
  assert.ok(rows.every((x) => (x.iterations as number) === 40));
  // conv1 3·3·1·8 = 72 weights at the conv rate 0.1 → round(7.2) = 7 pruned; fc1 (3·3·8 → 32) 2304 at 0.2 → 461; output 96 at 0.1 → 10
  const total = 72 + 2304 + 32 * 3;
  assert.ok(Math.abs((rows[1].percent_remaining as number) - (100 * (total - 7 - 461 - 10)) / total) < 1e-9);
  assert.match(lth(['run', '--help']).stdout, /\n {2}conv-tiny — /);
});

test('checkInput: conv nets need [h, w, c] images that survive their pools; MLPs flatten any shape', () => {
  assert.throws(() => checkInput('conv-2', [784]), /model conv-2 needs image input \[h, w, c\], images of at least 2×2 .*shape \[784\]/);
  assert.throws(() => checkInput('conv-6', [7, 7, 1]), /model conv-6 needs images of at least 8×8 \(3 2×2 max-pools\); this data set's images are 7×7/);
  assert.throws(() => checkInput('resnet', [784]), /unknown model "resnet": use one of lenet-300-100, .*: did you mean "resnet-20"\?$/);
  // Conv-6 on 28×28 pools 28 → 14 → 7 → 3: fc1 takes 3·3·256 values
  assert.deepEqual(checkInput('conv-6', [28, 28, 1]).params.find((p) => p.name === 'fc1/kernel')!.shape, [3 * 3 * 256, 256]);
  assert.deepEqual(checkInput('conv-6', [8, 8, 3]).params.find((p) => p.name === 'fc1/kernel')!.shape, [256, 256]);
  const flat = buildModel('lenet-300-100', [784], 10).params.map((p) => [p.name, p.shape]);
  assert.deepEqual(
    buildModel('lenet-300-100', [28, 28, 1], 10).params.map((p) => [p.name, p.shape]),
    flat,
  );
  assert.deepEqual(flat[0], ['fc1/kernel', [784, 300]]);
});

test('a spec naming an unregistered model or data set is refused, naming the registered ones', () => {
  assert.throws(
    () => validateSpec(tinySpec({ model: { name: 'resnet' as never } }), 't'),
    /model\.name: "resnet" is not one of "lenet-300-100", "conv-2", .*: did you mean "resnet-20"\?$/,
  );
  assert.throws(() => validateSpec(tinySpec({ data: { dataset: 'imagenet' as never } }), 't'), /data\.dataset: .*"mnist"/);
});

test('inputShapeOf gives the shape a data spec yields before loading it; checkInput accepts or refuses it', async () => {
  const { inputShapeOf } = await import('../src/data/index.js');
  const { dataSchema } = await import('../src/spec/index.js');
  assert.deepEqual(inputShapeOf(dataSchema.parse({ dataset: 'fashion-mnist' })), [28, 28, 1]);
  assert.deepEqual(inputShapeOf(dataSchema.parse({ dataset: 'cifar10' })), [32, 32, 3]);
  assert.deepEqual(inputShapeOf(dataSchema.parse({ dataset: 'synthetic', synthetic: { features: 20 } })), [20]);
  assert.deepEqual(inputShapeOf(dataSchema.parse({ dataset: 'synthetic', synthetic: { shape: [5, 6, 2] } })), [5, 6, 2]);
  checkInput('conv-6', inputShapeOf(dataSchema.parse({ dataset: 'fashion-mnist' })));
  assert.throws(() => checkInput('conv-2', inputShapeOf(dataSchema.parse({ dataset: 'synthetic' }))), /needs image input \[h, w, c\].*shape \[64\]/);
});
