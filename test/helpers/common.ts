import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import Database from 'better-sqlite3';
import type { SpecInput } from '../../src/spec/index.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const tmp = (prefix = 'lth-test-'): string => mkdtempSync(join(tmpdir(), prefix));

/** A spec small enough to run a whole experiment in a second or two. */
export function tinySpec(over: Partial<SpecInput> = {}): SpecInput {
  return {
    name: 'tiny',
    trials: 1,
    seed: 7,
    data: { dataset: 'synthetic', validation: 200, synthetic: { train: 600, test: 200, features: 16, classes: 3 } },
    model: { name: 'mlp-small' },
    training: { iterations: '60it', evalEvery: '20it', batchSize: 30 },
    pruning: { levels: 2 },
    strategies: ['rewind', 'fine-tune'],
    ...over,
  };
}

export function lth(args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, LTH_CACHE: join(tmpdir(), 'lth-test-cache') },
  });
}

/** The `levels` view without the columns that legitimately differ between runs. */
export function levelRows(dbPath: string): Record<string, unknown>[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT * FROM levels ORDER BY strategy, trial, level, branch, replicate').all() as Record<string, unknown>[]).map((r) => {
      const { wall_seconds, result_id, ...rest } = r;
      void wall_seconds;
      void result_id;
      return rest;
    });
  } finally {
    db.close();
  }
}

/** Every file under a folder, relative to it. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => out.push(relative(dir, p)))(join(d, e.name));
  };
  walk(dir);
  return out.sort();
}

/** The error contract: exit 2, one line "lth: error: …", no stack trace. */
export function assertOneLineError(r: { status: number | null; stderr: string }, msg: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^lth: error: /);
  assert.match(lines[0], msg);
}
