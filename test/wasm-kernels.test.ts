import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { kernelsSharedWasm, kernelsWasm } from '../src/kernels/binaries.js';
import * as kernels from '../src/kernels/index.js';
import { hasFusedAdam } from '../src/kernels/index.js';
import { softmaxCrossEntropy } from '../src/models/ops.js';
import { makeOptimizer } from '../src/training/optimizer.js';

/**
 * The fused wasm kernels (src/kernels) must give exactly the bits of the tensor ops they
 * replace, on fresh random inputs, and must never own memory inside the tfjs heap they share.
 */

const ADAM = { name: 'adam' as const, lr: 0.0012, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Runs `steps` masked Adam updates on random weights/gradients; returns the final weights and moments. */
function runAdam(fused: boolean, seed: number, opts: { frozen: boolean; steps: number }) {
  const prev = process.env.LTH_FUSED;
  process.env.LTH_FUSED = fused ? '1' : '0';
  try {
    assert.equal(hasFusedAdam(), fused, 'fused kernel availability');
    let s = seed;
    const rnd = (shape: number[], sd = 1) => tf.randomNormal(shape, 0, sd, 'float32', s++);
    const shapes: Record<string, number[]> = { w1: [37, 23], b1: [23], w2: [23, 5] };
    const vars = Object.fromEntries(
      Object.entries(shapes).map(([k, sh]) => {
        const init = rnd(sh);
        const v = tf.variable(init);
        init.dispose();
        return [k, v];
      }),
    );
    const masks: Record<string, tf.Tensor> = {
      w1: tf.tidy(() => tf.cast(tf.greater(rnd([37, 23]), -0.3), 'float32')),
      w2: tf.tidy(() => tf.cast(tf.greater(rnd([23, 5]), 0.4), 'float32')),
    };
    const fixed: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(masks)) {
      const frozen = opts.frozen ? tf.tidy(() => tf.mul(rnd(shapes[k]), tf.sub(1, masks[k]))) : null;
      if (frozen) fixed[k] = frozen;
      tf.tidy(() => vars[k].assign(frozen ? tf.add(tf.mul(vars[k], masks[k]), frozen) : tf.mul(vars[k], masks[k])));
    }
    const opt = makeOptimizer(ADAM, { vars, masks, fixed: opts.frozen ? fixed : undefined });
    for (let i = 0; i < opts.steps; i++) {
      // gradients with ±0, large and tiny values, so rounding and sign cases are exercised
      const grads = Object.fromEntries(
        Object.entries(shapes).map(([k, sh]) => [k, tf.tidy(() => tf.mul(rnd(sh, 10 ** ((i % 5) - 3)), tf.cast(tf.greater(rnd(sh), -1.5), 'float32')))]),
      );
      opt.step(grads, ADAM.lr * (1 + (i % 3)));
      tf.dispose(Object.values(grads));
    }
    const out = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
    opt.dispose();
    tf.dispose([...Object.values(vars), ...Object.values(masks), ...Object.values(fixed)]);
    return out;
  } finally {
    process.env.LTH_FUSED = prev;
    if (prev === undefined) delete process.env.LTH_FUSED;
  }
}

function countDifferent(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) d++;
  return d;
}

/** Section ids of a wasm binary (1 type, 2 import, 3 function, 7 export, 10 code, 11 data, …). */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p++];
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      size |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    ids.push(id);
    p += size;
  }
  return ids;
}

