import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { UserError } from '../util/index.js';
import { isTrialInput, unpackLevel, type Artifact, type StoredMasks, type StoredWeights } from './levels.js';
import type { LthDatabase } from './open.js';
import type { ExperimentInfo, StoredRow } from './records.js';
import { readArrays } from './weights.js';

/**
 * Every read of a run's database: what is stored, for the run plan, `lth status`, resume and
 * export. Store (db.ts) adds the writes; reporting reads the stable views instead (docs/SCHEMA.md).
 */
export class Queries {
  protected readonly db: Database.Database;
  /** the database path as given */
  readonly path: string;
  /** absolute path of the weights folder */
  readonly weightsDir: string;

  constructor(open: LthDatabase) {
    this.db = open.db;
    this.path = open.path;
    this.weightsDir = open.weightsDir;
  }

  protected hasTable(name: string): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?").get(name) !== undefined;
  }

  /** The experiments in the database, oldest first ([] for a new, empty database). */
  experiments(): ExperimentInfo[] {
    if (!this.hasTable('experiments')) return [];
    return this.db
      .prepare(
        `SELECT e.id, e.name, e.spec_hash AS specHash, e.spec_json AS specJson, e.code_version AS codeVersion,
                (SELECT group_concat(DISTINCT backend) FROM results r WHERE r.experiment_id = e.id) AS backends,
                (SELECT max(created_at) FROM results r WHERE r.experiment_id = e.id) AS last
           FROM experiments e ORDER BY e.id`,
      )
      .all() as ExperimentInfo[];
  }

  /** Levels already stored for a chain (or '' for level 0), ascending; `chain` is the db column `strategy` (docs/DESIGN.md#glossary). */
  doneLevels(experimentId: number, chain: string, trial: number, branch = ''): number[] {
    return (
      this.db
        .prepare('SELECT level FROM results WHERE experiment_id = ? AND strategy = ? AND trial = ? AND branch = ? AND replicate = 0 ORDER BY level')
        .all(experimentId, chain, trial, branch) as { level: number }[]
    ).map((r) => r.level);
  }

  /** Every stored row of an experiment (chain levels, level 0 and branches), in no particular order. */
  storedRows(experimentId: number): StoredRow[] {
    return this.db
      .prepare(
        'SELECT strategy, branch, replicate, trial, level, percent_remaining AS percentRemaining, final_test_accuracy AS finalTestAccuracy FROM results WHERE experiment_id = ?',
      )
      .all(experimentId) as StoredRow[];
  }

  /** Branch rows stored under a chain of a trial. */
  storedBranchRows(experimentId: number, chain: string, trial: number): { level: number; branch: string; replicate: number }[] {
    return this.db
      .prepare("SELECT level, branch, replicate FROM results WHERE experiment_id = ? AND strategy = ? AND trial = ? AND branch <> ''")
      .all(experimentId, chain, trial) as { level: number; branch: string; replicate: number }[];
  }

  /** % of prunable weights remaining at a stored chain level, or null when the level is not stored. */
  percentRemaining(experimentId: number, chain: string, trial: number, level: number): number | null {
    const row = this.db
      .prepare("SELECT percent_remaining p FROM results WHERE experiment_id=? AND strategy=? AND trial=? AND level=? AND branch='' AND replicate=0")
      .get(experimentId, chain, trial, level) as { p: number } | undefined;
    return row?.p ?? null;
  }

  /** The compute stored for a chain row (branch '' replicate 0; level 0 under chain ''), or null
   *  when the row or its compute is missing (rows written before schema version 3). */
  computeOf(
    experimentId: number,
    chain: string,
    trial: number,
    level: number,
  ): { totalIterations: number; totalMultiplyAdds: number; detectionIteration: number | null; iterations: number } | null {
    const row = this.db
      .prepare(
        `SELECT k.total_iterations t, k.total_multiply_adds m, k.detection_iteration d, r.iterations i FROM results r JOIN compute k ON k.result_id = r.id
          WHERE r.experiment_id=? AND r.strategy=? AND r.trial=? AND r.level=? AND r.branch='' AND r.replicate=0`,
      )
      .get(experimentId, chain, trial, level) as { t: number; m: number; d: number | null; i: number } | undefined;
    return row ? { totalIterations: row.t, totalMultiplyAdds: row.m, detectionIteration: row.d, iterations: row.i } : null;
  }

  /** Units kept per unit layer of a stored result (neuron/filter granularity), by layer order of insertion. */
  unitCounts(resultId: number): { layer: string; total: number; remaining: number }[] {
    if (!this.hasTable('unit_counts')) return [];
    return this.db.prepare('SELECT layer, total, remaining FROM unit_counts WHERE result_id = ? ORDER BY rowid').all(resultId) as {
      layer: string;
      total: number;
      remaining: number;
    }[];
  }

  /** Activation sparsity of a stored result: per hidden layer, the fraction of test-split ReLU outputs exactly 0. */
  activationSparsity(resultId: number): { layer: string; zeroFraction: number }[] {
    if (!this.hasTable('activation_sparsity')) return [];
    return this.db.prepare('SELECT layer, zero_fraction AS zeroFraction FROM activation_sparsity WHERE result_id = ? ORDER BY rowid').all(resultId) as {
      layer: string;
      zeroFraction: number;
    }[];
  }

  /** The chain levels stored for an experiment (level 0 under strategy ''; no branch rows), by trial, chain, level:
   *  what `lth analyze` measures. */
  chainLevelRows(experimentId: number): { resultId: number; strategy: string; trial: number; level: number }[] {
    return this.db
      .prepare(
        "SELECT id AS resultId, strategy, trial, level FROM results WHERE experiment_id = ? AND branch = '' AND replicate = 0 ORDER BY trial, strategy, level",
      )
      .all(experimentId) as { resultId: number; strategy: string; trial: number; level: number }[];
  }

  /** Whether an analysis table (instability, noise_robustness, layer_reset) holds rows of a result. */
  hasAnalysisRows(table: string, resultId: number): boolean {
    return this.db.prepare(`SELECT 1 FROM ${table} WHERE result_id = ? LIMIT 1`).get(resultId) !== undefined;
  }

  /** The mask hash of a stored chain level (branch '', replicate 0), or null when the level is not stored. */
  maskHashOf(experimentId: number, chain: string, trial: number, level: number): string | null {
    const row = this.db
      .prepare("SELECT mask_hash h FROM results WHERE experiment_id=? AND strategy=? AND trial=? AND level=? AND branch='' AND replicate=0")
      .get(experimentId, chain, trial, level) as { h: string } | undefined;
    return row?.h ?? null;
  }

  /** Whether a weight file is stored under an artifact key (storage/levels.ts `keys`). */
  hasArtifact(experimentId: number, key: string): boolean {
    return this.db.prepare('SELECT 1 FROM artifacts WHERE experiment_id = ? AND key = ?').get(experimentId, key) !== undefined;
  }

  /** Number of rows stored for an experiment. */
  countStored(experimentId: number): number {
    return (this.db.prepare('SELECT count(*) n FROM results WHERE experiment_id = ?').get(experimentId) as { n: number }).n;
  }

  /** A stored weight file by artifact key (storage/levels.ts `keys`), checked against its sha256. */
  loadArtifact(experimentId: number, key: string): Artifact {
    const row = this.db.prepare('SELECT file, sha256 FROM artifacts WHERE experiment_id = ? AND key = ?').get(experimentId, key) as
      { file: string; sha256: string } | undefined;
    if (!row) throw new UserError(`stored weights "${key}" are missing from ${this.path}: drop the experiment (lth rm NAME) or run with a fresh --db`);
    return readArrays(join(this.weightsDir, row.file), row.sha256);
  }

  /**
   * Checks, by sha256, the stored weight files every future level of an experiment starts from
   * (θ0 and θ_k of each trial: a few files, so cheap), so that a corrupt or missing one is named
   * when a run opens, even a finished one, not after training.
   * @throws UserError naming the file and the fix
   */
  verifyInputs(experimentId: number): void {
    const rows = this.db.prepare('SELECT key, file, sha256 FROM artifacts WHERE experiment_id = ? ORDER BY key').all(experimentId) as {
      key: string;
      file: string;
      sha256: string;
    }[];
    for (const r of rows) if (isTrialInput(r.key)) readArrays(join(this.weightsDir, r.file), r.sha256);
  }

  /** A stored level's weights and masks (a file written with packLevel). */
  loadLevel(experimentId: number, key: string): { weights: StoredWeights; masks: StoredMasks } {
    return unpackLevel(this.loadArtifact(experimentId, key));
  }
}
