import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { preparedKey, readPrepared, writePrepared } from '../src/data/cache.js';
import type { Dataset } from '../src/data/types.js';
import { tmp } from './helpers/common.js';

/** A small data set with values no normalization would produce by chance (i/7 − 3, labels i mod 10). */
function dataset(nTrain: number): Dataset {
  const dim = 12;
  const split = (n: number, off: number) => ({
    x: Float32Array.from({ length: n * dim }, (_, i) => (i + off) / 7 - 3),
    y: Uint8Array.from({ length: n }, (_, i) => (i + off) % 10),
    n,
  });
  return {
    name: 'fashion-mnist',
    inputShape: [2, 2, 3],
    numClasses: 10,
    train: split(nTrain, 0),
    val: split(3, 1000),
    test: split(5, 2000),
    source: '/somewhere (system folder)',
  };
}

test('prepared data: written once, read back value for value, views aligned', () => {
  const dir = tmp();
  const d = dataset(9);
  const key = preparedKey({ dataset: 'fashion-mnist', validation: 3 });
  writePrepared(dir, d, key);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary file left');
  const r = readPrepared(dir, 'fashion-mnist', key);
  assert.ok(r);
  assert.deepEqual(r.inputShape, [2, 2, 3]);
  assert.equal(r.source, d.source);
  for (const k of ['train', 'val', 'test'] as const) {
    assert.equal(r[k].n, d[k].n);
    assert.ok(r[k].x instanceof Float32Array && r[k].x.byteOffset % 4 === 0);
    assert.deepEqual([...r[k].x], [...d[k].x]);
    assert.deepEqual([...r[k].y], [...d[k].y]);
  }
  // a different key (other split sizes, normalization or source files) is a miss
  assert.equal(readPrepared(dir, 'fashion-mnist', preparedKey({ dataset: 'fashion-mnist', validation: 4 })), null);
});

test('prepared data: a damaged file is a miss and is deleted', () => {
  const dir = tmp();
  const key = preparedKey('k');
  writePrepared(dir, dataset(9), key);
  const [file] = readdirSync(dir);
  const bytes = readFileSync(join(dir, file));
  bytes[bytes.length - 20] ^= 0x40; // one bit of one float of the payload
  writeFileSync(join(dir, file), bytes);
  assert.equal(readPrepared(dir, 'fashion-mnist', key), null);
  assert.equal(existsSync(join(dir, file)), false);
  // truncated
  writePrepared(dir, dataset(9), key);
  writeFileSync(join(dir, file), readFileSync(join(dir, file)).subarray(0, 100));
  assert.equal(readPrepared(dir, 'fashion-mnist', key), null);
});

test('prepared data: the newest six files per data set are kept', () => {
  const dir = tmp();
  for (let i = 0; i < 8; i++) writePrepared(dir, dataset(2 + i), preparedKey(i));
  assert.equal(readdirSync(dir).length, 6);
  assert.ok(readPrepared(dir, 'fashion-mnist', preparedKey(7)));
});
