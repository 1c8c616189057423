import { rmdirSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/index.js';
import {
  applyExtension,
  childTables,
  insertArtifacts,
  insertChains,
  insertExperiment,
  insertResult,
  levelRows,
  readResult,
  writing,
  type PendingExtension,
} from './commits.js';
import { Locks } from './locks.js';
import { noExperiment } from './no-experiment.js';
import { closeDatabase, openDatabase, type LthDatabase, type StoreOptions } from './open.js';
import { Queries } from './queries.js';
import type { LevelRecord, ResumeVerdict } from './records.js';
import { removeStaleTemps, writeArrays } from './weights.js';

export type { StoreOptions } from './open.js';
export type { LevelRecord, ResumeVerdict, StoredRow } from './records.js';

/**
 * A run's database and the weight files beside it: the reads of Queries (queries.ts), the job
 * locks (locks.ts), and the writes, which go through commits.ts. Opened by openDatabase
 * (open.ts), the one opener of lth databases. One instance per process; `readonly` opens an
 * existing database for reading only.
 */
export class Store extends Queries {
  readonly #open: LthDatabase;
  readonly #locks: Locks;
  /** extended specs waiting for their first new row, by experiment id (commits.ts applyExtension) */
  readonly #extensions = new Map<number, PendingExtension>();

  constructor(path: string, opts: StoreOptions = {}) {
    const open = openDatabase(path, opts);
    super(open);
    this.#open = open;
    this.#locks = new Locks(open.db);
  }

  get isReadonly(): boolean {
    return this.#open.readonly;
  }

  /** Releases this process's locks and closes (see closeDatabase). */
  close(): void {
    if (!this.db.open) return;
    if (!this.isReadonly) {
      try {
        this.#locks.releaseAll();
      } catch {
        // busy: the locks go stale with this process
      }
    }
    closeDatabase(this.#open);
  }

  /** Removes temporary weight files left by writers of this host that were killed mid-write. */
  removeStaleTemps(): string[] {
    return removeStaleTemps(this.weightsDir);
  }

  /**
   * Registers the experiment, or asks `resume` whether the stored one may be continued with this
   * spec (same identity, or an extension of it). Returns its id. For a stored experiment, the
   * weights every future level starts from (θ0, θ_k) are checked first (verifyInputs). An
   * extended spec is not written here but with the first new row (commits.ts applyExtension),
   * so a run refused or stopped before it leaves the stored spec unchanged.
   * @throws UserError when the stored experiment may not be resumed, or its θ0/θ_k is missing or corrupt
   */
  registerExperiment(
    name: string,
    specHash: string,
    specJson: string,
    codeVersion: string,
    chains: { strategy: string; trial: number; seed: number }[],
    resume: (storedHash: string, storedJson: string) => ResumeVerdict = (h) =>
      h === specHash ? { ok: true, extended: false } : { ok: false, reason: `experiment "${name}" already exists with a different spec: give it a new "name"` },
  ): number {
    const lookup = this.db.prepare('SELECT id, spec_hash, spec_json FROM experiments WHERE name = ?');
    type Stored = { id: number; spec_hash: string; spec_json: string } | undefined;
    // The identity rules belong to the spec (src/spec/identity.ts); storage only applies the verdict.
    const verdict = (row: NonNullable<Stored>) => {
      const check = resume(row.spec_hash, row.spec_json);
      if (!check.ok) throw new UserError(`${check.reason} [${this.path}]`);
      return check.extended;
    };
    // Before anything is written, and outside the transaction (hashing files must not hold other writers up).
    const before = lookup.get(name) as Stored;
    if (before) {
      verdict(before);
      this.verifyInputs(before.id);
    }
    const { id, extended } = this.db
      .transaction(() => {
        const row = lookup.get(name) as Stored;
        const extended = row ? verdict(row) : false;
        const id = row
          ? row.id
          : insertExperiment(this.db, { name, spec_hash: specHash, spec_json: specJson, code_version: codeVersion, created_at: new Date().toISOString() });
        insertChains(this.db, id, chains);
        return { id, extended };
      })
      .immediate();
    if (extended) this.#extensions.set(id, { specJson, resume });
    return id;
  }

  /** Stores one result's rows of an analysis table (src/analyses) in one transaction; a row already there is kept (idempotent). */
  insertAnalysisRows(table: string, resultId: number, rows: readonly Record<string, string | number>[]): void {
    if (!rows.length) return;
    const cols = Object.keys(rows[0]);
    const ins = this.db.prepare(`INSERT OR IGNORE INTO ${table}(result_id, ${cols.join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')})`);
    writing(this.path, `${table} rows`, () =>
      this.db.transaction(() => {
        for (const r of rows) ins.run(resultId, ...cols.map((c) => r[c]));
      })(),
    );
  }

  /** Runs `fn` in one immediate transaction that also stores a pending extension of the experiment's spec. */
  #commit<T>(experimentId: number, what: string, fn: () => T): T {
    const ext = this.#extensions.get(experimentId);
    const out = writing(this.path, what, () =>
      this.db
        .transaction(() => {
          if (ext) applyExtension(this.db, experimentId, ext);
          return fn();
        })
        .immediate(),
    );
    this.#extensions.delete(experimentId);
    return out;
  }

  /**
   * Stores one finished level: weight files first (atomic), then every row in one
   * transaction. Killed before the commit, the level is simply not there and is redone.
   * A row already stored (another worker finished it first) is never duplicated.
   * @throws UserError when the disk is full or the database or weights folder is not writable
   */
  commitLevel(experiment: string, r: LevelRecord): void {
    const files = Object.entries(r.artifacts).map(([key, arrays]) => {
      const file = join(experiment, `${key}.bin`);
      return { key, file, sha256: writeArrays(join(this.weightsDir, file), arrays) };
    });
    const { row, children } = levelRows(r, files[0]?.file ?? null, new Date().toISOString());
    this.#commit(r.experimentId, `level ${r.level}`, () => {
      if (insertResult(this.db, row, children) === null) return;
      insertArtifacts(this.db, r.experimentId, files);
    });
  }

  /**
   * Stores a copy of one chain level (branch '', replicate 0) under another chain name: its
   * `results` row with every number, its `layer_sparsity` and `curve_points`, and an `artifacts`
   * row for each `keys` pair (source key → twin key) naming the same weight file and sha256, so
   * no weight file is written. For a chain that is the same computation as another
   * (spec/check.ts twinPairs). One transaction; idempotent: returns false, storing nothing, when
   * the twin's row is already there.
   * @throws Error when the source row or one of its artifacts is not stored
   */
  copyLevel(experimentId: number, from: { strategy: string; trial: number; level: number }, toChain: string, keys: { from: string; to: string }[]): boolean {
    const db = this.db;
    return this.#commit(experimentId, `level ${from.level}`, () => {
      const where = "experiment_id = ? AND strategy = ? AND branch = '' AND replicate = 0 AND trial = ? AND level = ?";
      if (db.prepare(`SELECT 1 FROM results WHERE ${where}`).get(experimentId, toChain, from.trial, from.level)) return false;
      const src = db.prepare(`SELECT id FROM results WHERE ${where}`).get(experimentId, from.strategy, from.trial, from.level) as { id: number } | undefined;
      if (!src) throw new Error(`cannot copy level ${from.level} of "${from.strategy}" trial ${from.trial}: it is not stored`);
      const { row, children } = readResult(db, src.id);
      insertResult(db, { ...row, strategy: toChain, created_at: new Date().toISOString() }, children);
      const art = db.prepare(
        'INSERT OR REPLACE INTO artifacts(experiment_id, key, file, sha256) SELECT experiment_id, ?, file, sha256 FROM artifacts WHERE experiment_id = ? AND key = ?',
      );
      for (const k of keys)
        if (art.run(k.to, experimentId, k.from).changes !== 1)
          throw new Error(`cannot copy level ${from.level} of "${from.strategy}": its weights "${k.from}" are not stored`);
      return true;
    });
  }

  /**
   * Takes the lock on one job (e.g. "dense t0", "rewind t1") of an experiment; false when
   * another live process holds it (locks.ts).
   */
  tryLock(experimentId: number, job: string): boolean {
    return this.#locks.tryLock(experimentId, job);
  }

  /** Releases a lock this process holds (no-op otherwise). */
  unlock(experimentId: number, job: string): void {
    this.#locks.unlock(experimentId, job);
  }

  /**
   * Deletes one experiment: its rows in every table and only its weight files (those its
   * `artifacts` rows name, then its folder if that is left empty). Refused while a live
   * process holds one of its locks. Returns what was removed; throws when there is no such experiment.
   */
  removeExperiment(name: string): { rows: number; files: number } {
    const row = this.db.prepare('SELECT id FROM experiments WHERE name = ?').get(name) as { id: number } | undefined;
    if (!row) {
      const names = this.experiments().map((e) => e.name);
      throw new UserError(noExperiment(name, names, this.path));
    }
    const id = row.id;
    const live = this.#locks.live(id);
    if (live.length) throw new UserError(`experiment "${name}" is being run now (process ${live[0].pid} on ${live[0].host}): stop that run first`);
    const files = this.db.prepare('SELECT DISTINCT file FROM artifacts WHERE experiment_id = ?').pluck().all(id) as string[];
    const rows = this.db
      .transaction(() => {
        const inResults = 'result_id IN (SELECT id FROM results WHERE experiment_id = ?)';
        for (const c of childTables(this.db)) this.db.prepare(`DELETE FROM ${c.table} WHERE ${inResults}`).run(id);
        const n = this.db.prepare('DELETE FROM results WHERE experiment_id = ?').run(id).changes;
        for (const t of ['artifacts', 'chains', 'locks']) this.db.prepare(`DELETE FROM ${t} WHERE experiment_id = ?`).run(id);
        this.db.prepare('DELETE FROM experiments WHERE id = ?').run(id);
        return n;
      })
      .immediate();
    // Files after the commit: a crash in between leaves orphan files, never rows without files.
    for (const f of files) rmSync(join(this.weightsDir, f), { force: true });
    pruneEmptyDirs(join(this.weightsDir, name));
    return { rows, files: files.length };
  }
}

/** Removes a folder tree's empty folders (bottom-up), keeping any that still hold a file. */
function pruneEmptyDirs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pruneEmptyDirs(join(dir, e.name));
  if (readdirSync(dir).length === 0) rmdirSync(dir);
}
