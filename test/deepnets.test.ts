import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel, checkInput, modelHelp } from '../src/models/index.js';
import { specSchema } from '../src/spec/index.js';

/**
 * The deep nets of issue #23 (src/models/resnet.ts, src/models/vgg.ts): their structure counted
 * by hand from He et al. (2016) and OpenLTH's cifar_resnet / cifar_vgg, widths and input sizes.
 */

/** Kernel weights of a CIFAR ResNet of depth 6n + 2 and width w with projection shortcuts, counted from the paper's description. */
function resnetKernels(depth: number, w: number, cin: number, classes: number): number {
  const n = (depth - 2) / 6;
  let total = 9 * cin * w; // stem
  let f = w;
  for (const filters of [w, 2 * w, 4 * w]) {
    for (let b = 0; b < n; b++) {
      total += 9 * f * filters + 9 * filters * filters;
      if (filters !== f) total += f * filters; // 1×1 projection
      f = filters;
    }
  }
  return total + f * classes;
}

test('resnet-N: depth 6n + 2, 16-32-64 filters (width W: W-2W-4W), projection shortcuts where the stage changes; ResNet-20 has 0.27M parameters', () => {
  for (const depth of [20, 32, 44, 56, 110]) {
    const g = checkInput(`resnet-${depth}`, [32, 32, 3], 10);
    const kernels = g.params.filter((p) => p.kind !== 'none').reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    assert.equal(kernels, resnetKernels(depth, 16, 3, 10), `resnet-${depth}`);
    const convs = g.nodes.filter((n) => n.kind === 'conv2d' && n.params[0].shape[0] === 3).length;
    assert.equal(convs + 1, depth, `resnet-${depth}: ${depth - 1} 3×3 convs + the output layer`);
    assert.equal(g.nodes.filter((n) => n.kind === 'add').length, ((depth - 2) / 6) * 3);
  }
  const r20 = checkInput('resnet-20', [32, 32, 3], 10);
  const all = r20.params.filter((p) => p.role !== 'state').reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(all, 272474); // He et al. Table 6: 0.27M
  const shapes = Object.fromEntries(r20.nodes.map((n) => [n.name, n.outputShape.join('×')]));
  assert.deepEqual(
    [shapes.stem, shapes.b3_out, shapes.b4_conv1, shapes.b4_down, shapes.b7_down, shapes.b9_out, shapes.gap],
    ['32×32×16', '32×32×16', '16×16×32', '16×16×32', '8×8×64', '8×8×64', '64'],
  );
  assert.ok(!('b1_down' in shapes) && !('b5_down' in shapes), 'identity shortcuts inside a stage');
  const wide = checkInput('resnet-20', [28, 28, 1], 10, 64);
  assert.equal(
    wide.params.filter((p) => p.kind !== 'none').reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
    resnetKernels(20, 64, 1, 10),
  );
  assert.match(modelHelp('resnet-56'), /^ResNet-56 for CIFAR-10 \(He et al\. 2016; OpenLTH cifar_resnet_56; /);
});

test('vgg-N: OpenLTH cifar_vgg plans with BatchNorm after every conv, on 32×32×3, 28×28×1 and synthetic 16×16 images; width scales every stage', () => {
  const convWidths = {
    11: [64, 128, 256, 256, 512, 512, 512, 512],
    13: [64, 64, 128, 128, 256, 256, 512, 512, 512, 512],
    16: [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512],
    19: [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512],
  };
  for (const [n, widths] of Object.entries(convWidths)) {
    for (const shape of [
      [32, 32, 3],
      [28, 28, 1],
      [16, 16, 3],
    ]) {
      const g = checkInput(`vgg-${n}`, shape, 10);
      const convs = g.nodes.filter((x) => x.kind === 'conv2d');
      assert.deepEqual(
        convs.map((c) => c.outputShape[2]),
        widths,
      );
      assert.equal(g.nodes.filter((x) => x.kind === 'batchNormalization').length, widths.length);
      assert.deepEqual(g.params.find((p) => p.name === 'output/kernel')!.shape, [512, 10]);
    }
    const narrow = checkInput(`vgg-${n}`, [32, 32, 3], 10, 4);
    assert.deepEqual(
      narrow.nodes.filter((x) => x.kind === 'conv2d').map((c) => c.outputShape[2]),
      widths.map((w) => w / 16),
    );
  }
  assert.throws(() => checkInput('vgg-16', [15, 15, 3]), /model vgg-16 needs images of at least 16×16/);
});

test('model.width: declared in the schema, absent by default (older specs keep their identity), refused for a model that takes none', () => {
  const width = (m: unknown) => (m as { width?: number }).width;
  assert.equal(width(specSchema.parse({ name: 'x' }).model), undefined);
  assert.equal(width(specSchema.parse({ name: 'x', model: { name: 'resnet-20', width: 64 } }).model), 64);
  assert.throws(() => specSchema.parse({ name: 'x', model: { name: 'resnet-20', width: 0 } }));
  assert.throws(
    () => buildModel('lenet-300-100', [784], 10, 8),
    /^UserError: model lenet-300-100 takes no width \(model.width = 8\): remove model.width, or use a model that takes one \(resnet-20, /,
  );
});
