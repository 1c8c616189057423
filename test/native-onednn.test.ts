import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFailure, loadNativeAddon } from '../src/backend/native.js';
import { rand } from './helpers/numbers.js';
import { convTaps, outGeo as sharedOutGeo, type ConvGeo } from './helpers/conv-reference.js';

/**
 * The native addon's convolutions on oneDNN (native/src/onednn.c): forward (with and without
 * bias and ReLU), input gradient and filter gradient at strides 1 and 2, 'same' and 'valid',
 * 1×1 and 3×3, 1 to 32 channels, odd sizes and batches that do not split evenly into chunks,
 * each against a float64 reference computed here; the same bits on 1, 2 and 3 threads and with
 * OpenMP told to use 3; which shapes oneDNN runs (the rule is a function of the shape); and the
 * message when libdnnl cannot be loaded.
 */

const load = loadNativeAddon();
const skip = load.ok ? false : `the native addon is not available: ${load.problem} (${load.fix})`;

interface Geo {
  n: number;
  h: number;
  w: number;
  ci: number;
  k: number;
  co: number;
  s: number;
  pad: 'same' | 'valid';
  /** whether oneDNN (rather than im2col) runs the forward pass, the input gradient, the filter gradient */
  onednn: [boolean, boolean, boolean];
}

/** The shared geometry, with the square kernel as kh = kw = k. */
const square = (g: Geo): ConvGeo => ({ ...g, kh: g.k, kw: g.k });
const outGeo = (g: Geo) => sharedOutGeo(square(g));

/** The addon's 17-number shape (native/src/conv.h) with oneDNN allowed. */
function shapeOf(g: Geo, threads: number): number[] {
  const { oh, ow, pt, pl } = outGeo(g);
  return [g.n, g.h, g.w, g.ci, g.k, g.k, g.co, oh, ow, g.s, g.s, 1, 1, pt, pl, threads, 1];
}

/**
 * float64 reference of the NHWC convolution of x [n, h, w, ci] with f [k, k, ci, co] (HWIO), and
 * with r [n, oh, ow, co] as the output gradient: z = conv(x, f), dx, df; and for each entry the
 * sum of the absolute values of its terms (the scale its float32 rounding error is measured
 * against).
 */
function reference(g: Geo, x: Float32Array, f: Float32Array, r: Float32Array) {
  const { oh, ow } = outGeo(g);
  const z = new Float64Array(g.n * oh * ow * g.co);
  const zAbs = new Float64Array(z.length);
  const dx = new Float64Array(x.length);
  const dxAbs = new Float64Array(x.length);
  const df = new Float64Array(f.length);
  const dfAbs = new Float64Array(f.length);
  convTaps(square(g), (xi, fi, oi) => {
    z[oi] += x[xi] * f[fi];
    zAbs[oi] += Math.abs(x[xi] * f[fi]);
    dx[xi] += f[fi] * r[oi];
    dxAbs[xi] += Math.abs(f[fi] * r[oi]);
    df[fi] += x[xi] * r[oi];
    dfAbs[fi] += Math.abs(x[xi] * r[oi]);
  });
  return { z, zAbs, dx, dxAbs, df, dfAbs };
}

