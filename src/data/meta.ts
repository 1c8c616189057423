import type { DataSpec } from '../spec/schema.js';

/** What a data set looks like, known without loading it: enough to check a spec before any work. */
export interface DatasetMeta {
  readonly name: string;
  /** one example's shape as the model sees it ([784] for MNIST-like sets, [32, 32, 3] for CIFAR-10) */
  readonly inputShape: readonly number[];
  /** the innermost dimension, which normalization's per-channel mean/std index */
  readonly channels: number;
  readonly numClasses: number;
  /** examples in the official training set (validation is held out of these) and in the test set */
  readonly trainN: number;
  readonly testN: number;
}

/**
 * The published shapes and sizes (LeCun et al. 1998; Xiao et al. 2017; Krizhevsky 2009); the
 * loaders check the files against these. Synthetic sets take theirs from `data.synthetic`
 * (its training pool holds synthetic.train + validation examples, see synthetic.ts).
 */
export function datasetMeta(spec: DataSpec): DatasetMeta {
  switch (spec.dataset) {
    case 'mnist':
    case 'fashion-mnist':
      return { name: spec.dataset, inputShape: [784], channels: 1, numClasses: 10, trainN: 60000, testN: 10000 };
    case 'cifar10':
      return { name: 'cifar10', inputShape: [32, 32, 3], channels: 3, numClasses: 10, trainN: 50000, testN: 10000 };
    case 'synthetic': {
      const s = spec.synthetic;
      return { name: 'synthetic', inputShape: [s.features], channels: s.features, numClasses: s.classes, trainN: s.train + spec.validation, testN: s.test };
    }
  }
}
