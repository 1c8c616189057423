import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { UserError } from '../util/index.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';

/**
 * The one way lth opens a database file: the run's Store, `lth merge`'s sources and target,
 * and the reporting commands all come through here, so every file gets the same checks and
 * the same one-line errors.
 */

export interface StoreOptions {
  /** open for reading only: the file must exist; never migrates or writes (status, report, merge's sources) */
  readonly?: boolean;
  /** where weight files live (default: `meta.weights_dir` of the database, else beside it,
   *  `<db>.weights`); a cluster plan's shards share one folder, docs/CLUSTER.md. Written into
   *  `meta.weights_dir` so that `lth merge` finds the files of a shard. */
  weightsDir?: string;
  /** 'delete' for a shard on a network file system: WAL needs shared memory between the
   *  processes that open the file, which NFS and Lustre do not give (docs/CLUSTER.md) */
  journal?: 'wal' | 'delete';
}

/** An open lth database and the folder of its weight files. */
export interface LthDatabase {
  readonly db: Database.Database;
  /** the path as given (errors name it so) */
  readonly path: string;
  /** absolute path of the weights folder */
  readonly weightsDir: string;
  readonly readonly: boolean;
}

export const DEFAULT_DB = 'results/lth.db';

/** The weight folder beside a database file: results/lth.db → results/lth.weights. */
export const defaultWeightsDir = (dbFile: string): string => resolve(dbFile).replace(/\.(db|sqlite3?)$/i, '') + '.weights';

/** The schema version a database records (0 for an empty file). */
export function schemaVersion(db: Database.Database): number {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").get();
  return hasMeta ? Number((db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as { value: string } | undefined)?.value ?? 0) : 0;
}

/**
 * Opens a SQLite file as an lth database, checking before anything is written that it is one:
 * an SQLite file (not text, not a folder), and either empty or carrying lth's `meta` table. lth
 * never writes into another program's database. Read-write: creates the file and its folder,
 * sets WAL (or `journal`) and a 30 s busy timeout, migrates an older schema (a newer one is
 * refused), and records `weightsDir` when given. Errors are one UserError line naming the file
 * and the fix.
 */
export function openDatabase(path: string, opts: StoreOptions = {}): LthDatabase {
  const full = resolve(path);
  const ro = opts.readonly === true;
  if (ro && !existsSync(full)) throw new UserError(`database not found: ${path} — run \`lth run SPEC\` first, or pass --db PATH to an existing lth database`);
  if (existsSync(full) && statSync(full).isDirectory()) throw new UserError(`${path} is a folder, not a database file: pass --db FOLDER/lth.db`);
  if (!ro) {
    try {
      mkdirSync(dirname(full), { recursive: true });
      accessSync(existsSync(full) ? full : dirname(full), constants.W_OK);
      if (existsSync(full)) accessSync(dirname(full), constants.W_OK); // SQLite writes its journal beside the file
    } catch (e) {
      throw new UserError(
        `cannot write the database ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): lth run needs a writable file and folder; copy it somewhere writable or pass another --db`,
      );
    }
  }
  let db: Database.Database;
  let names: string[];
  try {
    db = new Database(full, ro ? { readonly: true, fileMustExist: true } : {});
  } catch (e) {
    throw new UserError(`cannot open database ${path}: ${(e as Error).message}; check --db`);
  }
  try {
    names = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name").pluck().all() as string[];
  } catch (e) {
    db.close();
    const msg = (e as Error).message;
    if (/not a database/i.test(msg)) throw new UserError(`${path} is not an SQLite database: pass --db the path of an lth database, or a new path`);
    throw new UserError(`cannot read ${path} (${msg}): if its folder is read-only, copy it somewhere writable; or pass another --db`);
  }
  const isLth = names.includes('meta') && db.prepare("SELECT 1 FROM meta WHERE key = 'schema_version'").get() !== undefined;
  if (names.length > 0 && !isLth) {
    db.close();
    const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ', …' : '');
    throw new UserError(`${path} is another program's SQLite database (tables: ${shown}), not lth's: lth never writes into it; pass --db a new path`);
  }
  const recorded = isLth ? (db.prepare("SELECT value FROM meta WHERE key = 'weights_dir'").pluck().get() as string | undefined) : undefined;
  const weightsDir = opts.weightsDir ? resolve(opts.weightsDir) : recorded !== undefined ? resolve(dirname(full), recorded) : defaultWeightsDir(full);
  if (!ro) {
    try {
      db.pragma('busy_timeout = 30000'); // first: switching to WAL waits for other connections too
      db.pragma(`journal_mode = ${opts.journal === 'delete' ? 'DELETE' : 'WAL'}`);
      db.pragma('foreign_keys = ON');
      migrate(db, path);
      if (opts.weightsDir) db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('weights_dir', ?)").run(relative(dirname(full), weightsDir) || '.');
    } catch (e) {
      db.close();
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot write the database ${path} (${(e as Error).message}): lth run needs a writable file and folder; pass another --db`);
    }
  }
  return { db, path, weightsDir, readonly: ro };
}

function migrate(db: Database.Database, path: string): void {
  const version = schemaVersion(db);
  if (version > SCHEMA_VERSION) throw new UserError(`database ${path} has schema version ${version}, newer than this lth (${SCHEMA_VERSION}): upgrade lth`);
  if (version === SCHEMA_VERSION) return;
  // Every statement of SCHEMA_SQL is idempotent (IF NOT EXISTS; views re-created), so it also migrates 1 → 2 (adds `locks`) and 2 → 3 (adds `unit_counts`, `activation_sparsity`).
  db.transaction(() => {
    db.exec(SCHEMA_SQL);
    db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  }).immediate();
}

/**
 * Closes a connection. A writer first switches the file back to a rollback journal when it is
 * the last connection (busy otherwise: then it stays WAL), so that readers can open the file
 * later from a read-only folder, where SQLite cannot create WAL's -shm file.
 */
export function closeDatabase(d: LthDatabase): void {
  if (!d.db.open) return;
  if (!d.readonly) {
    try {
      d.db.pragma('busy_timeout = 0');
      d.db.pragma('journal_mode = DELETE');
    } catch {
      // another connection is open: it keeps WAL and switches back when it closes
    }
  }
  d.db.close();
}
