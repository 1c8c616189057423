import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/index.js';
import { CROP_PADDING, cropFlip } from '../src/data/index.js';
import { checkSpec, validateSpec } from '../src/spec/index.js';
import { BatchSource } from '../src/training/loop.js';
import { makeRng } from '../src/util/rng.js';

/**
 * Training-batch augmentation and model recipes (issue #23 item 3): crop-flip against an
 * independent padded-array reference, batches drawn from (key, step) only, recipes overlaid
 * under the spec’s own fields, and the spec check of training.freeze.
 */

before(async () => {
  await initBackend('cpu');
});

/** Reference: pad to (h + 8) × (w + 8) with zeros, cut the window at (4 + dy, 4 + dx), then mirror columns if flipped. */
function reference(img: number[], [h, w, c]: number[], dy: number, dx: number, flip: boolean): number[] {
  const P = CROP_PADDING;
  const padded: number[][][] = Array.from({ length: h + 2 * P }, () => Array.from({ length: w + 2 * P }, () => new Array<number>(c).fill(0)));
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) padded[i + P][j + P][k] = img[(i * w + j) * c + k];
  const crop = Array.from({ length: h }, (_, i) => Array.from({ length: w }, (_, j) => padded[i + P + dy][j + P + dx]));
  const out = flip ? crop.map((row) => [...row].reverse()) : crop;
  return out.flat(2);
}

test('crop-flip equals cropping a zero-padded image and mirroring it, with the shifts and flip drawn in the documented order', () => {
  const shape = [5, 6, 2];
  const n = 12;
  const size = shape[0] * shape[1] * shape[2];
  const src = Array.from({ length: n * size }, (_, i) => Math.sin(i * 0.37) + 2);
  const x = Float32Array.from(src);
  cropFlip(x, n, shape, makeRng('aug', 3), new Float32Array(size));
  const draw = makeRng('aug', 3);
  const shift = () => Math.floor(draw.uniform() * (2 * CROP_PADDING + 1)) - CROP_PADDING;
  let flips = 0;
  for (let e = 0; e < n; e++) {
    const [dy, dx] = [shift(), shift()];
    const flip = draw.uniform() < 0.5;
    flips += flip ? 1 : 0;
    const want = reference(src.slice(e * size, (e + 1) * size), shape, dy, dx, flip);
    assert.deepEqual(Array.from(x.subarray(e * size, (e + 1) * size)), want.map(Math.fround), `example ${e} (dy ${dy}, dx ${dx}, flip ${flip})`);
  }
  assert.ok(flips > 0 && flips < n);
});

test('augmented batches depend on (key, step) only: the same batch in any order of requests and in a fresh source; other steps differ', () => {
  const shape = [4, 4, 1];
  const split = { x: Float32Array.from({ length: 20 * 16 }, (_, i) => (i % 7) + 1), y: new Uint8Array(20), n: 20 };
  const a = new BatchSource(split, 5, ['k'], shape);
  const b = new BatchSource(split, 5, ['k'], shape);
  const plain = new BatchSource(split, 5, ['k']);
  const read = (s: BatchSource, step: number) => {
    const { x, y } = s.at(step);
    const v = Array.from(x.dataSync());
    x.dispose();
    y.dispose();
    return v;
  };
  const a7 = read(a, 7);
  read(b, 3);
  assert.deepEqual(read(b, 7), a7, 'step 7 after step 3 = step 7 first');
  assert.notDeepEqual(read(plain, 7), a7, 'augmentation changes the batch');
  assert.notDeepEqual(read(a, 11), read(a, 7));
});

test("recipes: resnet-N and vgg-N augment by default; 'recipe: model' takes OpenLTH's default_hparams; the spec's fields win; other models are untouched", () => {
  const base = { name: 'r', data: { dataset: 'cifar10' }, model: { name: 'resnet-20' } };
  assert.equal(validateSpec(base, 'x').spec.training.augment, 'crop-flip');
  assert.equal(validateSpec({ ...base, training: { augment: 'none' } }, 'x').spec.training.augment, 'none');
  assert.equal(validateSpec(base, 'x').spec.training.optimizer.name, 'adam', 'without recipe: the schema defaults');
  const r = validateSpec({ ...base, recipe: 'model', training: { optimizer: { name: 'sgd', lr: 0.05 } } }, 'x').spec;
  assert.deepEqual(r.training.optimizer, { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
  assert.deepEqual(
    [r.training.batchSize, r.training.iterations, r.training.schedule],
    [
      128,
      { value: 160, unit: 'ep' },
      {
        kind: 'step',
        milestones: [
          { value: 80, unit: 'ep' },
          { value: 120, unit: 'ep' },
        ],
        gamma: 0.1,
      },
    ],
  );
  assert.deepEqual([r.model.init, r.pruning.scope, r.pruning.globalRate, r.pruning.exclude], ['he-normal', 'global', 0.2, []]);
  const adam = validateSpec({ ...base, recipe: 'model', training: { optimizer: { name: 'adam' } } }, 'x').spec.training.optimizer;
  assert.equal(adam.name, 'adam', 'another optimizer replaces the recipe’s whole');
  assert.deepEqual(validateSpec({ ...base, model: { name: 'vgg-16' }, recipe: 'model' }, 'x').spec.pruning.exclude, ['output']);
  const conv = validateSpec({ name: 'c', data: { dataset: 'cifar10' }, model: { name: 'conv-2' } }, 'x');
  assert.equal(conv.spec.training.augment, undefined);
  assert.throws(
    () => checkSpec(validateSpec({ name: 'c', data: { dataset: 'synthetic' }, model: { name: 'mlp-small' }, training: { augment: 'crop-flip' } }, 'x')),
    /^UserError: invalid spec x: training\.augment: crop-flip crops and flips images, and data set "synthetic" gives flat examples \[64\]: set training\.augment to "none", or use image data \(synthetic: data\.synthetic\.shape\)$/,
  );
});

test('training.freeze that leaves nothing to train is refused in one line naming the groups', () => {
  assert.throws(
    () => checkSpec(validateSpec({ name: 'c', data: { dataset: 'mnist' }, model: { name: 'lenet-300-100' }, training: { freeze: ['output', 'others'] } }, 'x')),
    /^UserError: invalid spec x: training\.freeze: \[output, others\] freezes every parameter of lenet-300-100, so nothing would train: leave at least one of its groups \(others, output\) out$/,
  );
  assert.doesNotThrow(() =>
    checkSpec(validateSpec({ name: 'c', data: { dataset: 'cifar10' }, model: { name: 'resnet-20' }, training: { freeze: ['output', 'others'] } }, 'x')),
  );
});
