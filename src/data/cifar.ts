import { posix } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { UserError } from '../util/index.js';
import { hasDigest, mismatch, readFolderMembers, readVerified } from './files.js';
import type { ParseFiles } from './published.js';
import type { RawDataset, RawSplit } from './splits.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const IMAGE = 3 * PLANE;
const RECORD = 1 + IMAGE;

/**
 * Reads the named members (matched by base name) out of a tar archive held in memory (gzipped or
 * not: node-tar detects it). Members missing from the archive are an error naming `what`.
 */
export async function extractMembers(archive: Uint8Array, names: readonly string[], what: string): Promise<Map<string, Uint8Array>> {
  const wanted = new Set(names);
  const out = new Map<string, Uint8Array>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const base = posix.basename(entry.path);
        // a bare Parser does not drain entries by itself: skip the others explicitly
        if (entry.type !== 'File' || !wanted.has(base)) return void entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => out.set(base, new Uint8Array(Buffer.concat(chunks))));
      },
    });
    parser.on('error', (e: Error) => reject(new UserError(`corrupt archive ${what}: ${e.message}; delete or replace it`)));
    parser.on('end', () => resolve());
    parser.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  });
  const missing = names.filter((n) => !out.has(n));
  if (missing.length) throw new UserError(`corrupt archive ${what}: ${missing.join(', ')} not in it; delete or replace it`);
  return out;
}

/**
 * Concatenates CIFAR-10 binary batches (records of 1 label byte + 3072 bytes: the red plane,
 * then green, then blue, each row-major) into NHWC bytes, i.e. [n, 32, 32, 3] flattened.
 */
export function parseCifarBatches(batches: readonly { bytes: Uint8Array; what: string }[]): RawSplit {
  for (const { bytes, what } of batches) {
    if (bytes.length % RECORD !== 0) {
      throw new UserError(`corrupt CIFAR-10 batch ${what}: ${bytes.length} bytes is not a whole number of ${RECORD}-byte records; replace it`);
    }
  }
  const n = batches.reduce((a, b) => a + b.bytes.length / RECORD, 0);
  const x = new Uint8Array(n * IMAGE);
  const y = new Uint8Array(n);
  let k = 0;
  for (const { bytes, what } of batches) {
    for (let r = 0; r < bytes.length; r += RECORD, k++) {
      const label = bytes[r];
      if (label > 9) throw new UserError(`corrupt CIFAR-10 batch ${what}: label ${label} in record ${r / RECORD}; replace it`);
      y[k] = label;
      const src = r + 1;
      const dst = k * IMAGE;
      for (let p = 0; p < PLANE; p++) {
        x[dst + 3 * p] = bytes[src + p];
        x[dst + 3 * p + 1] = bytes[src + PLANE + p];
        x[dst + 3 * p + 2] = bytes[src + 2 * PLANE + p];
      }
    }
  }
  return { x, y, n };
}

/** members: the six .bin files by base name; `where` names their origin for errors and the record. */
function cifarDataset(members: ReadonlyMap<string, Uint8Array>, where: string, source: string): RawDataset {
  const names = [...members.keys()];
  const get = (n: string) => ({ bytes: members.get(n)!, what: `${where}:${n}` });
  const trainNames = names.filter((n) => n.startsWith('data_batch')).sort();
  const testNames = names.filter((n) => n.startsWith('test_batch'));
  return {
    name: 'cifar10',
    inputShape: [SIDE, SIDE, 3],
    channels: 3,
    numClasses: 10,
    train: parseCifarBatches(trainNames.map(get)),
    test: parseCifarBatches(testNames.map(get)),
    source,
  };
}

/** Reads CIFAR-10's six binary batches from the archive or its extracted folder, verified (published.ts). */
export const cifarFiles: ParseFiles = async (name, src, found, source) => {
  const [file] = src.files;
  const at = found.get(file)!;
  if (at.kind === 'folder') return cifarDataset(await readFolderMembers(name, file, at), at.path, source);
  const archive = await readVerified(name, file, at);
  const members = await extractMembers(archive, Object.keys(file.members ?? {}), at.path);
  if (!hasDigest(file)) {
    // nothing vouched for the archive: check what we took out of it instead
    for (const [m, bytes] of members) {
      const problem = mismatch(bytes, file.members![m]);
      if (problem) throw new UserError(`corrupt archive ${at.path}: ${m} is not the published one (${problem}); delete or replace it`);
    }
  }
  return cifarDataset(members, at.path, source);
};
