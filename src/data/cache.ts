import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, Split } from './types.js';

/**
 * Prepared-data cache: the float32 arrays a run trains on (after the validation split, the
 * subsets and the normalization), one file per (data set, split sizes, normalization, source
 * files). The first process of a run writes it; `--workers` processes then read it in one
 * `readFileSync` each instead of gunzipping, parsing and normalizing the data set themselves
 * (docs/PERFORMANCE.md, "--workers").
 *
 * File layout (little-endian): "LTHPREP1", u32 header length, header JSON (space-padded so the
 * payload starts on a 4-byte boundary), payload = train.x, val.x, test.x (float32), then
 * train.y, val.y, test.y (uint8). The header holds the key, the split sizes, the data set's
 * shape, classes and source, and the payload's sha1, which is checked on every read.
 */

const MAGIC = 'LTHPREP1';
/** files kept per data set; the oldest (by modification time) go first */
const KEEP = 6;

interface Header {
  key: string;
  name: string;
  inputShape: number[];
  numClasses: number;
  source: string;
  n: { train: number; val: number; test: number };
  sha1: string;
}

const SPLITS = ['train', 'val', 'test'] as const;

/** The cache key: sha256 of everything the prepared arrays depend on (any JSON value). */
export const preparedKey = (parts: unknown): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

const fileFor = (dir: string, name: string, key: string) => join(dir, `${name}-${key.slice(0, 16)}.f32`);

/**
 * The prepared data set stored under `key` in `dir`, or null when there is none or it does
 * not pass its checks (wrong magic, key or size, checksum mismatch: a damaged file is
 * deleted, and the caller prepares the data again).
 */
export function readPrepared(dir: string, name: string, key: string): Dataset | null {
  const file = fileFor(dir, name, key);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return null;
  }
  // float32 views need a 4-byte-aligned start (a fresh buffer from readFileSync has one)
  if (buf.byteOffset % 4 !== 0) buf = Buffer.from(Uint8Array.prototype.slice.call(buf));
  try {
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error('magic');
    const hlen = buf.readUInt32LE(8);
    const h = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as Header;
    const start = 12 + hlen;
    if (h.key !== key || start % 4 !== 0) throw new Error('key');
    const dim = h.inputShape.reduce((a, b) => a * b, 1);
    const total = SPLITS.reduce((s, k) => s + h.n[k] * (dim * 4 + 1), 0);
    if (buf.length !== start + total) throw new Error('size');
    const payload = buf.subarray(start);
    if (createHash('sha1').update(payload).digest('hex') !== h.sha1) throw new Error('checksum');
    // views into the one buffer read: no copy (readFileSync gives a buffer of its own, not a pooled slice)
    let off = buf.byteOffset + start;
    const xs = {} as Record<(typeof SPLITS)[number], Float32Array>;
    for (const k of SPLITS) {
      xs[k] = new Float32Array(buf.buffer, off, h.n[k] * dim);
      off += h.n[k] * dim * 4;
    }
    const split = (k: (typeof SPLITS)[number]): Split => {
      const y = new Uint8Array(buf.buffer, off, h.n[k]);
      off += h.n[k];
      return { x: xs[k], y, n: h.n[k] };
    };
    const train = split('train');
    const val = split('val');
    const test = split('test');
    return { name: h.name, inputShape: h.inputShape, numClasses: h.numClasses, train, val, test, source: h.source };
  } catch {
    rmSync(file, { force: true });
    return null;
  }
}

/**
 * Stores `d` under `key` in `dir`: written to a temporary file, flushed, then renamed over the
 * final name, so a reader never sees half a file. Keeps the newest KEEP files per data set.
 * Failing to write (disk full, read-only cache) is not an error: the cache is an optimization.
 */
export function writePrepared(dir: string, d: Dataset, key: string): void {
  const file = fileFor(dir, d.name, key);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    const parts: Uint8Array[] = [];
    for (const k of SPLITS) parts.push(new Uint8Array(d[k].x.buffer, d[k].x.byteOffset, d[k].x.byteLength));
    for (const k of SPLITS) parts.push(d[k].y);
    // sha1: the fastest digest Node has here (~4× sha256 on this machine); it guards against a
    // damaged file, not an adversary
    const hash = createHash('sha1');
    for (const p of parts) hash.update(p);
    const h: Header = {
      key,
      name: d.name,
      inputShape: [...d.inputShape],
      numClasses: d.numClasses,
      source: d.source,
      n: { train: d.train.n, val: d.val.n, test: d.test.n },
      sha1: hash.digest('hex'),
    };
    let json = JSON.stringify(h);
    while ((12 + Buffer.byteLength(json)) % 4 !== 0) json += ' ';
    const head = Buffer.alloc(12);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(Buffer.byteLength(json), 8);
    const fd = openSync(tmp, 'w');
    try {
      for (const p of [head, Buffer.from(json), ...parts]) {
        for (let off = 0; off < p.length;) off += writeSync(fd, p, off, p.length - off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    prune(dir, d.name);
  } catch {
    rmSync(tmp, { force: true });
  }
}

function prune(dir: string, name: string): void {
  const mine = readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.f32'))
    .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of mine.slice(KEEP)) rmSync(join(dir, f), { force: true });
}
