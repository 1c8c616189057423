import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { UserError } from '../util/index.js';
import type { Checksum, DataFile, DataOptions, DataSource } from './types.js';

/** Where a copy of a file was found, in the order they are searched. */
export type Origin = 'data-dir' | 'system' | 'cache';

export interface SearchDir {
  readonly origin: Origin;
  readonly dir: string;
}

/** A copy of a DataFile: the file itself (gzipped or not), or for an archive its extracted folder. */
export interface Found {
  readonly origin: Origin;
  readonly path: string;
  readonly kind: 'file' | 'folder';
}

export function cacheRoot(opts: DataOptions): string {
  return opts.cacheDir ?? process.env.LTH_CACHE ?? join(homedir(), '.cache', 'lth');
}

export function cacheDirFor(name: string, opts: DataOptions): string {
  return join(cacheRoot(opts), name);
}

/** --data-dir (its per-data-set sub-folders first, since MNIST and Fashion-MNIST share file names), system folders, cache. */
export function searchDirs(name: string, src: DataSource, opts: DataOptions): SearchDir[] {
  const dirs: SearchDir[] = [];
  if (opts.dataDir) {
    for (const sub of src.subdirs) dirs.push({ origin: 'data-dir', dir: join(opts.dataDir, sub) });
    dirs.push({ origin: 'data-dir', dir: opts.dataDir });
  }
  for (const dir of src.systemDirs) dirs.push({ origin: 'system', dir });
  dirs.push({ origin: 'cache', dir: cacheDirFor(name, opts) });
  return dirs;
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

/** Names under which a file may sit in a folder: as distributed, or gunzipped. */
function localNames(file: DataFile): string[] {
  return file.name.endsWith('.gz') && !file.members ? [file.name, file.name.slice(0, -3)] : [file.name];
}

function findIn(file: DataFile, { origin, dir }: SearchDir): Found | null {
  if (file.members) {
    const names = Object.keys(file.members);
    for (const folder of [file.folder ? join(dir, file.folder) : null, dir]) {
      if (folder && names.every((m) => isFile(join(folder, m)))) return { origin, path: folder, kind: 'folder' };
    }
  }
  for (const n of localNames(file)) {
    const p = join(dir, n);
    if (isFile(p)) return { origin, path: p, kind: 'file' };
  }
  return null;
}

export function locate(file: DataFile, dirs: readonly SearchDir[]): Found | null {
  for (const d of dirs) {
    const f = findIn(file, d);
    if (f) return f;
  }
  return null;
}

export function locateAll(file: DataFile, dirs: readonly SearchDir[]): Found[] {
  const seen = new Set<string>();
  const out: Found[] = [];
  for (const d of dirs) {
    const f = findIn(file, d);
    if (f && !seen.has(f.path)) {
      seen.add(f.path);
      out.push(f);
    }
  }
  return out;
}

// ---- checksums ----

export const hasDigest = (c: Checksum | undefined): boolean => !!c && (c.size !== undefined || !!c.md5 || !!c.sha256);

const digest = (algo: 'md5' | 'sha256', bytes: Uint8Array) => createHash(algo).update(bytes).digest('hex');

/** Why `bytes` do not match `sum` (size first, it is free), or null when they do. */
export function mismatch(bytes: Uint8Array, sum: Checksum): string | null {
  if (sum.size !== undefined && bytes.length !== sum.size) return `${bytes.length} bytes, expected ${sum.size}`;
  if (sum.sha256 && digest('sha256', bytes) !== sum.sha256) return `sha256 differs from ${sum.sha256}`;
  if (!sum.sha256 && sum.md5 && digest('md5', bytes) !== sum.md5) return `md5 differs from ${sum.md5}`;
  return null;
}

export const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * Checks a local copy: it passes if the stored bytes match the distributed file, or its
 * (gunzipped) content matches the content digest. null = nothing known to check against.
 */
export function verifyCopy(file: DataFile, stored: Uint8Array, content: Uint8Array): { ok: boolean | null; problem?: string } {
  const checks: [Uint8Array, Checksum][] = [];
  if (hasDigest(file)) checks.push([stored, file]);
  if (file.raw && hasDigest(file.raw)) checks.push([content, file.raw]);
  if (checks.length === 0) return { ok: null };
  let problem = '';
  for (const [bytes, sum] of checks) {
    const m = mismatch(bytes, sum);
    if (m === null) return { ok: true };
    problem = m;
  }
  return { ok: false, problem };
}

const gunzipAsync = promisify(gunzip);

function fixFor(found: Found): string {
  return found.origin === 'cache' ? 'delete it and run again to download a fresh copy' : 'replace it with the file as published, or remove it';
}

/** Reads a found file, gunzips it when it is gzipped (by its magic, not its name), and verifies it. */
export async function readVerified(dataset: string, file: DataFile, found: Found): Promise<Uint8Array> {
  const stored = new Uint8Array(await readFile(found.path));
  let content = stored;
  if (isGzip(stored)) {
    try {
      content = new Uint8Array(await gunzipAsync(stored));
    } catch (e) {
      throw new UserError(`corrupt data file ${found.path} (${(e as Error).message}): ${fixFor(found)}`);
    }
  }
  const v = verifyCopy(file, stored, content);
  if (v.ok === false) {
    throw new UserError(`corrupt data file ${found.path}: not the published ${dataset} ${file.name} (${v.problem}); ${fixFor(found)}`);
  }
  return content;
}

/** Reads the members of an extracted archive folder, each checked against its published digest. */
export async function readFolderMembers(dataset: string, file: DataFile, found: Found): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [name, sum] of Object.entries(file.members ?? {})) {
    const p = join(found.path, name);
    const bytes = new Uint8Array(await readFile(p));
    const m = mismatch(bytes, sum);
    if (m !== null) throw new UserError(`corrupt data file ${p}: not the published ${dataset} ${name} (${m}); ${fixFor(found)}`);
    out.set(name, bytes);
  }
  return out;
}
