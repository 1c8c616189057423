import { tf } from '../../util/tf.js';
import * as ops from '../ops.js';
import { need, type LayerDef, type Node } from './types.js';

/** Global average pooling (tfjs-layers / Keras `globalAveragePooling2d`): [n, h, w, c] → [n, c], the mean over positions (He et al. 2016's ResNet head). */
export const globalAveragePooling2d = (more: { name?: string; inputs?: string[] } = {}): Node => ({ kind: 'globalAveragePooling2d', ...more });

export const globalAveragePooling2dDef: LayerDef<object> = {
  prefix: 'gap',
  spatial: true,
  describe: () => 'global avgpool',
  outputShape: (_c, [x]) => {
    need(x.length === 3, `globalAveragePooling2d needs [h, w, c] input, got [${x.join(', ')}]`);
    return [x[2]];
  },
  forward: ({ inputs: [x] }) => ({ t: ops.globalAvgPool(x.t as tf.Tensor4D), col: false }),
  units: 'keep',
  toLayers: ({ name, tfl }) => ({ layer: tfl.layers.globalAveragePooling2d({ name }), weights: [] }),
};
