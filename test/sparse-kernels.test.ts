import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/util/tf.js';
import { backendLabel, initBackend } from '../src/backend/index.js';
import { loadNativeAddon } from '../src/backend/native.js';
import * as kernels from '../src/kernels/index.js';
import { SPARSE_DENSITY, sparseLayout } from '../src/kernels/sparse.js';
import { denseT } from '../src/models/ops.js';
import { buildModel, initialize, type Masks } from '../src/models/index.js';
import { randomSplit } from '../src/bench/run.js';
import { trainingSchema } from '../src/spec/index.js';
import { resolveSchedule, train, type StepCallback } from '../src/training/index.js';
import { makeOptimizer } from '../src/training/optimizer.js';
import { makeRng } from '../src/util/index.js';
import { close, rand } from './helpers/numbers.js';

/**
 * Sparse kernels of pruned dense layers on the native and wasm backends (src/kernels/sparse.ts,
 * src/kernels/sparse.c): the layout built from a mask, one layer's forward pass and gradients
 * against a float64 reference computed here, the sparse Adam step against the dense one, whole
 * training steps of a pruned MLP against the wasm backend's dense kernels (`LTH_SPARSE=0`), and
 * the two backends' sparse kernels against each other, bit for bit.
 */

const load = loadNativeAddon();
const noNative = load.ok ? false : `the native addon is not available: ${load.problem} (${load.fix})`;

/** Runs f with the sparse kernels off (`LTH_SPARSE=0`): the dense path, masks applied. */
async function dense<T>(f: () => Promise<T>): Promise<T> {
  const before = process.env.LTH_SPARSE;
  process.env.LTH_SPARSE = '0';
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.LTH_SPARSE;
    else process.env.LTH_SPARSE = before;
  }
}

/** A 0/1 mask of n entries keeping about `keep` of them. */
const maskOf = (n: number, keep: number, seed: number) => Float32Array.from(rand(n, seed), (v) => (v < 2 * keep - 1 ? 1 : 0));

describe('sparse layout of a mask', () => {
  it('lists kept entries by row, by column and flat, and is null at or above the density threshold', () => {
    // 3 × 8, rows [1 1 0 0 0 0 0 0], [0 0 0 0 0 0 0 0], [0 1 0 0 0 0 0 0]: 3 of 24 kept
    const mask = [1, 1, 0, 0, 0, 0, 0, 0, ...new Array<number>(8).fill(0), 0, 1, 0, 0, 0, 0, 0, 0];
    assert.equal(sparseLayout(mask, 3, 8, 3 / 24), null, 'exactly at the threshold: dense');
    const l = sparseLayout(mask, 3, 8, 0.15)!;
    assert.deepEqual([...l.rowPtr], [0, 2, 2, 3]);
    assert.deepEqual([...l.colIdx], [0, 1, 1]);
    assert.deepEqual([...l.colPtr], [0, 1, 3, 3, 3, 3, 3, 3, 3]);
    assert.deepEqual([...l.rowIdx], [0, 0, 2]);
    assert.deepEqual([...l.kept], [0, 1, 17]);
    for (const [backend, density] of Object.entries(SPARSE_DENSITY)) {
      const at = Array.from({ length: 100 }, (_, i) => (i < Math.ceil(density * 100) ? 1 : 0));
      assert.equal(sparseLayout(at, 10, 10, density), null, `${backend}: at ${density}`);
      const below = Array.from({ length: 100 }, (_, i) => (i < Math.ceil(density * 100) - 1 ? 1 : 0));
      assert.ok(sparseLayout(below, 10, 10, density), `${backend}: below ${density}`);
    }
  });
});

