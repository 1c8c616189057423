import { makeRng } from '../util/index.js';
import type { Model, ParamSpec, Weights } from './types.js';

export type InitName = 'glorot-normal' | 'he-normal';

/** σ of a weight tensor's initializer: sign-constant resets use it (docs/DESIGN.md#reset-strategies). */
export function initStd(p: ParamSpec, init: InitName): number {
  return init === 'glorot-normal' ? Math.sqrt(2 / (p.fanIn + p.fanOut)) : Math.sqrt(2 / p.fanIn);
}

/** A draw from the initializer: N(0, σ²) kernels (untruncated Gaussian Glorot, as F&C), zero biases,
 *  constants for the rest (BatchNorm: γ 1, β 0, running mean 0, running variance 1; ParamSpec.fill).
 *  Drawn in JS from the key so θ0 is identical on every backend. */
export function initialize(model: Model, init: InitName, ...key: (string | number)[]): Weights {
  const w: Weights = {};
  for (const p of model.params) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(size);
    if (p.kind === 'none') a.fill(p.fill ?? 0);
    else {
      const rng = makeRng(...key, p.name);
      const s = initStd(p, init);
      for (let i = 0; i < size; i++) a[i] = rng.normal() * s;
    }
    w[p.name] = a;
  }
  return w;
}
