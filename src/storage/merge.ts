import type Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { canonicalJson, sha256 } from '../util/hash.js';
import { insertArtifacts, insertChains, insertExperiment, insertResult, keepEarlierRegistration, keepEarlierTiming, readResult, writing } from './commits.js';
import { closeDatabase, openDatabase, schemaVersion, type LthDatabase, type StoreOptions } from './open.js';
import { SCHEMA_VERSION } from './schema.js';
import { removeStaleTemps, writeBytes } from './weights.js';

/**
 * `lth merge`: several lth databases into one — the shards of a cluster plan (docs/CLUSTER.md),
 * or two people's runs of the same experiment.
 *
 * - Rows are matched by their natural key (experiment name; chain, branch, replicate, trial,
 *   level), never by surrogate id: ids are assigned afresh in the target.
 * - A row already there with the same numbers is taken once; with other numbers, the merge is
 *   refused before anything is written, naming the experiment, chain, trial and level.
 *   "The same numbers" is every column but the ids and the timing (wall_seconds, created_at),
 *   plus the row's layer sparsity and learning curve. Of two identical rows the earlier
 *   (created_at, then wall_seconds) keeps its timing, and of two registrations of one
 *   experiment the earlier keeps its code_version, so the result does not depend on the order
 *   in which sources are merged, and merging again changes nothing.
 * - Every weight file is read and its sha256 checked against its row before that source's rows
 *   are committed; files are copied atomically into the target's weights folder.
 * - One transaction per source: a source is merged whole or not at all. Rows are inserted by
 *   the same code as a run's levels (commits.ts).
 * - Temporary weight files of a merge (or run) killed mid-write are removed first; a full disk
 *   is one UserError line, with no temporary file left and nothing of that source committed.
 */

export interface MergeFilter {
  experiment?: (name: string) => boolean;
  result?: (r: { experiment: string; strategy: string; branch: string; replicate: number; trial: number; level: number }) => boolean;
  artifact?: (experiment: string, key: string) => boolean;
}

export interface MergeOptions {
  /** the target's Store options (its weights folder, journal mode) */
  store?: StoreOptions;
  /** a subset of the sources' rows (a chain task importing its trial's level 0) */
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

/** "experiment "x", chain "rewind", trial 1, level 3 (branch random-mask#0)"; the db column `strategy` holds the chain's name (docs/DESIGN.md#glossary) */
export function describeRow(r: { experiment: string; strategy: string; branch: string; replicate: number; trial: number; level: number }): string {
  const chain = r.strategy === '' ? 'level 0 (shared by the chains, strategy "")' : `chain "${r.strategy}"`;
  const branch = r.branch ? ` (branch ${r.branch}#${r.replicate})` : '';
  return `experiment "${r.experiment}", ${chain}, trial ${r.trial}, level ${r.level}${branch}`;
}

/** An lth database opened read-only, its schema version checked. */
function openSource(path: string): LthDatabase {
  if (!existsSync(path)) throw new UserError(`lth merge: ${path} does not exist: give existing lth databases (e.g. DIR/shards/*.db)`);
  const src = openDatabase(path, { readonly: true });
  const v = schemaVersion(src.db);
  if (v !== SCHEMA_VERSION) {
    closeDatabase(src);
    throw new UserError(
      v === 0
        ? `lth merge: ${path} is not an lth database (no meta table)`
        : `lth merge: ${path} has schema version ${v}, this lth has ${SCHEMA_VERSION}: merge with the lth version that wrote it`,
    );
  }
  return src;
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

/** Reads a source's weight file and checks it against the sha256 its row records. */
function verifiedBytes(src: LthDatabase, file: string, sha: string, experiment: string, key: string): Buffer {
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
  const opened: LthDatabase[] = [];
  let target: LthDatabase | null = null;
  try {
    for (const s of sources) opened.push(openSource(s));
    // The target is created only once every check has passed: a refused merge leaves no file behind.
    target = existsSync(into) ? openDatabase(into, opts.store) : null;
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
      target = openDatabase(into, opts.store);
      q = lookups(target.db);
    }
    const t = target;
    // A merge killed mid-write (SIGKILL) left `<file>.tmp-<pid>`; its process is gone now.
    removeStaleTemps(t.weightsDir);
    const report: MergeReport = { into, sources: [], versionMismatches: [] };
    for (const src of opened) {
      const rep: SourceReport = { path: src.path, added: 0, duplicates: 0, files: 0 };
      const arts = artifactsOf(src.db);
      for (const a of arts) {
        const buf = verifiedBytes(src, a.file, a.sha256, a.experiment, a.key);
        const dest = join(t.weightsDir, a.file);
        const same = resolve(dest) === resolve(join(src.weightsDir, a.file));
        if (!same && !(existsSync(dest) && sha256(readFileSync(dest)) === a.sha256)) writeBytes(dest, buf);
        rep.files++;
      }
      writing(into, `the rows of ${src.path}`, () =>
        t.db
          .transaction(() => {
            const ids = new Map<string, number>();
            for (const e of expOf(src.db)) {
              const te = targetExperiment.get(e.name) as ExperimentRow | undefined;
              const id = te ? te.id : insertExperiment(t.db, e);
              if (te) keepEarlierRegistration(t.db, id, e);
              ids.set(e.name, id);
              insertChains(t.db, id, src.db.prepare('SELECT strategy, trial, seed FROM chains WHERE experiment_id = ?').all(e.id) as never[]);
            }
            for (const r of resultsOf(src.db)) {
              const existing = targetResult.get(r.experiment, r.strategy, r.branch, r.replicate, r.trial, r.level) as ResultRow | undefined;
              if (existing) {
                rep.duplicates++;
                keepEarlierTiming(t.db, existing.id, r);
                continue;
              }
              // Every table hanging off the row (layer_sparsity, curve_points, compute, unit_counts, …), result_id remapped.
              const { row, children } = readResult(src.db, r.id);
              insertResult(t.db, { ...row, experiment_id: ids.get(r.experiment)! }, children);
              rep.added++;
            }
            for (const a of arts) insertArtifacts(t.db, ids.get(a.experiment)!, [a]);
          })
          .immediate(),
      );
      report.sources.push(rep);
    }
    for (const [experiment, v] of versions) if (v.size > 1) report.versionMismatches.push({ experiment, versions: [...v].sort() });
    return report;
  } finally {
    for (const s of opened) closeDatabase(s);
    if (target) closeDatabase(target);
  }
}
