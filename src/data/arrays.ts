import { createHash } from 'node:crypto';
import { UserError } from '../util/index.js';
import type { DatasetMeta } from './def.js';
import type { NpyArray, NpyHeader } from './npy.js';
import type { RawDataset, RawSplit } from './splits.js';

/** The four arrays of a data set given as arrays (.npy files, an .npz archive), as Keras' load_data returns them. */
export const ARRAY_ROLES = ['x_train', 'y_train', 'x_test', 'y_test'] as const;
export type ArrayRole = (typeof ARRAY_ROLES)[number];

/** Element types features may have: bytes (pixels, scaled by 1/255 like the published images) or floats (used as they are). */
const FEATURE_TYPES = ['u1', 'f4', 'f8'];

/** An array with the name of the file (or archive member) it came from, for errors. */
type Named<T> = T & { readonly what: string };

/**
 * One example's shape for features of shape [n, …rest]: rest, with a channel of 1 added to
 * [h, w] images (Keras' MNIST arrays are [n, 28, 28]).
 */
const exampleShape = (shape: readonly number[]) => (shape.length === 3 ? [...shape.slice(1), 1] : shape.slice(1));

/**
 * Labels as bytes, checked: integers in [0, classes) (classes ≤ 256), of shape [n] or [n, 1].
 * @throws UserError naming the file and the fix
 */
export function checkLabels(y: Named<NpyArray>, classes: number | undefined): Uint8Array {
  if (y.shape.length === 0 || y.shape.length > 2 || (y.shape.length === 2 && y.shape[1] !== 1))
    throw new UserError(`${y.what}: labels must have shape [n] or [n, 1], not [${y.shape.join(', ')}]; save one integer class per example`);
  const limit = classes ?? 256;
  const out = new Uint8Array(y.shape[0]);
  for (let i = 0; i < out.length; i++) {
    const v = y.data[i];
    if (!Number.isInteger(v))
      throw new UserError(`${y.what}: label ${v} at index ${i} is not an integer; save class numbers 0, 1, 2, … (e.g. y.astype('int64'))`);
    if (v < 0 || v >= limit)
      throw new UserError(
        `${y.what}: label ${v} at index ${i} is out of range: labels must be in [0, ${limit})${classes === undefined ? ' (lth keeps labels as bytes)' : ` for data.classes = ${classes}`}; renumber the classes from 0${classes === undefined ? '' : ' or raise data.classes'}`,
      );
    out[i] = v;
  }
  return out;
}

/**
 * Shapes, classes and sizes of arrays x_train, y_train, x_test, y_test, checked against one
 * another: features of a supported type and the same example shape in both splits, as many
 * labels as examples. Classes: `classes` when given, else the largest label + 1.
 * @throws UserError naming the file and the fix
 */
export function arraysMeta(
  name: string,
  x: Record<'x_train' | 'x_test', Named<NpyHeader>>,
  y: Record<'y_train' | 'y_test', Named<NpyArray>>,
  classes: number | undefined,
): DatasetMeta & { labels: { train: Uint8Array; test: Uint8Array } } {
  for (const a of [x.x_train, x.x_test]) {
    if (!FEATURE_TYPES.includes(a.dtype)) throw new UserError(`${a.what}: features of type '${a.dtype}'; save them as uint8, float32 or float64`);
    if (a.shape.length < 2) throw new UserError(`${a.what}: features must have shape [n, …] with at least one value per example, not [${a.shape.join(', ')}]`);
  }
  const inputShape = exampleShape(x.x_train.shape);
  if (exampleShape(x.x_test.shape).join() !== inputShape.join())
    throw new UserError(
      `${x.x_test.what}: examples of shape [${exampleShape(x.x_test.shape).join(', ')}], but ${x.x_train.what} has [${inputShape.join(', ')}]; save both splits with the same shape`,
    );
  if (x.x_train.dtype !== x.x_test.dtype)
    throw new UserError(`${x.x_test.what}: type '${x.x_test.dtype}', but ${x.x_train.what} is '${x.x_train.dtype}'; save both with one type`);
  const labels = { train: checkLabels(y.y_train, classes), test: checkLabels(y.y_test, classes) };
  for (const [xs, ys] of [
    [x.x_train, y.y_train],
    [x.x_test, y.y_test],
  ] as const) {
    if (xs.shape[0] !== ys.shape[0])
      throw new UserError(`${ys.what} has ${ys.shape[0]} labels but ${xs.what} has ${xs.shape[0]} examples; save one label per example`);
  }
  let max = 0;
  for (const l of [labels.train, labels.test]) for (const v of l) max = Math.max(max, v);
  return {
    name,
    inputShape,
    channels: inputShape[inputShape.length - 1],
    numClasses: classes ?? max + 1,
    trainN: x.x_train.shape[0],
    testN: x.x_test.shape[0],
    labels,
  };
}

/** A raw data set from four checked arrays (see arraysMeta); float64 features become float32. */
export function arraysDataset(name: string, a: Record<ArrayRole, Named<NpyArray>>, classes: number | undefined, source: string): RawDataset {
  const meta = arraysMeta(name, a, a, classes);
  const split = (x: NpyArray, y: Uint8Array): RawSplit => ({
    x: x.dtype === 'u1' ? x.bytes : x.data instanceof Float32Array ? x.data : Float32Array.from(x.data),
    y,
    n: y.length,
  });
  return {
    name,
    inputShape: meta.inputShape,
    channels: meta.channels,
    numClasses: meta.numClasses,
    train: split(a.x_train, meta.labels.train),
    test: split(a.x_test, meta.labels.test),
    source,
  };
}

/**
 * sha256 over the four arrays' .npy bytes in a fixed order, each preceded by its file name and
 * length: the content, wherever it is kept (a folder of .npy files and an .npz of the same
 * files give the same digest).
 */
export function arraysDigest(bytes: Record<ArrayRole, Uint8Array>): string {
  const h = createHash('sha256');
  for (const r of ARRAY_ROLES) h.update(`${r}.npy\0${bytes[r].length}\0`).update(bytes[r]);
  return h.digest('hex');
}
