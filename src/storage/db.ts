import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { UserError } from '../util/index.js';
import { unpackLevel, type Artifact, type StoredMasks, type StoredWeights } from './levels.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
import { processAlive, readArrays, removeStaleTemps, writeArrays } from './weights.js';

/** What the spec's identity rules say about resuming a stored experiment. */
export type ResumeVerdict = { ok: true; extended: boolean } | { ok: false; reason: string };

/** The weight folder beside a database file: results/lth.db → results/lth.weights. */
export const defaultWeightsDir = (dbFile: string): string => resolve(dbFile).replace(/\.(db|sqlite3?)$/i, '') + '.weights';

export interface StoreOptions {
  /** open for reading only: never migrates or writes (status, rm's first check) */
  readonly?: boolean;
  /** where weight files live (default: beside the database, `<db>.weights`); a cluster plan's
   *  shards share one folder, docs/CLUSTER.md. Recorded in `meta.weights_dir` so that
   *  `lth merge` finds the files of a shard. */
  weightsDir?: string;
  /** 'delete' for a shard on a network file system: WAL needs shared memory between the
   *  processes that open the file, which NFS and Lustre do not give (docs/CLUSTER.md) */
  journal?: 'wal' | 'delete';
}

export const DEFAULT_DB = 'results/lth.db';

/** One evaluation point of a level, as stored (structurally the training loop's CurvePoint). */
export interface StoredPoint {
  iteration: number;
  trainLoss: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  testLoss: number | null;
  testAccuracy: number | null;
}

/** Remaining weights of a level, as stored (structurally pruning's Sparsity). */
export interface StoredSparsity {
  percentRemaining: number;
  layers: { layer: string; total: number; remaining: number }[];
}

export interface LevelRecord {
  experimentId: number;
  /** '' for the shared dense level 0 */
  strategy: string;
  branch?: string;
  replicate?: number;
  trial: number;
  level: number;
  sparsity: StoredSparsity;
  maskHash: string;
  earlyStop: StoredPoint;
  final: StoredPoint;
  curve: StoredPoint[];
  iterations: number;
  wallSeconds: number;
  backend: string;
  /** weight files written for this level, by artifact key */
  artifacts: Record<string, Artifact>;
  /** mask updates during training (table mask_updates) */
  churn?: readonly { step: number; layer: string; dropped: number; regrown: number; remaining: number }[];
  /** early-bird search: mask distance per evaluation (table mask_distances) */
  distances?: readonly { iteration: number; distance: number }[];
  /** compute spent to reach this row (table compute) */
  compute?: { totalIterations: number; totalMultiplyAdds: number; detectionIteration?: number | null };
  /** units kept per unit layer (neuron/filter granularity; empty or absent otherwise) */
  units?: { layer: string; total: number; remaining: number }[];
  /** per hidden layer, the fraction of ReLU outputs on the test split that are exactly 0 */
  activations?: { layer: string; zeroFraction: number }[];
  /** instability branch: test loss and error at evenly spaced α between two copies (table instability) */
  instability?: readonly { alpha: number; testLoss: number; testError: number }[];
}

/** A stored row's identity and its % remaining: what the run plan needs (orchestration/plan.ts). */
export interface StoredRow {
  strategy: string;
  branch: string;
  replicate: number;
  trial: number;
  level: number;
  percentRemaining: number;
  /** final test accuracy (fraction), null when not measured: pruning.maxAccuracyDrop reads it */
  finalTestAccuracy?: number | null;
}

/** An experiment as `lth status` lists it. */
export interface ExperimentInfo {
  id: number;
  name: string;
  specHash: string;
  specJson: string;
  codeVersion: string;
  /** backends that trained its levels, comma-separated, or null before the first level */
  backends: string | null;
  /** ISO time of its last stored level, or null */
  last: string | null;
}

/** A lock older than this without a heartbeat is stale even when its pid looks alive (pid reuse, another host). */
const LOCK_STALE_MS = 10 * 60 * 1000;
const HEARTBEAT_MS = 30 * 1000;

