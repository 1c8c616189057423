import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinySpec } from './helpers/common.js';
import { tf } from '../src/util/tf.js';
import { backendLabel, initBackend } from '../src/backend/index.js';
import { loadNativeAddon } from '../src/backend/native.js';
import * as kernels from '../src/kernels/index.js';
import { batchNormTrain, globalAvgPool, relu, softmaxCrossEntropy } from '../src/models/ops.js';
import { buildModel, initialize, type Masks } from '../src/models/index.js';
import { randomSplit } from '../src/bench/run.js';
import { trainingSchema } from '../src/spec/index.js';
import { resolveSchedule, train } from '../src/training/index.js';
import { makeOptimizer } from '../src/training/optimizer.js';
import { makeRng } from '../src/util/index.js';
import { close, rand } from './helpers/numbers.js';
import { convTaps, outGeo, type ConvGeo } from './helpers/conv-reference.js';

/**
 * The 'native' backend (src/backend/native.ts, src/kernels/native.ts, native/): every native
 * kernel against a float64 reference computed here, element by element; whole training steps
 * against the wasm backend; and the fallback when the addon is hidden.
 */

const load = loadNativeAddon();
const skip = load.ok ? false : `the native addon is not available: ${load.problem} (${load.fix})`;

/** float64 C = op(A)·op(B) for row-major A [m×k] (or [k×m] when ta), B [k×n] (or [n×k] when tb). */
function matMulRef(a: Float32Array, b: Float32Array, m: number, k: number, n: number, ta: boolean, tb: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  return c;
}

type Geo = ConvGeo;

