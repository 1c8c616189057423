import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Sparsity } from '../pruning/masker.js';
import type { CurvePoint } from '../training/loop.js';
import { UserError } from '../util/errors.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
import { readArrays, writeArrays } from './weights.js';

export const DEFAULT_DB = 'results/lth.db';

/** `results/lth.db` → `results/lth.weights` (absolute). */
export const defaultWeightsDir = (db: string): string => resolve(db).replace(/\.(db|sqlite3?)$/i, '') + '.weights';

export interface LevelRecord {
  experimentId: number;
  /** '' for the shared dense level 0 */
  strategy: string;
  branch?: string;
  replicate?: number;
  trial: number;
  level: number;
  sparsity: Sparsity;
  maskHash: string;
  earlyStop: CurvePoint;
  final: CurvePoint;
  curve: CurvePoint[];
  iterations: number;
  wallSeconds: number;
  backend: string;
  /** weight files written for this level, by artifact key */
  artifacts: Record<string, Record<string, Float32Array | Uint8Array>>;
}

export interface StoreOptions {
  /** where weight files live (default: beside the database, `<db>.weights`); a cluster plan's
   *  shards share one folder, docs/CLUSTER.md. Recorded in `meta.weights_dir` so that
   *  `lth merge` finds the files of a shard. */
  weightsDir?: string;
  /** 'delete' for a shard on a network file system: WAL needs shared memory between the
   *  processes that open the file, which NFS and Lustre do not give (docs/CLUSTER.md) */
  journal?: 'wal' | 'delete';
}

/** The results database and the weight files beside it. One instance per process. */
export class Store {
  readonly db: Database.Database;
  readonly weightsDir: string;

