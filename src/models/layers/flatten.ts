import { tf } from '../../util/tf.js';
import { size, type LayerDef, type Node } from './types.js';

/**
 * Flatten (tfjs-layers / Keras `flatten`): [n, h, w, c] → [n, h·w·c], row-major NHWC, so input
 * i carries channel i mod c. On flat input it is the identity (an MLP accepts [784] and
 * [28, 28, 1] alike).
 */
export const flatten = (more: { name?: string; inputs?: string[] } = {}): Node => ({ kind: 'flatten', ...more });

export const flattenDef: LayerDef<object> = {
  prefix: 'flatten',
  describe: () => 'flatten',
  outputShape: (_c, [x]) => [size(x)],
  forward: ({ inputs: [x], outputShape }) => ({ t: tf.reshape(x.t, [x.t.shape[0], outputShape[0]]), col: false }),
  units: 'keep',
  toLayers: ({ name, inputShapes: [x], tfl }) => (x.length === 1 ? null : { layer: tfl.layers.flatten({ name }), weights: [] }),
};
