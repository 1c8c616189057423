import type { CommonDataSpec } from '../spec/schema.js';
import { SpecError } from '../util/index.js';
import type { Dataset, Split } from './types.js';

/** A split before normalization: pixels as bytes (image sets) or values as generated (synthetic). */
export interface RawSplit {
  readonly x: Uint8Array | Float32Array;
  readonly y: Uint8Array;
  readonly n: number;
}

export interface RawDataset {
  readonly name: string;
  readonly inputShape: readonly number[];
  /** the innermost dimension of x is the channel (NHWC; 1 for grey images) */
  readonly channels: number;
  readonly numClasses: number;
  /** the official training set, in its published order */
  readonly train: RawSplit;
  readonly test: RawSplit;
  readonly source: string;
}

export interface Stats {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * Holds out the validation split, applies the subsets and normalizes, per the spec.
 * Validation = the LAST `validation` examples of the official training set (deterministic and
 * independent of the seed, so every trial and strategy sees the same split); train = the rest.
 * trainSubset / testSubset then keep the first N. Only kept examples are converted to floats.
 * `stats` = the data set's usual statistics for normalize 'dataset' (null: leave as is).
 */
export function prepareSplits(raw: RawDataset, spec: CommonDataSpec, stats: Stats | null): Dataset {
  const perExample = raw.inputShape.reduce((a, b) => a * b, 1);
  checkSplits({ name: raw.name, trainN: raw.train.n, testN: raw.test.n, channels: raw.channels }, spec);
  const v = spec.validation;
  const rest = raw.train.n - v;
  const norm = affine(raw, spec, stats);
  const take = (s: RawSplit, from: number, n: number): Split => ({
    x: normalize(s.x.subarray(from * perExample, (from + n) * perExample), raw.channels, norm),
    y: s.y.slice(from, from + n),
    n,
  });
  return {
    name: raw.name,
    inputShape: [...raw.inputShape],
    numClasses: raw.numClasses,
    train: take(raw.train, 0, spec.trainSubset ?? rest),
    val: take(raw.train, rest, v),
    test: take(raw.test, 0, spec.testSubset ?? raw.test.n),
    source: raw.source,
  };
}

/** The spec fields that decide a data set's sizes, channels and example shape: a check against them names a --set that wrote one. */
export const DATA_SHAPE_FIELDS = ['data.dataset', 'data.synthetic'];

/**
 * The split sizes and normalization a spec asks for fit a data set of this size and channel
 * count. Needs only the sizes (registry.ts datasetMeta), so a spec is checked before any data loads.
 * @throws SpecError (a UserError) naming the field and the largest value that fits
 */
export function checkSplits(d: { name: string; trainN: number; testN: number; channels: number }, spec: CommonDataSpec): void {
  const v = spec.validation;
  if (v >= d.trainN)
    throw new SpecError(
      'data.validation',
      `data.validation = ${v} leaves no training examples: ${d.name} has ${d.trainN}; set data.validation below ${d.trainN}`,
      DATA_SHAPE_FIELDS,
    );
  const rest = d.trainN - v;
  if (spec.trainSubset !== null && spec.trainSubset > rest) {
    throw new SpecError(
      'data.trainSubset',
      `data.trainSubset = ${spec.trainSubset} exceeds the ${rest} training examples of ${d.name} left after the validation split; lower it or set it to null`,
      ['data.validation', ...DATA_SHAPE_FIELDS],
    );
  }
  if (spec.testSubset !== null && spec.testSubset > d.testN) {
    throw new SpecError(
      'data.testSubset',
      `data.testSubset = ${spec.testSubset} exceeds the ${d.testN} test examples of ${d.name}; lower it or set it to null`,
      DATA_SHAPE_FIELDS,
    );
  }
  const n = spec.normalize;
  const c = d.channels;
  if (typeof n === 'object' && (![1, c].includes(n.mean.length) || ![1, c].includes(n.std.length))) {
    throw new SpecError(
      'data.normalize',
      `data.normalize: mean has ${n.mean.length} values and std ${n.std.length}, but ${d.name} has ${c} channel${c === 1 ? '' : 's'}; give 1${c === 1 ? '' : ` or ${c}`} value${c === 1 ? '' : 's'} each`,
      DATA_SHAPE_FIELDS,
    );
  }
}

/** x ↦ x·scale[c] + shift[c], with scale/shift per channel; for bytes the 1/255 is folded in. */
interface Affine {
  scale: Float64Array;
  shift: Float64Array;
}

function affine(raw: RawDataset, spec: CommonDataSpec, stats: Stats | null): Affine {
  const c = raw.channels;
  const bytes = raw.train.x instanceof Uint8Array;
  const unit = bytes ? 1 / 255 : 1;
  let mean: readonly number[] = [0];
  let std: readonly number[] = [1];
  const n = spec.normalize;
  if (n === 'dataset' && stats) ({ mean, std } = stats);
  else if (typeof n === 'object') {
    ({ mean, std } = n);
  }
  // 'none' (and 'dataset' for synthetic data): bytes → [0, 1], generated values unchanged
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    const m = mean.length === 1 ? mean[0] : mean[i];
    const s = std.length === 1 ? std[0] : std[i];
    scale[i] = unit / s;
    shift[i] = -m / s;
  }
  return { scale, shift };
}

function normalize(x: Uint8Array | Float32Array, channels: number, { scale, shift }: Affine): Float32Array {
  const out = new Float32Array(x.length);
  if (x instanceof Uint8Array) {
    // 256-entry table per channel: one lookup per pixel, no arithmetic in the hot loop
    const lut = new Float32Array(256 * channels);
    for (let c = 0; c < channels; c++) for (let p = 0; p < 256; p++) lut[c * 256 + p] = p * scale[c] + shift[c];
    // one strided pass per channel: tight monomorphic loops, measurably faster than an inner channel loop
    for (let c = 0; c < channels; c++) {
      const t = lut.subarray(c * 256, (c + 1) * 256);
      for (let i = c; i < x.length; i += channels) out[i] = t[x[i]];
    }
  } else {
    for (let c = 0; c < channels; c++) {
      const a = scale[c];
      const b = shift[c];
      for (let i = c; i < x.length; i += channels) out[i] = x[i] * a + b;
    }
  }
  return out;
}

/**
 * Per-channel mean and population std of the examples that train: the first `train.n −
 * validation` of the training set (the validation examples are held out, see prepareSplits), in
 * the units normalization works in (bytes / 255, floats as they are); sums in float64. A
 * constant channel gets std 1, so it is centred, not divided by 0. Normalize "dataset" for data
 * sets without published statistics (a user's files).
 */
export function trainingStats(raw: RawDataset, validation: number): Stats {
  const c = raw.channels;
  const n = Math.max(0, raw.train.n - validation);
  const values = (n * raw.train.x.length) / Math.max(1, raw.train.n);
  const unit = raw.train.x instanceof Uint8Array ? 1 / 255 : 1;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const x = raw.train.x;
  for (let i = 0; i < values; i++) {
    const v = x[i] * unit;
    sum[i % c] += v;
    sq[i % c] += v * v;
  }
  const count = values / c;
  const mean = Array.from(sum, (s) => (count ? s / count : 0));
  const std = Array.from(sq, (s, k) => {
    const variance = count ? s / count - mean[k] * mean[k] : 0;
    return variance > 1e-24 ? Math.sqrt(variance) : 1;
  });
  return { mean, std };
}
