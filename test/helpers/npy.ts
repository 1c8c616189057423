/** A .npy writer for tests, written from NumPy's format description (version 1.0), independent of src/data/npy.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Arr = Uint8Array | Float32Array | Float64Array | BigInt64Array | Int32Array;

const DESCR = (a: Arr) =>
  a instanceof Uint8Array ? '|u1' : a instanceof Float32Array ? '<f4' : a instanceof Float64Array ? '<f8' : a instanceof Int32Array ? '<i4' : '<i8';

/** The bytes numpy.save writes for `data` of `shape` (C order): magic, version 1.0, a header padded to 64 bytes, the data. */
export function npyBytes(data: Arr, shape: number[]): Uint8Array {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR(data)}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return new Uint8Array(Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

export interface NpySplits {
  x_train: [Arr, number[]];
  y_train: [Arr, number[]];
  x_test: [Arr, number[]];
  y_test: [Arr, number[]];
}

/** Writes DIR/x_train.npy … y_test.npy. */
export function writeNpyDir(dir: string, s: NpySplits): string {
  mkdirSync(dir, { recursive: true });
  for (const [k, [a, shape]] of Object.entries(s)) writeFileSync(join(dir, `${k}.npy`), npyBytes(a, shape));
  return dir;
}

/**
 * A small learnable image set: n examples of h×w bytes, class k = a bright block in quadrant k
 * (4 classes), plus deterministic noise. Labels int64, as numpy gives them.
 */
export function blocks(n: number, h: number, w: number, salt: number): { x: Uint8Array; y: BigInt64Array } {
  const x = new Uint8Array(n * h * w);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const k = (i * 7 + salt) % 4;
    y[i] = BigInt(k);
    for (let r = 0; r < h; r++)
      for (let c = 0; c < w; c++) {
        const inBlock = (r < h / 2 ? 0 : 2) + (c < w / 2 ? 0 : 1) === k;
        x[(i * h + r) * w + c] = (inBlock ? 180 : 20) + ((i * 31 + r * 7 + c * 13 + salt) % 50);
      }
  }
  return { x, y };
}
