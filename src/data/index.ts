export type { Checksum, DataFile, DataOptions, DataSource, Dataset, FileDataset, FileTable, Split } from './types.js';
export { listDatasets, type DatasetStatus, type FileCopy, type FileStatus } from './list.js';
export { DATASETS, DATASET_NAMES, FILE_TABLE, inputShapeOf, NORMALIZATION, type DatasetDef, type DatasetName } from './registry.js';
export { cacheRoot } from './files.js';
export { loadDataset } from './load.js';
export { datasetMeta, type DatasetMeta } from './meta.js';
export { checkSplits } from './splits.js';
export { AUGMENTATIONS, CROP_PADDING, cropFlip, type Augmentation } from './augment.js';
