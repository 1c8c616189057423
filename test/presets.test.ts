import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../src/spec/check.js';
import { loadSpec } from '../src/spec/index.js';
import { ROOT } from './helpers.js';

const dir = join(ROOT, 'experiments');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('the paper presets of issue 5 are all there, each with a -quick variant', () => {
  for (const name of ['frankle-carbin-lenet', 'frankle-carbin-lenet-oneshot', 'zhou-mask-criteria', 'zhou-mask1-actions', 'zhou-mask0-actions', 'zhou-supermask', 'renda-rewinding-vs-finetuning'])
    for (const f of [`${name}.json`, `${name}-quick.json`]) assert.ok(files.includes(f), `experiments/${f} is missing`);
});

for (const f of files) {
  test(`preset ${f} validates, is named after its file and cites its source`, () => {
    const loaded = loadSpec(join(dir, f));
    const spec = loaded.spec;
    assert.equal(`${spec.name}.json`, f);
    // every name resolves: strategies and @k points, branch chains/levels/labels, model vs data shape, exclude
    const checked = checkSpec(loaded);
    assert.equal(checked.strategies.length, spec.strategies.length);
    assert.deepEqual(checked.warnings, [], 'a preset runs no computation twice');
    assert.match(spec.description, /\(\d{4}\)|\d{4}\)/, 'the description cites a paper and year');
    if (f.endsWith('-quick.json')) {
      assert.equal(spec.data.dataset, 'fashion-mnist', 'quick variants run offline on Fashion-MNIST');
      // same structure as the full preset: same chains (by reset kind) and branch kinds
      const full = loadSpec(join(dir, f.replace('-quick', ''))).spec;
      assert.deepEqual(spec.strategies.map((c) => [c.reset.split('@')[0], c.criterion, c.mask0]), full.strategies.map((c) => [c.reset.split('@')[0], c.criterion, c.mask0]));
      assert.deepEqual(spec.branches.map((b) => b.kind), full.branches.map((b) => b.kind));
      assert.equal(spec.pruning.schedule, full.pruning.schedule);
    }
  });
}