for (const backend of ['native', 'wasm'] as const)
  describe(`sparse dense layers on ${backend}`, { skip: backend === 'native' ? noNative : false }, () => {
    before(async () => {
      assert.equal(await initBackend(backend), backend);
    });

    for (const [rows, cols, n, keep, relu] of [
      [37, 53, 11, 0.1, true],
      [300, 784, 60, 0.036, true],
      [10, 100, 16, 0.12, false],
    ] as const) {
      it(`denseT ${rows}×${cols}, batch ${n}, ${(keep * 100).toFixed(1)}% kept${relu ? ', ReLU' : ''}: output and gradients match float64 (weight gradient at kept entries only)`, () => {
        const w = rand(rows * cols, 1);
        const mask = maskOf(rows * cols, keep, 2);
        for (let i = 0; i < w.length; i++) w[i] *= mask[i];
        const x = rand(cols * n, 3);
        const b = rand(rows, 4);
        const r = rand(rows * n, 5);
        const wT = tf.tensor2d(w, [rows, cols]);
        const mT = tf.tensor2d(mask, [rows, cols]);
        kernels.setSparseMask(wT, mT);
        assert.ok(kernels.sparseLayoutOf(wT), 'the layer has a sparse layout');
        const xT = tf.tensor2d(x, [cols, n]);
        const bT = tf.tensor1d(b);
        const rT = tf.tensor2d(r, [rows, n]);
        // loss = Σ a ⊙ r, so ∂loss/∂a = r
        const f = (xa: tf.Tensor, wa: tf.Tensor, ba: tf.Tensor) =>
          tf.sum(tf.mul(denseT(xa as tf.Tensor2D, wa as tf.Tensor2D, ba as tf.Tensor1D, { relu }), rT));
        const a = denseT(xT, wT, bT, { relu });
        const [dx, dw, db] = tf.grads(f)([xT, wT, bT]);
        const [, dwAll] = kernels.withAllWeightGradients(() => tf.grads(f)([xT, wT, bT]));
        // float64 reference
        const z = new Float64Array(rows * n);
        for (let o = 0; o < rows; o++)
          for (let t = 0; t < n; t++) {
            let s = b[o];
            for (let c = 0; c < cols; c++) s += w[o * cols + c] * x[c * n + t];
            z[o * n + t] = relu ? Math.max(0, s) : s;
          }
        const dz = Float64Array.from(r, (v, i) => (relu && z[i] <= 0 ? 0 : v));
        const dxRef = new Float64Array(cols * n);
        const dwRef = new Float64Array(rows * cols);
        const dbRef = new Float64Array(rows);
        for (let o = 0; o < rows; o++)
          for (let t = 0; t < n; t++) {
            dbRef[o] += dz[o * n + t];
            for (let c = 0; c < cols; c++) {
              dxRef[c * n + t] += w[o * cols + c] * dz[o * n + t];
              dwRef[o * cols + c] += dz[o * n + t] * x[c * n + t];
            }
          }
        close(a.dataSync(), z, 'output');
        close(dx.dataSync(), dxRef, 'input gradient');
        close(db.dataSync(), dbRef, 'bias gradient');
        close(dwAll.dataSync(), dwRef, 'weight gradient, every entry');
        close(
          dw.dataSync(),
          Float64Array.from(dwRef, (v, i) => v * mask[i]),
          'weight gradient, kept entries',
        );
        kernels.setSparseMask(wT, null);
        assert.equal(kernels.sparseLayoutOf(wT), null, 'detached');
        tf.dispose([wT, mT, xT, bT, rT, a, dx, dw, db, dwAll]);
      });
    }

    it('a masked Adam step on kept entries only gives the bits of the dense masked Adam', () => {
      const spec = { name: 'adam' as const, lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
      const [rows, cols] = [30, 41];
      const mask = maskOf(rows * cols, 0.1, 10);
      const init = Float32Array.from(rand(rows * cols, 11), (v, i) => v * mask[i]);
      const run = (sparse: boolean) => {
        const w = tf.variable(tf.tensor2d(init, [rows, cols]));
        const m = tf.tensor2d(mask, [rows, cols]);
        kernels.setSparseMask(w, sparse ? m : null);
        assert.equal(kernels.sparseLayoutOf(w) != null, sparse);
        const opt = makeOptimizer(spec, { vars: { w }, masks: { w: m } });
        for (let t = 1; t <= 3; t++) {
          const g = tf.tensor2d(rand(rows * cols, 20 + t), [rows, cols]);
          opt.step({ w: g }, spec.lr);
          g.dispose();
        }
        const out = w.dataSync().slice();
        opt.dispose();
        tf.dispose([w, m]);
        return out;
      };
      const sparse = run(true);
      const dense = run(false);
      assert.deepEqual(new Uint32Array(sparse.buffer), new Uint32Array(dense.buffer));
      assert.ok(
        sparse.some((v, i) => v !== init[i]),
        'the kept weights moved',
      );
    });

    /**
     * Final weights after `steps` SGD steps of an MLP with `keep` of each fc kernel kept, on
     * `backend`; with `regrow`, the masks are replaced by new ones (same density) before step 1,
     * as SET and RigL do, so the sparse layouts must be rebuilt.
     */
    async function trainOn(on: 'native' | 'wasm', keep: number, steps: number, regrow = false) {
      await initBackend(on);
      const batch = 12;
      const shape = [28, 28, 1];
      const model = buildModel('mlp-small', shape, 10);
      const split = randomSplit(shape, batch * steps, 'train');
      const data = { name: 'r', inputShape: shape, numClasses: 10, train: split, val: split, test: split, source: 'r' };
      const rng = makeRng('sparse-kernels-test');
      const draw = () => {
        const masks: Masks = {};
        for (const p of model.params)
          if (p.kind !== 'none') masks[p.name] = Uint8Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() < keep ? 1 : 0));
        return masks;
      };
      const first = draw();
      const second = draw();
      const swap: StepCallback = { at: (s) => s === 1, run: (_s, trainee) => trainee.control!.setMasks(second) };
      const res = await train({
        model,
        data,
        plan: resolveSchedule(
          trainingSchema.parse({ batchSize: batch, iterations: `${steps}it`, evalEvery: `${steps + 1}it`, optimizer: { name: 'sgd', lr: 0.05 } }),
          split.n,
        ),
        schedule: { kind: 'replay', from: 0 },
        init: initialize(model, 'glorot-normal', 'p'),
        masks: first,
        orderKey: ['p'],
        stepCallbacks: regrow ? [swap] : [],
      });
      return { params: model.params.map((p) => p.name), weights: res.weights, masks: regrow ? second : first };
    }

    for (const regrow of [false, true]) {
      it(`SGD steps of an MLP at 10% of its weights${regrow ? ', masks replaced after the first step' : ''}: ${backend} (sparse kernels) agrees with wasm (dense) within 1e-5 relative`, async () => {
        const wasm = await dense(() => trainOn('wasm', 0.1, 3, regrow));
        const nat = await trainOn(backend, 0.1, 3, regrow);
        for (const p of nat.params) {
          const a = nat.weights[p];
          const b = wasm.weights[p];
          let num = 0;
          let den = 0;
          for (let i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) ** 2;
            den += b[i] ** 2;
          }
          assert.ok(den > 0, `${p} moved`);
          assert.ok(Math.sqrt(num / den) <= 1e-5, `${p}: relative difference ${Math.sqrt(num / den)}`);
          const m = nat.masks[p];
          if (m) for (let i = 0; i < a.length; i++) if (!m[i]) assert.ok(a[i] === 0, `${p}[${i}] is pruned and stays 0`);
        }
        await initBackend(backend);
      });
    }
  });

