import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSpec } from '../spec/index.js';
import { UserError } from '../util/index.js';
import { defOf } from './registry.js';
import type { DataOptions } from './types.js';

/** What lth sees in a data set (`lth datasets PATH-or-SPEC`). */
export interface DataReport {
  readonly dataset: string;
  readonly source: string;
  /** one example's shape */
  readonly inputShape: readonly number[];
  /** examples per class (index = label), in the official training set (validation included) and the test set */
  readonly counts: { readonly train: readonly number[]; readonly test: readonly number[] };
  /** smallest and largest feature value as stored (bytes 0…255 before scaling, or floats) */
  readonly range: readonly [number, number];
  /** sha256 of the content (user data), or null when the name pins it */
  readonly digest: string | null;
}

/**
 * The `data` section for a path given on the command line: a folder with x_train.npy → npy, a
 * folder with train/ → images, an .npz file → npz.
 * @throws UserError when the path is none of these
 */
export function dataSpecForPath(path: string): Record<string, unknown> {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  if (isDir && existsSync(join(path, 'x_train.npy'))) return { dataset: 'npy', path };
  if (isDir && existsSync(join(path, 'train'))) return { dataset: 'images', path };
  if (!isDir && existsSync(path) && path.endsWith('.npz')) return { dataset: 'npz', path };
  throw new UserError(
    `${path} is neither a spec (.json), a folder of .npy files (x_train.npy …), an image folder (train/<class>/…) nor an .npz file; give one of these`,
  );
}

/** Loads the data a `data` section names (unnormalized) and counts what is in it. */
export async function inspectData(spec: DataSpec, seed: number, opts: DataOptions = {}): Promise<DataReport> {
  const def = defOf(spec);
  const raw = await def.load(spec, seed, opts);
  const count = (y: Uint8Array) => {
    const c = new Array<number>(raw.numClasses).fill(0);
    for (const v of y) c[v]++;
    return c;
  };
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of [raw.train, raw.test])
    for (const v of s.x) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  return {
    dataset: spec.dataset,
    source: raw.source,
    inputShape: raw.inputShape,
    counts: { train: count(raw.train.y), test: count(raw.test.y) },
    range: [lo, hi],
    digest: (spec as { digest?: string }).digest ?? null,
  };
}
