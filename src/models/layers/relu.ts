import { tf } from '../../util/tf.js';
import * as ops from '../ops.js';
import type { LayerDef, Node } from './types.js';

/**
 * ReLU, max(x, 0) (tfjs-layers / Keras `reLU`). Fused into the layer before it when that layer
 * can apply it (conv2d, dense) and the ReLU is its only consumer; its output is what activation
 * taps read (src/models/activations.ts). lth's training pass takes ops.relu (a one-pass gradient on
 * native).
 */
export const relu = (more: { name?: string; inputs?: string[] } = {}): Node => ({ kind: 'relu', ...more });

export const reluDef: LayerDef<object> = {
  prefix: 'relu',
  describe: () => 'relu',
  outputShape: (_c, [x]) => x,
  columns: true,
  forward: ({ inputs: [x], mode }) => ({ t: mode.lth ? ops.relu(x.t) : tf.relu(x.t), col: x.col }),
  units: 'keep',
  toLayers: ({ name, tfl }) => ({ layer: tfl.layers.reLU({ name }), weights: [] }),
};