/**
 * Opens a SQLite file as an lth database, checking before anything is written that it is one:
 * an SQLite file (not text), and either empty or carrying lth's `meta` table. lth never writes
 * into another program's database. `readonly`: the file must exist, nothing is ever written
 * (readers: status, report, query). Errors are one line naming the file and the fix.
 */
export function openLthDatabase(path: string, opts: { readonly?: boolean } = {}): Database.Database {
  const full = resolve(path);
  const ro = opts.readonly === true;
  if (ro && !existsSync(full)) throw new UserError(`no database at ${path}: run an experiment first (lth run SPEC) or pass --db`);
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
  return db;
}

/**
 * The results database and the weight files beside it: the only owner of the schema
 * (src/storage/schema.ts) and of the weight-file layout (src/storage/levels.ts).
 * One instance per process. `readonly` opens an existing database for reading only.
 */
export class Store {
  readonly #db: Database.Database;
  readonly weightsDir: string;
  readonly isReadonly: boolean;
  /** jobs this process holds a lock on, by experiment id */
  readonly #held = new Map<string, { experimentId: number; job: string }>();
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    opts: StoreOptions = {},
  ) {
    const full = resolve(path);
    this.isReadonly = opts.readonly === true;
    this.#db = openLthDatabase(path, opts);
    this.weightsDir = opts.weightsDir ? resolve(opts.weightsDir) : defaultWeightsDir(full);
    if (this.isReadonly) return;
    try {
      this.#db.pragma('busy_timeout = 30000'); // first: switching to WAL waits for other connections too
      this.#db.pragma(`journal_mode = ${opts.journal === 'delete' ? 'DELETE' : 'WAL'}`);
      this.#db.pragma('foreign_keys = ON');
      this.migrate();
      if (opts.weightsDir)
        this.#db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('weights_dir', ?)").run(relative(dirname(full), this.weightsDir) || '.');
    } catch (e) {
      this.#db.close();
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot write the database ${path} (${(e as Error).message}): lth run needs a writable file and folder; pass another --db`);
    }
  }

  private migrate(): void {
    const version = this.schemaVersion();
    if (version > SCHEMA_VERSION)
      throw new UserError(`database ${this.path} has schema version ${version}, newer than this lth (${SCHEMA_VERSION}): upgrade lth`);
    if (version === SCHEMA_VERSION) return;
    // Every statement of SCHEMA_SQL is idempotent (IF NOT EXISTS; views re-created), so it also migrates 1 → 2 (adds `locks`) and 2 → 3 (adds `unit_counts`, `activation_sparsity`).
    this.#db
      .transaction(() => {
        this.#db.exec(SCHEMA_SQL);
        this.#db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
      })
      .immediate();
  }

  private schemaVersion(): number {
    const hasMeta = this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").get();
    return hasMeta ? Number((this.#db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as { value: string } | undefined)?.value ?? 0) : 0;
  }

  private hasTable(name: string): boolean {
    return this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?").get(name) !== undefined;
  }

  /**
   * Releases this process's locks and closes. A writer also switches the file back to a rollback
   * journal when it is the last connection (busy otherwise: then it stays WAL), so that readers
   * can open the file later from a read-only folder, where SQLite cannot create WAL's -shm file.
   */
  close(): void {
    if (!this.#db.open) return;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (!this.isReadonly) {
      try {
        for (const { experimentId, job } of this.#held.values()) this.unlock(experimentId, job);
        this.#db.pragma('busy_timeout = 0');
        this.#db.pragma('journal_mode = DELETE');
      } catch {
        // another connection is open: it keeps WAL and switches back when it closes
      }
    }
    this.#db.close();
  }

  /** Removes temporary weight files left by writers of this host that were killed mid-write. */
  removeStaleTemps(): string[] {
    return removeStaleTemps(this.weightsDir);
  }

  /**
   * Registers the experiment, or asks `resume` whether the stored one may be continued with this
   * spec (same identity, or an extension of it). Returns its id.
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
    return this.#db
      .transaction(() => {
        const row = this.#db.prepare('SELECT id, spec_hash, spec_json FROM experiments WHERE name = ?').get(name) as
          { id: number; spec_hash: string; spec_json: string } | undefined;
        if (row) {
          // The identity rules belong to the spec (src/spec/identity.ts); storage only applies the verdict.
          const check = resume(row.spec_hash, row.spec_json);
          if (!check.ok) throw new UserError(`${check.reason} [${this.path}]`);
          // An extended spec (more levels, trials, chains…) becomes the stored one.
          if (check.extended) this.#db.prepare('UPDATE experiments SET spec_json = ? WHERE id = ?').run(specJson, row.id);
        }
        const id = row
          ? row.id
          : Number(
              this.#db
                .prepare('INSERT INTO experiments(name, spec_hash, spec_json, code_version, created_at) VALUES (?, ?, ?, ?, ?)')
                .run(name, specHash, specJson, codeVersion, new Date().toISOString()).lastInsertRowid,
            );
        const ins = this.#db.prepare('INSERT OR IGNORE INTO chains(experiment_id, strategy, trial, seed) VALUES (?, ?, ?, ?)');
        for (const c of chains) ins.run(id, c.strategy, c.trial, c.seed);
        return id;
      })
      .immediate();
  }

  /** The experiments in the database, oldest first ([] for a new, empty database). */
  experiments(): ExperimentInfo[] {
    if (!this.hasTable('experiments')) return [];
    return this.#db
      .prepare(
        `SELECT e.id, e.name, e.spec_hash AS specHash, e.spec_json AS specJson, e.code_version AS codeVersion,
                (SELECT group_concat(DISTINCT backend) FROM results r WHERE r.experiment_id = e.id) AS backends,
                (SELECT max(created_at) FROM results r WHERE r.experiment_id = e.id) AS last
           FROM experiments e ORDER BY e.id`,
      )
      .all() as ExperimentInfo[];
  }

  /** Levels already stored for a chain (or '' for the dense level 0), ascending. */
  doneLevels(experimentId: number, strategy: string, trial: number, branch = ''): number[] {
    return (
      this.#db
        .prepare('SELECT level FROM results WHERE experiment_id = ? AND strategy = ? AND trial = ? AND branch = ? AND replicate = 0 ORDER BY level')
        .all(experimentId, strategy, trial, branch) as { level: number }[]
    ).map((r) => r.level);
  }

  /** Every stored row of an experiment (chains, dense levels and branches), in no particular order. */
  storedRows(experimentId: number): StoredRow[] {
    return this.#db
      .prepare(
        'SELECT strategy, branch, replicate, trial, level, percent_remaining AS percentRemaining, final_test_accuracy AS finalTestAccuracy FROM results WHERE experiment_id = ?',
      )
      .all(experimentId) as StoredRow[];
  }

  /** Branch rows stored under a chain of a trial. */
  storedBranchRows(experimentId: number, strategy: string, trial: number): { level: number; branch: string; replicate: number }[] {
    return this.#db
      .prepare("SELECT level, branch, replicate FROM results WHERE experiment_id = ? AND strategy = ? AND trial = ? AND branch <> ''")
      .all(experimentId, strategy, trial) as { level: number; branch: string; replicate: number }[];
  }

  /** % of prunable weights remaining at a stored chain level, or null when the level is not stored. */
  percentRemaining(experimentId: number, strategy: string, trial: number, level: number): number | null {
    const row = this.#db
      .prepare("SELECT percent_remaining p FROM results WHERE experiment_id=? AND strategy=? AND trial=? AND level=? AND branch='' AND replicate=0")
      .get(experimentId, strategy, trial, level) as { p: number } | undefined;
    return row?.p ?? null;
  }

  /** The compute stored for a chain row (branch '' replicate 0; level 0 under strategy ''), or null
   *  when the row or its compute is missing (rows written before schema version 3). */
  computeOf(
    experimentId: number,
    strategy: string,
    trial: number,
    level: number,
  ): { totalIterations: number; totalMultiplyAdds: number; detectionIteration: number | null; iterations: number } | null {
    const row = this.#db
      .prepare(
        `SELECT k.total_iterations t, k.total_multiply_adds m, k.detection_iteration d, r.iterations i FROM results r JOIN compute k ON k.result_id = r.id
          WHERE r.experiment_id=? AND r.strategy=? AND r.trial=? AND r.level=? AND r.branch='' AND r.replicate=0`,
      )
      .get(experimentId, strategy, trial, level) as { t: number; m: number; d: number | null; i: number } | undefined;
    return row ? { totalIterations: row.t, totalMultiplyAdds: row.m, detectionIteration: row.d, iterations: row.i } : null;
  }

  /** Units kept per unit layer of a stored result (neuron/filter granularity), by layer order of insertion. */
  unitCounts(resultId: number): { layer: string; total: number; remaining: number }[] {
    if (!this.hasTable('unit_counts')) return [];
    return this.#db.prepare('SELECT layer, total, remaining FROM unit_counts WHERE result_id = ? ORDER BY rowid').all(resultId) as {
      layer: string;
      total: number;
      remaining: number;
    }[];
  }

  /** Activation sparsity of a stored result: per hidden layer, the fraction of test-split ReLU outputs exactly 0. */
  activationSparsity(resultId: number): { layer: string; zeroFraction: number }[] {
    if (!this.hasTable('activation_sparsity')) return [];
    return this.#db.prepare('SELECT layer, zero_fraction AS zeroFraction FROM activation_sparsity WHERE result_id = ? ORDER BY rowid').all(resultId) as {
      layer: string;
      zeroFraction: number;
    }[];
  }

  /** The chain levels stored for an experiment (level 0 under strategy ''; no branch rows), by trial, chain, level:
   *  what `lth analyze` measures. */
  chainLevelRows(experimentId: number): { resultId: number; strategy: string; trial: number; level: number }[] {
    return this.#db
      .prepare(
        "SELECT id AS resultId, strategy, trial, level FROM results WHERE experiment_id = ? AND branch = '' AND replicate = 0 ORDER BY trial, strategy, level",
      )
      .all(experimentId) as { resultId: number; strategy: string; trial: number; level: number }[];
  }

  /** Whether an analysis table (instability, noise_robustness, layer_reset) holds rows of a result. */
  hasAnalysisRows(table: string, resultId: number): boolean {
    return this.#db.prepare(`SELECT 1 FROM ${table} WHERE result_id = ? LIMIT 1`).get(resultId) !== undefined;
  }

  /** Stores one result's rows of an analysis table in one transaction; a row already there is kept (idempotent). */
  insertAnalysisRows(table: string, resultId: number, rows: readonly Record<string, string | number>[]): void {
    if (!rows.length) return;
    const cols = Object.keys(rows[0]);
    const ins = this.#db.prepare(`INSERT OR IGNORE INTO ${table}(result_id, ${cols.join(', ')}) VALUES (?, ${cols.map(() => '?').join(', ')})`);
    this.#db.transaction(() => {
      for (const r of rows) ins.run(resultId, ...cols.map((c) => r[c]));
    })();
  }

  /** Number of rows stored for an experiment. */
  countStored(experimentId: number): number {
    return (this.#db.prepare('SELECT count(*) n FROM results WHERE experiment_id = ?').get(experimentId) as { n: number }).n;
  }

  /** A stored weight file by artifact key (storage/levels.ts `keys`), checked against its sha256. */
  loadArtifact(experimentId: number, key: string): Artifact {
    const row = this.#db.prepare('SELECT file, sha256 FROM artifacts WHERE experiment_id = ? AND key = ?').get(experimentId, key) as
      { file: string; sha256: string } | undefined;
    if (!row) throw new UserError(`stored weights "${key}" are missing from ${this.path}: drop the experiment (lth rm NAME) or run with a fresh --db`);
    return readArrays(join(this.weightsDir, row.file), row.sha256);
  }

  /** @deprecated the old name of loadArtifact */
  readArtifact(experimentId: number, key: string): Artifact {
    return this.loadArtifact(experimentId, key);
  }

  /** A stored level's weights and masks (a file written with packLevel). */
  loadLevel(experimentId: number, key: string): { weights: StoredWeights; masks: StoredMasks } {
    return unpackLevel(this.loadArtifact(experimentId, key));
  }

  /**
   * Stores one finished level: weight files first (atomic), then every row in one
   * transaction. Killed before the commit, the level is simply not there and is redone.
   */
  commitLevel(experiment: string, r: LevelRecord): void {
    const files = Object.entries(r.artifacts).map(([key, arrays]) => {
      const file = join(experiment, `${key}.bin`);
      return { key, file, sha: writeArrays(join(this.weightsDir, file), arrays) };
    });
    const db = this.#db;
    const store = () =>
      db
        .transaction(() => {
          const branch = r.branch ?? '';
          const replicate = r.replicate ?? 0;
          const exists = db
            .prepare('SELECT 1 FROM results WHERE experiment_id=? AND strategy=? AND branch=? AND replicate=? AND trial=? AND level=?')
            .get(r.experimentId, r.strategy, branch, replicate, r.trial, r.level);
          if (exists) return; // another worker finished it first; never duplicate
          const id = Number(
            db
              .prepare(
                `INSERT INTO results(experiment_id, strategy, branch, replicate, trial, level, percent_remaining,
               early_stop_iteration, early_stop_val_loss, early_stop_val_accuracy, early_stop_test_accuracy,
               final_val_loss, final_val_accuracy, final_test_loss, final_test_accuracy,
               iterations, wall_seconds, backend, mask_hash, weights_file, created_at)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
              )
              .run(
                r.experimentId,
                r.strategy,
                branch,
                replicate,
                r.trial,
                r.level,
                r.sparsity.percentRemaining,
                r.earlyStop.iteration,
                num(r.earlyStop.valLoss),
                num(r.earlyStop.valAccuracy),
                num(r.earlyStop.testAccuracy),
                num(r.final.valLoss),
                num(r.final.valAccuracy),
                num(r.final.testLoss),
                num(r.final.testAccuracy),
                r.iterations,
                r.wallSeconds,
                r.backend,
                r.maskHash,
                files[0]?.file ?? null,
                new Date().toISOString(),
              ).lastInsertRowid,
          );
          const ls = db.prepare('INSERT INTO layer_sparsity(result_id, layer, total, remaining) VALUES (?,?,?,?)');
          for (const l of r.sparsity.layers) ls.run(id, l.layer, l.total, l.remaining);
          const uc = db.prepare('INSERT INTO unit_counts(result_id, layer, total, remaining) VALUES (?,?,?,?)');
          for (const u of r.units ?? []) uc.run(id, u.layer, u.total, u.remaining);
          const as = db.prepare('INSERT INTO activation_sparsity(result_id, layer, zero_fraction) VALUES (?,?,?)');
          for (const a of r.activations ?? []) as.run(id, a.layer, a.zeroFraction);
          const cp = db.prepare(
            'INSERT INTO curve_points(result_id, iteration, train_loss, val_loss, val_accuracy, test_loss, test_accuracy) VALUES (?,?,?,?,?,?,?)',
          );
          for (const p of r.curve) cp.run(id, p.iteration, num(p.trainLoss), num(p.valLoss), num(p.valAccuracy), num(p.testLoss), num(p.testAccuracy));
          const mu = db.prepare('INSERT INTO mask_updates(result_id, step, layer, dropped, regrown, remaining) VALUES (?,?,?,?,?,?)');
          for (const c of r.churn ?? []) mu.run(id, c.step, c.layer, c.dropped, c.regrown, c.remaining);
          const md = db.prepare('INSERT INTO mask_distances(result_id, iteration, distance) VALUES (?,?,?)');
          for (const d of r.distances ?? []) md.run(id, d.iteration, d.distance);
          const ip = db.prepare('INSERT INTO instability(result_id, point, alpha, test_loss, test_error) VALUES (?,?,?,?,?)');
          (r.instability ?? []).forEach((p, i) => ip.run(id, i, p.alpha, p.testLoss, p.testError));
          if (r.compute)
            db.prepare('INSERT INTO compute(result_id, total_iterations, total_multiply_adds, detection_iteration) VALUES (?,?,?,?)').run(
              id,
              r.compute.totalIterations,
              r.compute.totalMultiplyAdds,
              r.compute.detectionIteration ?? null,
            );
          const art = db.prepare('INSERT OR REPLACE INTO artifacts(experiment_id, key, file, sha256) VALUES (?,?,?,?)');
          for (const f of files) art.run(r.experimentId, f.key, f.file, f.sha);
        })
        .immediate();
    try {
      store();
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      // The transaction rolled back: nothing of this level is stored, earlier levels are intact.
      if (code.startsWith('SQLITE_FULL'))
        throw new UserError(`cannot store level ${r.level} in ${this.path}: the disk is full; free space and run again: stored levels are kept`);
      if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR'))
        throw new UserError(`cannot store level ${r.level} in ${this.path} (${code}): check that the database and its folder are writable, then run again`);
      throw e;
    }
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
  copyLevel(experimentId: number, from: { strategy: string; trial: number; level: number }, toStrategy: string, keys: { from: string; to: string }[]): boolean {
    const db = this.#db;
    return db
      .transaction(() => {
        const where = "experiment_id = ? AND strategy = ? AND branch = '' AND replicate = 0 AND trial = ? AND level = ?";
        if (db.prepare(`SELECT 1 FROM results WHERE ${where}`).get(experimentId, toStrategy, from.trial, from.level)) return false;
        const src = db.prepare(`SELECT id FROM results WHERE ${where}`).get(experimentId, from.strategy, from.trial, from.level) as { id: number } | undefined;
        if (!src) throw new Error(`cannot copy level ${from.level} of "${from.strategy}" trial ${from.trial}: it is not stored`);
        // every column but the id, the chain name and the time of the commit
        const cols = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('results') as string[]).filter(
          (c) => !['id', 'strategy', 'created_at'].includes(c),
        );
        const id = Number(
          db
            .prepare(`INSERT INTO results(strategy, created_at, ${cols.join(', ')}) SELECT ?, ?, ${cols.join(', ')} FROM results WHERE id = ?`)
            .run(toStrategy, new Date().toISOString(), src.id).lastInsertRowid,
        );
        // every table hanging off the row: layer_sparsity, curve_points, compute, unit_counts, …
        for (const c of childTables(db))
          db.prepare(`INSERT INTO ${c.table}(result_id, ${c.columns.join(', ')}) SELECT ?, ${c.columns.join(', ')} FROM ${c.table} WHERE result_id = ?`).run(
            id,
            src.id,
          );
        const art = db.prepare(
          'INSERT OR REPLACE INTO artifacts(experiment_id, key, file, sha256) SELECT experiment_id, ?, file, sha256 FROM artifacts WHERE experiment_id = ? AND key = ?',
        );
        for (const k of keys)
          if (art.run(k.to, experimentId, k.from).changes !== 1)
            throw new Error(`cannot copy level ${from.level} of "${from.strategy}": its weights "${k.from}" are not stored`);
        return true;
      })
      .immediate();
  }

  /**
   * Takes the lock on one job (e.g. "dense t0", "rewind t1") of an experiment, so that two
   * `lth run` on one database never train the same level twice. Returns false when another
   * live process holds it. A lock is stale, and taken over, when its process on this host is
   * gone, or when it has had no heartbeat for 10 minutes (a killed process on another host,
   * or a reused pid). Re-entrant within a process.
   */
  tryLock(experimentId: number, job: string): boolean {
    const me = { pid: process.pid, host: hostname() };
    const got = this.#db
      .transaction(() => {
        const row = this.#db.prepare('SELECT pid, host, heartbeat_at FROM locks WHERE experiment_id = ? AND job = ?').get(experimentId, job) as
          { pid: number; host: string; heartbeat_at: string } | undefined;
        if (row && !(row.pid === me.pid && row.host === me.host) && lockAlive(row)) return false;
        this.#db
          .prepare('INSERT OR REPLACE INTO locks(experiment_id, job, pid, host, heartbeat_at) VALUES (?, ?, ?, ?, ?)')
          .run(experimentId, job, me.pid, me.host, new Date().toISOString());
        return true;
      })
      .immediate();
    if (got) {
      this.#held.set(`${experimentId}/${job}`, { experimentId, job });
      this.#heartbeat ??= setInterval(() => this.beat(), HEARTBEAT_MS).unref();
    }
    return got;
  }

  /** Releases a lock this process holds (no-op otherwise). */
  unlock(experimentId: number, job: string): void {
    this.#held.delete(`${experimentId}/${job}`);
    this.#db.prepare('DELETE FROM locks WHERE experiment_id = ? AND job = ? AND pid = ? AND host = ?').run(experimentId, job, process.pid, hostname());
  }

  private beat(): void {
    try {
      const up = this.#db.prepare('UPDATE locks SET heartbeat_at = ? WHERE experiment_id = ? AND job = ? AND pid = ? AND host = ?');
      for (const { experimentId, job } of this.#held.values()) up.run(new Date().toISOString(), experimentId, job, process.pid, hostname());
    } catch {
      // busy: the next beat retries; a lock is stale only after 10 minutes without one
    }
  }

  /**
   * Deletes one experiment: its rows in every table and only its weight files (those its
   * `artifacts` rows name, then its folder if that is left empty). Refused while a live
   * process holds one of its locks. Returns what was removed; throws when there is no such experiment.
   */
  removeExperiment(name: string): { rows: number; files: number } {
    const row = this.#db.prepare('SELECT id FROM experiments WHERE name = ?').get(name) as { id: number } | undefined;
    if (!row) {
      const names = this.experiments().map((e) => e.name);
      throw new UserError(`no experiment "${name}" in ${this.path}${names.length ? ` (experiments: ${names.join(', ')})` : ' (it has no experiments)'}`);
    }
    const id = row.id;
    const live = (
      this.#db.prepare('SELECT pid, host, heartbeat_at FROM locks WHERE experiment_id = ?').all(id) as { pid: number; host: string; heartbeat_at: string }[]
    ).filter(lockAlive);
    if (live.length) throw new UserError(`experiment "${name}" is being run now (process ${live[0].pid} on ${live[0].host}): stop that run first`);
    const files = this.#db.prepare('SELECT DISTINCT file FROM artifacts WHERE experiment_id = ?').pluck().all(id) as string[];
    const rows = this.#db
      .transaction(() => {
        const inResults = 'result_id IN (SELECT id FROM results WHERE experiment_id = ?)';
        this.#db.prepare(`DELETE FROM curve_points WHERE ${inResults}`).run(id);
        for (const t of ['layer_sparsity', 'mask_updates', 'mask_distances', 'compute']) this.#db.prepare(`DELETE FROM ${t} WHERE ${inResults}`).run(id);
        for (const t of ['unit_counts', 'activation_sparsity', 'instability', 'noise_robustness', 'layer_reset'])
          if (this.hasTable(t)) this.#db.prepare(`DELETE FROM ${t} WHERE ${inResults}`).run(id);
        const n = this.#db.prepare('DELETE FROM results WHERE experiment_id = ?').run(id).changes;
        for (const t of ['artifacts', 'chains', 'locks']) this.#db.prepare(`DELETE FROM ${t} WHERE experiment_id = ?`).run(id);
        this.#db.prepare('DELETE FROM experiments WHERE id = ?').run(id);
        return n;
      })
      .immediate();
    // Files after the commit: a crash in between leaves orphan files, never rows without files.
    for (const f of files) rmSync(join(this.weightsDir, f), { force: true });
    pruneEmptyDirs(join(this.weightsDir, name));
    return { rows, files: files.length };
  }
}

function lockAlive(l: { pid: number; host: string; heartbeat_at: string }): boolean {
  if (Date.now() - Date.parse(l.heartbeat_at) > LOCK_STALE_MS) return false;
  return l.host !== hostname() || processAlive(l.pid);
}

/** Removes a folder tree's empty folders (bottom-up), keeping any that still hold a file. */
function pruneEmptyDirs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pruneEmptyDirs(join(dir, e.name));
  if (readdirSync(dir).length === 0) rmdirSync(dir);
}

/** SQLite has no NaN: store it as NULL. */
const num = (v: number | null): number | null => (v === null || Number.isNaN(v) ? null : v);

/** Tables with a `result_id` column besides `results` itself, with their other columns (copy and merge take them whole). */
export function childTables(db: Database.Database): { table: string; columns: string[] }[] {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'results'").pluck().all() as string[];
  return tables
    .map((table) => ({ table, columns: (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name) }))
    .filter((t) => t.columns.includes('result_id'))
    .map((t) => ({ table: t.table, columns: t.columns.filter((c) => c !== 'result_id') }));
}
