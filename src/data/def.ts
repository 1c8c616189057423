import type { z } from 'zod';
import type { CommonDataSpec } from '../spec/schema.js';
import type { RawDataset, Stats } from './splits.js';
import type { DataOptions } from './types.js';

/** What a data set looks like, known without loading it: enough to check a spec before any work. */
export interface DatasetMeta {
  readonly name: string;
  /** one example's shape as the model sees it ([28, 28, 1] for MNIST-like sets, [32, 32, 3] for CIFAR-10) */
  readonly inputShape: readonly number[];
  /** the innermost dimension, which normalization's per-channel mean/std index */
  readonly channels: number;
  readonly numClasses: number;
  /** examples in the training set as loaded (validation is held out of these) and in the test set */
  readonly trainN: number;
  readonly testN: number;
}

/** The `data` section of a spec for a data set whose own fields are `F`: the common fields plus `F`, resolved. */
export type DataSpecOf<N extends string, F extends z.ZodRawShape> = CommonDataSpec & { readonly dataset: N } & z.output<z.ZodObject<F>>;

/**
 * One data set lth can train on (docs/DESIGN.md#adding-a-data-set). The spec's `data` section is
 * a union derived from the registry (sets/index.ts): `{dataset: name, ...common fields, ...fields}`.
 *
 * Identity: a data set whose content its name pins (the published sets, checked against their
 * checksums; synthetic data, generated from the seed) has no `digest`, and its spec hashes as it
 * always did. A data set with user content declares `digest` (sha256 of the content): the spec
 * loader (spec/load.ts) writes it into `data.digest` of the resolved spec, so it enters the
 * experiment's identity and the prepared-data cache key, and `identity` drops what may change
 * without changing the content (the folder's path).
 */
export interface DatasetDef<N extends string = string, F extends z.ZodRawShape = z.ZodRawShape> {
  /** what a spec writes in `data.dataset` */
  readonly name: N;
  /** one line for --help and the README */
  readonly help: string;
  /** this data set's own fields in `data`, beside the common ones (spec/schema.ts) */
  readonly fields: F;
  /** shapes, classes and sizes without loading the examples (may read file headers); throws UserError naming the file */
  meta(spec: DataSpecOf<N, F>): DatasetMeta;
  /** the official training and test sets, unnormalized; `seed` = the experiment's seed (for generated data) */
  load(spec: DataSpecOf<N, F>, seed: number, opts: DataOptions): Promise<RawDataset>;
  /** the per-channel mean and std normalize "dataset" applies (in [0, 1] units for byte pixels), or null to leave values as they are */
  stats(raw: RawDataset, spec: DataSpecOf<N, F>): Stats | null;
  /**
   * What the prepared-data cache key (cache.ts) records about the source, so a changed source
   * invalidates it; null = do not cache (cheap to make, or not known yet).
   */
  cacheSource(spec: DataSpecOf<N, F>, opts: DataOptions): unknown;
  /** sha256 (hex) of the content the spec names; only data sets with user content have one */
  digest?(spec: DataSpecOf<N, F>): string;
  /** the part of the `data` section that enters the identity hash (default: all of it) */
  identity?(spec: DataSpecOf<N, F>): Record<string, unknown>;
}

/** Any registered data set, with its spec type erased (the registry narrows it by `dataset`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDatasetDef = DatasetDef<string, any>;
