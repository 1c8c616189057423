import { z } from 'zod';
import { UserError, makeRng, type Rng } from '../../util/index.js';
import type { DatasetDef, DataSpecOf } from '../def.js';
import type { RawDataset, RawSplit } from '../splits.js';

/** Half the distance between two class centres, in units of the noise std: nearest-centroid error ≈ Φ(−2) per pair. */
const MARGIN = 2;
/** Side of the square cells an image template is constant on: smooth templates give convolutions local structure to find. */
const CELL = 4;

/** synthetic's own field in `data` (published sets accept it too, see published.ts). */
export const SYNTHETIC_FIELDS = {
  synthetic: z
    .strictObject({
      train: z.number().int().positive().default(2000),
      test: z.number().int().positive().default(500),
      features: z.number().int().positive().default(64).describe('values per example (Gaussian classes); ignored when shape is given'),
      shape: z
        .tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()])
        .optional()
        .describe('[h, w, c]: generate images for conv nets instead of flat vectors (one smooth template per class, shifted by up to a pixel, plus noise)'),
      classes: z.number().int().min(2).default(4),
    })
    .prefault({})
    .describe('size of the generated data set when dataset = synthetic'),
};

type SyntheticSpec = DataSpecOf<'synthetic', typeof SYNTHETIC_FIELDS>;

/**
 * A small learnable problem generated from the seed.
 *
 * - Without `synthetic.shape`: one Gaussian cluster per class in `features` dimensions
 *   (centres ~ N(0, s²I) with s chosen so the expected margin is MARGIN, unit noise).
 * - With `shape` [h, w, c]: images. Each class has a template, constant on CELL×CELL cells
 *   (values ~ N(0, s²), same s over h·w·c values); an example is its class's template shifted
 *   circularly by −1, 0 or +1 pixel in each direction, plus unit noise. The shift rewards
 *   translation-tolerant (convolutional) features.
 *
 * The training pool holds synthetic.train + validation examples, so that synthetic.train is the
 * size of the train split (the validation examples are the last ones). Examples are drawn one by
 * one from seeded streams, so the first examples do not change when the sizes do; the test set
 * has its own stream. Same seed ⇒ identical arrays.
 */
function syntheticDataset(spec: SyntheticSpec, seed: number): RawDataset {
  const { train, test, classes, shape } = spec.synthetic;
  if (classes > 256) throw new UserError(`data.synthetic.classes = ${classes}: labels are bytes, use at most 256 classes`);
  if (shape) return syntheticImages(spec, seed, shape);
  const { features } = spec.synthetic;
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

function syntheticImages(spec: SyntheticSpec, seed: number, [h, w, ch]: readonly [number, number, number]): RawDataset {
  const { train, test, classes } = spec.synthetic;
  const size = h * w * ch;
  const s = (2 * MARGIN) / Math.sqrt(2 * size);
  const rc = makeRng('data', 'synthetic-images', seed, 'templates');
  const gh = Math.ceil(h / CELL);
  const gw = Math.ceil(w / CELL);
  const templates = new Float64Array(classes * size);
  for (let k = 0; k < classes; k++) {
    const grid = Float64Array.from({ length: gh * gw * ch }, () => s * rc.normal());
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < ch; c++) templates[k * size + (y * w + x) * ch + c] = grid[(Math.floor(y / CELL) * gw + Math.floor(x / CELL)) * ch + c];
  }
  const drawImages = (n: number, rng: Rng): RawSplit => {
    const xs = new Float32Array(n * size);
    const ys = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const k = rng.int(classes);
      const dy = rng.int(3) - 1;
      const dx = rng.int(3) - 1;
      ys[i] = k;
      for (let y = 0; y < h; y++) {
        const sy = (y - dy + h) % h;
        for (let x = 0; x < w; x++) {
          const sx = (x - dx + w) % w;
          for (let c = 0; c < ch; c++) xs[i * size + (y * w + x) * ch + c] = templates[k * size + (sy * w + sx) * ch + c] + rng.normal();
        }
      }
    }
    return { x: xs, y: ys, n };
  };
  return {
    name: 'synthetic',
    inputShape: [h, w, ch],
    channels: ch,
    numClasses: classes,
    train: drawImages(train + spec.validation, makeRng('data', 'synthetic-images', seed, 'train')),
    test: drawImages(test, makeRng('data', 'synthetic-images', seed, 'test')),
    source: `synthetic (seed ${seed}: ${classes} classes of ${h}×${w}×${ch} images, shifted templates plus noise)`,
  };
}

/**
 * Generated data: its content is a function of the seed and `data.synthetic`, both in the spec,
 * so it has no digest; it is cheap to make and never cached. Normalize "dataset" leaves the
 * generated values as they are.
 */
export const synthetic: DatasetDef<'synthetic', typeof SYNTHETIC_FIELDS> = {
  name: 'synthetic',
  help: 'generated from the seed (data.synthetic): Gaussian classes in `features` dimensions, or images of `shape` [h, w, c]',
  fields: SYNTHETIC_FIELDS,
  meta(spec) {
    const s = spec.synthetic;
    const inputShape = s.shape ?? [s.features];
    // the training pool holds synthetic.train + validation examples
    return {
      name: 'synthetic',
      inputShape,
      channels: inputShape[inputShape.length - 1],
      numClasses: s.classes,
      trainN: s.train + spec.validation,
      testN: s.test,
    };
  },
  load: (spec, seed) => Promise.resolve(syntheticDataset(spec, seed)),
  stats: () => null,
  cacheSource: () => null,
};
