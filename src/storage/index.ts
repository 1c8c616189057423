export { DEFAULT_DB, Store, type StoredRow } from './db.js';
export { keys, packLevel, unpackLevel, type Artifact } from './levels.js';
export { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
