import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel, initialize } from '../src/models/index.js';
import { fullMasks, prune, pruneCount, sparsity, CRITERIA } from '../src/pruning/index.js';
import { specSchema } from '../src/spec/index.js';
import { makeRng } from '../src/util/rng.js';

const model = buildModel('lenet-300-100', [784], 10);
const theta0 = initialize(model, 'glorot-normal', 'theta0', 1);
const final = initialize(model, 'glorot-normal', 'final', 2);
const pruningSpec = (over: object = {}) => specSchema.parse({ name: 'x', pruning: over }).pruning;

test('layerwise pruning removes round(rate × remaining) of each layer, exactly, for 18 levels', () => {
  const spec = pruningSpec();
  let masks = fullMasks(model);
  const expected: Record<string, number> = { 'fc1/kernel': 784 * 300, 'fc2/kernel': 300 * 100, 'output/kernel': 100 * 10 };
  for (let level = 1; level <= 18; level++) {
    masks = prune({ model, masks, init: theta0, final, spec, rng: makeRng('t', level) });
    for (const l of sparsity(model, masks).layers) {
      const rate = l.layer === 'output/kernel' ? 0.1 : 0.2;
      expected[l.layer] -= pruneCount(expected[l.layer], rate);
      assert.equal(l.remaining, expected[l.layer], `${l.layer} at level ${level}`);
    }
  }
  // Frankle & Carbin's 1.9% after 18 levels (20% hidden, 10% output)
  assert.equal(sparsity(model, masks).percentRemaining.toFixed(1), '1.9');
});

test('layerwise large_final keeps exactly the largest |w_f| of each layer', () => {
  const masks = prune({ model, masks: fullMasks(model), init: theta0, final, spec: pruningSpec(), rng: makeRng('t') });
  for (const name of ['fc1/kernel', 'fc2/kernel', 'output/kernel']) {
    const w = final[name];
    const m = masks[name];
    let minKept = Infinity;
    let maxPruned = -Infinity;
    for (let i = 0; i < w.length; i++) {
      if (m[i]) minKept = Math.min(minKept, Math.abs(w[i]));
      else maxPruned = Math.max(maxPruned, Math.abs(w[i]));
    }
    assert.ok(maxPruned <= minKept, `${name}: a pruned weight (${maxPruned}) is larger than a kept one (${minKept})`);
  }
  assert.equal(masks['fc1/bias'], undefined, 'biases are never masked');
});

test('global pruning removes round(rate × all remaining) with one threshold across layers', () => {
  const spec = pruningSpec({ scope: 'global', globalRate: 0.3 });
  let masks = fullMasks(model);
  let remaining = 784 * 300 + 300 * 100 + 100 * 10;
  for (let level = 1; level <= 3; level++) {
    masks = prune({ model, masks, init: theta0, final, spec, rng: makeRng('g', level) });
    remaining -= pruneCount(remaining, 0.3);
    const total = sparsity(model, masks).layers.reduce((a, l) => a + l.remaining, 0);
    assert.equal(total, remaining);
  }
  let minKept = Infinity;
  let maxPruned = -Infinity;
  for (const name of Object.keys(masks))
    final[name].forEach((v, i) => {
      if (masks[name][i]) minKept = Math.min(minKept, Math.abs(v));
      else maxPruned = Math.max(maxPruned, Math.abs(v));
    });
  assert.ok(maxPruned <= minKept);
});

test('ties are broken randomly from the seed: same seed same mask, other seed other mask', () => {
  const flat = { ...final, 'fc1/kernel': new Float32Array(784 * 300).fill(0.5) };
  const run = (seed: number) => prune({ model, masks: fullMasks(model), init: theta0, final: flat, spec: pruningSpec(), rng: makeRng(seed) })['fc1/kernel'];
  assert.deepEqual(run(1), run(1));
  assert.notDeepEqual(run(1), run(2));
});

test('criteria score what Zhou et al. define', () => {
  const init = Float32Array.from([1, -2, 0.5, -0.25]);
  const fin = Float32Array.from([-3, -1, 0.25, 0.5]);
  const x = { init, final: fin, alive: new Uint8Array(4).fill(1), rng: makeRng(0) };
  assert.deepEqual([...CRITERIA.large_final(x)], [3, 1, 0.25, 0.5]);
  assert.deepEqual([...CRITERIA.large_init(x)], [1, 2, 0.5, 0.25]);
  assert.deepEqual([...CRITERIA.magnitude_increase(x)], [2, -1, -0.25, 0.25]);
  assert.deepEqual([...CRITERIA.movement(x)], [4, 1, 0.25, 0.75]);
  assert.deepEqual([...CRITERIA.large_final_same_sign(x)], [0, 1, 0.25, 0]);
});
