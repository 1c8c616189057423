import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { canonicalJson, sha256 } from '../util/hash.js';
import { childTables, defaultWeightsDir, Store, type StoreOptions } from './db.js';
import { SCHEMA_VERSION } from './schema.js';

/**
 * `lth merge`: several lth databases into one — the shards of a cluster plan (docs/CLUSTER.md),
 * or two people's runs of the same experiment.
 *
 * - Rows are matched by their natural key (experiment name; strategy, branch, replicate, trial,
 *   level), never by surrogate id: ids are assigned afresh in the target.
 * - A row already there with the same numbers is taken once; with other numbers, the merge is
 *   refused before anything is written, naming the experiment, strategy, trial and level.
 *   "The same numbers" is every column but the ids and the timing (wall_seconds, created_at),
 *   plus the row's layer sparsity and learning curve. Of two identical rows the earlier
 *   (created_at, then wall_seconds) keeps its timing, and of two registrations of one
 *   experiment the earlier keeps its code_version, so the result does not depend on the order
 *   in which sources are merged, and merging again changes nothing.
 * - Every weight file is read and its sha256 checked against its row before that source's rows
 *   are committed; files are copied atomically into the target's weights folder.
 * - One transaction per source: a source is merged whole or not at all.
 */

export interface MergeFilter {
  experiment?: (name: string) => boolean;
  result?: (r: { experiment: string; strategy: string; branch: string; replicate: number; trial: number; level: number }) => boolean;
  artifact?: (experiment: string, key: string) => boolean;
}

export interface MergeOptions {
  /** the target's Store options (its weights folder, journal mode) */
  store?: StoreOptions;
  /** a subset of the sources' rows (a chain task importing its trial's dense level) */
  filter?: MergeFilter;
}

export interface SourceReport {
  path: string;
  /** rows of `results` added to the target */
  added: number;
  /** rows already in the target with the same numbers */
  duplicates: number;
  /** weight files checked (and copied where the target lacked them) */
  files: number;
}

export interface MergeReport {
  into: string;
  sources: SourceReport[];
  /** per experiment, the distinct code versions (lth x.y.z) of the target and the sources, when more than one */
  versionMismatches: { experiment: string; versions: string[] }[];
}

interface ResultRow {
  id: number;
  experiment: string;
  strategy: string;
  branch: string;
  replicate: number;
  trial: number;
  level: number;
  wall_seconds: number;
  created_at: string;
  [col: string]: unknown;
}

interface ExperimentRow {
  id: number;
  name: string;
  spec_hash: string;
  spec_json: string;
  code_version: string;
  created_at: string;
}

/** Columns that are timing, not results: they may differ between identical rows. */
const TIMING = new Set(['id', 'experiment_id', 'wall_seconds', 'created_at']);

const rowKey = (r: { experiment: string; strategy: string; branch: string; replicate: number; trial: number; level: number }) =>
  JSON.stringify([r.experiment, r.strategy, r.branch, r.replicate, r.trial, r.level]);

/** "experiment "x", strategy "rewind", trial 1, level 3 (branch random-mask#0)" */
export function describeRow(r: { experiment: string; strategy: string; branch: string; replicate: number; trial: number; level: number }): string {
  const strategy = r.strategy === '' ? 'the dense level (strategy "")' : `strategy "${r.strategy}"`;
  const branch = r.branch ? ` (branch ${r.branch}#${r.replicate})` : '';
  return `experiment "${r.experiment}", ${strategy}, trial ${r.trial}, level ${r.level}${branch}`;
}

/** An lth database opened read-only, its schema version checked. */
class Source {
  readonly db: Database.Database;
  readonly weightsDir: string;
  constructor(readonly path: string) {
    if (!existsSync(path)) throw new UserError(`lth merge: ${path} does not exist: give existing lth databases (e.g. DIR/shards/*.db)`);
    try {
      this.db = new Database(path, { readonly: true, fileMustExist: true });
      const meta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").get();
      if (!meta) throw new UserError(`lth merge: ${path} is not an lth database (no meta table)`);
      const v = Number((this.db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as { value: string } | undefined)?.value ?? 0);
      if (v !== SCHEMA_VERSION)
        throw new UserError(`lth merge: ${path} has schema version ${v}, this lth has ${SCHEMA_VERSION}: merge with the lth version that wrote it`);
      const wd = this.db.prepare("SELECT value FROM meta WHERE key='weights_dir'").get() as { value: string } | undefined;
      this.weightsDir = wd ? resolve(dirname(resolve(path)), wd.value) : defaultWeightsDir(path);
    } catch (e) {
      (this as { db?: Database.Database }).db?.close();
      if (e instanceof UserError) throw e;
      throw new UserError(`lth merge: cannot read ${path}: ${(e as Error).message}`);
    }
  }
  close(): void {
    this.db.close();
  }
}

