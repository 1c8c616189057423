import type { DataSpec } from '../spec/index.js';
import { UserError } from '../util/index.js';
import type { AnyDatasetDef, DatasetMeta } from './def.js';
import { cifar10 } from './sets/cifar10.js';
import { csv } from './sets/csv.js';
import { fashionMnist } from './sets/fashion-mnist.js';
import { images } from './sets/images.js';
import { mnist } from './sets/mnist.js';
import { npy } from './sets/npy.js';
import { npz } from './sets/npz.js';
import { synthetic } from './sets/synthetic.js';
import type { Stats } from './splits.js';
import type { DataSource } from './types.js';

/**
 * Every data set lth knows, one file each under sets/ (docs/DESIGN.md#adding-a-data-set). The
 * spec's `data` union (spec/schema.ts), `lth run --help`, `lth datasets` and the README table
 * derive from this list. Adding a data set = one file plus one line here.
 */
export const DATASET_DEFS = [mnist, fashionMnist, cifar10, synthetic, npy, npz, images, csv] as const;

export type DatasetName = (typeof DATASET_DEFS)[number]['name'];
export const DATASET_NAMES = DATASET_DEFS.map((d) => d.name) as [DatasetName, ...DatasetName[]];
/** Every data set by name. */
export const DATASETS = Object.fromEntries(DATASET_DEFS.map((d) => [d.name, d])) as {
  readonly [K in DatasetName]: Extract<(typeof DATASET_DEFS)[number], { name: K }>;
};

type FileDef = Extract<(typeof DATASET_DEFS)[number], { source: DataSource }>;
/** The data sets published as files (every one with a `source`: see published.ts). */
export type FileDataset = FileDef['name'];
const fileDefs = DATASET_DEFS.filter((d): d is FileDef => 'source' in d);

export const FILE_TABLE = Object.fromEntries(fileDefs.map((d) => [d.name, d.source])) as Record<FileDataset, DataSource>;

export const FILE_DATASETS = fileDefs.map((d) => d.name);

export function sourceFor(name: FileDataset, override?: Partial<Record<FileDataset, DataSource>>): DataSource {
  return override?.[name] ?? FILE_TABLE[name];
}

/** The usual per-channel statistics of each published data set. */
export const NORMALIZATION = Object.fromEntries(fileDefs.map((d) => [d.name, d.normalization])) as Record<FileDataset, Stats>;

/** The definition a `data` section names (the schema only lets registered names through). */
export const defOf = (spec: DataSpec): AnyDatasetDef => DATASETS[spec.dataset];

/**
 * What a data set looks like, without loading it: shapes, classes and sizes (the published
 * values; for synthetic data from `data.synthetic`, its training pool holding synthetic.train +
 * validation examples; for user files read from their headers).
 * @throws UserError naming the file when a user's file cannot be read
 */
export const datasetMeta = (spec: DataSpec): DatasetMeta => defOf(spec).meta(spec);

/**
 * The per-example shape a data spec yields, known before the examples load (for checking the
 * model against it early, see models/registry.ts checkInput).
 */
export const inputShapeOf = (spec: DataSpec): readonly number[] => datasetMeta(spec).inputShape;

/**
 * The `data` section with its content digest filled in, for data sets with user content (see
 * DatasetDef.digest); unchanged for the others. A `digest` the spec already gives must match.
 * @throws UserError when it does not, naming the data and the fix
 */
export function withDigest(spec: DataSpec): DataSpec {
  const def = defOf(spec);
  if (!def.digest) return spec;
  const digest = def.digest(spec);
  const given = (spec as { digest?: string }).digest;
  if (given !== undefined && given !== digest) {
    const where = JSON.stringify((spec as { path?: unknown }).path);
    throw new UserError(
      `data.digest: the ${spec.dataset} data at ${where} has sha256 ${digest}, not ${given} as the spec says; point data.path at the data the digest was taken of, or remove data.digest`,
    );
  }
  const out: Record<string, unknown> = { ...spec, digest };
  return out as DataSpec;
}

/** The part of the `data` section that enters the experiment's identity (DatasetDef.identity). */
export const dataIdentity = (spec: DataSpec): Record<string, unknown> => defOf(spec).identity?.(spec) ?? spec;