/** Asserts |got − want| ≤ 1e-5 · (scale + |want|) for every entry. */
function near(got: Float32Array, want: ArrayLike<number>, scale: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= 1e-5 * (scale[i] + Math.abs(want[i])))) assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]} (scale ${scale[i]})`);
  }
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * The shapes: Conv-2's first layer (ci = 1), ResNet-20's 3×3 and 1×1 stride-2 shortcut shapes in
 * small, odd sizes, 'valid' padding that leaves input rows unused, batches of 11 and 17 (chunks of
 * 2 and 3 images with a shorter last chunk). im2col runs the input gradient into fewer than 16
 * channels, the filter gradient of layers with ci ≥ 32 and co ≥ 64, and the filter gradient of
 * strided 1×1 convolutions whose ci is not a multiple of 8 (native/src/onednn.c).
 */
const GEOS: Geo[] = [
  { n: 3, h: 9, w: 7, ci: 1, k: 3, co: 8, s: 1, pad: 'same', onednn: [true, false, true] },
  { n: 5, h: 11, w: 11, ci: 16, k: 3, co: 16, s: 1, pad: 'same', onednn: [true, true, true] },
  { n: 4, h: 10, w: 9, ci: 16, k: 3, co: 12, s: 2, pad: 'same', onednn: [true, true, true] },
  { n: 3, h: 9, w: 9, ci: 5, k: 3, co: 6, s: 2, pad: 'valid', onednn: [true, false, true] },
  { n: 2, h: 7, w: 7, ci: 16, k: 1, co: 24, s: 1, pad: 'valid', onednn: [true, true, true] },
  { n: 11, h: 8, w: 8, ci: 16, k: 1, co: 32, s: 2, pad: 'valid', onednn: [true, true, true] },
  { n: 17, h: 6, w: 5, ci: 3, k: 3, co: 7, s: 1, pad: 'valid', onednn: [true, false, true] },
  { n: 9, h: 8, w: 8, ci: 3, k: 1, co: 16, s: 2, pad: 'valid', onednn: [true, false, false] },
  { n: 2, h: 6, w: 6, ci: 32, k: 3, co: 64, s: 1, pad: 'same', onednn: [true, true, false] },
  { n: 10, h: 10, w: 10, ci: 17, k: 3, co: 9, s: 2, pad: 'same', onednn: [true, true, true] },
];

describe('native convolutions on oneDNN', { skip }, () => {
  it('oneDNN is pinned to AVX2 and named in info()', () => {
    assert.ok(load.ok);
    const i = load.addon.info();
    assert.equal(i.onednnIsa, 'avx2');
    assert.match(i.onednn, /^\d+\.\d+\.\d+$/);
  });

  for (const [gi, g] of GEOS.entries()) {
    const label = `${g.n}×${g.h}×${g.w}×${g.ci} → ${g.co}, ${g.k}×${g.k} stride ${g.s} ${g.pad}`;
    it(`${label}: forward (±bias, ±ReLU), input and filter gradients match float64 and give the same bits on 1, 2, 3 threads`, () => {
      assert.ok(load.ok);
      const a = load.addon;
      const { oh, ow } = outGeo(g);
      const x = rand(g.n * g.h * g.w * g.ci, 100 + gi);
      const f = rand(g.k * g.k * g.ci * g.co, 200 + gi);
      const bias = rand(g.co, 300 + gi);
      const r = rand(g.n * oh * ow * g.co, 400 + gi);
      const ref = reference(g, x, f, r);
      const ny = g.n * oh * ow * g.co;
      for (const [withBias, relu] of [
        [false, 0],
        [true, 0],
        [true, 1],
        [false, 1],
      ] as const) {
        const runs = [1, 2, 3].map((t) => {
          const out = new Float32Array(ny).fill(Number.NaN); // every entry must be written (the native backend recycles output arrays)
          assert.equal(a.conv2dForward(x, f, withBias ? bias : null, out, shapeOf(g, t), relu), g.onednn[0], `${label}: forward engine`);
          return out;
        });
        for (const o of runs.slice(1)) assert.ok(bits(o).equals(bits(runs[0])), `${label}: forward bits differ between thread counts`);
        const want = ref.z.map((v, i) => {
          const y = v + (withBias ? bias[i % g.co] : 0);
          return relu ? Math.max(0, y) : y;
        });
        const scale = ref.zAbs.map((v, i) => v + (withBias ? Math.abs(bias[i % g.co]) : 0));
        near(runs[0], want, scale, `${label} forward bias=${withBias} relu=${relu}`);
      }
      const dxs = [1, 2, 3].map((t) => {
        const dx = new Float32Array(x.length).fill(Number.NaN); // every entry must be written
        assert.equal(a.conv2dBackpropInput(r, f, dx, shapeOf(g, t)), g.onednn[1], `${label}: input gradient engine`);
        return dx;
      });
      for (const d of dxs.slice(1)) assert.ok(bits(d).equals(bits(dxs[0])), `${label}: input gradient bits differ between thread counts`);
      near(dxs[0], ref.dx, ref.dxAbs, `${label} input gradient`);
      const dfs = [1, 2, 3].map((t) => {
        const df = new Float32Array(f.length).fill(Number.NaN);
        assert.equal(a.conv2dBackpropFilter(x, r, df, shapeOf(g, t)), g.onednn[2], `${label}: filter gradient engine`);
        return df;
      });
      for (const d of dfs.slice(1)) assert.ok(bits(d).equals(bits(dfs[0])), `${label}: filter gradient bits differ between thread counts`);
      near(dfs[0], ref.df, ref.dfAbs, `${label} filter gradient`);
    });
  }

  it('ResNet-20 and Conv-2 shapes at full size: oneDNN against im2col within 1e-5 of the output scale, and the same bits on 1, 2, 3 threads', () => {
    assert.ok(load.ok);
    const a = load.addon;
    // [n, h, ci, co, k, s]: a residual 3×3 at 16 channels, the stride-2 3×3 and its 1×1 shortcut
    const geos: Geo[] = [
      { n: 32, h: 32, w: 32, ci: 16, k: 3, co: 16, s: 1, pad: 'same', onednn: [true, true, true] },
      { n: 32, h: 32, w: 32, ci: 16, k: 3, co: 32, s: 2, pad: 'same', onednn: [true, true, true] },
      { n: 32, h: 32, w: 32, ci: 16, k: 1, co: 32, s: 2, pad: 'same', onednn: [true, true, true] },
      { n: 12, h: 28, w: 28, ci: 64, k: 3, co: 64, s: 1, pad: 'same', onednn: [true, true, false] },
    ];
    for (const [gi, g] of geos.entries()) {
      const { oh, ow } = outGeo(g);
      const x = rand(g.n * g.h * g.w * g.ci, 500 + gi);
      const f = rand(g.k * g.k * g.ci * g.co, 600 + gi);
      const r = rand(g.n * oh * ow * g.co, 700 + gi);
      const im2col = shapeOf(g, 1).slice(0, 16); // 16 numbers: im2col only
      for (const [op, len] of [
        [0, g.n * oh * ow * g.co],
        [1, x.length],
        [2, f.length],
      ] as const) {
        const call = (shape: number[], out: Float32Array) =>
          op === 0 ? a.conv2dForward(x, f, null, out, shape, 0) : op === 1 ? a.conv2dBackpropInput(r, f, out, shape) : a.conv2dBackpropFilter(x, r, out, shape);
        const runs = [1, 2, 3].map((t) => {
          const out = new Float32Array(len).fill(Number.NaN);
          assert.equal(call(shapeOf(g, t), out), g.onednn[op], `shape ${gi} op ${op}: engine`);
          return out;
        });
        for (const o of runs.slice(1)) assert.ok(bits(o).equals(bits(runs[0])), `shape ${gi} op ${op}: bits differ between thread counts`);
        const base = new Float32Array(len).fill(Number.NaN);
        assert.equal(call(im2col, base), false);
        let scale = 0;
        for (const v of base) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < len; i++) assert.ok(Math.abs(runs[0][i] - base[i]) <= 1e-5 * scale, `shape ${gi} op ${op}[${i}]: ${runs[0][i]} against ${base[i]}`);
      }
    }
  });

  it('more shapes than the primitive cache holds: evicted primitives are made again and give the same bits', () => {
    assert.ok(load.ok);
    const a = load.addon;
    const first = (g: Geo) => {
      const { oh, ow } = outGeo(g);
      const x = rand(g.n * g.h * g.w * g.ci, 1);
      const r = rand(g.n * oh * ow * g.co, 2);
      const df = new Float32Array(g.k * g.k * g.ci * g.co);
      a.conv2dBackpropFilter(x, r, df, shapeOf(g, 2));
      return df;
    };
    const geo = (h: number): Geo => ({ n: 9, h, w: h, ci: 8, k: 3, co: 8, s: 1, pad: 'same', onednn: [true, true, true] });
    const before = first(geo(5));
    for (let h = 6; h < 40; h++) first(geo(h)); // 34 shapes × 2 chunk sizes > the 48 entries
    assert.ok(bits(first(geo(5))).equals(bits(before)));
  });

  it('OpenMP told to use 3 threads (OMP_NUM_THREADS=3) gives the same bits: oneDNN runs single-threaded', () => {
    assert.ok(load.ok);
    const a = load.addon;
    const g = GEOS[5];
    const hash = (dx: Float32Array) => createHash('sha256').update(bits(dx)).digest('hex');
    const { oh, ow } = outGeo(g);
    const x = rand(g.n * g.h * g.w * g.ci, 9);
    const r = rand(g.n * oh * ow * g.co, 10);
    const df = new Float32Array(g.k * g.k * g.ci * g.co);
    a.conv2dBackpropFilter(x, r, df, shapeOf(g, 2));
    const script = `
      import { loadNativeAddon } from ${JSON.stringify(new URL('../src/backend/native.js', import.meta.url).href)};
      import { rand } from ${JSON.stringify(new URL('./helpers/numbers.js', import.meta.url).href)};
      import { createHash } from 'node:crypto';
      const a = loadNativeAddon().addon;
      const x = rand(${x.length}, 9), r = rand(${r.length}, 10), df = new Float32Array(${df.length});
      a.conv2dBackpropFilter(x, r, df, ${JSON.stringify(shapeOf(g, 3))});
      console.log(createHash('sha256').update(Buffer.from(df.buffer)).digest('hex'));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, OMP_NUM_THREADS: '3' }, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), hash(df));
  });

  it('a libdnnl that cannot be loaded: auto falls back to wasm with one line naming it and the fix', () => {
    // a broken libdnnl.so.2 first on the loader's path (as on a machine where the library is missing or damaged)
    const dir = mkdtempSync(path.join(tmpdir(), 'lth-nodnnl-'));
    try {
      writeFileSync(path.join(dir, 'libdnnl.so.2'), 'not a library');
      const script = `
        import { initBackend } from ${JSON.stringify(new URL('../src/backend/index.js', import.meta.url).href)};
        console.log('picked', await initBackend('auto'));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LD_LIBRARY_PATH: dir }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /picked wasm/);
      const lines = r.stderr.split('\n').filter((l) => /native/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        /native backend is unavailable \(the addon failed to load: .*libdnnl\.so\.2.*; fix: apt-get install libdnnl2 \(oneDNN; or bash scripts\/setup\)\); using wasm/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('vectorized gradients beside the convolutions', { skip }, () => {
  it("the ReLU + bias gradient (LthActGradCols) and the 2×2 max-pool gradient give the scalar kernels' bits", () => {
    assert.ok(load.ok);
    const a = load.addon;
    // values on a 1/8 grid: many ties in the pooling windows, and exact zeros of both signs
    const grid = (n: number, seed: number) => rand(n, seed).map((v) => Math.round(v * 8) / 8);
    for (const [rows, cols] of [
      [47, 64],
      [13, 13],
      [9, 3],
    ]) {
      const dy = grid(rows * cols, 1);
      const act = grid(rows * cols, 2);
      for (const relu of [0, 1]) {
        const dz = new Float32Array(rows * cols);
        const db = new Float32Array(cols);
        a.actGradCols(dy, act, dz, db, rows, cols, relu);
        // src/kernels/dense.c act_grad_cols: dz = dy·step(a) in float32, db = Σ rows in float64, rounded once
        const wantDz = new Float32Array(rows * cols);
        const acc = new Float64Array(cols);
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < cols; c++) {
            const i = r * cols + c;
            wantDz[i] = relu ? dy[i] * (act[i] > 0 ? 1 : 0) : dy[i];
            acc[c] += wantDz[i];
          }
        assert.ok(bits(dz).equals(bits(wantDz)), `dz ${rows}×${cols} relu=${relu}`);
        assert.ok(bits(db).equals(bits(Float32Array.from(acc))), `db ${rows}×${cols} relu=${relu}`);
      }
    }
    for (const [n, h, w, c] of [
      [3, 8, 6, 16],
      [2, 7, 9, 13],
      [2, 4, 4, 3],
    ]) {
      const x = grid(n * h * w * c, 3);
      const dy = grid(n * (h >> 1) * (w >> 1) * c, 4);
      const dx = new Float32Array(x.length).fill(Number.NaN);
      a.maxpool2Grad(x, dy, dx, n, h, w, c);
      // src/kernels/layout.c maxpool2_grad: the window's first maximum in the order (0,0), (0,1), (1,0), (1,1) gets dy
      const want = new Float32Array(x.length);
      for (let b = 0; b < n; b++)
        for (let i = 0; i < h >> 1; i++)
          for (let j = 0; j < w >> 1; j++)
            for (let k = 0; k < c; k++) {
              const at = [0, 1, w, w + 1].map((d) => ((b * h + 2 * i) * w + 2 * j + d) * c + k);
              let best = at[0];
              for (const p of at.slice(1)) if (x[p] > x[best]) best = p;
              want[best] = dy[((b * (h >> 1) + i) * (w >> 1) + j) * c + k];
            }
      assert.ok(bits(dx).equals(bits(want)), `max-pool gradient ${n}×${h}×${w}×${c}`);
    }
  });
});

describe('native addon load failures', () => {
  it('name the missing library and the package that installs it', () => {
    const dnnl = loadFailure('libdnnl.so.2: cannot open shared object file: No such file or directory');
    assert.match(dnnl.problem, /^the addon failed to load: libdnnl\.so\.2: cannot open shared object file/);
    assert.match(dnnl.fix, /apt-get install libdnnl2/);
    assert.match(loadFailure('libopenblas.so.0: cannot open shared object file').fix, /apt-get install libopenblas0/);
    assert.match(loadFailure('undefined symbol: foo\nmore').fix, /rebuild it/);
    assert.doesNotMatch(loadFailure('x\ny').problem, /\n/);
  });
});
