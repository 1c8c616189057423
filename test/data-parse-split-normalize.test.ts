import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIdx } from '../src/data/idx.js';
import { loadDataset } from '../src/data/index.js';
import { prepareSplits, type RawDataset } from '../src/data/splits.js';
import { dataSchema, type DataSpec } from '../src/spec/schema.js';
import { UserError } from '../src/util/errors.js';
import { idx } from './helpers/data-files.js';

const spec = (d: object = {}): DataSpec => dataSchema.parse(d);

describe('parseIdx', () => {
  it('reads dims and data', () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => i);
    const a = parseIdx(idx([2, 3, 4], data), 'f');
    assert.deepEqual(a.dims, [2, 3, 4]);
    assert.deepEqual([...a.data], [...data]);
  });
  it('rejects truncated, padded and non-IDX files, naming the file', () => {
    const ok = idx([2, 3, 4], new Uint8Array(24));
    assert.throws(
      () => parseIdx(ok.subarray(0, ok.length - 1), '/x/a.idx'),
      (e: Error) => e instanceof UserError && /\/x\/a\.idx.*truncated/.test(e.message),
    );
    assert.throws(() => parseIdx(ok.subarray(0, 10), '/x/a.idx'), /a\.idx: truncated header/);
    const padded = new Uint8Array(ok.length + 1);
    padded.set(ok);
    assert.throws(() => parseIdx(padded, 'p'), /1 bytes after the data/);
    assert.throws(() => parseIdx(Uint8Array.of(1, 2, 3, 4, 5), 'q'), /corrupt IDX file q: no IDX header/);
    const float = ok.slice();
    float[2] = 0x0d;
    assert.throws(() => parseIdx(float, 'r'), /element type 0xd/);
  });
});

/** 10 training and 4 test examples of 2×1 pixels × 3 channels; pixel bytes encode (example, position). */
function raw(): RawDataset {
  const make = (n: number, base: number) => ({
    x: Uint8Array.from({ length: n * 6 }, (_, i) => base + i),
    y: Uint8Array.from({ length: n }, (_, k) => k % 3),
    n,
  });
  return { name: 'toy', inputShape: [2, 1, 3], channels: 3, numClasses: 3, train: make(10, 0), test: make(4, 100), source: 'toy' };
}
const bytesOf = (x: Float32Array) => [...x].map((v) => Math.round(v * 255));

describe('validation split and subsets', () => {
  it('holds out the LAST `validation` training examples, then keeps the first N', () => {
    const d = prepareSplits(raw(), spec({ validation: 3, normalize: 'none' }), null);
    assert.equal(d.train.n, 7);
    assert.equal(d.val.n, 3);
    assert.equal(d.test.n, 4);
    assert.deepEqual(bytesOf(d.train.x), [...Array(42).keys()]);
    assert.deepEqual(
      bytesOf(d.val.x),
      [...Array(18).keys()].map((i) => 42 + i),
    );
    assert.deepEqual([...d.val.y], [1, 2, 0]);
    const s = prepareSplits(raw(), spec({ validation: 3, trainSubset: 2, testSubset: 1, normalize: 'none' }), null);
    assert.equal(s.train.n, 2);
    assert.deepEqual(bytesOf(s.train.x), [...Array(12).keys()]);
    assert.deepEqual(bytesOf(s.val.x), bytesOf(d.val.x), 'subsets do not move the validation split');
    assert.deepEqual(bytesOf(s.test.x), [100, 101, 102, 103, 104, 105]);
    assert.equal(prepareSplits(raw(), spec({ validation: 0 }), null).val.n, 0);
  });
  it('rejects impossible sizes with one-line UserErrors', () => {
    assert.throws(
      () => prepareSplits(raw(), spec({ validation: 10 }), null),
      (e: Error) => e instanceof UserError && /data\.validation = 10 leaves no training examples: toy has 10/.test(e.message) && !e.message.includes('\n'),
    );
    assert.throws(() => prepareSplits(raw(), spec({ validation: 3, trainSubset: 8 }), null), /trainSubset = 8 exceeds the 7/);
    assert.throws(() => prepareSplits(raw(), spec({ validation: 3, testSubset: 5 }), null), /testSubset = 5 exceeds the 4/);
  });
});

