import type Database from 'better-sqlite3';
import { UserError } from '../util/index.js';
import type { LevelRecord, ResumeVerdict } from './records.js';

/**
 * Every SQL statement that writes rows: a run's levels (Store.commitLevel), a twin chain's copies
 * (Store.copyLevel) and `lth merge` all insert through these, so a stored row has one shape
 * whoever wrote it. Callers open the transaction; these functions only insert.
 */

/** A row as stored: column name → value (every column but the surrogate `id`). */
export type Row = Record<string, unknown>;

/** An experiments row. */
export interface ExperimentRow {
  name: string;
  spec_hash: string;
  spec_json: string;
  code_version: string;
  created_at: string;
}

/** A resolved spec that goes further than the stored one, waiting for its first new row (see applyExtension). */
export interface PendingExtension {
  readonly specJson: string;
  /** the identity rules (src/spec/identity.ts), asked again against what is stored at commit time */
  readonly resume: (storedHash: string, storedJson: string) => ResumeVerdict;
}

const insertSql = (table: string, columns: string[]) => `INSERT INTO ${table}(${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;

/** Inserts `rows` into `table` (all rows with the columns of the first); `fixed` columns are prepended to each. */
function insertRows(db: Database.Database, table: string, rows: readonly Row[], fixed: Row = {}): void {
  if (rows.length === 0) return;
  const columns = [...Object.keys(fixed), ...Object.keys(rows[0])];
  const st = db.prepare(insertSql(table, columns));
  for (const r of rows) st.run(...(columns.map((c) => (c in fixed ? fixed[c] : r[c])) as never[]));
}

/** Inserts one experiment; returns its id. */
export function insertExperiment(db: Database.Database, e: ExperimentRow): number {
  return Number(
    db
      .prepare(insertSql('experiments', ['name', 'spec_hash', 'spec_json', 'code_version', 'created_at']))
      .run(e.name, e.spec_hash, e.spec_json, e.code_version, e.created_at).lastInsertRowid,
  );
}

/** Records the seed of each (chain, trial); rows already there are kept. */
export function insertChains(db: Database.Database, experimentId: number, chains: readonly { strategy: string; trial: number; seed: number }[]): void {
  const st = db.prepare('INSERT OR IGNORE INTO chains(experiment_id, strategy, trial, seed) VALUES (?, ?, ?, ?)');
  for (const c of chains) st.run(experimentId, c.strategy, c.trial, c.seed);
}

/** Records weight files by artifact key (a key written again names its new file). */
export function insertArtifacts(db: Database.Database, experimentId: number, files: readonly { key: string; file: string; sha256: string }[]): void {
  const st = db.prepare('INSERT OR REPLACE INTO artifacts(experiment_id, key, file, sha256) VALUES (?, ?, ?, ?)');
  for (const f of files) st.run(experimentId, f.key, f.file, f.sha256);
}

/** Tables with a `result_id` column besides `results` itself, with their other columns (copy and merge take them whole). */
export function childTables(db: Database.Database): { table: string; columns: string[] }[] {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'results'").pluck().all() as string[];
  return tables
    .map((table) => ({ table, columns: (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name) }))
    .filter((t) => t.columns.includes('result_id'))
    .map((t) => ({ table: t.table, columns: t.columns.filter((c) => c !== 'result_id') }));
}

/** A stored `results` row and every row hanging off it, by table, as they are in `db`. */
export function readResult(db: Database.Database, id: number): { row: Row; children: Record<string, Row[]> } {
  const row = db.prepare('SELECT * FROM results WHERE id = ?').get(id) as Row;
  delete row.id;
  const children: Record<string, Row[]> = {};
  for (const c of childTables(db))
    children[c.table] = db.prepare(`SELECT ${c.columns.join(', ')} FROM ${c.table} WHERE result_id = ? ORDER BY rowid`).all(id) as Row[];
  return { row, children };
}

/**
 * Inserts a `results` row and its child rows (layer_sparsity, curve_points, compute, …) unless
 * a row with the same natural key (experiment, strategy, branch, replicate, trial, level) is
 * there already: then nothing is written and null returned (another process stored it first;
 * rows are never duplicated). Returns the new row's id.
 */
export function insertResult(db: Database.Database, row: Row, children: Record<string, readonly Row[]>): number | null {
  const exists = db
    .prepare('SELECT 1 FROM results WHERE experiment_id=? AND strategy=? AND branch=? AND replicate=? AND trial=? AND level=?')
    .get(row.experiment_id, row.strategy, row.branch, row.replicate, row.trial, row.level);
  if (exists) return null;
  const columns = Object.keys(row);
  const id = Number(db.prepare(insertSql('results', columns)).run(...(columns.map((c) => row[c]) as never[])).lastInsertRowid);
  for (const [table, rows] of Object.entries(children)) insertRows(db, table, rows, { result_id: id });
  return id;
}

/** SQLite has no NaN: store it as NULL. */
const num = (v: number | null): number | null => (v === null || Number.isNaN(v) ? null : v);

/** A finished level as rows: its `results` row (weights_file = its first file) and its child rows. */
export function levelRows(r: LevelRecord, weightsFile: string | null, createdAt: string): { row: Row; children: Record<string, Row[]> } {
  const row: Row = {
    experiment_id: r.experimentId,
    strategy: r.strategy,
    branch: r.branch ?? '',
    replicate: r.replicate ?? 0,
    trial: r.trial,
    level: r.level,
    percent_remaining: r.sparsity.percentRemaining,
    early_stop_iteration: r.earlyStop.iteration,
    early_stop_val_loss: num(r.earlyStop.valLoss),
    early_stop_val_accuracy: num(r.earlyStop.valAccuracy),
    early_stop_test_accuracy: num(r.earlyStop.testAccuracy),
    final_val_loss: num(r.final.valLoss),
    final_val_accuracy: num(r.final.valAccuracy),
    final_test_loss: num(r.final.testLoss),
    final_test_accuracy: num(r.final.testAccuracy),
    iterations: r.iterations,
    wall_seconds: r.wallSeconds,
    backend: r.backend,
    mask_hash: r.maskHash,
    weights_file: weightsFile,
    created_at: createdAt,
  };
  const children: Record<string, Row[]> = {
    layer_sparsity: r.sparsity.layers.map((l) => ({ layer: l.layer, total: l.total, remaining: l.remaining })),
    unit_counts: (r.units ?? []).map((u) => ({ layer: u.layer, total: u.total, remaining: u.remaining })),
    activation_sparsity: (r.activations ?? []).map((a) => ({ layer: a.layer, zero_fraction: a.zeroFraction })),
    curve_points: r.curve.map((p) => ({
      iteration: p.iteration,
      train_loss: num(p.trainLoss),
      val_loss: num(p.valLoss),
      val_accuracy: num(p.valAccuracy),
      test_loss: num(p.testLoss),
      test_accuracy: num(p.testAccuracy),
    })),
    mask_updates: (r.churn ?? []).map((c) => ({ step: c.step, layer: c.layer, dropped: c.dropped, regrown: c.regrown, remaining: c.remaining })),
    mask_distances: (r.distances ?? []).map((d) => ({ iteration: d.iteration, distance: d.distance })),
    instability: (r.instability ?? []).map((p, i) => ({ point: i, alpha: p.alpha, test_loss: p.testLoss, test_error: p.testError })),
    compute: r.compute
      ? [
          {
            total_iterations: r.compute.totalIterations,
            total_multiply_adds: r.compute.totalMultiplyAdds,
            detection_iteration: r.compute.detectionIteration ?? null,
          },
        ]
      : [],
  };
  return { row, children };
}

/**
 * Stores an extended spec (more levels, trials, chains…) as the experiment's, inside the
 * transaction of its first new row, so that a run refused or stopped before any new row leaves
 * the stored spec as it was. The identity rules are asked again against what is stored now:
 * a spec that another process has meanwhile extended further is left alone.
 */
export function applyExtension(db: Database.Database, experimentId: number, ext: PendingExtension): void {
  const stored = db.prepare('SELECT spec_hash, spec_json FROM experiments WHERE id = ?').get(experimentId) as { spec_hash: string; spec_json: string };
  if (stored.spec_json === ext.specJson) return;
  const verdict = ext.resume(stored.spec_hash, stored.spec_json);
  if (verdict.ok && verdict.extended) db.prepare('UPDATE experiments SET spec_json = ? WHERE id = ?').run(ext.specJson, experimentId);
}

/** Runs a write; SQLite's disk-full and read-only faults become one UserError line saying what was kept. */
export function writing<T>(path: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    // The transaction rolled back: nothing of it is stored, earlier rows are intact.
    if (code.startsWith('SQLITE_FULL'))
      throw new UserError(`cannot store ${what} in ${path}: the disk is full; free space and run again: stored levels are kept`);
    if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR'))
      throw new UserError(`cannot store ${what} in ${path} (${code}): check that the database and its folder are writable, then run again`);
    throw e;
  }
}

/**
 * Of two registrations of one experiment, the earlier (created_at, then code_version) keeps its
 * spec text, code version and time, so that `lth merge` does not depend on the order of its sources.
 */
export function keepEarlierRegistration(db: Database.Database, experimentId: number, e: ExperimentRow): void {
  db.prepare(
    'UPDATE experiments SET spec_json = ?, code_version = ?, created_at = ? WHERE id = ? AND (created_at > ? OR (created_at = ? AND code_version > ?))',
  ).run(e.spec_json, e.code_version, e.created_at, experimentId, e.created_at, e.created_at, e.code_version);
}

/** Of two identical rows, the earlier (created_at, then wall_seconds) keeps its timing (see keepEarlierRegistration). */
export function keepEarlierTiming(db: Database.Database, resultId: number, r: { wall_seconds: number; created_at: string }): void {
  db.prepare('UPDATE results SET wall_seconds = ?, created_at = ? WHERE id = ? AND (created_at > ? OR (created_at = ? AND wall_seconds > ?))').run(
    r.wall_seconds,
    r.created_at,
    resultId,
    r.created_at,
    r.created_at,
    r.wall_seconds,
  );
}
