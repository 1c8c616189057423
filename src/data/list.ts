import { UserError } from '../util/index.js';
import { cacheDirFor, hasDigest, locateAll, readFolderMembers, readVerified, searchDirs, type Origin } from './files.js';
import { FILE_DATASETS, sourceFor, type FileDataset } from './registry.js';
import type { DataOptions } from './types.js';

export interface FileCopy {
  readonly origin: Origin;
  readonly path: string;
  /** 'folder' = an archive's extracted folder */
  readonly kind: 'file' | 'folder';
  /** true: matches the published checksum; false: does not (see problem); null: not checked / nothing to check against */
  readonly verified: boolean | null;
  readonly problem?: string;
}

export interface FileStatus {
  /** name as distributed */
  readonly name: string;
  /** every copy found, in search order (the first is the one loadDataset uses) */
  readonly copies: readonly FileCopy[];
}

export interface DatasetStatus {
  readonly name: FileDataset;
  readonly files: readonly FileStatus[];
  /** every file has a copy that loadDataset would accept without downloading */
  readonly ready: boolean;
  /** where downloads of this data set go */
  readonly cacheDir: string;
}

/**
 * For `lth datasets`: which files of each data set are present where (--data-dir, system folders,
 * cache) and whether they verify. verify: false skips reading the files (fast, verified = null).
 */
export async function listDatasets(opts: DataOptions & { verify?: boolean } = {}): Promise<DatasetStatus[]> {
  const out: DatasetStatus[] = [];
  for (const name of FILE_DATASETS) {
    const src = sourceFor(name, opts.files);
    const dirs = searchDirs(name, src, opts);
    const files: FileStatus[] = [];
    for (const file of src.files) {
      const copies: FileCopy[] = [];
      for (const at of locateAll(file, dirs)) {
        let verified: boolean | null = null;
        let problem: string | undefined;
        if (opts.verify !== false) {
          try {
            if (at.kind === 'folder') await readFolderMembers(name, file, at);
            else await readVerified(name, file, at);
            verified = at.kind === 'folder' || hasDigest(file) || hasDigest(file.raw) ? true : null;
          } catch (e) {
            if (!(e instanceof UserError)) throw e;
            verified = false;
            problem = e.message;
          }
        }
        copies.push({ ...at, verified, ...(problem ? { problem } : {}) });
      }
      files.push({ name: file.name, copies });
    }
    // loadDataset uses the first copy, so a bad first copy blocks it even if a later one is good
    const ready = files.every((f) => f.copies.length > 0 && f.copies[0].verified !== false);
    out.push({ name, files, ready, cacheDir: cacheDirFor(name, opts) });
  }
  return out;
}
