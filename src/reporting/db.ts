import fs from 'node:fs';
import Database from 'better-sqlite3';
import { UserError } from '../util/index.js';

export type Db = Database.Database;

/** Default database path of every reporting command (`--db`). */
export { DEFAULT_DB } from '../storage/index.js';

/**
 * Open an lth database for reading only. A missing file is the user's problem, not a crash:
 * it becomes a one-line UserError that says how to get one. The handle cannot write
 * (`readonly: true`), so no reporting command can change results.
 */
export function openReadOnly(path: string): Db {
  if (!fs.existsSync(path)) {
    throw new UserError(`database not found: ${path} — run \`lth run SPEC\` first, or pass --db PATH to an existing lth database`);
  }
  if (fs.statSync(path).isDirectory()) throw new UserError(`${path} is a folder, not a database file: pass --db FOLDER/lth.db`);
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // touch the schema so that a file that is not SQLite fails here, with a clear message
    db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'levels'").pluck().get();
  } catch (e) {
    throw new UserError(`cannot read ${path} as an lth database (${(e as Error).message}) — pass --db PATH to a database written by \`lth run\``);
  }
  const hasLevels = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = 'levels'").pluck().get() as number;
  if (!hasLevels) {
    db.close();
    throw new UserError(`${path} is not an lth database (no \`levels\` view) — pass --db PATH to a database written by \`lth run\``);
  }
  return db;
}

/** Accept either an open handle or a path; returns the handle and whether the caller must close it. */
export function withDb<T>(dbOrPath: Db | string, fn: (db: Db) => T): T {
  if (typeof dbOrPath !== 'string') return fn(dbOrPath);
  const db = openReadOnly(dbOrPath);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Names of the experiments in the database, alphabetically. */
export function listExperiments(db: Db): string[] {
  return db.prepare('SELECT name FROM experiments ORDER BY name').pluck().all() as string[];
}

/** Throw a UserError naming the experiments that do exist when `name` is not one of them. */
export function requireExperiment(db: Db, name: string): void {
  const found = db.prepare('SELECT 1 FROM experiments WHERE name = ?').get(name);
  if (found) return;
  const names = listExperiments(db);
  const known = names.length ? `experiments in this database: ${names.join(', ')}` : 'this database has no experiments yet — run `lth run SPEC` first';
  throw new UserError(`unknown experiment "${name}" — ${known}`);
}
