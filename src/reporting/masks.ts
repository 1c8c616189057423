/**
 * The one place reporting reads stored masks (adapter over storage's file format and the
 * orchestrator's artifact keys). It never opens the database for writing and never creates
 * files: Store's constructor migrates and sets pragmas, so it is not used here; only the key
 * layout, the unpacking and the checksummed reader are shared with `lth run`.
 */
import path from 'node:path';
import { keys, unpackLevel } from '../orchestration/levels.js';
import { defaultWeightsDir } from '../storage/index.js';
import { readArrays } from '../storage/weights.js';
import type { Db } from './db.js';

/** 1 = kept, 0 = pruned, per prunable tensor (stored layout, e.g. "fc1/kernel" as [in, out]). */
export type StoredMasks = Record<string, Uint8Array>;

/** Decoded files by checksum: a stored file never changes, so its sha256 names its content. */
const cache = new Map<string, StoredMasks>();
const CACHE_ENTRIES = 96;

/**
 * The mask of a chain level (level 0: the trial's shared dense level, all ones), or null when
 * that level has no stored file yet. Throws a UserError when the file is missing or corrupt.
 */
export function chainLevelMasks(db: Db, experiment: string, strategy: string, trial: number, level: number): StoredMasks | null {
  const key = keys.chainLevel(trial, strategy, level);
  const row = db
    .prepare('SELECT a.file, a.sha256 FROM artifacts a JOIN experiments e ON e.id = a.experiment_id WHERE e.name = ? AND a.key = ?')
    .get(experiment, key) as { file: string; sha256: string } | undefined;
  if (!row) return null;
  const hit = cache.get(row.sha256);
  if (hit) return hit;
  const masks = unpackLevel(readArrays(path.join(defaultWeightsDir(db.name), row.file), row.sha256)).masks;
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(row.sha256, masks);
  return masks;
}
