export { DEFAULT_DB, Store, defaultWeightsDir, type LevelRecord, type StoredRow, type StoreOptions, type ResumeVerdict } from './db.js';
export { mergeDatabases, type MergeReport } from './merge.js';
export { keys, packLevel, unpackLevel, type Artifact } from './levels.js';
export { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
