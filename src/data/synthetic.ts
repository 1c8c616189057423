import type { DataSpec } from '../spec/schema.js';
import { UserError } from '../util/errors.js';
import { makeRng, type Rng } from '../util/rng.js';
import type { RawDataset, RawSplit } from './prepare.js';

/** Half the distance between two class centres, in units of the noise std: nearest-centroid error ≈ Φ(−2) per pair. */
const MARGIN = 2;

/**
 * A small learnable problem generated from the seed: one Gaussian cluster per class
 * (centres ~ N(0, s²I) with s chosen so the expected margin is MARGIN, unit noise).
 *
 * The training pool holds synthetic.train + validation examples, so that synthetic.train is the
 * size of the train split (the validation examples are the last ones). Examples are drawn one by
 * one from seeded streams, so the first examples do not change when the sizes do; the test set
 * has its own stream. Same seed ⇒ identical arrays.
 */
export function syntheticDataset(spec: DataSpec, seed: number): RawDataset {
  const { train, test, features, classes } = spec.synthetic;
  if (classes > 256) throw new UserError(`data.synthetic.classes = ${classes}: labels are bytes, use at most 256 classes`);
  const s = (2 * MARGIN) / Math.sqrt(2 * features);
  const rc = makeRng('data', 'synthetic', seed, 'centres');
  const centres = new Float64Array(classes * features);
  for (let i = 0; i < centres.length; i++) centres[i] = s * rc.normal();
  return {
    name: 'synthetic',
    inputShape: [features],
    channels: features,
    numClasses: classes,
    train: draw(train + spec.validation, centres, features, classes, makeRng('data', 'synthetic', seed, 'train')),
    test: draw(test, centres, features, classes, makeRng('data', 'synthetic', seed, 'test')),
    source: `synthetic (seed ${seed}: ${classes} Gaussian classes in ${features} dimensions)`,
  };
}

function draw(n: number, centres: Float64Array, features: number, classes: number, rng: Rng): RawSplit {
  const x = new Float32Array(n * features);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(classes);
    y[i] = c;
    for (let f = 0; f < features; f++) x[i * features + f] = centres[c * features + f] + rng.normal();
  }
  return { x, y, n };
}
