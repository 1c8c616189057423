import { UserError } from '../util/index.js';
import { readVerified } from './files.js';
import type { ParseFiles } from './published.js';
import type { RawDataset, RawSplit } from './splits.js';

export interface IdxArray {
  readonly dims: number[];
  /** a view into the input, no copy */
  readonly data: Uint8Array;
}

/**
 * Parses an IDX file (LeCun's format: 0, 0, type, #dims, big-endian uint32 dims, then the data).
 * Only unsigned bytes (type 0x08) occur in MNIST-style sets. `what` names the file in errors.
 */
export function parseIdx(bytes: Uint8Array, what: string): IdxArray {
  const bad = (why: string) => new UserError(`corrupt IDX file ${what}: ${why}; replace it with the file as published`);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw bad('no IDX header');
  if (bytes[2] !== 0x08) throw bad(`element type 0x${bytes[2].toString(16)} (only unsigned bytes are supported)`);
  const nd = bytes[3];
  const header = 4 + 4 * nd;
  if (nd === 0 || bytes.length < header) throw bad('truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header < count) throw bad(`truncated: ${bytes.length - header} data bytes, header says ${count}`);
  if (bytes.length - header > count) throw bad(`${bytes.length - header - count} bytes after the data`);
  return { dims, data: bytes.subarray(header) };
}

/** The four files of an MNIST-style set, by their distributed names' prefixes. */
const IDX_ROLES = ['train-images', 'train-labels', 't10k-images', 't10k-labels'] as const;
type IdxRole = (typeof IDX_ROLES)[number];

interface IdxInput {
  readonly bytes: Uint8Array;
  /** path, for errors */
  readonly what: string;
}

function split(images: IdxInput, labels: IdxInput, numClasses: number): RawSplit & { dims: number[] } {
  const im = parseIdx(images.bytes, images.what);
  const lb = parseIdx(labels.bytes, labels.what);
  if (im.dims.length !== 3) throw new UserError(`corrupt IDX file ${images.what}: expected 3 dimensions (n, rows, cols), found ${im.dims.length}`);
  if (lb.dims.length !== 1) throw new UserError(`corrupt IDX file ${labels.what}: expected 1 dimension, found ${lb.dims.length}`);
  if (im.dims[0] !== lb.dims[0])
    throw new UserError(`IDX files disagree: ${images.what} has ${im.dims[0]} images, ${labels.what} ${lb.dims[0]} labels; use files of the same release`);
  for (let i = 0; i < lb.data.length; i++) {
    if (lb.data[i] >= numClasses) throw new UserError(`corrupt IDX file ${labels.what}: label ${lb.data[i]} at ${i} is not below ${numClasses}`);
  }
  return { x: im.data, y: lb.data, n: im.dims[0], dims: im.dims };
}

/** Assembles an MNIST-shaped data set ([h, w, 1] images, e.g. [28, 28, 1]; 10 classes) from its four decompressed IDX files. */
function idxDataset(name: string, files: Record<IdxRole, IdxInput>, source: string): RawDataset {
  const train = split(files['train-images'], files['train-labels'], 10);
  const test = split(files['t10k-images'], files['t10k-labels'], 10);
  const [, h, w] = train.dims;
  if (test.dims[1] !== h || test.dims[2] !== w)
    throw new UserError(`IDX files disagree: train images are ${h}×${w}, test images ${test.dims[1]}×${test.dims[2]}`);
  return {
    name,
    inputShape: [h, w, 1],
    channels: 1,
    numClasses: 10,
    train: { x: train.x, y: train.y, n: train.n },
    test: { x: test.x, y: test.y, n: test.n },
    source,
  };
}

/** Reads, verifies and parses the four IDX files of an MNIST-style set (published.ts). */
export const idxFiles: ParseFiles = async (name, src, found, source) => {
  const inputs = {} as Record<IdxRole, IdxInput>;
  // in parallel: gunzip runs on libuv's thread pool
  await Promise.all(
    [...found].map(async ([file, at]) => {
      const role = IDX_ROLES.find((r) => file.name.startsWith(r));
      if (role) inputs[role] = { bytes: await readVerified(name, file, at), what: at.path };
    }),
  );
  const absent = IDX_ROLES.filter((r) => !inputs[r]);
  if (absent.length) throw new Error(`file table for ${name} lacks ${absent.join(', ')} (${src.files.map((f) => f.name).join(', ')})`);
  return idxDataset(name, inputs, source);
};
