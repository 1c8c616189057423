import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256 } from '../util/hash.js';
import { UserError } from '../util/errors.js';

/**
 * Weight and mask files: a small JSON header then raw little-endian arrays.
 * Written to a temporary name, fsynced and renamed, so a file either exists whole or not at all;
 * the sha256 of the bytes is stored in the database and checked on every read.
 */
type Arrays = Record<string, Float32Array | Uint8Array>;

const MAGIC = 'LTHW1\n';

export function encode(arrays: Arrays): Buffer {
  const entries = Object.entries(arrays);
  const header = entries.map(([name, a]) => ({ name, dtype: a instanceof Float32Array ? 'float32' : 'uint8', length: a.length }));
  const head = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
  return Buffer.concat([head, ...entries.map(([, a]) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))]);
}

export function decode(buf: Buffer, file: string): Arrays {
  const nl = buf.indexOf(10, MAGIC.length);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC || nl < 0) throw new UserError(`${file} is not an lth weight file: delete it and re-run`);
  const header = JSON.parse(buf.subarray(MAGIC.length, nl).toString()) as { name: string; dtype: string; length: number }[];
  const out: Arrays = {};
  let o = nl + 1;
  for (const h of header) {
    const bytes = h.dtype === 'float32' ? h.length * 4 : h.length;
    const copy = Buffer.from(buf.subarray(o, o + bytes)); // aligned copy
    out[h.name] = h.dtype === 'float32' ? new Float32Array(copy.buffer, copy.byteOffset, h.length) : new Uint8Array(copy.buffer, copy.byteOffset, h.length);
    o += bytes;
  }
  return out;
}

/** Writes atomically; returns the sha256 of the content. */
export function writeArrays(file: string, arrays: Arrays): string {
  const buf = encode(arrays);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, buf);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return sha256(buf);
}

export function readArrays(file: string, expectedSha: string): Arrays {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    throw new UserError(`weight file ${file} is missing: the database refers to it; restore it or run with a fresh --db`);
  }
  if (sha256(buf) !== expectedSha) throw new UserError(`weight file ${file} is corrupt (checksum mismatch): restore it or run with a fresh --db`);
  return decode(buf, file);
}