/** Layer sparsity and curve of a row, canonical, for comparing two rows' numbers. */
function rowDetail(db: Database.Database, id: number): string {
  const ls = db.prepare('SELECT layer, total, remaining FROM layer_sparsity WHERE result_id = ? ORDER BY layer').all(id);
  const cp = db
    .prepare('SELECT iteration, train_loss, val_loss, val_accuracy, test_loss, test_accuracy FROM curve_points WHERE result_id = ? ORDER BY iteration')
    .all(id);
  return canonicalJson({ ls, cp });
}

/** The first column in which two rows' numbers differ, or null. */
function difference(db1: Database.Database, a: ResultRow, db2: Database.Database, b: ResultRow): string | null {
  for (const col of Object.keys(a)) {
    if (TIMING.has(col)) continue;
    if (a[col] !== b[col]) return `${col}: ${String(a[col])} vs ${String(b[col])}`;
  }
  if (rowDetail(db1, a.id) !== rowDetail(db2, b.id)) return 'layer sparsity or learning curve';
  return null;
}

const earlier = (a: { created_at: string; wall_seconds: number }, b: { created_at: string; wall_seconds: number }) =>
  a.created_at < b.created_at || (a.created_at === b.created_at && a.wall_seconds < b.wall_seconds);

function writeAtomic(file: string, buf: Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, buf);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Reads a source's weight file and checks it against the sha256 its row records. */
function verifiedBytes(src: Source, file: string, sha: string, experiment: string, key: string): Buffer {
  const full = join(src.weightsDir, file);
  let buf: Buffer;
  try {
    buf = readFileSync(full);
  } catch {
    throw new UserError(
      `lth merge: weight file ${full} of ${src.path} (experiment "${experiment}", ${key}) is missing: copy the weights folder along with the database`,
    );
  }
  if (sha256(buf) !== sha)
    throw new UserError(
      `lth merge: weight file ${full} of ${src.path} (experiment "${experiment}", ${key}) is corrupt (sha256 mismatch): rerun that task, nothing was merged from it`,
    );
  return buf;
}

/**
 * Merges `sources` into the database `into` (created when missing). Refuses, before writing
 * anything, a source with another schema version, an experiment whose spec differs, a row or a
 * weight file that conflicts with the target or with another source, and a missing or corrupt
 * weight file.
 */
