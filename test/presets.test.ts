import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpec } from '../src/spec/check.js';
import { loadSpec } from '../src/spec/index.js';
import { ROOT } from './helpers/common.js';

const dir = join(ROOT, 'experiments');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('the paper presets of issue 5 are all there, each with a -quick variant', () => {
  for (const name of [
    'frankle-carbin-lenet',
    'frankle-carbin-lenet-oneshot',
    'zhou-mask-criteria',
    'zhou-mask1-actions',
    'zhou-mask0-actions',
    'zhou-supermask',
    'renda-rewinding-vs-finetuning',
    // issue #23: the deep nets
    'frankle-carbin-vgg19',
    'frankle-carbin-vgg19-warmup',
    'frankle-carbin-resnet20',
    'frankle-carbin-resnet20-warmup',
    'renda-resnet20',
    'renda-resnet56',
    'frankle-2020-late-rewinding',
  ])
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
    // a running time is either measured or said to be unknown (not "sized by estimate", which said neither)
    assert.doesNotMatch(spec.description, /by estimate/);
    const bench = /lth bench --only step --models ([a-z0-9-]+)/.exec(spec.description);
    if (bench) assert.equal(bench[1], (spec.model as { name: string }).name, 'the bench command it suggests times its own model');
    if (f.endsWith('-quick.json')) {
      assert.equal(spec.data.dataset, 'fashion-mnist', 'quick variants run offline on Fashion-MNIST');
      // same structure as the full preset: same chains (by reset kind) and branch kinds
      // the Fashion-MNIST stand-ins for CIFAR-10 (issue 16) mirror the CIFAR-10 preset
      const full = loadSpec(join(dir, f.replace(/(-fmnist)?-quick/, ''))).spec;
      assert.deepEqual(
        spec.strategies.map((c) => [c.reset.split('@')[0], c.criterion, c.mask0]),
        full.strategies.map((c) => [c.reset.split('@')[0], c.criterion, c.mask0]),
      );
      assert.deepEqual(
        spec.branches.map((b) => b.kind),
        full.branches.map((b) => b.kind),
      );
      assert.equal(spec.pruning.schedule, full.pruning.schedule);
    }
  });
}

test("the conv presets have Fashion-MNIST quick variants at the paper's rates, optimizer and learning rate (F&C 2019, Fig. 2 table)", () => {
  // Frankle & Carbin's table: conv-2 Adam 2e-4, conv 10%; conv-4 Adam 3e-4, conv 10%; conv-6 Adam 3e-4, conv 15%; fc 20%, output 10%
  const paper: Record<string, { lr: number; conv: number }> = {
    conv2: { lr: 2e-4, conv: 0.1 },
    conv4: { lr: 3e-4, conv: 0.1 },
    conv6: { lr: 3e-4, conv: 0.15 },
  };
  for (const [k, p] of Object.entries(paper)) {
    const f = `frankle-carbin-${k}-fmnist-quick.json`;
    assert.ok(files.includes(f), `experiments/${f} is missing`);
    assert.ok(files.includes(`frankle-carbin-${k}.json`), 'the CIFAR-10 preset stays');
    const s = loadSpec(join(dir, f)).spec;
    assert.equal(s.data.dataset, 'fashion-mnist');
    assert.equal((s.model as { name: string }).name, `conv-${k.slice(4)}`);
    assert.equal(s.training.optimizer.name, 'adam');
    assert.equal(s.training.optimizer.lr, p.lr);
    assert.equal(s.training.batchSize, 60);
    assert.deepEqual(s.pruning.rates, { conv: p.conv, fc: 0.2, output: 0.1 });
    assert.match(s.description, /hour/, 'the description gives the time estimate');
  }
});