describe('normalization', () => {
  const stats = { mean: [0.5, 0.25, 0], std: [0.5, 0.25, 1] };
  const px = (d: { train: { x: Float32Array } }, i: number) => d.train.x[i];
  it("'none' scales bytes to [0, 1]", () => {
    const d = prepareSplits(raw(), spec({ validation: 0, normalize: 'none' }), stats);
    assert.equal(px(d, 51), Math.fround(51 / 255));
  });
  it("'dataset' uses the data set's per-channel mean/std (NHWC: channel = index mod 3)", () => {
    const d = prepareSplits(raw(), spec({ validation: 0 }), stats);
    for (const i of [0, 1, 2, 30, 31, 59]) {
      const c = i % 3;
      assert.ok(Math.abs(px(d, i) - (i / 255 - stats.mean[c]) / stats.std[c]) < 1e-6, `pixel ${i}`);
    }
  });
  it('explicit {mean, std}: one value for all channels or one per channel, else a UserError', () => {
    const one = prepareSplits(raw(), spec({ validation: 0, normalize: { mean: [0.1], std: [0.2] } }), stats);
    assert.ok(Math.abs(px(one, 7) - (7 / 255 - 0.1) / 0.2) < 1e-6);
    const per = prepareSplits(raw(), spec({ validation: 0, normalize: { mean: [0, 0.1, 0.2], std: [1, 2, 4] } }), stats);
    assert.ok(Math.abs(px(per, 5) - (5 / 255 - 0.2) / 4) < 1e-6);
    assert.throws(
      () => prepareSplits(raw(), spec({ normalize: { mean: [0, 0], std: [1, 1] }, validation: 0 }), stats),
      (e: Error) => e instanceof UserError && /mean has 2 values and std 2, but toy has 3 channels; give 1 or 3/.test(e.message),
    );
  });
});

describe('synthetic', () => {
  const s = spec({ dataset: 'synthetic', validation: 100, synthetic: { train: 400, test: 300, features: 16, classes: 4 } });
  it('has the requested sizes; synthetic.train is the train split, validation comes on top', async () => {
    const d = await loadDataset(s, 1);
    assert.deepEqual(d.inputShape, [16]);
    assert.equal(d.numClasses, 4);
    assert.deepEqual([d.train.n, d.val.n, d.test.n], [400, 100, 300]);
    assert.equal(d.train.x.length, 400 * 16);
    assert.ok(d.train.y.every((y) => y < 4));
    const dflt = await loadDataset(spec({ dataset: 'synthetic' }), 0);
    assert.deepEqual([dflt.train.n, dflt.val.n, dflt.test.n], [2000, 5000, 500], 'the default spec works');
  });
  it('is deterministic in the seed', async () => {
    const [a, b, c] = await Promise.all([loadDataset(s, 7), loadDataset(s, 7), loadDataset(s, 8)]);
    for (const k of ['train', 'val', 'test'] as const) {
      assert.deepEqual(a[k].x, b[k].x);
      assert.deepEqual(a[k].y, b[k].y);
    }
    assert.notDeepEqual(a.train.x, c.train.x);
  });
  it('is learnable: nearest centroid (fit on train) beats chance by far on test', async () => {
    const d = await loadDataset(s, 3);
    const F = 16;
    const C = 4;
    const mean = new Float64Array(C * F);
    const count = new Float64Array(C);
    for (let i = 0; i < d.train.n; i++) {
      count[d.train.y[i]]++;
      for (let f = 0; f < F; f++) mean[d.train.y[i] * F + f] += d.train.x[i * F + f];
    }
    for (let c = 0; c < C; c++) for (let f = 0; f < F; f++) mean[c * F + f] /= count[c];
    let right = 0;
    for (let i = 0; i < d.test.n; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let c = 0; c < C; c++) {
        let dist = 0;
        for (let f = 0; f < F; f++) dist += (d.test.x[i * F + f] - mean[c * F + f]) ** 2;
        if (dist < bestD) [best, bestD] = [c, dist];
      }
      if (best === d.test.y[i]) right++;
    }
    const acc = right / d.test.n;
    assert.ok(acc > 0.85, `nearest-centroid accuracy ${acc} (chance 0.25)`);
    assert.ok(acc < 1, 'not trivially separable');
  });
  it('normalization: dataset/none leave values as generated, explicit stats apply per feature', async () => {
    const a = await loadDataset(s, 2);
    const n = await loadDataset({ ...s, normalize: 'none' }, 2);
    assert.deepEqual(a.train.x, n.train.x);
    const e = await loadDataset({ ...s, normalize: { mean: [1], std: [2] } }, 2);
    assert.ok(Math.abs(e.train.x[5] - (a.train.x[5] - 1) / 2) < 1e-6);
  });
});
