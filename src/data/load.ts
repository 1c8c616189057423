import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DataSpec } from '../spec/index.js';
import { UserError } from '../util/index.js';
import { cifarDataset, extractMembers } from './cifar.js';
import { download, type Attempt } from './download.js';
import { cacheDirFor, hasDigest, locate, mismatch, readFolderMembers, readVerified, searchDirs, type Found } from './files.js';
import { IDX_ROLES, idxDataset, type IdxInput, type IdxRole } from './idx.js';
import { prepareSplits, type RawDataset } from './splits.js';
import { NORMALIZATION, sourceFor } from './registry.js';
import { syntheticDataset } from './synthetic.js';
import type { DataFile, DataOptions, DataSource, Dataset, FileDataset } from './types.js';
import { preparedKey, readPrepared, writePrepared } from './cache.js';
import { cacheRoot } from './files.js';

const ORIGIN_LABEL: Record<Found['origin'], string> = { 'data-dir': '--data-dir', system: 'system folder', cache: 'cache' };

/** Finds every file of the data set locally, downloading the missing ones into the cache unless offline. */
async function obtain(name: FileDataset, src: DataSource, opts: DataOptions): Promise<Map<DataFile, Found>> {
  // a mistyped --data-dir would otherwise silently fall through to the cache or a download
  if (opts.dataDir && !existsSync(opts.dataDir)) throw new UserError(`--data-dir ${opts.dataDir} does not exist; give the folder that holds the ${name} files`);
  const dirs = searchDirs(name, src, opts);
  const found = new Map<DataFile, Found>();
  const missing: DataFile[] = [];
  for (const f of src.files) {
    const hit = locate(f, dirs);
    if (hit) found.set(f, hit);
    else missing.push(f);
  }
  if (missing.length === 0) return found;
  const cache = cacheDirFor(name, opts);
  if (opts.offline) throw missingError(name, src, missing, opts, 'offline');
  const mirrors = opts.mirrors ?? src.mirrors;
  for (let i = 0; i < missing.length; i++) {
    const f = missing[i];
    const dest = join(cache, f.name);
    const failed = await download(f, mirrors, dest, { log: opts.log, idleTimeoutMs: opts.idleTimeoutMs });
    // stop at the first file no mirror could serve: the rest would most likely fail the same way
    if (failed) throw missingError(name, src, missing.slice(i), opts, describeAttempts(failed));
    found.set(f, { origin: 'cache', path: dest, kind: 'file' });
  }
  return found;
}

function describeAttempts(attempts: Attempt[]): string {
  return `download failed: ${attempts.map((a) => `${a.url}: ${a.error}`).join('; ') || 'no mirrors'}`;
}

/** ONE line: what is missing, why, and every place the user can put it. */
function missingError(name: FileDataset, src: DataSource, missing: DataFile[], opts: DataOptions, why: string): UserError {
  const where = [`a folder given with --data-dir`, cacheDirFor(name, opts)];
  const extracted = missing.find((f) => f.folder);
  const what = missing.map((f) => f.name).join(', ') + (extracted ? ` (or its extracted folder ${extracted.folder}/)` : '');
  const install = src.installHint ? `, or run: ${src.installHint}` : '';
  return new UserError(`${name}: missing ${what} (${why}); put the file${missing.length > 1 ? 's' : ''} in ${where.join(' or in ')}${install}`);
}

/**
 * Where each of the data set's files is on this machine (path, bytes, modification time), or
 * null when one is missing (it would be downloaded): what the prepared-data cache key
 * (data/cache.ts) records about the source, so replacing a file invalidates the cache.
 */
export function localFiles(name: FileDataset, opts: DataOptions): { path: string; size: number; mtimeMs: number }[] | null {
  if (opts.dataDir && !existsSync(opts.dataDir)) return null;
  const src = sourceFor(name, opts.files);
  const dirs = searchDirs(name, src, opts);
  const out: { path: string; size: number; mtimeMs: number }[] = [];
  for (const f of src.files) {
    const hit = locate(f, dirs);
    if (!hit) return null;
    const st = statSync(hit.path);
    out.push({ path: hit.path, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out;
}

/** Loads a file-backed data set: locate or download, verify, parse. */
export async function loadFileDataset(name: FileDataset, opts: DataOptions): Promise<RawDataset> {
  const src = sourceFor(name, opts.files);
  const found = await obtain(name, src, opts);
  // the folders the files came from, for the record (usually one)
  const single = found.size === 1;
  const places = new Set([...found.values()].map((f) => `${single || f.kind === 'folder' ? f.path : dirname(f.path)} (${ORIGIN_LABEL[f.origin]})`));
  const source = [...places].join(', ');
  if (name === 'cifar10') {
    const [file] = src.files;
    const at = found.get(file)!;
    if (at.kind === 'folder') return cifarDataset(await readFolderMembers(name, file, at), at.path, source);
    const archive = await readVerified(name, file, at);
    const members = await extractMembers(archive, Object.keys(file.members ?? {}), at.path);
    if (!hasDigest(file)) {
      // nothing vouched for the archive: check what we took out of it instead
      for (const [m, bytes] of members) {
        const problem = mismatch(bytes, file.members![m]);
        if (problem) throw new UserError(`corrupt archive ${at.path}: ${m} is not the published one (${problem}); delete or replace it`);
      }
    }
    return cifarDataset(members, at.path, source);
  }
  const inputs = {} as Record<IdxRole, IdxInput>;
  // in parallel: gunzip runs on libuv's thread pool
  await Promise.all(
    [...found].map(async ([file, at]) => {
      const role = IDX_ROLES.find((r) => file.name.startsWith(r));
      if (role) inputs[role] = { bytes: await readVerified(name, file, at), what: at.path };
    }),
  );
  const absent = IDX_ROLES.filter((r) => !inputs[r]);
  if (absent.length) throw new Error(`file table for ${name} lacks ${absent.join(', ')}`);
  return idxDataset(name, inputs, source);
}

/**
 * Loads the data set a spec names, split and normalized (see splits.ts for the split rule).
 * `seed` matters only for synthetic data; the real data sets' splits are fixed.
 * Files: --data-dir, then system folders (Debian), then the cache, then the mirrors (unless offline).
 */
export async function loadDataset(spec: DataSpec, seed: number, opts: DataOptions = {}): Promise<Dataset> {
  if (spec.dataset === 'synthetic') return prepareSplits(syntheticDataset(spec, seed), spec, null);
  // The prepared arrays are cached (data/cache.ts), keyed by everything they depend on: the
  // first process of a run prepares and writes them, --workers processes read them.
  const name: FileDataset = spec.dataset;
  const cache = opts.preparedCache === false ? null : join(cacheRoot(opts), 'prepared');
  const key = () => {
    const files = localFiles(name, opts);
    if (!files) return null;
    const { dataset, validation, trainSubset, testSubset, normalize } = spec;
    return preparedKey({ format: 1, dataset, validation, trainSubset, testSubset, normalize, stats: NORMALIZATION[name], files });
  };
  const before = cache ? key() : null;
  if (cache && before) {
    const hit = readPrepared(cache, spec.dataset, before);
    if (hit) return hit;
  }
  const raw = await loadFileDataset(spec.dataset, opts);
  const d = prepareSplits(raw, spec, NORMALIZATION[spec.dataset]);
  // after a download the files exist and the key can be computed now
  const after = cache ? (before ?? key()) : null;
  if (cache && after) writePrepared(cache, d, after);
  return d;
}
