import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/util/tf.js';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { buildModel, initialize } from '../src/models/index.js';
import { conv2d, denseT, maxPool, softmaxCrossEntropy } from '../src/models/ops.js';
import { dense, flatten } from './helpers/ops.js';
import { readWeights, toTensors } from '../src/training/loop.js';

/**
 * The fast ops (custom gradients) must agree with plain tfjs ops. Reference values are
 * computed on the cpu backend in float32 from the same inputs; inputs are fresh random
 * tensors each run. Tolerance: relative error ‖a−b‖/‖b‖ ≤ 1e-5 per tensor.
 */

const TOL = 1e-5;

function relErr(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

type Arrays = Record<string, Float32Array>;

/** A small conv net through all four ops: conv-conv-pool-flatten-dense. */
function convNet(ops: { conv: typeof conv2d; dense: typeof dense }, p: Record<string, tf.Tensor>, x: tf.Tensor4D, abs = false): tf.Scalar {
  // the first with the ReLU fused into the conv (as the zoo's models use it), the second without
  let h = ops.conv(x, p.c1 as tf.Tensor4D, p.b1 as tf.Tensor1D, { relu: true });
  h = tf.relu(ops.conv(h, p.c2 as tf.Tensor4D, p.b2 as tf.Tensor1D, { relu: false }));
  const f = flatten(maxPool(h));
  const logits = ops.dense(f, p.w3 as tf.Tensor2D, p.b3 as tf.Tensor1D);
  // a loss with a non-uniform upstream gradient; `abs`: Σ|terms|, the scale of its float32 rounding
  const terms = tf.mul(logits, p.r as tf.Tensor2D);
  return tf.sum(abs ? tf.abs(terms) : terms);
}

/** Weights as tensors in stored layout (ParamSpec.shape), what Model.predict takes. */
const toTensorsStored = (model: { params: readonly { name: string; shape: readonly number[] }[] }, w: Record<string, Float32Array>) =>
  Object.fromEntries(model.params.map((p) => [p.name, tf.tensor(w[p.name], p.shape as number[])]));

const naive = {
  conv: (x: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D, o = { relu: false }): tf.Tensor4D => {
    const z = tf.add(tf.conv2d(x, f, 1, 'same'), b) as tf.Tensor4D;
    return o.relu ? tf.relu(z) : z;
  },
  dense: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D => tf.add(tf.matMul(x, w), b),
};
const fast = { conv: conv2d, dense };

const SHAPES: Record<string, number[]> = {
  x: [3, 8, 8, 3],
  c1: [3, 3, 3, 5],
  b1: [5],
  c2: [3, 3, 5, 4],
  b2: [4],
  w3: [64, 7],
  b3: [7],
  r: [3, 7],
};
const PARAMS = ['x', 'c1', 'b1', 'c2', 'b2', 'w3', 'b3'];

function randomInputs(): Arrays {
  const out: Arrays = {};
  for (const [k, s] of Object.entries(SHAPES)) {
    out[k] = tf.tidy(() => tf.randomNormal(s, 0, 1, 'float32').dataSync() as Float32Array);
  }
  return out;
}

/** Loss and gradients w.r.t. input and all params, as plain arrays, on the current backend. */
function lossAndGrads(ops: typeof fast, data: Arrays): { loss: number; grads: Arrays } {
  return tf.tidy(() => {
    const t: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(SHAPES)) t[k] = tf.tensor(data[k], SHAPES[k]);
    const xs = PARAMS.map((k) => t[k]);
    const g = tf.valueAndGrads((...args: tf.Tensor[]) => {
      const p: Record<string, tf.Tensor> = { ...t };
      PARAMS.forEach((k, i) => (p[k] = args[i]));
      return convNet(ops, p, p.x as tf.Tensor4D);
    })(xs);
    const grads: Arrays = {};
    PARAMS.forEach((k, i) => (grads[k] = g.grads[i].dataSync() as Float32Array));
    return { loss: g.value.dataSync()[0], grads };
  });
}

async function reference(data: Arrays): Promise<{ loss: number; grads: Arrays; scale: number }> {
  const prev = tf.getBackend();
  await initBackend('cpu');
  const r = lossAndGrads(naive, data);
  // The loss is a sum of terms of both signs: float32 summation order moves it by ~eps·Σ|terms|,
  // which can exceed 1e-5 of a loss that cancels. The tolerance is relative to Σ|terms|.
  const scale = tf.tidy(() => {
    const t: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(SHAPES)) t[k] = tf.tensor(data[k], SHAPES[k]);
    return convNet(naive, t, t.x as tf.Tensor4D, true).dataSync()[0];
  });
  await tf.setBackend(prev);
  return { ...r, scale };
}

