import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { initBackend } from '../src/backend/index.js';
import { datasetMeta, loadDataset } from '../src/data/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec } from '../src/spec/index.js';
import { UserError } from '../src/util/errors.js';
import { tinySpec, tmp } from './helpers/common.js';

const CLASSES = ['cat', 'ant', 'bee'];
/** grey pixel (r, c) of image i of class k: unique per image */
const value = (k: number, i: number, r: number, c: number) => (k * 70 + i * 5 + r * 3 + c) & 255;

function png(h: number, w: number, f: (r: number, c: number) => [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h, colorType: 6 });
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      const [R, G, B] = f(r, c);
      p.data.set([R, G, B, 255], (r * w + c) * 4);
    }
  return PNG.sync.write(p, { colorType: 0, inputColorType: 6 });
}

/** DIR/{train,test}/<class>/i.png, grey 5×4, `n` images per class and split (test: 2). */
function greyFolder(n = 8, dir = join(tmp(), 'imgs')): string {
  CLASSES.forEach((cls, k) => {
    for (const [split, count] of [
      ['train', n],
      ['test', 2],
    ] as const) {
      mkdirSync(join(dir, split, cls), { recursive: true });
      for (let i = 0; i < count; i++)
        writeFileSync(
          join(dir, split, cls, `${i}.png`),
          png(5, 4, (r, c) => Array(3).fill(value(k, i, r, c)) as [number, number, number]),
        );
    }
  });
  return dir;
}

const imgSpec = (path: string, over: Record<string, unknown> = {}) =>
  tinySpec({
    name: 'img',
    data: { dataset: 'images', path, validation: 6, normalize: 'none', ...over } as never,
    strategies: ['rewind'],
    pruning: { levels: 1 },
  });

before(async () => {
  await initBackend('wasm');
});

describe('images data set (torchvision ImageFolder layout)', () => {
  it('grey PNGs: [h, w, 1], classes sorted, every example one of the written images of its class', async () => {
    const dir = greyFolder();
    const { spec } = validateSpec(imgSpec(dir), 't');
    const m = datasetMeta(spec.data);
    assert.deepEqual([m.inputShape, m.numClasses, m.trainN, m.testN], [[5, 4, 1], 3, 24, 6]);
    const d = await loadDataset(spec.data, 0, { preparedCache: false });
    const sorted = [...CLASSES].sort();
    const written = new Set<string>();
    CLASSES.forEach((cls, k) => {
      for (let i = 0; i < 8; i++)
        written.add(`${sorted.indexOf(cls)}:${Array.from({ length: 20 }, (_, p) => value(k, i, Math.floor(p / 4), p % 4) / 255).join()}`);
    });
    const seen = new Set<string>();
    for (const s of [d.train, d.val])
      for (let i = 0; i < s.n; i++) {
        const key = `${s.y[i]}:${Array.from(s.x.subarray(i * 20, (i + 1) * 20), (v) => Math.round(v * 255) / 255).join()}`;
        assert.ok(written.has(key), `example ${i} is none of the written images of class ${s.y[i]}`);
        seen.add(key);
      }
    assert.equal(seen.size, 24);
    // the validation split (the last examples) is shuffled, not the last class only
    assert.ok(new Set(d.val.y).size > 1);
    assert.deepEqual([...d.test.y], [0, 0, 1, 1, 2, 2]);
  });

  it('colour JPEGs with resize: [h, w, 3], values within JPEG error of the written colour', async () => {
    const dir = join(tmp(), 'jpg');
    const colours = [
      [200, 30, 40],
      [20, 180, 90],
    ];
    colours.forEach((col, k) => {
      for (const split of ['train', 'test']) {
        mkdirSync(join(dir, split, `c${k}`), { recursive: true });
        for (let i = 0; i < 4; i++) {
          const w = 8 + 8 * (i % 2);
          const data = Buffer.alloc(w * 8 * 4);
          for (let p = 0; p < w * 8; p++) data.set([...col, 255], p * 4);
          writeFileSync(join(dir, split, `c${k}`, `${i}.jpg`), jpeg.encode({ data, width: w, height: 8 }, 95).data);
        }
      }
    });
    const { spec } = validateSpec(imgSpec(dir, { resize: [4, 4], validation: 2 }), 't');
    const d = await loadDataset(spec.data, 0, { preparedCache: false });
    assert.deepEqual(d.inputShape, [4, 4, 3]);
    for (let i = 0; i < d.test.n; i++)
      for (let p = 0; p < 16; p++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(d.test.x[i * 48 + p * 3 + c] * 255 - colours[d.test.y[i]][c]) <= 4);
    // without resize, the mixed sizes are refused, naming two files
    assert.throws(
      () => datasetMeta(validateSpec(imgSpec(dir), 't').spec.data),
      /1\.jpg is 8×16 but .*0\.jpg is 8×8; give data\.resize \[h, w\] or make all images one size/,
    );
  });

  it('trains through runExperiment; the digest changes with one pixel, not when the folder moves', async () => {
    const root = tmp();
    const dir = greyFolder(20, join(root, 'a'));
    const db = join(root, 'x.db');
    const first = validateSpec(imgSpec(dir), 't');
    assert.equal((await runExperiment(first, { db, backend: 'wasm', data: { preparedCache: false } })).levelsTrained, 2);
    renameSync(join(root, 'a'), join(root, 'b'));
    assert.equal(validateSpec(imgSpec(join(root, 'b')), 't').hash, first.hash);
    writeFileSync(
      join(root, 'b', 'train', 'bee', '3.png'),
      png(5, 4, (r, c) => Array(3).fill(value(2, 3, r, c) ^ (r === 2 && c === 1 ? 1 : 0)) as [number, number, number]),
    );
    const changed = validateSpec(imgSpec(join(root, 'b')), 't');
    assert.notEqual(changed.hash, first.hash);
    await assert.rejects(runExperiment(changed, { db, backend: 'wasm', data: { preparedCache: false } }), /data\.digest differs/);
  });

  it('a corrupt PNG or JPEG is one line naming the file', async () => {
    for (const [name, mangle] of [
      ['0.png', (b: Buffer) => Buffer.concat([b.subarray(0, 40), Buffer.from([1, 2, 3]), b.subarray(43)])],
      ['1.jpg', (b: Buffer) => b.subarray(0, 30)],
    ] as const) {
      const dir = greyFolder(3);
      const file = join(dir, 'train', 'ant', name);
      const good = name.endsWith('.png')
        ? readFileSync(join(dir, 'train', 'ant', '1.png'))
        : Buffer.from(jpeg.encode({ data: Buffer.alloc(5 * 4 * 4, 128), width: 4, height: 5 }, 90).data);
      writeFileSync(file, mangle(good));
      await assert.rejects(
        (async () => {
          const { spec } = validateSpec(imgSpec(dir, { resize: [5, 4] }), 't');
          await loadDataset(spec.data, 0, { preparedCache: false });
        })(),
        (e: unknown) =>
          e instanceof UserError && e.message.startsWith(`corrupt image ${file}`) && e.message.endsWith('replace or remove it') && !e.message.includes('\n'),
      );
    }
  });
});
