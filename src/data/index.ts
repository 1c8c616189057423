export type { Checksum, DataFile, DataOptions, DataSource, Dataset, FileDataset, FileTable, Split } from './types.js';
export type { DatasetDef, DatasetMeta, DataSpecOf } from './def.js';
export { listDatasets, type DatasetStatus, type FileCopy, type FileStatus } from './list.js';
export {
  DATASET_DEFS,
  DATASETS,
  DATASET_NAMES,
  FILE_TABLE,
  NORMALIZATION,
  dataIdentity,
  datasetMeta,
  inputShapeOf,
  withDigest,
  type DatasetName,
} from './registry.js';
export { cacheRoot } from './files.js';
export { loadDataset } from './load.js';
export { dataSpecForPath, inspectData, type DataReport } from './inspect.js';
export { checkSplits, DATA_SHAPE_FIELDS } from './splits.js';
export { npyUint8 } from './npy.js';
export { AUGMENTATIONS, CROP_PADDING, cropFlip, type Augmentation } from './augment.js';