/**
 * One training step's inputs and its naive reference (plain tfjs ops and gradients on cpu, stored
 * layout, row-major dense layers), computed once per model and shared by every backend's test.
 * Conv-2 runs on 8×8×3 images, not CIFAR's 32×32: the same layers, kernels and code paths (fc1's
 * products, 3·1024·256 multiply-adds, stay above the wasm small-GEMM threshold of 600,000) at a
 * sixteenth of the cost on cpu.
 */
const stepCases = new Map<string, ReturnType<typeof buildStepCase>>();
const stepCase = (name: string) => stepCases.get(name) ?? stepCases.set(name, buildStepCase(name)).get(name)!;

async function buildStepCase(name: string) {
  const input = name === 'conv-2' ? [8, 8, 3] : [28, 28, 1];
  const dim = input.reduce((a, b) => a * b, 1);
  const model = buildModel(name, input, 10);
  const w = initialize(model, 'glorot-normal', 'ops-step', Math.random());
  for (const p of model.params) if (p.name.endsWith('/bias')) w[p.name] = Float32Array.from(w[p.name], () => Math.random() - 0.5);
  const n = 3;
  const xa = Float32Array.from({ length: n * dim }, () => Math.random());
  const ya = Int32Array.from({ length: n }, () => Math.floor(Math.random() * 10));
  const prev = tf.getBackend();
  await initBackend('cpu');
  const ref = tf.tidy(() => {
    const params = model.params.map((p) => tf.tensor(w[p.name], p.shape as number[]));
    const f = (...ps: tf.Tensor[]) => {
      const pw: Record<string, tf.Tensor> = {};
      model.params.forEach((p, i) => (pw[p.name] = ps[i]));
      let h: tf.Tensor = tf.tensor2d(xa, [n, dim]);
      if (name === 'conv-2') {
        h = tf.reshape(h, [n, ...input]);
        h = tf.relu(naive.conv(h as tf.Tensor4D, pw['conv1/kernel'] as tf.Tensor4D, pw['conv1/bias'] as tf.Tensor1D));
        h = tf.relu(naive.conv(h as tf.Tensor4D, pw['conv2/kernel'] as tf.Tensor4D, pw['conv2/bias'] as tf.Tensor1D));
        h = tf.reshape(tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid'), [n, (input[0] / 2) * (input[1] / 2) * 64]);
      }
      const layers = ['fc1', 'fc2', 'output'];
      layers.forEach((l, i) => {
        h = naive.dense(h as tf.Tensor2D, pw[`${l}/kernel`] as tf.Tensor2D, pw[`${l}/bias`] as tf.Tensor1D);
        if (i < 2) h = tf.relu(h);
      });
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(ya, 'int32'), 10), h) as tf.Scalar;
    };
    const g = tf.valueAndGrads(f)(params);
    return { loss: g.value.dataSync()[0], grads: g.grads.map((x) => x.dataSync() as Float32Array) };
  });
  if (prev) await tf.setBackend(prev);
  return { model, w, xa, ya, n, dim, ref };
}

const backends: BackendName[] = ['cpu', 'wasm'];

