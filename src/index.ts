/** lth as a library: what `import … from 'lth'` gets. The CLI (src/cli) is a thin layer over the folders' own index.ts files. */
export { runExperiment, codeVersion, type ProgressEvent, type RunOptions, type RunSummary } from './orchestration/index.js';
export { loadSpec, validateSpec, specSchema, parseStep, type Spec, type SpecInput, type LoadedSpec } from './spec/index.js';
export { initBackend, BACKENDS, type BackendChoice, type BackendName } from './backend/index.js';
export { loadDataset, listDatasets, type Dataset, type DataOptions } from './data/index.js';
export { buildModel, initialize, layers, type Model, type Weights, type Masks } from './models/index.js';
export { prune, sparsity, maskHash, CRITERIA } from './pruning/index.js';
export { resolveReset, resetNames } from './resets/index.js';
export {
  train,
  evaluate,
  runLoop,
  type TrainResult,
  type CurvePoint,
  type LevelSchedule,
  type StepCallback,
  type Trainee,
  type TrainControl,
  atSteps,
  everySteps,
  evaluation,
  interruption,
  progress,
  snapshots,
  EarlyStopTracker,
  standardCallbacks,
} from './training/index.js';
export { Store, DEFAULT_DB, SCHEMA_SQL, SCHEMA_VERSION } from './storage/index.js';
export * as reporting from './reporting/index.js';
export { UserError } from './util/index.js';
