// Temporary stand-in until the data module lands: synthetic data only.
import type { DataSpec } from '../spec/schema.js';
import { makeRng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import type { Dataset, DataOptions, Split } from './types.js';
export type { Dataset, DataOptions, Split } from './types.js';

export async function loadDataset(spec: DataSpec, seed: number, _opts: DataOptions): Promise<Dataset> {
  if (spec.dataset !== 'synthetic') throw new UserError(`dataset ${spec.dataset} not available yet`);
  const { train, test, features, classes } = spec.synthetic;
  const rng = makeRng('synthetic', seed);
  const centers = Array.from({ length: classes }, () => Float32Array.from({ length: features }, () => rng.normal()));
  const make = (n: number): Split => {
    const x = new Float32Array(n * features);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rng.int(classes);
      for (let j = 0; j < features; j++) x[i * features + j] = centers[y[i]][j] + 1.5 * rng.normal();
    }
    return { x, y, n };
  };
  const all = make(train + spec.validation);
  const dim = features;
  const cut = train;
  const sl = (s: Split, a: number, b: number): Split => ({ x: s.x.slice(a * dim, b * dim), y: s.y.slice(a, b), n: b - a });
  return { name: 'synthetic', inputShape: [features], numClasses: classes, train: sl(all, 0, cut), val: sl(all, cut, all.n), test: make(test), source: 'generated' };
}
