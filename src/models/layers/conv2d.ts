import { tf } from '../../util/tf.js';
import * as ops from '../ops.js';
import { need, type LayerDef, type Node } from './types.js';

/**
 * A 2-D convolution (tfjs-layers / Keras `conv2d`, NHWC): x [n, h, w, cin], kernel
 * [k, k, cin, filters], optional bias [filters]. 'same' padding gives ⌈h/s⌉ × ⌈w/s⌉ outputs,
 * 'valid' ⌊(h − k)/s⌋ + 1. The 3×3, stride 1, 'same' convolution with bias (Frankle & Carbin
 * 2019, Fig. 2) trains on lth's fused kernel (ops.conv2d, ReLU fused); other shapes train on
 * ops.conv2dStrided (wasm's tfjs has no Conv2DBackpropFilter) on wasm/cpu, on tfjs's fused
 * conv2d elsewhere.
 * Glorot fans count the receptive field: fanIn = k²·cin, fanOut = k²·filters.
 */
export interface Conv2dConfig {
  readonly filters: number;
  /** default 3 */
  readonly kernelSize?: number;
  /** default 1 */
  readonly strides?: number;
  /** default 'same' */
  readonly padding?: 'same' | 'valid';
  /** default true */
  readonly useBias?: boolean;
}

export const conv2d = (filters: number, more: Omit<Conv2dConfig, 'filters'> & { name?: string; inputs?: string[] } = {}): Node => ({
  kind: 'conv2d',
  filters,
  ...more,
});

const geometry = (c: Conv2dConfig) => ({ k: c.kernelSize ?? 3, s: c.strides ?? 1, pad: c.padding ?? 'same', bias: c.useBias !== false });

/** Output size of a window of k with stride s over n positions (Keras' conv_output_length). */
export const outLength = (n: number, k: number, s: number, pad: 'same' | 'valid'): number => (pad === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1);

export const conv2dDef: LayerDef<Conv2dConfig> = {
  prefix: 'conv',
  spatial: true,
  describe: (c) => {
    const g = geometry(c);
    return `conv${g.k}×${g.k} ${c.filters}${g.s > 1 ? ` stride ${g.s}` : ''}${g.pad === 'valid' ? ' valid' : ''}${g.bias ? '' : ' no bias'}`;
  },
  outputShape: (c, [x]) => {
    const g = geometry(c);
    need(x.length === 3, `conv2d needs [h, w, c] input, got [${x.join(', ')}]`);
    const h = outLength(x[0], g.k, g.s, g.pad);
    const w = outLength(x[1], g.k, g.s, g.pad);
    need(h >= 1 && w >= 1, `conv2d ${g.k}×${g.k} 'valid' needs at least ${g.k}×${g.k}, got ${x[0]}×${x[1]}`);
    return [h, w, c.filters];
  },
  params: ({ cfg, name, inputShapes: [x] }, kind) => {
    const g = geometry(cfg);
    const fanIn = g.k * g.k * x[2];
    const fanOut = g.k * g.k * cfg.filters;
    return [
      { name: `${name}/kernel`, shape: [g.k, g.k, x[2], cfg.filters], kind, fanIn, fanOut },
      ...(g.bias ? [{ name: `${name}/bias`, shape: [cfg.filters], kind: 'none' as const, fanIn, fanOut }] : []),
    ];
  },
  fusesRelu: true,
  prune: 'conv',
  forward: ({ cfg, inputs: [x], param, relu, mode }) => {
    const g = geometry(cfg);
    const h = x.t as tf.Tensor4D;
    const filter = param('kernel') as tf.Tensor4D;
    const bias = g.bias ? (param('bias') as tf.Tensor1D) : undefined;
    // a conv without bias (ResNet's, before BatchNorm) takes the same fused kernel with a constant zero
    // bias: adding +0 changes no value, and the tape asks no gradient of a constant
    if (mode.lth && g.k === 3 && g.s === 1 && g.pad === 'same') return { t: ops.conv2d(h, filter, bias ?? tf.zeros([cfg.filters]), { relu }), col: false };
    if (mode.lth) {
      const z = ops.conv2dStrided(h, filter, bias, g.s, g.pad);
      return { t: relu ? tf.relu(z) : z, col: false };
    }
    if (mode.fuse) return { t: tf.fused.conv2d({ x: h, filter, bias, strides: g.s, pad: g.pad, activation: relu ? 'relu' : 'linear' }), col: false };
    const z = tf.conv2d(h, filter, g.s, g.pad);
    return { t: bias ? tf.add(z, bias) : z, col: false };
  },
  // each kernel weight is used once per output position
  macs: ({ outputShape: [h, w] }) => ({ kernel: h * w }),
  units: 'own',
  unitParams: (c) => ({ kernel: 'kernel', bias: c.useBias === false ? null : 'bias' }),
  toLayers: ({ cfg, name, relu, weight, tfl }) => {
    const g = geometry(cfg);
    return {
      layer: tfl.layers.conv2d({
        filters: weight('kernel').shape[3],
        kernelSize: g.k,
        strides: g.s,
        padding: g.pad,
        useBias: g.bias,
        activation: relu ? 'relu' : 'linear',
        name,
      }),
      weights: g.bias ? [weight('kernel'), weight('bias')] : [weight('kernel')],
    };
  },
};
