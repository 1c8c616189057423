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
  /** per-example shape, e.g. [784] for MNIST-shaped, [32, 32, 3] for CIFAR-shaped */
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
}
