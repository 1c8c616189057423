import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel, initialize } from '../src/models/index.js';
import { fullMasks, prune, sparsity } from '../src/pruning/index.js';
import { specSchema } from '../src/spec/index.js';
import { makeRng } from '../src/util/rng.js';

const model = buildModel('lenet-300-100', [784], 10);
const theta0 = initialize(model, 'glorot-normal', 'theta0', 1);
const final = initialize(model, 'glorot-normal', 'final', 2);
const pruningSpec = (over: object) => specSchema.parse({ name: 'x', pruning: over }).pruning;
const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);

test('pruning.exclude: global magnitude pruning of LeNet with the output layer excluded (OpenLTH default), exact counts for 3 levels', () => {
  const spec = pruningSpec({ scope: 'global', globalRate: 0.2, exclude: ['output'] });
  let masks = fullMasks(model);
  // independent count: only fc1 (784×300) and fc2 (300×100) are in the pool
  let alive = 784 * 300 + 300 * 100;
  for (let level = 1; level <= 3; level++) {
    const prev = masks;
    masks = prune({ model, masks, init: theta0, final, spec, rng: makeRng('x', level) });
    alive -= Math.round(0.2 * alive);
    assert.equal(count(masks['fc1/kernel']) + count(masks['fc2/kernel']), alive, `level ${level}`);
    assert.equal(count(masks['output/kernel']), 1000, 'output never pruned');
    // what went is the smallest |w_f| among the pool's survivors: max removed ≤ min kept
    let maxRemoved = 0;
    let minKept = Infinity;
    for (const name of ['fc1/kernel', 'fc2/kernel'])
      for (let i = 0; i < masks[name].length; i++) {
        if (!prev[name][i]) continue;
        const v = Math.abs(final[name][i]);
        if (masks[name][i]) minKept = Math.min(minKept, v);
        else maxRemoved = Math.max(maxRemoved, v);
      }
    assert.ok(maxRemoved <= minKept);
  }
  // % remaining counts the dense output layer too (biases excluded)
  assert.equal(sparsity(model, masks).percentRemaining, (100 * (alive + 1000)) / (784 * 300 + 300 * 100 + 1000));
});

test('pruning.exclude: by kind and by layer name, layerwise', () => {
  const byKind = prune({ model, masks: fullMasks(model), init: theta0, final, spec: pruningSpec({ exclude: ['fc'] }), rng: makeRng('k') });
  assert.deepEqual([count(byKind['fc1/kernel']), count(byKind['fc2/kernel']), count(byKind['output/kernel'])], [235200, 30000, 1000 - 100]);
  const byName = prune({ model, masks: fullMasks(model), init: theta0, final, spec: pruningSpec({ exclude: ['fc2'] }), rng: makeRng('k') });
  assert.deepEqual([count(byName['fc1/kernel']), count(byName['fc2/kernel']), count(byName['output/kernel'])], [235200 - 47040, 30000, 900]);
});
