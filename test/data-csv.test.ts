import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { initBackend } from '../src/backend/index.js';
import { datasetMeta, loadDataset } from '../src/data/index.js';
import { runExperiment } from '../src/orchestration/index.js';
import { validateSpec } from '../src/spec/index.js';
import { UserError } from '../src/util/errors.js';
import { tinySpec, tmp } from './helpers/common.js';

const NAMES = ['setosa', 'virginica', 'versicolor'];
/** feature j of row i, and its class name: three well separated classes */
const feat = (i: number, j: number) => (i % 3) * 4 + ((i * 7 + j * 3) % 10) / 10 - j * 0.5;
const rows = (n: number, from: number) => Array.from({ length: n }, (_, r) => `${feat(from + r, 0)},${NAMES[(from + r) % 3]},${feat(from + r, 1)}`);

function files(dir = join(tmp(), 'csv'), bad?: string): { train: string; test: string } {
  mkdirSync(dir, { recursive: true });
  const train = join(dir, 'train.csv');
  const test = join(dir, 'test.csv');
  const tr = rows(90, 0);
  if (bad) tr[4] = bad;
  writeFileSync(train, ['a,species,b', ...tr].join('\n') + '\n');
  writeFileSync(test, ['a,species,b', ...rows(30, 90)].join('\n'));
  return { train, test };
}
const csvSpec = (path: { train: string; test: string }, over: Record<string, unknown> = {}) =>
  tinySpec({ name: 'csv', data: { dataset: 'csv', path, label: 'species', validation: 15, ...over } as never, strategies: ['rewind'], pruning: { levels: 1 } });

before(async () => {
  await initBackend('wasm');
});

describe('csv data set', () => {
  it('numeric columns become the features, sorted class names the labels; normalize dataset = per-column training mean/std', async () => {
    const { spec } = validateSpec(csvSpec(files()), 't');
    const d = await loadDataset(spec.data, 0, { preparedCache: false });
    assert.deepEqual([d.inputShape, d.numClasses, d.train.n, d.val.n, d.test.n], [[2], 3, 75, 15, 30]);
    const sorted = [...NAMES].sort();
    for (let j = 0; j < 2; j++) {
      const col = Array.from({ length: 75 }, (_, i) => Math.fround(feat(i, j)));
      const mean = col.reduce((a, b) => a + b, 0) / 75;
      const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / 75);
      for (const i of [0, 41, 74]) assert.ok(Math.abs(d.train.x[i * 2 + j] - (col[i] - mean) / std) < 1e-5, `x[${i}][${j}]`);
    }
    assert.deepEqual(
      [...d.train.y.slice(0, 3)],
      [0, 1, 2].map((i) => sorted.indexOf(NAMES[i])),
    );
  });

  it('trains through runExperiment; moving the files keeps the identity', async () => {
    const root = tmp();
    const p = files(join(root, 'a'));
    const first = validateSpec(csvSpec(p), 't');
    assert.equal((await runExperiment(first, { db: join(root, 'x.db'), backend: 'wasm', data: { preparedCache: false } })).levelsTrained, 2);
    renameSync(join(root, 'a'), join(root, 'b'));
    assert.equal(validateSpec(csvSpec({ train: join(root, 'b', 'train.csv'), test: join(root, 'b', 'test.csv') }), 't').hash, first.hash);
  });

  it('a non-numeric cell is one line naming the file, line and column', () => {
    const p = files(undefined, '1.5,setosa,abc');
    assert.throws(
      () => datasetMeta(validateSpec(csvSpec(p), 't').spec.data),
      (e: unknown) => e instanceof UserError && /train\.csv line 6, column "b": "abc" is not a number; give numeric feature values/.test(e.message),
    );
  });
});
