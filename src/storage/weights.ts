import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256, UserError } from '../util/index.js';

/**
 * Weight and mask files: a small JSON header then raw little-endian arrays.
 * Written to a temporary name, fsynced, verified and renamed, so a file either exists whole or not at all;
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

/** The file calls writeArrays makes; a parameter so tests can inject a failing disk. */
export interface FileIo {
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
}
const NODE_IO: FileIo = { writeSync: (fd, buf, off, len) => writeSync(fd, buf, off, len), fsyncSync };

/** Suffix of a weight file being written: `.tmp-<pid>@<host>`, so a run can tell its own host's dead writers' files. */
const tmpSuffix = () => `.tmp-${process.pid}@${hostname()}`;

/**
 * Writes atomically; returns the sha256 of the bytes on disk. Every byte is written (a short
 * write is continued), fsynced, then read back and checked before the file gets its final name,
 * so a full disk can never leave a truncated file, or a checksum of bytes that are not there.
 * On failure the temporary file is removed and the error names the file and the fix.
 */
export function writeArrays(file: string, arrays: Arrays, io: FileIo = NODE_IO): string {
  return writeBytes(file, encode(arrays), io);
}

/**
 * writeArrays for bytes already encoded (`lth merge` copies a verified file): the same temporary
 * name, fsync, read-back check and rename; on failure (a full disk: ENOSPC) the temporary file is
 * removed and one UserError line names the file and the fix. Returns the sha256 of the bytes.
 */
export function writeBytes(file: string, buf: Buffer, io: FileIo = NODE_IO): string {
  const want = sha256(buf);
  const tmp = file + tmpSuffix();
  try {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      for (let off = 0; off < buf.length;) {
        const n = io.writeSync(fd, buf, off, buf.length - off);
        if (!(n > 0)) throw Object.assign(new Error(`wrote 0 of ${buf.length - off} remaining bytes`), { code: 'ENOSPC' });
        off += n;
      }
      io.fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const onDisk = sha256(readFileSync(tmp));
    if (onDisk !== want) throw new Error('the bytes read back differ from the bytes written');
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOSPC' ? 'the disk is full' : err.code === 'EROFS' || err.code === 'EACCES' ? 'the folder is not writable' : err.message;
    throw new UserError(`cannot write weight file ${file}: ${why}; free space (or fix permissions) and run again: stored levels are kept`);
  }
  return want;
}

/**
 * Removes temporary weight files (`*.tmp-<pid>@<host>`, or `*.tmp-<pid>` from older versions)
 * whose writer on this host is gone: a process killed mid-write leaves them. Files of live
 * processes, and of other hosts (a shared folder), are left alone. Returns the paths removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      const m = /\.tmp-(\d+)(?:@(.+))?$/.exec(e.name);
      if (!m || !e.isFile() || (m[2] !== undefined && m[2] !== hostname()) || processAlive(Number(m[1]))) continue;
      rmSync(p, { force: true });
      removed.push(p);
    }
  };
  walk(dir);
  return removed;
}

/** Whether a process of this host is alive (EPERM: alive, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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