describe('levels.backend names the kernel switches that change bits', () => {
  it('LTH_SPARSE=0 adds +sparse-off, LTH_FUSED=0 +fused-off, neither adds nothing', async () => {
    await initBackend('wasm');
    assert.equal(backendLabel(), 'wasm');
    assert.equal(await dense(async () => backendLabel()), 'wasm+sparse-off');
    const before = process.env.LTH_FUSED;
    process.env.LTH_FUSED = '0';
    try {
      assert.equal(backendLabel(), 'wasm+fused-off');
    } finally {
      if (before === undefined) delete process.env.LTH_FUSED;
      else process.env.LTH_FUSED = before;
    }
  });
});

describe('sparse kernels give the same bits on native and wasm', { skip: noNative }, () => {
  it('forward pass, input gradient, kept-entry weight gradient and Adam step of a 300×784 layer at 5% kept, batch 60', async () => {
    const [rows, cols, n] = [300, 784, 60];
    const mask = maskOf(rows * cols, 0.05, 31);
    const w = Float32Array.from(rand(rows * cols, 32), (v, i) => v * mask[i]);
    const x = rand(cols * n, 33);
    const r = rand(rows * n, 34);
    const spec = { name: 'adam' as const, lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    const run = async (on: 'native' | 'wasm') => {
      await initBackend(on);
      const wT = tf.variable(tf.tensor2d(w, [rows, cols]));
      const mT = tf.tensor2d(mask, [rows, cols]);
      kernels.setSparseMask(wT, mT);
      assert.ok(kernels.sparseLayoutOf(wT), `${on} runs the layer sparse`);
      const [xT, bT, rT] = [tf.tensor2d(x, [cols, n]), tf.zeros([rows]) as tf.Tensor1D, tf.tensor2d(r, [rows, n])];
      const f = (xa: tf.Tensor, wa: tf.Tensor) => tf.sum(tf.mul(denseT(xa as tf.Tensor2D, wa as tf.Tensor2D, bT, { relu: true }), rT));
      const a = denseT(xT, wT, bT, { relu: true });
      const [dx, dw] = tf.grads(f)([xT, wT]);
      const opt = makeOptimizer(spec, { vars: { w: wT }, masks: { w: mT } });
      opt.step({ w: dw }, spec.lr);
      const out = [a, dx, dw, wT].map((t) => new Uint32Array(t.dataSync().slice().buffer));
      kernels.setSparseMask(wT, null);
      opt.dispose();
      tf.dispose([wT, mT, xT, bT, rT, a, dx, dw]);
      return out;
    };
    const nat = await run('native');
    const wasm = await run('wasm');
    ['output', 'input gradient', 'weight gradient', 'weights after Adam'].forEach((what, i) => assert.deepEqual(nat[i], wasm[i], what));
  });
});
