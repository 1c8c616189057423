/**
 * A finished `lth run` of tinySpec() on wasm (1 trial, 2 chains, 2 levels: 5 stored levels),
 * trained once per test process and copied for each test that starts from one: a copy is the
 * database and its weights folder under a new name (weight files are stored relative to it).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lth, tinySpec, tmp } from './common.js';

let template: string | undefined;

function trained(): string {
  if (template) return template;
  const dir = tmp('lth-tiny-run-');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(tinySpec()));
  const r = lth(['run', spec, '--db', join(dir, 't.db'), '--backend', 'wasm', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  return (template = dir);
}

/** Copies the finished run into `dir` as `name` (and its .weights folder); `spec` is tinySpec() written to dir/spec.json. */
export function finishedTinyRun(dir: string, name = 'r.db'): { db: string; spec: string } {
  const from = trained();
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(tinySpec()));
  const db = join(dir, name);
  for (const suffix of ['', '-wal']) if (existsSync(join(from, `t.db${suffix}`))) cpSync(join(from, `t.db${suffix}`), db + suffix);
  cpSync(join(from, 't.weights'), db.replace(/\.db$/, '.weights'), { recursive: true });
  return { db, spec };
}
