import { tf } from '../../util/tf.js';
import { need, type LayerDef, type Node } from './types.js';

/**
 * Elementwise sum of two or more inputs of one shape (tfjs-layers / Keras `add`): a residual
 * block's shortcut (He et al. 2016). Its inputs' channel c are summed into its channel c, so
 * filter pruning prunes them as one group (docs/DESIGN.md#structured-batchnorm).
 */
export const add = (inputs: string[], more: { name?: string } = {}): Node => ({ kind: 'add', inputs, ...more });

export const addDef: LayerDef<object> = {
  prefix: 'add',
  describe: () => 'add',
  outputShape: (_c, xs) => {
    need(xs.length >= 2, `add needs at least two inputs, got ${xs.length}`);
    need(
      xs.every((s) => s.join() === xs[0].join()),
      `add needs inputs of one shape, got ${xs.map((s) => `[${s.join(', ')}]`).join(' and ')}`,
    );
    return xs[0];
  },
  forward: ({ inputs }) => ({ t: tf.addN(inputs.map((v) => v.t)), col: false }),
  units: 'sum',
  toLayers: ({ name, tfl }) => ({ layer: tfl.layers.add({ name }), weights: [] }),
};
