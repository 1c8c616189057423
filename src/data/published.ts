import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../util/index.js';
import type { DatasetDef, DatasetMeta } from './def.js';
import { download, type Attempt } from './download.js';
import { cacheDirFor, locate, searchDirs, type Found } from './files.js';
import { SYNTHETIC_FIELDS } from './sets/synthetic.js';
import type { RawDataset, Stats } from './splits.js';
import type { DataFile, DataOptions, DataSource } from './types.js';

const ORIGIN_LABEL: Record<Found['origin'], string> = { 'data-dir': '--data-dir', system: 'system folder', cache: 'cache' };

/** Finds every file of the data set locally, downloading the missing ones into the cache unless offline. */
async function obtain(name: string, src: DataSource, opts: DataOptions): Promise<Map<DataFile, Found>> {
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
function missingError(name: string, src: DataSource, missing: DataFile[], opts: DataOptions, why: string): UserError {
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
function localFiles(name: string, src: DataSource, opts: DataOptions): { path: string; size: number; mtimeMs: number }[] | null {
  if (opts.dataDir && !existsSync(opts.dataDir)) return null;
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

/** How a published data set turns its verified files into examples (idx.ts, cifar.ts). */
export type ParseFiles = (name: string, src: DataSource, found: ReadonlyMap<DataFile, Found>, source: string) => Promise<RawDataset>;

/**
 * What describes a published data set: its files with their checksums, its sizes and usual statistics.
 * Digests: `md5` of the distributed files are the published values (Zalando's README, the CIFAR
 * page, torchvision's resource lists); `sha256` as recorded by TensorFlow Datasets and others;
 * `raw` = digest of the gunzipped content (files.ts verifyCopy accepts either, because Debian's
 * dataset-fashion-mnist recompressed the .gz files and users may have gunzipped).
 */
export interface Published<N extends string> {
  readonly name: N;
  readonly help: string;
  /** per example, as lth hands it to models (images keep [h, w, c]; MLPs flatten it themselves) */
  readonly shape: readonly number[];
  /** the published sizes; the parsers check the files against them */
  readonly size: { readonly classes: number; readonly train: number; readonly test: number };
  readonly source: DataSource;
  /** the usual per-channel mean and std of the training images in [0, 1] (normalize "dataset") */
  readonly normalization: Stats;
  readonly parse: ParseFiles;
}

/**
 * Fields a published data set accepts besides the common ones: `synthetic`, ignored. Before data
 * sets were definitions every `data` section carried it (defaults filled in), and a stored
 * experiment's identity hashes it, so it stays in the resolved spec for these sets.
 */
const PUBLISHED_FIELDS = SYNTHETIC_FIELDS;

export type PublishedDef<N extends string> = DatasetDef<N, typeof PUBLISHED_FIELDS> & { readonly source: DataSource; readonly normalization: Stats };

/**
 * A data set published as files (MNIST, Fashion-MNIST, CIFAR-10): found in --data-dir, system
 * folders or the cache, else downloaded from its mirrors; every file is checked against its
 * published checksums, so the name pins the content and no digest enters the identity.
 * `opts.files[name]` replaces the file table (tests use their own fixtures).
 */
export function publishedDataset<N extends string>(p: Published<N>): PublishedDef<N> {
  const meta: DatasetMeta = {
    name: p.name,
    inputShape: p.shape,
    channels: p.shape[p.shape.length - 1],
    numClasses: p.size.classes,
    trainN: p.size.train,
    testN: p.size.test,
  };
  const sourceOf = (opts: DataOptions) => opts.files?.[p.name as keyof typeof opts.files] ?? p.source;
  return {
    name: p.name,
    help: p.help,
    fields: PUBLISHED_FIELDS,
    source: p.source,
    normalization: p.normalization,
    meta: () => meta,
    stats: () => p.normalization,
    cacheSource: (_spec, opts) => localFiles(p.name, sourceOf(opts), opts),
    async load(_spec, _seed, opts) {
      const src = sourceOf(opts);
      const found = await obtain(p.name, src, opts);
      // the folders the files came from, for the record (usually one)
      const single = found.size === 1;
      const places = new Set([...found.values()].map((f) => `${single || f.kind === 'folder' ? f.path : dirname(f.path)} (${ORIGIN_LABEL[f.origin]})`));
      return p.parse(p.name, src, found, [...places].join(', '));
    },
  };
}
