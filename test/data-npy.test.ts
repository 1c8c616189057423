import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { initBackend } from '../src/backend/index.js';
import { datasetMeta, loadDataset } from '../src/data/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec } from '../src/spec/index.js';
import { UserError } from '../src/util/errors.js';
import { lth, tinySpec, tmp } from './helpers/common.js';
import { blocks, npyBytes, writeNpyDir } from './helpers/npy.js';

const H = 6;
const W = 6;

/** A folder of 4-class 6×6 byte images: 120 train, 40 test, labels int64, x as [n, h, w]. */
function imagesDir(dir = join(tmp(), 'arrays')): string {
  const tr = blocks(120, H, W, 0);
  const te = blocks(40, H, W, 3);
  return writeNpyDir(dir, { x_train: [tr.x, [120, H, W]], y_train: [tr.y, [120]], x_test: [te.x, [40, H, W]], y_test: [te.y, [40]] });
}

const npySpec = (path: string, over: Record<string, unknown> = {}) =>
  tinySpec({ name: 'npy', data: { dataset: 'npy', path, validation: 20, ...over } as never, strategies: ['rewind'], pruning: { levels: 1 } });

before(async () => {
  await initBackend('wasm');
});

describe('npy data set (a folder of .npy files)', () => {
  it('meta reads shapes from the headers; [n, h, w] gets a channel; classes = largest label + 1', () => {
    const dir = imagesDir();
    const { spec } = validateSpec(npySpec(dir), 't');
    const m = datasetMeta(spec.data);
    assert.deepEqual([m.inputShape, m.channels, m.numClasses, m.trainN, m.testN], [[H, W, 1], 1, 4, 120, 40]);
    assert.equal(datasetMeta(validateSpec(npySpec(dir, { classes: 9 }), 't').spec.data).numClasses, 9);
  });

  it('normalize "dataset" = mean and std of the training examples (validation held out), computed here in float64', async () => {
    const dir = imagesDir();
    const { spec } = validateSpec(npySpec(dir), 't');
    const d = await loadDataset(spec.data, 0, { preparedCache: false });
    const raw = blocks(120, H, W, 0);
    const train = raw.x.subarray(0, 100 * H * W);
    let s = 0;
    let q = 0;
    for (const v of train) {
      s += v / 255;
      q += (v / 255) ** 2;
    }
    const mean = s / train.length;
    const std = Math.sqrt(q / train.length - mean * mean);
    assert.equal(d.train.n, 100);
    assert.equal(d.val.n, 20);
    assert.deepEqual([...d.val.y.slice(0, 3)], [Number(raw.y[100]), Number(raw.y[101]), Number(raw.y[102])]);
    for (const i of [0, 17, 3599]) assert.ok(Math.abs(d.train.x[i] - (raw.x[i] / 255 - mean) / std) < 1e-5, `x[${i}]`);
    let m = 0;
    for (const v of d.train.x) m += v;
    assert.ok(Math.abs(m / d.train.x.length) < 1e-5, 'normalized training mean is 0');
  });

  it('float64 features are used as given (normalize none), per channel of [n, f]', async () => {
    const dir = join(tmp(), 'f64');
    const x = Float64Array.from({ length: 30 * 3 }, (_, i) => Math.sin(i) * 3);
    const xt = Float64Array.from({ length: 10 * 3 }, (_, i) => Math.cos(i));
    const y = new BigInt64Array(30).map((_, i) => BigInt(i % 2));
    const yt = new BigInt64Array(10).map((_, i) => BigInt(i % 2));
    writeNpyDir(dir, { x_train: [x, [30, 3]], y_train: [y, [30]], x_test: [xt, [10, 3]], y_test: [yt, [10, 1]] });
    const { spec } = validateSpec(npySpec(dir, { normalize: 'none', validation: 5 }), 't');
    const d = await loadDataset(spec.data, 0, { preparedCache: false });
    assert.deepEqual(d.inputShape, [3]);
    assert.equal(d.numClasses, 2);
    assert.deepEqual([...d.train.x.slice(0, 6)], [...Float32Array.from(x.slice(0, 6))]);
    assert.deepEqual([...d.test.y], [...yt].map(Number));
  });

  it('trains through runExperiment; its digest enters the identity: moving the folder is no change, one changed pixel is', async () => {
    const root = tmp();
    const dir = imagesDir(join(root, 'a'));
    const db = join(root, 'x.db');
    const first = validateSpec(npySpec(dir), 't');
    // the digest is sha256 over the four files, each preceded by its name and length (computed here independently)
    const h = createHash('sha256');
    for (const r of ['x_train', 'y_train', 'x_test', 'y_test']) {
      const b = readFileSync(join(dir, `${r}.npy`));
      h.update(`${r}.npy\0${b.length}\0`).update(b);
    }
    assert.equal((first.spec.data as { digest?: string }).digest, h.digest('hex'));
    const r = await runExperiment(first, { db, backend: 'wasm', data: { preparedCache: false } });
    assert.equal(r.levelsTrained, 2);
    // moved: same identity, the stored experiment resumes with nothing to add
    renameSync(join(root, 'a'), join(root, 'b'));
    const moved = validateSpec(npySpec(join(root, 'b')), 't');
    assert.equal(moved.hash, first.hash);
    assert.equal((await runExperiment(moved, { db, backend: 'wasm', data: { preparedCache: false } })).levelsTrained, 0);
    // one pixel changed: a different identity, refused under the same name, naming the data
    const file = join(root, 'b', 'x_train.npy');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(file, bytes);
    const changed = validateSpec(npySpec(join(root, 'b')), 't');
    assert.notEqual(changed.hash, first.hash);
    await assert.rejects(
      runExperiment(changed, { db, backend: 'wasm', data: { preparedCache: false } }),
      /already exists with a different spec: data\.digest differs/,
    );
  });

  it('a digest given in the spec pins the content', () => {
    const dir = imagesDir();
    const { spec } = validateSpec(npySpec(dir), 't');
    const digest = (spec.data as { digest: string }).digest;
    assert.doesNotThrow(() => validateSpec(npySpec(dir, { digest }), 't'));
    assert.throws(() => validateSpec(npySpec(dir, { digest: '0'.repeat(64) }), 't'), /data\.digest: .* has sha256 [0-9a-f]{64}, not 0{64}/);
  });

  it('npz: one archive of the same arrays loads the same examples and has the same digest; a missing member is named', async () => {
    const dir = imagesDir();
    const file = join(tmp(), 'd.npz');
    const member = (r: string) => new Uint8Array(readFileSync(join(dir, `${r}.npy`)));
    writeFileSync(
      file,
      zipSync({ 'x_train.npy': member('x_train'), 'y_train.npy': member('y_train'), 'x_test.npy': member('x_test'), 'y_test.npy': member('y_test') }),
    );
    const a = validateSpec(npySpec(dir), 't').spec.data;
    const b = validateSpec(tinySpec({ data: { dataset: 'npz', path: file, validation: 20 } as never }), 't').spec.data;
    assert.equal((b as { digest?: string }).digest, (a as { digest?: string }).digest);
    const [da, db] = [await loadDataset(a, 0, { preparedCache: false }), await loadDataset(b, 0, { preparedCache: false })];
    assert.deepEqual([db.inputShape, db.numClasses, db.train.n], [da.inputShape, da.numClasses, da.train.n]);
    assert.deepEqual(db.train.x, da.train.x);
    assert.deepEqual(db.test.y, da.test.y);
    writeFileSync(file, zipSync({ 'x_train.npy': member('x_train'), 'y_train.npy': member('y_train'), 'x_test.npy': member('x_test') }));
    assert.throws(() => validateSpec(tinySpec({ data: { dataset: 'npz', path: file } as never }), 't'), /d\.npz lacks y_test; write it with numpy\.savez/);
  });

  it('lth datasets PATH shows shape, classes with counts, value range and digest', () => {
    const dir = imagesDir();
    const r = lth(['datasets', dir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { inputShape: number[]; counts: { train: number[]; test: number[] }; range: number[]; digest: string };
    const tr = blocks(120, H, W, 0);
    const te = blocks(40, H, W, 3);
    const counts = (y: BigInt64Array) => [0, 1, 2, 3].map((k) => [...y].filter((v) => Number(v) === k).length);
    assert.deepEqual(report.inputShape, [H, W, 1]);
    assert.deepEqual(report.counts, { train: counts(tr.y), test: counts(te.y) });
    assert.deepEqual(report.range, [Math.min(...tr.x, ...te.x), Math.max(...tr.x, ...te.x)]);
    assert.equal(report.digest, (validateSpec(npySpec(dir), 't').spec.data as { digest: string }).digest);
    const text = lth(['datasets', dir]);
    assert.match(text.stdout, /^shape +\[6, 6, 1\] per example$/m);
  });

  describe('bad input: one line naming the file and the fix', () => {
    const bad = (mutate: (dir: string) => void) => {
      const dir = imagesDir();
      mutate(dir);
      return dir;
    };
    const cases: [string, (dir: string) => void, RegExp][] = [
      [
        'x and y counts differ',
        (d) => writeFileSync(join(d, 'y_train.npy'), npyBytes(new BigInt64Array(119), [119])),
        /y_train\.npy has 119 labels but .*x_train\.npy has 120 examples; save one label per example/,
      ],
      [
        'a label out of range',
        (d) =>
          writeFileSync(
            join(d, 'y_test.npy'),
            npyBytes(
              BigInt64Array.from({ length: 40 }, (_, i) => BigInt(i === 7 ? -1 : 0)),
              [40],
            ),
          ),
        /y_test\.npy: label -1 at index 7 is out of range: labels must be in \[0, 256\)/,
      ],
      [
        'a non-integer label',
        (d) =>
          writeFileSync(
            join(d, 'y_train.npy'),
            npyBytes(
              Float32Array.from({ length: 120 }, (_, i) => (i === 3 ? 1.5 : 1)),
              [120],
            ),
          ),
        /y_train\.npy: label 1\.5 at index 3 is not an integer/,
      ],
      [
        'features of an unsupported type',
        (d) => writeFileSync(join(d, 'x_test.npy'), npyBytes(new Int32Array(40 * H * W), [40, H, W])),
        /x_test\.npy: features of type 'i4'; save them as uint8, float32 or float64/,
      ],
      ['a missing file', (d) => renameSync(join(d, 'y_test.npy'), join(d, 'labels.npy')), /lacks y_test\.npy; save the arrays with numpy\.save/],
      [
        'a truncated file',
        (d) => writeFileSync(join(d, 'y_test.npy'), readFileSync(join(d, 'y_test.npy')).subarray(0, 200)),
        /y_test\.npy: the header's shape \(40\) needs 320 data bytes, the file has \d+/,
      ],
      ['not a .npy file', (d) => writeFileSync(join(d, 'x_train.npy'), 'a,b\n1,2\n'), /x_train\.npy is not a \.npy file lth can read: no \.npy magic/],
    ];
    for (const [what, mutate, message] of cases)
      it(what, () => {
        const dir = bad(mutate);
        assert.throws(
          () => {
            const { spec } = validateSpec(npySpec(dir), 't');
            datasetMeta(spec.data);
          },
          (e: unknown) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'),
        );
      });
    it('lth run exits non-zero with one line and writes nothing', () => {
      const root = tmp();
      const dir = bad(cases[0][1]);
      const spec = join(root, 'spec.json');
      writeFileSync(spec, JSON.stringify(npySpec(dir)));
      const r = lth(['run', spec, '--db', join(root, 'x.db'), '--backend', 'wasm']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr.trim(), cases[0][2]);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!existsSync(join(root, 'x.db')));
    });
  });
});
