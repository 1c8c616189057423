/**
 * Test databases built from the storage schema and raw INSERTs, the way `lth run` would
 * leave them: level 0 stored once with strategy '', chains with seeds, branch rows with
 * replicates, curve points for every result.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, before } from 'node:test';
import { SCHEMA_SQL, SCHEMA_VERSION } from '../../src/storage/schema.js';
import { makeRng } from '../../src/util/rng.js';

/** % remaining of LeNet-300-100 after k rounds (hidden 20%, output 10%), as in Frankle & Carbin. */
export function lenetPercent(k: number): number {
  return ((265200 * 0.8 ** k + 1000 * 0.9 ** k) / 266200) * 100;
}

export interface Values {
  esAcc: number | null;
  esIter: number | null;
  finalAcc: number | null;
}

export interface ExperimentFixture {
  name: string;
  strategies: string[];
  trials: number;
  levels: number;
  /** branches: hang off `strategy` at every level ≥ 1, with `replicates` rows per trial */
  branches?: { strategy: string; branch: string; replicates: number }[];
  /** seed of the chain (strategy, trial) (default 1000 + 7t); strategy is '' for the dense level 0 */
  seed?: (trial: number, strategy: string) => number;
  /** the measured values; strategy is '' at level 0 */
  values: (strategy: string, branch: string, trial: number, level: number, replicate: number, seed: number) => Values;
  iterations?: number;
  evalEvery?: number;
}

export function tempDir(prefix = 'lth-report-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function createDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA_SQL);
  // what makes it lth's (storage refuses to write into another program's SQLite file)
  db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  return db;
}

export function insertExperiment(db: Database.Database, f: ExperimentFixture): void {
  const iterations = f.iterations ?? 5000;
  const evalEvery = f.evalEvery ?? 500;
  const seed = f.seed ?? ((t: number) => 1000 + 7 * t);
  const now = '2026-01-01T00:00:00Z';
  const tx = db.transaction(() => {
    const { lastInsertRowid: eid } = db
      .prepare('INSERT INTO experiments (name, spec_hash, spec_json, code_version, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(f.name, `hash-${f.name}-0123456789abcdef`, JSON.stringify({ name: f.name, strategies: f.strategies, trials: f.trials }), 'test', now);
    const chain = db.prepare('INSERT INTO chains (experiment_id, strategy, trial, seed) VALUES (?, ?, ?, ?)');
    for (const s of f.strategies) for (let t = 0; t < f.trials; t++) chain.run(eid, s, t, seed(t, s));
    const result = db.prepare(
      `INSERT INTO results (experiment_id, strategy, branch, replicate, trial, level, percent_remaining,
         early_stop_iteration, early_stop_val_loss, early_stop_val_accuracy, early_stop_test_accuracy,
         final_test_accuracy, iterations, wall_seconds, backend, mask_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const point = db.prepare(
      'INSERT INTO curve_points (result_id, iteration, train_loss, val_loss, val_accuracy, test_loss, test_accuracy) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const add = (strategy: string, branch: string, replicate: number, trial: number, level: number) => {
      const v = f.values(strategy, branch, trial, level, replicate, seed(trial, strategy));
      const { lastInsertRowid: rid } = result.run(
        eid,
        strategy,
        branch,
        replicate,
        trial,
        level,
        lenetPercent(level),
        v.esIter,
        v.esAcc === null ? null : 0.1 + (1 - v.esAcc),
        v.esAcc,
        v.esAcc,
        v.finalAcc,
        iterations,
        1.5,
        'cpu',
        `mask-${level}`,
        now,
      );
      for (let it = 0; it <= iterations; it += evalEvery) {
        const top = v.finalAcc ?? 0.9;
        const acc = 0.1 + (top - 0.1) * (1 - Math.exp(-it / (iterations / 6)));
        point.run(rid, it, 1 - acc, 1.05 - acc, acc, 1.05 - acc, acc);
      }
    };
    for (let t = 0; t < f.trials; t++) {
      add('', '', 0, t, 0);
      for (const s of f.strategies) for (let l = 1; l <= f.levels; l++) add(s, '', 0, t, l);
      for (const b of f.branches ?? []) for (let l = 1; l <= f.levels; l++) for (let r = 0; r < b.replicates; r++) add(b.strategy, b.branch, r, t, l);
    }
  });
  tx();
}

/** A LeNet-like experiment: rewind holds up, random-reinit and fine-tune degrade, seeded noise. */
export function lenetFixture(name = 'lenet-mnist', levels = 18, trials = 3): ExperimentFixture {
  return {
    name,
    strategies: ['rewind', 'random-reinit', 'fine-tune'],
    trials,
    levels,
    branches: [{ strategy: 'rewind', branch: 'random-mask', replicates: 2 }],
    values(strategy, branch, trial, level, replicate) {
      const rng = makeRng('fixture', name, strategy, branch, trial, level, replicate);
      const drop = strategy === 'rewind' && !branch ? (level < 12 ? -0.0005 * level : 0.002 * (level - 12)) : strategy === '' ? 0 : 0.0015 * level;
      const esAcc = Math.min(0.999, 0.98 - drop + 0.002 * rng.normal());
      const esIter = Math.round((3000 - (strategy === 'rewind' ? 80 : -60) * level + 300 * rng.normal()) / 100) * 100;
      const finalAcc = Math.min(0.999, esAcc - 0.001 + 0.001 * rng.normal());
      return { esAcc, esIter, finalAcc };
    },
  };
}

export function buildLenetDb(file: string): void {
  const db = createDb(file);
  insertExperiment(db, lenetFixture());
  insertExperiment(db, { ...lenetFixture('small', 3, 2) });
  db.close();
}

/** Registers before/after hooks that build the LeNet fixture database in a temp folder for one suite. */
export function lenetDbSuite(): { readonly dir: string; readonly db: string } {
  const state = { dir: '', db: '' };
  before(() => {
    state.dir = tempDir();
    state.db = path.join(state.dir, 'lth.db');
    buildLenetDb(state.db);
  });
  after(() => fs.rmSync(state.dir, { recursive: true, force: true }));
  return state;
}
