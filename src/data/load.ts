import { join } from 'node:path';
import type { DataSpec } from '../spec/index.js';
import { preparedKey, readPrepared, writePrepared } from './cache.js';
import { cacheRoot } from './files.js';
import { defOf } from './registry.js';
import { prepareSplits } from './splits.js';
import type { DataOptions, Dataset } from './types.js';

/**
 * Loads the data set a spec names (its definition in registry.ts), split and normalized (see
 * splits.ts for the split rule). `seed` matters only for generated data; the others' splits are
 * fixed. Published files: --data-dir, then system folders (Debian), then the cache, then the
 * mirrors (unless offline).
 *
 * The prepared arrays are cached (data/cache.ts), keyed by everything they depend on: the split
 * and normalization fields, and what the definition records about its source (published files:
 * path, size, modification time; user content: its digest). The first process of a run prepares
 * and writes them, --workers processes read them.
 */
export async function loadDataset(spec: DataSpec, seed: number, opts: DataOptions = {}): Promise<Dataset> {
  const def = defOf(spec);
  const cache = opts.preparedCache === false ? null : join(cacheRoot(opts), 'prepared');
  const key = () => {
    const source = def.cacheSource(spec, opts);
    if (source === null) return null;
    const { dataset, validation, trainSubset, testSubset, normalize } = spec;
    // published sets keep the key they had before data sets were definitions (format 1, their fixed stats)
    const stats = 'normalization' in def ? def.normalization : undefined;
    return preparedKey({ format: 1, dataset, validation, trainSubset, testSubset, normalize, stats, files: source });
  };
  const before = cache ? key() : null;
  if (cache && before) {
    const hit = readPrepared(cache, spec.dataset, before);
    if (hit) return hit;
  }
  const raw = await def.load(spec, seed, opts);
  const d = prepareSplits(raw, spec, def.stats(raw, spec));
  // after a download the files exist and the key can be computed now
  const after = cache ? (before ?? key()) : null;
  if (cache && after) writePrepared(cache, d, after);
  return d;
}
