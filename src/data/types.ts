/** One split of a data set, already normalized. Images are flattened row-major (NHWC for colour). */
export interface Split {
  /** n × prod(inputShape) values */
  readonly x: Float32Array;
  /** n class labels in [0, numClasses) */
  readonly y: Uint8Array;
  readonly n: number;
}

export interface Dataset {
  readonly name: string;
  /** per-example shape: [28, 28, 1] for MNIST-shaped, [32, 32, 3] for CIFAR-shaped, [features] for flat synthetic data; x holds it flattened row-major */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly train: Split;
  /** held out of the training set for early stopping */
  readonly val: Split;
  readonly test: Split;
  /** where the files were read from, for the record */
  readonly source: string;
}

export interface DataOptions {
  /** a folder holding the data set's files as distributed (checked before the cache) */
  dataDir?: string;
  /** where downloads are cached (default ~/.cache/lth or $LTH_CACHE) */
  cacheDir?: string;
  /** base URLs to try instead of the public mirrors (tests point this at a local server) */
  mirrors?: string[];
  /** never touch the network; fail with the list of missing files instead */
  offline?: boolean;
  /** progress messages (downloads) */
  log?: (msg: string) => void;
  /** replace entries of the file table (names, checksums, mirrors, system folders); tests use their own fixtures */
  files?: Partial<FileTable>;
  /** abort a download that receives nothing for this long (default 60 s) */
  idleTimeoutMs?: number;
  /** read and write the prepared-data cache in <cache>/prepared (data/cache.ts; default true) */
  preparedCache?: boolean;
}

/** Size and digests of a byte string; any field may be unknown. */
export interface Checksum {
  readonly size?: number;
  readonly md5?: string;
  readonly sha256?: string;
}

/** One file of a data set, as distributed by its publisher. */
export interface DataFile extends Checksum {
  /** name as distributed (and in the cache), e.g. 'train-images-idx3-ubyte.gz' */
  readonly name: string;
  /** digests of the gunzipped content, so that a recompressed or already gunzipped copy verifies too */
  readonly raw?: Checksum;
  /** for an archive: the member files we read, which may also be found extracted in `folder` */
  readonly members?: Readonly<Record<string, Checksum>>;
  /** name of the folder the archive extracts to, e.g. 'cifar-10-batches-bin' */
  readonly folder?: string;
}

export interface DataSource {
  readonly files: readonly DataFile[];
  /** base URLs (ending in '/') tried in order */
  readonly mirrors: readonly string[];
  /** folders installed by the system (Debian packages), checked after --data-dir */
  readonly systemDirs: readonly string[];
  /** sub-folders of --data-dir checked before the folder itself, e.g. 'MNIST/raw' as torchvision lays it out */
  readonly subdirs: readonly string[];
  /** how to get the files from the system, for the error message */
  readonly installHint?: string;
}

export type { FileDataset } from './registry.js';
import type { FileDataset } from './registry.js';
export type FileTable = Record<FileDataset, DataSource>;
