import type { DataSpec } from '../spec/schema.js';
import { join } from 'node:path';
import { preparedKey, readPrepared, writePrepared } from './cache.js';
import { cacheRoot } from './files.js';
import { loadFileDataset, localFiles } from './load.js';
import { prepare } from './prepare.js';
import { NORMALIZATION } from './registry.js';
import { syntheticDataset } from './synthetic.js';
import type { DataOptions, Dataset, FileDataset } from './types.js';

export type { Checksum, DataFile, DataOptions, DataSource, Dataset, FileDataset, FileTable, Split } from './types.js';
export { listDatasets, type DatasetStatus, type FileCopy, type FileStatus } from './list.js';
export { DATASETS, DATASET_NAMES, FILE_TABLE, inputShapeOf, NORMALIZATION, type DatasetDef, type DatasetName } from './registry.js';
export { cacheRoot } from './files.js';

/**
 * Loads the data set a spec names, split and normalized (see prepare.ts for the split rule).
 * `seed` matters only for synthetic data; the real data sets' splits are fixed.
 * Files: --data-dir, then system folders (Debian), then the cache, then the mirrors (unless offline).
 */
export async function loadDataset(spec: DataSpec, seed: number, opts: DataOptions = {}): Promise<Dataset> {
  if (spec.dataset === 'synthetic') return prepare(syntheticDataset(spec, seed), spec, null);
  // The prepared arrays are cached (data/cache.ts), keyed by everything they depend on: the
  // first process of a run prepares and writes them, --workers processes read them.
  const name: FileDataset = spec.dataset;
  const cache = opts.preparedCache === false ? null : join(cacheRoot(opts), 'prepared');
  const key = () => {
    const files = localFiles(name, opts);
    if (!files) return null;
    const { dataset, validation, trainSubset, testSubset, normalize } = spec;
    return preparedKey({ format: 1, dataset, validation, trainSubset, testSubset, normalize, stats: NORMALIZATION[name], files });
  };
  const before = cache ? key() : null;
  if (cache && before) {
    const hit = readPrepared(cache, spec.dataset, before);
    if (hit) return hit;
  }
  const raw = await loadFileDataset(spec.dataset, opts);
  const d = prepare(raw, spec, NORMALIZATION[spec.dataset]);
  // after a download the files exist and the key can be computed now
  const after = cache ? (before ?? key()) : null;
  if (cache && after) writePrepared(cache, d, after);
  return d;
}
