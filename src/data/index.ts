import type { DataSpec } from '../spec/index.js';
import { loadFileDataset } from './load.js';
import { prepareSplits } from './splits.js';
import { NORMALIZATION } from './registry.js';
import { syntheticDataset } from './synthetic.js';
import type { DataOptions, Dataset } from './types.js';

export type { Checksum, DataFile, DataOptions, DataSource, Dataset, FileDataset, FileTable, Split } from './types.js';
export { listDatasets, type DatasetStatus, type FileCopy, type FileStatus } from './list.js';
export { DATASETS, DATASET_NAMES, FILE_TABLE, inputShapeOf, NORMALIZATION, type DatasetDef, type DatasetName } from './registry.js';
export { cacheRoot } from './files.js';

/**
 * Loads the data set a spec names, split and normalized (see splits.ts for the split rule).
 * `seed` matters only for synthetic data; the real data sets' splits are fixed.
 * Files: --data-dir, then system folders (Debian), then the cache, then the mirrors (unless offline).
 */
export async function loadDataset(spec: DataSpec, seed: number, opts: DataOptions = {}): Promise<Dataset> {
  if (spec.dataset === 'synthetic') return prepareSplits(syntheticDataset(spec, seed), spec, null);
  const raw = await loadFileDataset(spec.dataset, opts);
  return prepareSplits(raw, spec, NORMALIZATION[spec.dataset]);
}
export { datasetMeta, type DatasetMeta } from './meta.js';
export { checkSplits } from './splits.js';
