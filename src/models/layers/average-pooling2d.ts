import { tf } from '../../util/tf.js';
import { poolGeometry, poolShape, type PoolConfig } from './max-pooling2d.js';
import type { LayerDef, Node } from './types.js';

/** Average pooling (tfjs-layers / Keras `averagePooling2d`, NHWC); window, stride and padding as maxPooling2d. */
export const averagePooling2d = (more: PoolConfig & { name?: string; inputs?: string[] } = {}): Node => ({ kind: 'averagePooling2d', ...more });

export const averagePooling2dDef: LayerDef<PoolConfig> = {
  prefix: 'avgpool',
  spatial: true,
  describe: (c) => `avgpool${poolGeometry(c).k}×${poolGeometry(c).k}`,
  outputShape: (c, [x]) => poolShape(c, x, 'averagePooling2d'),
  forward: ({ cfg, inputs: [x] }) => {
    const g = poolGeometry(cfg);
    return { t: tf.avgPool(x.t as tf.Tensor4D, g.k, g.s, g.pad), col: false };
  },
  units: 'keep',
  toLayers: ({ cfg, name, tfl }) => {
    const g = poolGeometry(cfg);
    return { layer: tfl.layers.averagePooling2d({ poolSize: g.k, strides: g.s, padding: g.pad, name }), weights: [] };
  },
};