describe('fused wasm kernels', () => {
  before(async () => {
    await initBackend('wasm');
  });
  after(() => delete process.env.LTH_FUSED);

  it('registers the fused masked Adam on wasm, and LTH_FUSED=0 turns it off', () => {
    assert.equal(hasFusedAdam(), true);
    process.env.LTH_FUSED = '0';
    assert.equal(hasFusedAdam(), false);
    delete process.env.LTH_FUSED;
  });

  for (const frozen of [false, true]) {
    it(`masked Adam: the fused kernel gives the tensor ops' exact bits (${frozen ? 'pruned weights frozen' : 'pruned weights zero'})`, () => {
      const seed = Math.floor(Math.random() * 1e6);
      const plain = runAdam(false, seed, { frozen, steps: 25 });
      const fused = runAdam(true, seed, { frozen, steps: 25 });
      for (const k of Object.keys(plain)) {
        assert.equal(countDifferent(fused[k], plain[k]), 0, `${k} (seed ${seed})`);
      }
      // and the weights did move (a kernel that wrote nothing would fail here)
      const start = runAdam(false, seed, { frozen, steps: 0 });
      assert.ok(countDifferent(start.w1, plain.w1) > 0.5 * start.w1.length);
    });
  }

  it('keeps pruned weights at exactly zero and leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const w = runAdam(true, 7, { frozen: false, steps: 10 });
    assert.equal(tf.memory().numTensors, before, 'live tensors after 10 fused steps');
    // same masks as runAdam draws for seed 7: recompute to check the zeros
    const plain = runAdam(false, 7, { frozen: false, steps: 10 });
    let zeros = 0;
    for (let i = 0; i < w.w1.length; i++) if (plain.w1[i] === 0) zeros++;
    assert.ok(zeros > 0, 'some weights are pruned');
    assert.equal(countDifferent(w.w1, plain.w1), 0);
  });

  it("transpose: every permutation of rank 2–4 gives tf.transpose's exact values", () => {
    const perms = (r: number): number[][] =>
      r === 1 ? [[0]] : perms(r - 1).flatMap((p) => Array.from({ length: r }, (_, i) => [...p.slice(0, i), r - 1, ...p.slice(i)]));
    const shapes = [
      [5, 7],
      [3, 4, 5],
      [2, 3, 4, 5],
      [6, 1, 9],
      [60, 4, 4, 8],
    ];
    for (const shape of shapes) {
      const x = tf.randomNormal(shape);
      for (const perm of perms(shape.length)) {
        const want = tf.transpose(x, perm); // tfjs's own kernel
        const got = kernels.transpose(x, perm);
        assert.deepEqual(got.shape, want.shape);
        assert.equal(countDifferent(got.dataSync() as Float32Array, want.dataSync() as Float32Array), 0, `[${shape}] perm [${perm}]`);
        tf.dispose([want, got]);
      }
      x.dispose();
    }
  });

  it('maxPool2Grad routes dy to the first maximum of each window, as tfjs does (ties included)', async () => {
    // small integers make ties common; odd sizes leave a row/column outside every window
    const xa = tf.tidy(() => tf.floor(tf.randomUniform([3, 7, 6, 4], 0, 3)).dataSync() as Float32Array);
    const dya = tf.tidy(() => tf.randomNormal([3, 3, 3, 4]).dataSync() as Float32Array);
    const got = tf.tidy(() => kernels.maxPool2Grad(tf.tensor4d(xa, [3, 7, 6, 4]), tf.tensor4d(dya, [3, 3, 3, 4])).dataSync() as Float32Array);
    await initBackend('cpu');
    const want = tf.tidy(() => {
      const dy = tf.tensor4d(dya, [3, 3, 3, 4]);
      return tf
        .grad((x: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), dy)))(tf.tensor4d(xa, [3, 7, 6, 4]))
        .dataSync() as Float32Array;
    });
    await initBackend('wasm');
    assert.equal(countDifferent(got, want), 0);
  });

  it('columnSums and im2col3x3 match plain tensor ops', () => {
    tf.tidy(() => {
      const m = tf.randomNormal([1000, 13]) as tf.Tensor2D;
      const want = tf.sum(m, 0).dataSync();
      const got = kernels.columnSums(m).dataSync();
      for (let j = 0; j < 13; j++) assert.ok(Math.abs(got[j] - want[j]) <= 1e-4 * (1 + Math.abs(want[j])), `column ${j}`);
      // x [c, n, h, w]; tap t = 3·kh + kw reads x at (i + kh − 1, j + kw − 1): a window of the zero-padded planes
      const x = tf.randomNormal([2, 3, 5, 4]) as tf.Tensor4D;
      const padded = tf.pad(x, [
        [0, 0],
        [0, 0],
        [1, 1],
        [1, 1],
      ]);
      const cols = kernels.im2col3x3(x);
      assert.deepEqual(cols.shape, [9, 2, 3, 5, 4]);
      for (let kh = 0; kh < 3; kh++)
        for (let kw = 0; kw < 3; kw++) {
          const ref = tf.slice(padded, [0, 0, kh, kw], [2, 3, 5, 4]);
          const tap = tf.slice(cols, [3 * kh + kw, 0, 0, 0, 0], [1, 2, 3, 5, 4]);
          assert.equal(countDifferent(tap.dataSync() as Float32Array, ref.dataSync() as Float32Array), 0, `tap ${kh},${kw}`);
        }
    });
  });

  it('small GEMM and fused bias+ReLU (forward and gradient) match plain tensor ops', () => {
    tf.tidy(() => {
      const rel = (a: tf.Tensor, b: tf.Tensor) => tf.norm(tf.sub(a, b)).dataSync()[0] / Math.max(tf.norm(b).dataSync()[0], 1e-30);
      for (const [m, k, n] of [
        [10, 100, 60],
        [7, 13, 5],
        [1, 300, 60],
        [100, 60, 10],
        [3, 1, 9],
      ]) {
        const a = tf.randomNormal([m, k]) as tf.Tensor2D;
        const b = tf.randomNormal([k, n]) as tf.Tensor2D;
        const e = rel(kernels.matMul(a, b), tf.matMul(a, b));
        assert.ok(e <= 1e-6, `[${m},${k}]·[${k},${n}]: rel. error ${e}`);
      }
      assert.equal(kernels.hasBiasAct(), true);
      const z = tf.randomNormal([30, 60]) as tf.Tensor2D;
      const bias = tf.randomNormal([30]) as tf.Tensor1D;
      const dy = tf.randomNormal([30, 60]) as tf.Tensor2D;
      for (const relu of [false, true]) {
        const want = tf.add(z, tf.reshape(bias, [30, 1]));
        const wantA = relu ? tf.relu(want) : want;
        const a = kernels.biasAct(z, bias, relu);
        assert.equal(countDifferent(a.dataSync() as Float32Array, wantA.dataSync() as Float32Array), 0, `bias_act relu=${relu}`);
        const [dz, db] = kernels.biasActGrad(dy, a, relu);
        const wantDz = relu ? tf.mul(dy, tf.cast(tf.greater(wantA, 0), 'float32')) : dy;
        assert.equal(countDifferent(dz.dataSync() as Float32Array, wantDz.dataSync() as Float32Array), 0, `dz relu=${relu}`);
        assert.ok(rel(db, tf.sum(wantDz, 1)) <= 1e-6, `db relu=${relu}`);
      }
    });
  });

  it('fused softmax cross-entropy: loss and gradient match tf.losses.softmaxCrossEntropy', () => {
    tf.tidy(() => {
      const logits = tf.mul(tf.randomNormal([60, 10]), 4) as tf.Tensor2D;
      const labels = tf.randomUniform([60], 0, 10, 'int32') as tf.Tensor1D;
      const f = (fused: boolean) =>
        tf.valueAndGrad((z: tf.Tensor) =>
          fused ? softmaxCrossEntropy(z as tf.Tensor2D, labels) : (tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 10), z) as tf.Scalar),
        )(logits);
      assert.equal(kernels.hasSoftmaxCrossEntropy(), true);
      const a = f(true);
      const b = f(false);
      assert.ok(Math.abs(a.value.dataSync()[0] - b.value.dataSync()[0]) <= 1e-6 * Math.abs(b.value.dataSync()[0]));
      const ga = a.grad.dataSync();
      const gb = b.grad.dataSync();
      let num = 0;
      let den = 0;
      for (let i = 0; i < ga.length; i++) {
        num += (ga[i] - gb[i]) ** 2;
        den += gb[i] ** 2;
      }
      assert.ok(Math.sqrt(num / den) <= 1e-5, `gradient rel. error ${Math.sqrt(num / den)}`);
    });
  });

  it('the modules import only memory and have no data of their own to write into the tfjs heap', () => {
    for (const [name, b64] of [
      ['kernels', kernelsWasm],
      ['kernels-shared', kernelsSharedWasm],
    ]) {
      const bytes = Buffer.from(b64, 'base64');
      const mod = new WebAssembly.Module(bytes);
      assert.deepEqual(
        WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`),
        ['env.memory:memory'],
        name,
      );
      assert.ok(!sectionIds(bytes).includes(11), `${name} has a data section`);
    }
  });

  it('the committed binaries match their C source (when clang is installed)', (t) => {
    if (spawnSync('clang', ['--version']).status !== 0 || spawnSync('wasm2wat', ['--version']).status !== 0) {
      t.skip('clang/wasm2wat not installed (apt-get install clang lld wabt)');
      return;
    }
    const out = execFileSync('bash', ['scripts/build-kernels', '--check'], { encoding: 'utf8' });
    assert.match(out, /up to date/);
  });
});
