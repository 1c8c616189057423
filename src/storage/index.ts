export { Store, type LevelRecord, type StoredRow, type ResumeVerdict } from './db.js';
export { DEFAULT_DB, defaultWeightsDir, openDatabase, type StoreOptions } from './open.js';
export { mergeDatabases, type MergeReport } from './merge.js';
export { keys, packLevel, unpackLevel, type Artifact } from './levels.js';
export { noExperiment } from './no-experiment.js';
export { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