  constructor(
    readonly path: string,
    opts: StoreOptions = {},
  ) {
    const full = resolve(path);
    mkdirSync(dirname(full), { recursive: true });
    try {
      this.db = new Database(full);
    } catch (e) {
      throw new UserError(`cannot open database ${path}: ${(e as Error).message}; check --db`);
    }
    this.weightsDir = opts.weightsDir ? resolve(opts.weightsDir) : defaultWeightsDir(full);
    this.db.pragma(`journal_mode = ${opts.journal === 'delete' ? 'DELETE' : 'WAL'}`);
    this.db.pragma('busy_timeout = 30000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    if (opts.weightsDir) this.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('weights_dir', ?)").run(relative(dirname(full), this.weightsDir) || '.');
  }

  private migrate(): void {
    const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").get();
    const version = hasMeta ? Number((this.db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as { value: string } | undefined)?.value ?? 0) : 0;
    if (version > SCHEMA_VERSION) throw new UserError(`database ${this.path} has schema version ${version}, newer than this lth (${SCHEMA_VERSION}): upgrade lth`);
    if (version === SCHEMA_VERSION) return;
    this.db.transaction(() => {
      this.db.exec(SCHEMA_SQL);
      this.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    }).immediate();
  }

  close(): void {
    this.db.close();
  }

  /** Registers the experiment, or checks that the stored one has the same spec. Returns its id. */
  registerExperiment(name: string, specHash: string, specJson: string, codeVersion: string, chains: { strategy: string; trial: number; seed: number }[]): number {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT id, spec_hash FROM experiments WHERE name = ?').get(name) as { id: number; spec_hash: string } | undefined;
      if (row && row.spec_hash !== specHash) {
        throw new UserError(
          `experiment "${name}" already exists in ${this.path} with a different spec (hash ${row.spec_hash.slice(0, 12)} ≠ ${specHash.slice(0, 12)}): give the changed spec a new "name", or use another --db`,
        );
      }
      const id = row
        ? row.id
        : Number(
            this.db
              .prepare('INSERT INTO experiments(name, spec_hash, spec_json, code_version, created_at) VALUES (?, ?, ?, ?, ?)')
              .run(name, specHash, specJson, codeVersion, new Date().toISOString()).lastInsertRowid,
          );
      const ins = this.db.prepare('INSERT OR IGNORE INTO chains(experiment_id, strategy, trial, seed) VALUES (?, ?, ?, ?)');
      for (const c of chains) ins.run(id, c.strategy, c.trial, c.seed);
      return id;
    }).immediate();
  }

  /** Levels already stored for a chain (or '' for the dense level 0), ascending. */
  doneLevels(experimentId: number, strategy: string, trial: number, branch = ''): number[] {
    return (
      this.db
        .prepare('SELECT level FROM results WHERE experiment_id = ? AND strategy = ? AND trial = ? AND branch = ? AND replicate = 0 ORDER BY level')
        .all(experimentId, strategy, trial, branch) as { level: number }[]
    ).map((r) => r.level);
  }

  artifactPath(experiment: string, key: string): string {
    return join(this.weightsDir, experiment, `${key}.bin`);
  }

  readArtifact(experimentId: number, key: string): Record<string, Float32Array | Uint8Array> {
    const row = this.db.prepare('SELECT file, sha256 FROM artifacts WHERE experiment_id = ? AND key = ?').get(experimentId, key) as { file: string; sha256: string } | undefined;
    if (!row) throw new UserError(`stored weights "${key}" are missing from ${this.path}: run with a fresh --db`);
    return readArrays(join(this.weightsDir, row.file), row.sha256);
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
    this.db.transaction(() => {
      const branch = r.branch ?? '';
      const replicate = r.replicate ?? 0;
      const exists = this.db
        .prepare('SELECT 1 FROM results WHERE experiment_id=? AND strategy=? AND branch=? AND replicate=? AND trial=? AND level=?')
        .get(r.experimentId, r.strategy, branch, replicate, r.trial, r.level);
      if (exists) return; // another worker finished it first; never duplicate
      const id = Number(
        this.db
          .prepare(
            `INSERT INTO results(experiment_id, strategy, branch, replicate, trial, level, percent_remaining,
               early_stop_iteration, early_stop_val_loss, early_stop_val_accuracy, early_stop_test_accuracy,
               final_val_loss, final_val_accuracy, final_test_loss, final_test_accuracy,
               iterations, wall_seconds, backend, mask_hash, weights_file, created_at)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
          )
          .run(
            r.experimentId, r.strategy, branch, replicate, r.trial, r.level, r.sparsity.percentRemaining,
            r.earlyStop.iteration, num(r.earlyStop.valLoss), num(r.earlyStop.valAccuracy), num(r.earlyStop.testAccuracy),
            num(r.final.valLoss), num(r.final.valAccuracy), num(r.final.testLoss), num(r.final.testAccuracy),
            r.iterations, r.wallSeconds, r.backend, r.maskHash, files[0]?.file ?? null, new Date().toISOString(),
          ).lastInsertRowid,
      );
      const ls = this.db.prepare('INSERT INTO layer_sparsity(result_id, layer, total, remaining) VALUES (?,?,?,?)');
      for (const l of r.sparsity.layers) ls.run(id, l.layer, l.total, l.remaining);
      const cp = this.db.prepare('INSERT INTO curve_points(result_id, iteration, train_loss, val_loss, val_accuracy, test_loss, test_accuracy) VALUES (?,?,?,?,?,?,?)');
      for (const p of r.curve) cp.run(id, p.iteration, num(p.trainLoss), num(p.valLoss), num(p.valAccuracy), num(p.testLoss), num(p.testAccuracy));
      const art = this.db.prepare('INSERT OR REPLACE INTO artifacts(experiment_id, key, file, sha256) VALUES (?,?,?,?)');
      for (const f of files) art.run(r.experimentId, f.key, f.file, f.sha);
    }).immediate();
  }
}

/** SQLite has no NaN: store it as NULL. */
const num = (v: number | null): number | null => (v === null || Number.isNaN(v) ? null : v);
