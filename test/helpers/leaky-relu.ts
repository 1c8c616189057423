import { tf } from '../../src/util/tf.js';
import type { LayerDef, Node } from '../../src/models/layers/index.js';

/**
 * A layer kind that lth does not ship, written as a user would add one (one file like the kinds
 * in src/models/layers/, one registry line): LeakyReLU, max(x, αx) (tfjs-layers `leakyReLU`).
 */
export interface LeakyReluConfig {
  readonly alpha: number;
}

export const leakyRelu = (alpha: number): Node => ({ kind: 'leakyReLU', alpha });

export const leakyReluDef: LayerDef<LeakyReluConfig> = {
  prefix: 'leaky',
  describe: (c) => `leakyrelu ${c.alpha}`,
  outputShape: (_c, [x]) => x,
  forward: ({ cfg, inputs: [x] }) => ({ t: tf.leakyRelu(x.t, cfg.alpha), col: false }),
  units: 'keep',
  toLayers: ({ cfg, name, tfl }) => ({ layer: tfl.layers.leakyReLU({ alpha: cfg.alpha, name }), weights: [] }),
};
