import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChildProcess, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createInterface } from 'node:readline';
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

const lthEnv = () => ({ ...process.env, LTH_CACHE: join(tmpdir(), 'lth-test-cache') });

export function lth(args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', env: lthEnv() });
}

export interface LthResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * lth() without blocking: independent commands of one test run side by side (Promise.all), and
 * `onLine` sees each stderr line with the child, to signal it at a chosen point.
 */
export function lthAsync(
  args: string[],
  opts: { cwd?: string; detached?: boolean; onLine?: (line: string, child: ChildProcess) => void } = {},
): Promise<LthResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: lthEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  createInterface({ input: child.stderr }).on('line', (l) => {
    stderr += l + '\n';
    opts.onLine?.(l, child);
  });
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
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