export function mergeDatabases(sources: string[], into: string, opts: MergeOptions = {}): MergeReport {
  if (sources.length === 0) throw new UserError('lth merge: give at least one database to merge (e.g. DIR/shards/*.db)');
  const intoFull = resolve(into);
  for (const s of sources) if (resolve(s) === intoFull) throw new UserError(`lth merge: ${s} is also the target (--into): merge into another file`);
  const f = opts.filter ?? {};
  const opened: Source[] = [];
  let target: MergeTarget | null = null;
  try {
    for (const s of sources) opened.push(new Source(s));
    // The target is created only once every check has passed: a refused merge leaves no file behind.
    target = existsSync(into) ? openTarget(into, opts.store) : null;
    const expOf = (db: Database.Database) =>
      (db.prepare('SELECT * FROM experiments ORDER BY name').all() as ExperimentRow[]).filter((e) => !f.experiment || f.experiment(e.name));
    const resultsOf = (db: Database.Database) =>
      (db.prepare('SELECT r.*, e.name AS experiment FROM results r JOIN experiments e ON e.id = r.experiment_id ORDER BY r.id').all() as ResultRow[]).filter(
        (r) => (!f.experiment || f.experiment(r.experiment)) && (!f.result || f.result(r)),
      );
    const artifactsOf = (db: Database.Database) =>
      (
        db
          .prepare('SELECT e.name AS experiment, a.key, a.file, a.sha256 FROM artifacts a JOIN experiments e ON e.id = a.experiment_id ORDER BY a.key')
          .all() as {
          experiment: string;
          key: string;
          file: string;
          sha256: string;
        }[]
      ).filter((a) => (!f.experiment || f.experiment(a.experiment)) && (!f.artifact || f.artifact(a.experiment, a.key)));
    const lookups = (db: Database.Database) => ({
      result: db.prepare(
        'SELECT r.*, e.name AS experiment FROM results r JOIN experiments e ON e.id = r.experiment_id WHERE e.name=? AND r.strategy=? AND r.branch=? AND r.replicate=? AND r.trial=? AND r.level=?',
      ),
      artifact: db.prepare('SELECT a.sha256 FROM artifacts a JOIN experiments e ON e.id = a.experiment_id WHERE e.name = ? AND a.key = ?'),
      experiment: db.prepare('SELECT * FROM experiments WHERE name = ?'),
    });
    const none = { get: () => undefined };
    let q = target ? lookups(target.db) : { result: none, artifact: none, experiment: none };
    const targetResult = { get: (...a: unknown[]) => q.result.get(...a) };
    const targetArtifact = { get: (...a: unknown[]) => q.artifact.get(...a) };
    const targetExperiment = { get: (...a: unknown[]) => q.experiment.get(...a) };

    // 1. Check everything first: nothing is written when any source conflicts.
    const specs = new Map<string, { hash: string; where: string }>();
    const rows = new Map<string, { row: ResultRow; db: Database.Database; where: string }>();
    const files = new Map<string, { sha: string; where: string }>();
    const versions = new Map<string, Set<string>>();
    for (const src of opened) {
      for (const e of expOf(src.db)) {
        const known =
          specs.get(e.name) ??
          (() => {
            const te = targetExperiment.get(e.name) as ExperimentRow | undefined;
            return te ? { hash: te.spec_hash, where: into } : undefined;
          })();
        if (known && known.hash !== e.spec_hash)
          throw new UserError(
            `lth merge: experiment "${e.name}" has a different spec in ${src.path} (hash ${e.spec_hash.slice(0, 12)}) than in ${known.where} (hash ${known.hash.slice(0, 12)}): these are different experiments; merge them into separate databases`,
          );
        specs.set(e.name, known ?? { hash: e.spec_hash, where: src.path });
        const v = versions.get(e.name) ?? new Set<string>();
        const te = targetExperiment.get(e.name) as ExperimentRow | undefined;
        if (te) v.add(te.code_version);
        v.add(e.code_version);
        versions.set(e.name, v);
      }
      for (const r of resultsOf(src.db)) {
        const k = rowKey(r);
        const seen = rows.get(k);
        const other =
          seen ??
          (() => {
            const tr = targetResult.get(r.experiment, r.strategy, r.branch, r.replicate, r.trial, r.level) as ResultRow | undefined;
            return tr ? { row: tr, db: target!.db, where: into } : undefined;
          })();
        if (other) {
          const d = difference(src.db, r, other.db, other.row);
          if (d)
            throw new UserError(
              `lth merge: conflicting results for ${describeRow(r)} in ${src.path} and ${other.where} (${d}): nothing was merged; keep one of the two (merge them into separate databases)`,
            );
        }
        if (!seen) rows.set(k, { row: r, db: src.db, where: src.path });
      }
      for (const a of artifactsOf(src.db)) {
        const k = JSON.stringify([a.experiment, a.key]);
        const other =
          files.get(k) ??
          (() => {
            const ta = targetArtifact.get(a.experiment, a.key) as { sha256: string } | undefined;
            return ta ? { sha: ta.sha256, where: into } : undefined;
          })();
        if (other && other.sha !== a.sha256)
          throw new UserError(
            `lth merge: weight file "${a.key}" of experiment "${a.experiment}" differs between ${src.path} and ${other.where} (sha256 ${a.sha256.slice(0, 12)} vs ${other.sha.slice(0, 12)}): nothing was merged`,
          );
        files.set(k, other ?? { sha: a.sha256, where: src.path });
        verifiedBytes(src, a.file, a.sha256, a.experiment, a.key);
      }
    }

    // 2. One transaction per source; its weight files are verified and in place before it commits.
    if (!target) {
      target = openTarget(into, opts.store);
      q = lookups(target.db);
    }
    const t = target;
    const report: MergeReport = { into, sources: [], versionMismatches: [] };
    const insExp = t.db.prepare('INSERT INTO experiments(name, spec_hash, spec_json, code_version, created_at) VALUES (?, ?, ?, ?, ?)');
    const updExp = t.db.prepare('UPDATE experiments SET spec_json = ?, code_version = ?, created_at = ? WHERE id = ?');
    const insChain = t.db.prepare('INSERT OR IGNORE INTO chains(experiment_id, strategy, trial, seed) VALUES (?, ?, ?, ?)');
    const updTiming = t.db.prepare('UPDATE results SET wall_seconds = ?, created_at = ? WHERE id = ?');
    const insArt = t.db.prepare('INSERT OR IGNORE INTO artifacts(experiment_id, key, file, sha256) VALUES (?, ?, ?, ?)');
    const resultCols = (t.db.prepare('PRAGMA table_info(results)').all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'id');
    const insResult = t.db.prepare(`INSERT INTO results(${resultCols.join(', ')}) VALUES (${resultCols.map(() => '?').join(', ')})`);
    for (const src of opened) {
      const rep: SourceReport = { path: src.path, added: 0, duplicates: 0, files: 0 };
      const arts = artifactsOf(src.db);
      for (const a of arts) {
        const buf = verifiedBytes(src, a.file, a.sha256, a.experiment, a.key);
        const dest = join(t.weightsDir, a.file);
        const same = resolve(dest) === resolve(join(src.weightsDir, a.file));
        if (!same && !(existsSync(dest) && sha256(readFileSync(dest)) === a.sha256)) writeAtomic(dest, buf);
        rep.files++;
      }
      // Every table hanging off a result row (layer_sparsity, curve_points, compute, unit_counts,
      // activation_sparsity, mask_updates, mask_distances, …), copied whole with result_id remapped.
      const children = childTables(src.db)
        .filter((c) => childTables(t.db).some((d) => d.table === c.table))
        .map((c) => ({
          read: src.db.prepare(`SELECT ${c.columns.join(', ')} FROM ${c.table} WHERE result_id = ?`),
          write: t.db.prepare(`INSERT INTO ${c.table}(result_id, ${c.columns.join(', ')}) VALUES (?, ${c.columns.map(() => '?').join(', ')})`),
          columns: c.columns,
        }));
      t.db
        .transaction(() => {
          const ids = new Map<string, number>();
          for (const e of expOf(src.db)) {
            const te = targetExperiment.get(e.name) as ExperimentRow | undefined;
            if (!te) ids.set(e.name, Number(insExp.run(e.name, e.spec_hash, e.spec_json, e.code_version, e.created_at).lastInsertRowid));
            else {
              ids.set(e.name, te.id);
              if (e.created_at < te.created_at || (e.created_at === te.created_at && e.code_version < te.code_version))
                updExp.run(e.spec_json, e.code_version, e.created_at, te.id);
            }
            const chains = src.db.prepare('SELECT strategy, trial, seed FROM chains WHERE experiment_id = ?').all(e.id) as {
              strategy: string;
              trial: number;
              seed: number;
            }[];
            for (const c of chains) insChain.run(ids.get(e.name)!, c.strategy, c.trial, c.seed);
          }
          for (const r of resultsOf(src.db)) {
            const existing = targetResult.get(r.experiment, r.strategy, r.branch, r.replicate, r.trial, r.level) as ResultRow | undefined;
            if (existing) {
              rep.duplicates++;
              if (earlier(r, existing)) updTiming.run(r.wall_seconds, r.created_at, existing.id);
              continue;
            }
            const values = resultCols.map((c) => (c === 'experiment_id' ? ids.get(r.experiment)! : r[c]));
            const id = Number(insResult.run(...(values as never[])).lastInsertRowid);
            for (const c of children)
              for (const row of c.read.all(r.id) as Record<string, unknown>[]) c.write.run(id, ...(c.columns.map((k) => row[k]) as never[]));
            rep.added++;
          }
          for (const a of arts) insArt.run(ids.get(a.experiment)!, a.key, a.file, a.sha256);
        })
        .immediate();
      report.sources.push(rep);
    }
    for (const [experiment, v] of versions) if (v.size > 1) report.versionMismatches.push({ experiment, versions: [...v].sort() });
    return report;
  } finally {
    for (const s of opened) s.close();
    target?.close();
  }
}

/** The merge's target: a connection of its own, inside storage (Store keeps its connection private). */
interface MergeTarget {
  readonly db: Database.Database;
  readonly weightsDir: string;
  close(): void;
}

/** Creates or migrates the target through Store (schema, weights folder), then opens it for the merge. */
function openTarget(into: string, opts?: StoreOptions): MergeTarget {
  const store = new Store(into, opts);
  const weightsDir = store.weightsDir;
  store.close();
  const db = new Database(into);
  db.pragma('busy_timeout = 30000');
  db.pragma('foreign_keys = ON');
  return { db, weightsDir, close: () => db.close() };
}