for (const be of backends) {
  describe(`ops on ${be}`, () => {
    let ok = false;
    before(async () => {
      try {
        ok = (await initBackend(be)) === be;
      } catch {
        ok = false;
      }
    });

    it('dense/conv2d/maxPool: forward and all gradients match naive tfjs (cpu) within 1e-5', async (t) => {
      if (!ok) return t.skip(`${be} backend does not load here`);
      for (let trial = 0; trial < 3; trial++) {
        const data = randomInputs();
        const ref = await reference(data);
        await initBackend(be);
        const got = lossAndGrads(fast, data);
        assert.ok(Math.abs(got.loss - ref.loss) <= TOL * Math.max(1, ref.scale), `loss ${got.loss} vs ${ref.loss} (Σ|terms| ${ref.scale})`);
        for (const k of PARAMS) {
          const e = relErr(got.grads[k], ref.grads[k]);
          assert.ok(e <= TOL, `${be} d/d${k}: rel. error ${e.toExponential(2)} > ${TOL}`);
        }
      }
    });

    it('dense alone (LeNet-sized layer) matches naive gradients', async (t) => {
      if (!ok) return t.skip(`${be} backend does not load here`);
      const xa = tf.tidy(() => tf.randomNormal([60, 784]).dataSync() as Float32Array);
      const wa = tf.tidy(() => tf.randomNormal([784, 300], 0, 0.05).dataSync() as Float32Array);
      const ba = tf.tidy(() => tf.randomNormal([300]).dataSync() as Float32Array);
      const ra = tf.tidy(() => tf.randomNormal([60, 300]).dataSync() as Float32Array);
      const run = (op: typeof dense): Float32Array[] =>
        tf.tidy(() => {
          const x = tf.tensor2d(xa, [60, 784]);
          const r = tf.tensor2d(ra, [60, 300]);
          const gs = tf.grads((xx: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(xx as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), r)))([
            x,
            tf.tensor2d(wa, [784, 300]),
            tf.tensor1d(ba),
          ]);
          return gs.map((g) => g.dataSync() as Float32Array);
        });
      await initBackend('cpu');
      const ref = run(naive.dense);
      await initBackend(be);
      const got = run(dense);
      ['x', 'w', 'b'].forEach((n, i) => {
        const e = relErr(got[i], ref[i]);
        assert.ok(e <= TOL, `${be} dense d/d${n}: rel. error ${e.toExponential(2)}`);
      });
    });

    for (const relu of [false, true])
      it(`denseT (column layout, kernel held [out, in]${relu ? ', ReLU' : ''}) matches naive row-layout dense, forward and gradients`, async (t) => {
        if (!ok) return t.skip(`${be} backend does not load here`);
        const xa = tf.tidy(() => tf.randomNormal([60, 784]).dataSync() as Float32Array);
        const wa = tf.tidy(() => tf.randomNormal([784, 300], 0, 0.05).dataSync() as Float32Array);
        const ba = tf.tidy(() => tf.randomNormal([300]).dataSync() as Float32Array);
        const ra = tf.tidy(() => tf.randomNormal([60, 300]).dataSync() as Float32Array);
        // returns [out, dx, dW, db], all in row layout
        const run = (column: boolean): Float32Array[] =>
          tf.tidy(() => {
            const r = tf.tensor2d(ra, [60, 300]);
            const w = tf.tensor2d(wa, [784, 300]);
            const f = (xx: tf.Tensor, ww: tf.Tensor, b: tf.Tensor) =>
              column
                ? tf.transpose(denseT(tf.transpose(xx) as tf.Tensor2D, ww as tf.Tensor2D, b as tf.Tensor1D, { relu }))
                : (relu ? tf.relu : (v: tf.Tensor) => v)(naive.dense(xx as tf.Tensor2D, ww as tf.Tensor2D, b as tf.Tensor1D));
            const args = [tf.tensor2d(xa, [60, 784]), column ? tf.transpose(w) : w, tf.tensor1d(ba)];
            const out = f(args[0], args[1], args[2]);
            const gs = tf.grads((xx: tf.Tensor, ww: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, b), r)))(args);
            if (column) gs[1] = tf.transpose(gs[1]);
            return [out, ...gs].map((g) => g.dataSync() as Float32Array);
          });
        await initBackend('cpu');
        const ref = run(false);
        await initBackend(be);
        const got = run(true);
        ['out', 'x', 'w', 'b'].forEach((n, i) => {
          const e = relErr(got[i], ref[i]);
          assert.ok(e <= TOL, `${be} denseT ${n}: rel. error ${e.toExponential(2)}`);
        });
      });

    it('a zoo model computes in held layout what the naive row-layout net computes from stored weights', async (t) => {
      if (!ok) return t.skip(`${be} backend does not load here`);
      await initBackend(be);
      const model = buildModel('lenet-300-100', [28, 28, 1], 10);
      const w = initialize(model, 'glorot-normal', 'ops-test', Math.random());
      for (const p of model.params) if (p.name.endsWith('/bias')) w[p.name] = Float32Array.from(w[p.name], (_, i) => Math.sin(i));
      const xa = tf.tidy(() => tf.randomUniform([5, 784]).dataSync() as Float32Array);
      const got = tf.tidy(() => {
        const held = toTensors(model, w);
        return model.forward(held, tf.tensor2d(xa, [5, 784])).dataSync() as Float32Array;
      });
      const ref = tf.tidy(() => {
        let h: tf.Tensor2D = tf.tensor2d(xa, [5, 784]);
        const layers = ['fc1', 'fc2', 'output'];
        layers.forEach((n, i) => {
          const k = model.params.find((p) => p.name === `${n}/kernel`)!;
          h = naive.dense(h, tf.tensor2d(w[k.name], k.shape as [number, number]), tf.tensor1d(w[`${n}/bias`]));
          if (i < 2) h = tf.relu(h);
        });
        return h.dataSync() as Float32Array;
      });
      assert.ok(relErr(got, ref) <= TOL, `logits rel. error ${relErr(got, ref).toExponential(2)}`);
      // predict (evaluation: row layout, stored-layout weights) gives the same logits
      const pred = tf.tidy(() => model.predict(toTensorsStored(model, w), tf.tensor2d(xa, [5, 784])).dataSync() as Float32Array);
      assert.ok(relErr(pred, ref) <= TOL, `predict rel. error ${relErr(pred, ref).toExponential(2)}`);
      // a conv net: training forward (held layout) and predict (stored layout) agree
      const conv = buildModel('conv-2', [32, 32, 3], 10);
      const cw = initialize(conv, 'glorot-normal', 'ops-test-conv', Math.random());
      const xc = tf.tidy(() => tf.randomUniform([2, 32 * 32 * 3]).dataSync() as Float32Array);
      const [cf, cp] = tf.tidy(() => [
        conv.forward(toTensors(conv, cw), tf.tensor2d(xc, [2, 3072])).dataSync() as Float32Array,
        conv.predict(toTensorsStored(conv, cw), tf.tensor2d(xc, [2, 3072])).dataSync() as Float32Array,
      ]);
      assert.ok(relErr(cp, cf) <= TOL, `conv-2 predict vs forward rel. error ${relErr(cp, cf).toExponential(2)}`);
      // and the round trip stored → held → stored is exact
      const back = await readWeights(model, toTensors(model, w));
      for (const p of model.params) assert.deepEqual(back[p.name], w[p.name], p.name);
    });

    for (const name of ['lenet-300-100', 'conv-2']) {
      it(`${name}: a whole training step's loss and weight gradients match naive tfjs (cpu) within 1e-5`, async (t) => {
        if (!ok) return t.skip(`${be} backend does not load here`);
        const { model, w, xa, ya, n, dim, ref } = await stepCase(name);
        // the product path: held layout, model.forward, fused loss
        await initBackend(be);
        const vars = Object.fromEntries(Object.entries(toTensors(model, w)).map(([k, v]) => [k, tf.variable(v)]));
        const { value, grads } = tf.variableGrads(
          () => softmaxCrossEntropy(model.forward(vars, tf.tensor2d(xa, [n, dim])), tf.tensor1d(ya, 'int32')),
          Object.values(vars),
        );
        const got = await readWeights(model, Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, grads[v.name]])));
        const loss = value.dataSync()[0];
        tf.dispose([value, ...Object.values(grads), ...Object.values(vars)]);
        assert.ok(Math.abs(loss - ref.loss) <= TOL * Math.max(1, Math.abs(ref.loss)), `loss ${loss} vs ${ref.loss}`);
        model.params.forEach((p, i) => {
          const e = relErr(got[p.name], ref.grads[i]);
          assert.ok(e <= TOL, `${be} ${name} d/d${p.name}: rel. error ${e.toExponential(2)}`);
        });
      });
    }

    it('leaks no tensors (forward+backward, and forward-only)', async (t) => {
      if (!ok) return t.skip(`${be} backend does not load here`);
      await initBackend(be);
      const data = randomInputs();
      lossAndGrads(fast, data); // warm-up: kernels may allocate once
      const before = tf.memory().numTensors;
      lossAndGrads(fast, data);
      tf.tidy(() => {
        const p: Record<string, tf.Tensor> = {};
        for (const k of Object.keys(SHAPES)) p[k] = tf.tensor(data[k], SHAPES[k]);
        convNet(fast, p, p.x as tf.Tensor4D).dataSync();
      });
      assert.equal(tf.memory().numTensors, before);
    });

    it('first-layer input gradient is not computed when not requested', async (t) => {
      if (!ok) return t.skip(`${be} backend does not load here`);
      await initBackend(be);
      // variableGrads w.r.t. the filter only: must still be correct (lazy thunks)
      const data = randomInputs();
      const got = tf.tidy(() => {
        const x = tf.tensor4d(data.x, SHAPES.x as [number, number, number, number]);
        const f = tf.variable(tf.tensor4d(data.c1, SHAPES.c1 as [number, number, number, number]));
        const b = tf.zeros([5]) as tf.Tensor1D;
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(conv2d(x, f, b))), [f]);
        const out = grads[f.name].dataSync() as Float32Array;
        f.dispose();
        return out;
      });
      await initBackend('cpu');
      const ref = tf.tidy(() => {
        const x = tf.tensor4d(data.x, SHAPES.x as [number, number, number, number]);
        const f = tf.tensor4d(data.c1, SHAPES.c1 as [number, number, number, number]);
        return tf
          .grad((ff: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, ff as tf.Tensor4D, 1, 'same'))))(f)
          .dataSync() as Float32Array;
      });
      const e = relErr(got, ref);
      assert.ok(e <= TOL, `rel. error ${e.toExponential(2)}`);
    });
  });
}
