import type { DataSpec } from '../spec/index.js';
import { DATASETS, inputShapeOf, type DatasetDef } from './registry.js';

/** What a data set looks like, known without loading it: enough to check a spec before any work. */
export interface DatasetMeta {
  readonly name: string;
  /** one example's shape as the model sees it ([28, 28, 1] for MNIST-like sets, [32, 32, 3] for CIFAR-10) */
  readonly inputShape: readonly number[];
  /** the innermost dimension, which normalization's per-channel mean/std index */
  readonly channels: number;
  readonly numClasses: number;
  /** examples in the official training set (validation is held out of these) and in the test set */
  readonly trainN: number;
  readonly testN: number;
}

/**
 * The published shapes and sizes, from the data set registry (data/registry.ts). Synthetic sets
 * take theirs from `data.synthetic` (its training pool holds synthetic.train + validation
 * examples, see synthetic.ts).
 */
export function datasetMeta(spec: DataSpec): DatasetMeta {
  const def: DatasetDef = DATASETS[spec.dataset];
  const inputShape = inputShapeOf(spec);
  const channels = inputShape[inputShape.length - 1];
  if (def.size) return { name: spec.dataset, inputShape, channels, numClasses: def.size.classes, trainN: def.size.train, testN: def.size.test };
  const s = spec.synthetic;
  return { name: spec.dataset, inputShape, channels, numClasses: s.classes, trainN: s.train + spec.validation, testN: s.test };
}