describe('native backend', { skip }, () => {
  before(async () => {
    assert.equal(await initBackend('native'), 'native');
  });

  it('is labelled with its instruction set and oneDNN, and pins OpenBLAS and oneDNN to it', () => {
    assert.match(backendLabel(), /^native:avx2\+onednn-\d+\.\d+\.\d+$/);
    if (load.ok) assert.match(load.addon.info().blasCore, /haswell/i);
    if (load.ok) assert.equal(load.addon.info().onednnIsa, 'avx2');
  });

  it('a GEMM gives the same bits on 1, 2, 3 and 5 threads (rows do not depend on the cores)', () => {
    assert.ok(load.ok);
    for (const [m, n, k, ta, tb] of [
      [60, 300, 784, 0, 0],
      [576, 64, 4704, 1, 0],
      [1568, 64, 576, 0, 1],
    ]) {
      const a = rand(m * k, 90);
      const b = rand(k * n, 91);
      const runs = [1, 2, 3, 5].map((threads) => {
        const c = new Float32Array(m * n);
        load.addon.gemm(a, b, c, 1, m, n, k, ta, tb, 0, 0, null, 0, threads);
        return c;
      });
      for (const c of runs.slice(1)) assert.ok(Buffer.from(c.buffer).equals(Buffer.from(runs[0].buffer)), `${m}×${n}×${k}: bits differ between thread counts`);
      // float32 sums of k products: error measured against Σ|a||b| (the sum cancels)
      const want = matMulRef(a, b, m, k, n, ta === 1, tb === 1);
      const mag = matMulRef(a.map(Math.abs), b.map(Math.abs), m, k, n, ta === 1, tb === 1);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(runs[0][i] - want[i]) <= 1e-6 * mag[i], `${m}×${n}×${k}[${i}]: ${runs[0][i]} vs ${want[i]}`);
    }
  });

  it('matMul with every transpose pair, a broadcast batch, and fused bias + ReLU matches float64', () => {
    const [m, k, n] = [37, 53, 29];
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const a = rand(m * k, 1 + Number(ta));
        const b = rand(k * n, 3 + Number(tb));
        const got = tf.tidy(() => tf.matMul(tf.tensor2d(a, ta ? [k, m] : [m, k]), tf.tensor2d(b, tb ? [n, k] : [k, n]), ta, tb).dataSync());
        close(got, matMulRef(a, b, m, k, n, ta, tb), `matMul ta=${ta} tb=${tb}`);
      }
    // batch 3 against a broadcast [1, k, n]
    const a3 = rand(3 * m * k, 5);
    const b1 = rand(k * n, 6);
    const got3 = tf.tidy(() => tf.matMul(tf.tensor3d(a3, [3, m, k]), tf.tensor3d(b1, [1, k, n])).dataSync());
    for (let i = 0; i < 3; i++) close(got3.subarray(i * m * n, (i + 1) * m * n), matMulRef(a3.subarray(i * m * k), b1, m, k, n, false, false), `batch ${i}`);
    const bias = rand(n, 7);
    const a = rand(m * k, 8);
    const b = rand(k * n, 9);
    const fused = tf.tidy(() =>
      tf.fused.matMul({ a: tf.tensor2d(a, [m, k]), b: tf.tensor2d(b, [k, n]), bias: tf.tensor1d(bias), activation: 'relu' }).dataSync(),
    );
    const ref = matMulRef(a, b, m, k, n, false, false).map((v, i) => Math.max(0, v + bias[i % n]));
    close(fused, ref, 'fused matMul');
  });

  it('conv2d forward (+bias+ReLU) and both gradients match float64, for 3×3 same, strided, 5×5 valid and 1×1', () => {
    const geos: Geo[] = [
      { n: 3, h: 9, w: 7, ci: 4, kh: 3, kw: 3, co: 5, s: 1, pad: 'same' },
      { n: 2, h: 10, w: 9, ci: 3, kh: 3, kw: 3, co: 4, s: 2, pad: 'same' },
      { n: 2, h: 11, w: 8, ci: 2, kh: 5, kw: 5, co: 3, s: 1, pad: 'valid' },
      { n: 2, h: 5, w: 6, ci: 6, kh: 1, kw: 1, co: 4, s: 1, pad: 'same' },
    ];
    for (const [gi, g] of geos.entries()) {
      const { oh, ow } = outGeo(g);
      const x = rand(g.n * g.h * g.w * g.ci, 10 + gi);
      const f = rand(g.kh * g.kw * g.ci * g.co, 20 + gi);
      const bias = rand(g.co, 30 + gi);
      const r = rand(g.n * oh * ow * g.co, 40 + gi);
      const z = new Float64Array(g.n * oh * ow * g.co);
      const dx = new Float64Array(x.length);
      const df = new Float64Array(f.length);
      convTaps(g, (xi, fi, oi) => {
        z[oi] += x[xi] * f[fi];
        dx[xi] += f[fi] * r[oi];
        df[fi] += x[xi] * r[oi];
      });
      const xt = tf.tensor4d(x, [g.n, g.h, g.w, g.ci]);
      const ft = tf.tensor4d(f, [g.kh, g.kw, g.ci, g.co]);
      const fwd = tf.tidy(() => tf.fused.conv2d({ x: xt, filter: ft, strides: g.s, pad: g.pad, bias: tf.tensor1d(bias), activation: 'relu' }).dataSync());
      close(
        fwd,
        z.map((v, i) => Math.max(0, v + bias[i % g.co])),
        `conv forward ${gi}`,
      );
      // L = Σ conv(x, f)·r: dL/dx and dL/df are tfjs's Conv2DBackpropInput / Conv2DBackpropFilter
      const [gx, gf] = tf.tidy(() =>
        tf
          .grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, g.s, g.pad), tf.tensor(r, [g.n, oh, ow, g.co]))))([
            xt,
            ft,
          ])
          .map((t) => t.dataSync()),
      );
      close(gx, dx, `conv input gradient ${gi}`);
      close(gf, df, `conv filter gradient ${gi}`);
      tf.dispose([xt, ft]);
    }
  });

  it("lth's layer kernels (bias+act, its gradients, column sums, transpose, im2col, 2×2 max pool and its gradient) match float64", () => {
    const [rows, cols] = [13, 21];
    const z = rand(rows * cols, 50);
    const b = rand(rows, 51);
    const dy = rand(rows * cols, 52);
    for (const relu of [false, true]) {
      const [a, dz, db] = tf.tidy(() => {
        const at = kernels.biasAct(tf.tensor2d(z, [rows, cols]), tf.tensor1d(b), relu);
        const [dzt, dbt] = kernels.biasActGrad(tf.tensor2d(dy, [rows, cols]), at, relu);
        return [at.dataSync(), dzt.dataSync(), dbt.dataSync()];
      });
      const aRef = Array.from(z, (v, i) => (relu ? Math.max(0, v + b[Math.floor(i / cols)]) : v + b[Math.floor(i / cols)]));
      close(a, aRef, `biasAct relu=${relu}`);
      const dzRef = Array.from(dy, (v, i) => (relu && !(aRef[i] > 0) ? 0 : v));
      close(dz, dzRef, `biasActGrad dz relu=${relu}`);
      close(
        db,
        Array.from({ length: rows }, (_, r) => dzRef.slice(r * cols, (r + 1) * cols).reduce((s, v) => s + v, 0)),
        `biasActGrad db relu=${relu}`,
      );
      const [dz2, db2] = tf.tidy(() => kernels.actGradCols(tf.tensor2d(dy, [rows, cols]), tf.tensor2d(z, [rows, cols]), relu).map((t) => t.dataSync()));
      const dz2Ref = Array.from(dy, (v, i) => (relu && !(z[i] > 0) ? 0 : v));
      close(dz2, dz2Ref, `actGradCols dz relu=${relu}`);
      close(
        db2,
        Array.from({ length: cols }, (_, c) => dz2Ref.filter((_, i) => i % cols === c).reduce((s, v) => s + v, 0)),
        `actGradCols db relu=${relu}`,
      );
    }
    const sums = tf.tidy(() => kernels.columnSums(tf.tensor2d(z, [rows, cols])).dataSync());
    close(
      sums,
      Array.from({ length: cols }, (_, c) => z.filter((_, i) => i % cols === c).reduce((s, v) => s + v, 0)),
      'columnSums',
    );
    // transpose [2,3,4,5] by [3,1,0,2]
    const shape = [2, 3, 4, 5];
    const perm = [3, 1, 0, 2];
    const x = rand(120, 53);
    const tr = tf.tidy(() => kernels.transpose(tf.tensor(x, shape), perm).dataSync());
    const trRef: number[] = [];
    for (let i3 = 0; i3 < 5; i3++)
      for (let i1 = 0; i1 < 3; i1++) for (let i0 = 0; i0 < 2; i0++) for (let i2 = 0; i2 < 4; i2++) trRef.push(x[((i0 * 3 + i1) * 4 + i2) * 5 + i3]);
    close(tr, trRef, 'transpose');
    // im2col3x3 of [2, 3, 4, 5]: out[t][p][i][j] = x[p][i + ⌊t/3⌋ − 1][j + t mod 3 − 1], 0 outside
    const im = tf.tidy(() => kernels.im2col3x3(tf.tensor4d(x, [2, 3, 4, 5])).dataSync());
    const imRef: number[] = [];
    for (let t = 0; t < 9; t++)
      for (let p = 0; p < 6; p++)
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 5; j++) {
            const ii = i + Math.floor(t / 3) - 1;
            const jj = j + (t % 3) - 1;
            imRef.push(ii < 0 || ii >= 4 || jj < 0 || jj >= 5 ? 0 : x[(p * 4 + ii) * 5 + jj]);
          }
    close(im, imRef, 'im2col3x3');
    // max-pool 2×2 gradient on [2, 6, 4, 3]: dy goes to each window's (first) maximum
    const px = rand(2 * 6 * 4 * 3, 54);
    const pdy = rand(2 * 3 * 2 * 3, 55);
    const pg = tf.tidy(() => kernels.maxPool2Grad(tf.tensor4d(px, [2, 6, 4, 3]), tf.tensor4d(pdy, [2, 3, 2, 3])).dataSync());
    const pgRef = new Float64Array(px.length);
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 2; j++)
          for (let c = 0; c < 3; c++) {
            let best = -1;
            for (let di = 0; di < 2; di++)
              for (let dj = 0; dj < 2; dj++) {
                const k = ((n * 6 + 2 * i + di) * 4 + 2 * j + dj) * 3 + c;
                if (best < 0 || px[k] > px[best]) best = k;
              }
            pgRef[best] += pdy[((n * 3 + i) * 2 + j) * 3 + c];
          }
    close(pg, pgRef, 'maxPool2Grad');
    const pool = tf.tidy(() => tf.maxPool(tf.tensor4d(px, [2, 6, 4, 3]), 2, 2, 'valid').dataSync());
    const poolRef: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 2; j++)
          for (let c = 0; c < 3; c++) {
            const at = (di: number, dj: number) => px[((n * 6 + 2 * i + di) * 4 + 2 * j + dj) * 3 + c];
            poolRef.push(Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1)));
          }
    close(pool, poolRef, 'maxPool 2×2');
  });

  it('BatchNorm in training mode (moments, normalization, gradient w.r.t. x, γ, β) matches float64 and finite differences', () => {
    const [n, h, w, c] = [3, 5, 4, 6];
    const rows = n * h * w;
    const eps = 1e-3;
    const x = rand(rows * c, 100).map((v, i) => v * (1 + (i % c)) + (i % c) / 2);
    const gamma = rand(c, 101);
    const beta = rand(c, 102);
    const r = rand(rows * c, 103);
    /** float64 forward: y = (x − μ)·γ/√(σ² + ε) + β, μ and σ² (biased) of xs per channel; and Σ y·r */
    const forward = (xs: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>) => {
      const mean = new Float64Array(c);
      const variance = new Float64Array(c);
      for (let i = 0; i < xs.length; i++) mean[i % c] += xs[i] / rows;
      for (let i = 0; i < xs.length; i++) variance[i % c] += (xs[i] - mean[i % c]) ** 2 / rows;
      const y = Array.from(xs, (v, i) => ((v - mean[i % c]) * g[i % c]) / Math.sqrt(variance[i % c] + eps) + b[i % c]);
      return { mean, variance, y, loss: y.reduce((s, v, i) => s + v * r[i], 0) };
    };
    const ref = forward(x, gamma, beta);
    /** central differences of Σ y·r in float64, one coordinate of `of` at a time */
    const numeric = (of: 'x' | 'g' | 'b'): number[] => {
      const base = { x: Float64Array.from(x), g: Float64Array.from(gamma), b: Float64Array.from(beta) };
      return Array.from(base[of], (v, i) => {
        const at = (d: number) => {
          const p = { ...base, [of]: Float64Array.from(base[of]) };
          p[of][i] = v + d;
          return forward(p.x, p.g, p.b).loss;
        };
        return (at(1e-6) - at(-1e-6)) / 2e-6;
      });
    };
    assert.ok(kernels.hasBatchNormKernels(), 'the native backend has the BatchNorm kernels');
    const got = tf.tidy(() => {
      const xt = tf.tensor4d(x, [n, h, w, c]);
      const [gt, bt] = [tf.tensor1d(gamma), tf.tensor1d(beta)];
      const out = batchNormTrain(xt, gt, bt, eps);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(batchNormTrain(a, b as tf.Tensor1D, d as tf.Tensor1D, eps).y, tf.tensor4d(r, [n, h, w, c]))),
      )([xt, gt, bt]);
      return [out.y, out.mean, out.variance, ...grads].map((t) => t.dataSync());
    });
    close(got[0], ref.y, 'y');
    close(got[1], ref.mean, 'mean');
    close(got[2], ref.variance, 'variance');
    close(got[3], numeric('x'), 'dx', 1e-4);
    close(got[4], numeric('g'), 'dγ', 1e-4);
    close(got[5], numeric('b'), 'dβ', 1e-4);
    // inference: tf.batchNorm on given statistics (the native FusedBatchNorm)
    const runMean = rand(c, 104);
    const runVar = rand(c, 105).map((v) => v * v + 0.1);
    const inf = tf.tidy(() =>
      tf.batchNorm(tf.tensor4d(x, [n, h, w, c]), tf.tensor1d(runMean), tf.tensor1d(runVar), tf.tensor1d(beta), tf.tensor1d(gamma), eps).dataSync(),
    );
    close(
      inf,
      Array.from(x, (v, i) => ((v - runMean[i % c]) * gamma[i % c]) / Math.sqrt(runVar[i % c] + eps) + beta[i % c]),
      'inference batchNorm',
    );
  });

  it('the batch moments and BatchNorm gradient give the same bits on 1, 2 and 3 threads (several row blocks)', () => {
    assert.ok(load.ok);
    const [rows, c] = [8 * 16 * 16 + 5, 64];
    const x = rand(rows * c, 110);
    const dy = rand(rows * c, 111);
    const gamma = rand(c, 112);
    const runs = [1, 2, 3].map((threads) => {
      const [mean, variance] = [new Float32Array(c), new Float32Array(c)];
      load.addon.bnMoments(x, mean, variance, rows, c, threads);
      const [dx, dg, db] = [new Float32Array(rows * c), new Float32Array(c), new Float32Array(c)];
      load.addon.bnGrad(dy, x, gamma, mean, variance, 1e-5, dx, dg, db, rows, c, threads);
      return Buffer.concat([mean, variance, dx, dg, db].map((a) => Buffer.from(a.buffer)));
    });
    for (const b of runs.slice(1)) assert.ok(b.equals(runs[0]), 'bits differ between thread counts');
    const mean = new Float64Array(c);
    for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / rows;
    close(new Float32Array(runs[0].buffer, runs[0].byteOffset, c), mean, 'mean of several blocks');
  });

  it('ReLU with its one-pass gradient, same-shape Add / AddN, and global average pooling with its gradient match float64', () => {
    const x = rand(1000, 120);
    const dy = rand(1000, 121);
    const [y, g, sum2, sum3] = tf.tidy(() => {
      const xt = tf.tensor1d(x);
      const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(relu(a), tf.tensor1d(dy))))(xt);
      return [relu(xt), grad, tf.add(xt, tf.tensor1d(dy)), tf.addN([xt, tf.tensor1d(dy), xt])].map((t) => t.dataSync());
    });
    close(
      y,
      Array.from(x, (v) => Math.max(v, 0)),
      'relu',
    );
    close(
      g,
      Array.from(dy, (v, i) => (x[i] > 0 ? v : 0)),
      'relu gradient',
    );
    close(
      sum2,
      Array.from(x, (v, i) => v + dy[i]),
      'add',
    );
    close(
      sum3,
      Array.from(x, (v, i) => 2 * v + dy[i]),
      'addN',
    );
    // global average pooling of [2, 5, 4, 3] and its gradient for L = Σ gap(x)·r
    const [n, h, w, c] = [2, 5, 4, 3];
    const px = rand(n * h * w * c, 122);
    const r = rand(n * c, 123);
    const [pooled, pg] = tf.tidy(() => {
      const xt = tf.tensor4d(px, [n, h, w, c]);
      const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(globalAvgPool(a as tf.Tensor4D), tf.tensor2d(r, [n, c]))))(xt);
      return [globalAvgPool(xt), grad].map((t) => t.dataSync());
    });
    const poolRef = new Float64Array(n * c);
    for (let i = 0; i < px.length; i++) poolRef[Math.floor(i / (h * w * c)) * c + (i % c)] += px[i] / (h * w);
    close(pooled, poolRef, 'global average pool');
    close(
      pg,
      Array.from(px, (_, i) => r[Math.floor(i / (h * w * c)) * c + (i % c)] / (h * w)),
      'global average pool gradient',
    );
  });

  it('softmax cross-entropy and its gradient match float64', () => {
    const [n, c] = [7, 10];
    const z = rand(n * c, 60).map((v) => v * 8);
    const y = Int32Array.from({ length: n }, (_, i) => (i * 3) % c);
    const [loss, grad] = tf.tidy(() => {
      const logits = tf.tensor2d(z, [n, c]);
      const g = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, tf.tensor1d(y, 'int32')))(logits);
      return [softmaxCrossEntropy(logits, tf.tensor1d(y, 'int32')).dataSync(), g.dataSync()];
    });
    let total = 0;
    const gRef: number[] = [];
    for (let i = 0; i < n; i++) {
      const row = Array.from(z.subarray(i * c, (i + 1) * c));
      const mx = Math.max(...row);
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx;
      total += lse - row[y[i]];
      for (let j = 0; j < c; j++) gRef.push((Math.exp(row[j] - lse) - (j === y[i] ? 1 : 0)) / n);
    }
    close(loss, [total / n], 'loss');
    close(grad, gRef, 'gradient');
  });

  it('masked Adam (native kernel) matches a float64 Adam with the mask, frozen values and bias correction', () => {
    const spec = { name: 'adam' as const, lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    assert.ok(kernels.hasFusedAdam(), 'the native backend has the fused masked Adam');
    const n = 257;
    const w0 = rand(n, 70);
    const mask = Float32Array.from(rand(n, 71), (v) => (v > -0.4 ? 1 : 0));
    const fixed = Float32Array.from(rand(n, 72), (v, i) => (mask[i] ? 0 : v));
    const init = Float32Array.from(w0, (v, i) => (mask[i] ? v : fixed[i]));
    const wv = tf.variable(tf.tensor1d(init));
    const masks = { w: tf.tensor1d(mask) };
    const fx = { w: tf.tensor1d(fixed) };
    const opt = makeOptimizer(spec, { vars: { w: wv }, masks, fixed: fx });
    const w = Float64Array.from(init);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    for (let t = 1; t <= 3; t++) {
      const g = rand(n, 80 + t);
      const gt = tf.tensor1d(g);
      opt.step({ w: gt }, spec.lr);
      gt.dispose();
      const a = (spec.lr * Math.sqrt(1 - spec.beta2 ** t)) / (1 - spec.beta1 ** t);
      for (let i = 0; i < n; i++) {
        if (!mask[i]) continue;
        m[i] = spec.beta1 * m[i] + (1 - spec.beta1) * g[i];
        v[i] = spec.beta2 * v[i] + (1 - spec.beta2) * g[i] * g[i];
        w[i] -= (a * m[i]) / (Math.sqrt(v[i]) + spec.epsilon);
      }
    }
    close(wv.dataSync(), w, 'weights after 3 steps', 1e-5);
    for (let i = 0; i < n; i++) if (!mask[i]) assert.equal(wv.dataSync()[i], fixed[i], 'a pruned weight keeps its frozen value');
    opt.dispose();
    tf.dispose([wv, masks.w, fx.w]);
  });

  /**
   * Final weights after `steps` training steps of `modelName` on `backend` from one fixed start.
   * `sgd`: plain SGD, whose step is linear in the gradient. Adam's first step is a·g/(|g|+ε):
   * for |g| near ε it turns a float32 rounding difference in g (GEMMs summing in another order)
   * into a difference of the order of the step itself, on any pair of backends; Adam's own
   * kernel is checked against float64 above.
   */
  async function trainOn(backend: 'native' | 'wasm', modelName: string, shape: number[], steps: number, sgd = false, width: number | null = null) {
    await initBackend(backend);
    const batch = 8;
    const model = buildModel(modelName, shape, 10, width);
    const split = randomSplit(shape, batch * steps, 'train');
    const data = {
      name: 'r',
      inputShape: shape,
      numClasses: 10,
      train: split,
      val: randomSplit(shape, batch, 'v'),
      test: randomSplit(shape, batch, 'v'),
      source: 'r',
    };
    const rng = makeRng('native-test');
    const masks: Masks = {};
    for (const p of model.params)
      if (p.kind !== 'none') masks[p.name] = Uint8Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() < 0.7 ? 1 : 0));
    const res = await train({
      model,
      data,
      plan: resolveSchedule(
        trainingSchema.parse({
          batchSize: batch,
          iterations: `${steps}it`,
          evalEvery: `${steps + 1}it`,
          ...(sgd ? { optimizer: { name: 'sgd', lr: 0.05 } } : {}),
        }),
        split.n,
      ),
      schedule: { kind: 'replay', from: 0 },
      init: initialize(model, 'glorot-normal', 'p'),
      masks,
      orderKey: ['p'],
    });
    return { params: model.params.map((p) => p.name), weights: res.weights };
  }

  for (const [modelName, shape, width] of [
    ['mlp-small', [28, 28, 1], null],
    ['conv-tiny', [12, 12, 3], null],
    // BatchNorm (γ, β and the running statistics), strided and 1×1 convs, residual adds
    ['resnet-20', [8, 8, 3], 2],
  ] as const) {
    it(`a training step (SGD) of ${modelName} on native agrees with wasm within 1e-5 relative`, async () => {
      const wasm = await trainOn('wasm', modelName, [...shape], 1, true, width);
      const nat = await trainOn('native', modelName, [...shape], 1, true, width);
      assert.ok(nat.params.some((p) => /moving_variance/.test(p)) === (modelName === 'resnet-20'));
      for (const p of nat.params) {
        const a = nat.weights[p];
        const b = wasm.weights[p];
        let num = 0;
        let den = 0;
        for (let i = 0; i < a.length; i++) {
          num += (a[i] - b[i]) ** 2;
          den += b[i] ** 2;
        }
        assert.ok(Math.sqrt(num / den) <= 1e-5, `${modelName} ${p}: relative difference ${Math.sqrt(num / den)}`);
      }
      await initBackend('native');
    });
  }

  it('live tensors do not grow over native training steps', async () => {
    await trainOn('native', 'conv-tiny', [12, 12, 3], 1);
    const before = tf.memory().numTensors;
    await trainOn('native', 'conv-tiny', [12, 12, 3], 2);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('native backend hidden', () => {
  it('auto falls back to wasm and says why in one line', () => {
    const script = `
      import { initBackend } from ${JSON.stringify(new URL('../src/backend/index.js', import.meta.url).href)};
      console.log('picked', await initBackend('auto'));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LTH_NATIVE: '0' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /picked wasm/);
    const lines = r.stderr.split('\n').filter((l) => /native/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /native backend is unavailable \(LTH_NATIVE=0 hides it; fix: unset LTH_NATIVE\); using wasm/);
  });

  it("the CLI prints that warning as one lth line, without Node's prefix and --trace-warnings hint", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lth-hidden-'));
    try {
      const spec = join(dir, 'tiny.json');
      writeFileSync(spec, JSON.stringify(tinySpec({ pruning: { levels: 1 }, strategies: ['rewind'] })));
      const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
      const r = spawnSync(process.execPath, [cli, 'run', spec, '--db', join(dir, 't.db'), '--quiet'], {
        env: { ...process.env, LTH_NATIVE: '0' },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => /native|warning/i.test(l));
      assert.deepEqual(lines, ['lth: warning: the native backend is unavailable (LTH_NATIVE=0 hides it; fix: unset LTH_NATIVE); using wasm'], r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--backend native then fails with the reason', () => {
    const script = `
      import { initBackend } from ${JSON.stringify(new URL('../src/backend/index.js', import.meta.url).href)};
      try { await initBackend('native'); } catch (e) { console.log(e.message); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LTH_NATIVE: '0' }, encoding: 'utf8' });
    assert.match(r.stdout, /backend "native" is not available: LTH_NATIVE=0 hides it/);
  });
});
