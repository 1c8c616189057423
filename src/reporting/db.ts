import type Database from 'better-sqlite3';
import { noExperiment, openDatabase } from '../storage/index.js';
import { UserError } from '../util/index.js';

export type Db = Database.Database;

/** Default database path of every reporting command (`--db`). */
export { DEFAULT_DB } from '../storage/index.js';

/**
 * Open an lth database for reading only, through storage's one opener (missing file, folder,
 * not SQLite, another program's database: one UserError line each). The handle cannot write
 * (`readonly: true`), so no reporting command can change results.
 */
export function openReadOnly(path: string): Db {
  const { db } = openDatabase(path, { readonly: true });
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
  throw new UserError(noExperiment(name, listExperiments(db), db.name));
}
