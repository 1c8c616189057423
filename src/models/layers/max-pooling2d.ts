import { tf } from '../../util/tf.js';
import * as ops from '../ops.js';
import { outLength } from './conv2d.js';
import { need, type LayerDef, type Node } from './types.js';

/**
 * Max pooling (tfjs-layers / Keras `maxPooling2d`, NHWC) over poolSize × poolSize windows,
 * stride `strides` (default = poolSize), padding 'valid' (default: an odd size loses its last
 * row/column) or 'same'. The 2×2/2 'valid' pool trains with lth's one-pass gradient on wasm
 * (ops.maxPool).
 */
export interface PoolConfig {
  /** default 2 */
  readonly poolSize?: number;
  /** default poolSize */
  readonly strides?: number;
  /** default 'valid' */
  readonly padding?: 'same' | 'valid';
}

export const maxPooling2d = (more: PoolConfig & { name?: string; inputs?: string[] } = {}): Node => ({ kind: 'maxPooling2d', ...more });

export const poolGeometry = (c: PoolConfig) => {
  const k = c.poolSize ?? 2;
  return { k, s: c.strides ?? k, pad: c.padding ?? 'valid' };
};

/** The output shape of a pooling window, shared by max and average pooling. */
export function poolShape(c: PoolConfig, x: readonly number[], what: string): number[] {
  const g = poolGeometry(c);
  need(x.length === 3, `${what} needs [h, w, c] input, got [${x.join(', ')}]`);
  const h = outLength(x[0], g.k, g.s, g.pad);
  const w = outLength(x[1], g.k, g.s, g.pad);
  need(h >= 1 && w >= 1, `${what} ${g.k}×${g.k} needs at least ${g.k}×${g.k}, got ${x[0]}×${x[1]}`);
  return [h, w, x[2]];
}

export const maxPooling2dDef: LayerDef<PoolConfig> = {
  prefix: 'pool',
  spatial: true,
  describe: (c) => `maxpool${poolGeometry(c).k}×${poolGeometry(c).k}`,
  outputShape: (c, [x]) => poolShape(c, x, 'maxPooling2d'),
  forward: ({ cfg, inputs: [x], mode }) => {
    const g = poolGeometry(cfg);
    const h = x.t as tf.Tensor4D;
    if (mode.fuse && g.k === 2 && g.s === 2 && g.pad === 'valid') return { t: ops.maxPool(h), col: false };
    return { t: tf.maxPool(h, g.k, g.s, g.pad), col: false };
  },
  units: 'keep',
  toLayers: ({ cfg, name, tfl }) => {
    const g = poolGeometry(cfg);
    return { layer: tfl.layers.maxPooling2d({ poolSize: g.k, strides: g.s, padding: g.pad, name }), weights: [] };
  },
};
