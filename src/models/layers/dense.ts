import { tf } from '../../util/tf.js';
import { transpose } from '../../kernels/index.js';
import * as ops from '../ops.js';
import type { LayerKind } from '../types.js';
import { need, size, type LayerDef, type Node } from './types.js';

/**
 * A fully connected layer (tfjs-layers / Keras `dense`): y = x·W + b, x [n, in], kernel W
 * [in, units] (stored layout; held [units, in] while training on wasm/cpu, see ops.denseT), bias
 * b [units]. Its input must be flat (put a `flatten` before it). Prune kind 'fc', or 'output'
 * for the output layer every model gets.
 */
export interface DenseConfig {
  readonly units: number;
  /** default true */
  readonly useBias?: boolean;
  /** which pruning rate applies to its kernel; default 'fc' */
  readonly prune?: Exclude<LayerKind, 'none'>;
}

export const dense = (units: number, more: Omit<DenseConfig, 'units'> & { name?: string; inputs?: string[] } = {}): Node => ({ kind: 'dense', units, ...more });

export const denseDef: LayerDef<DenseConfig> = {
  prefix: 'fc',
  describe: (c) => `fc ${c.units}`,
  outputShape: (c, [x]) => {
    need(x.length === 1, `dense needs flat input, got [${x.join(', ')}]: put a flatten before it`);
    return [c.units];
  },
  params: ({ cfg, name, inputShapes: [x] }, kind) => {
    const fanIn = size(x);
    const fanOut = cfg.units;
    return [
      { name: `${name}/kernel`, shape: [fanIn, fanOut], kind, fanIn, fanOut, layout: 'transposed' },
      ...(cfg.useBias === false ? [] : [{ name: `${name}/bias`, shape: [fanOut], kind: 'none' as const, fanIn, fanOut }]),
    ];
  },
  columns: true,
  fusesRelu: true,
  prune: 'fc',
  forward: ({ cfg, inputs: [x], param, relu, mode }) => {
    const bias = cfg.useBias === false ? null : (param('bias') as tf.Tensor1D);
    if (mode.lth && bias) {
      // column layout: the first dense layer transposes its input once and hands over the row
      // form for its kernel gradient (ops.denseT)
      const xT = x.col ? (x.t as tf.Tensor2D) : transpose(x.t as tf.Tensor2D);
      return { t: ops.denseT(xT, param('kernel') as tf.Tensor2D, bias, { relu, x: x.col ? undefined : (x.t as tf.Tensor2D) }), col: true };
    }
    const h = x.col ? transpose(x.t as tf.Tensor2D) : (x.t as tf.Tensor2D);
    const k = param('kernel') as tf.Tensor2D;
    // held transposed only in lth mode, i.e. here only when a bias-free layer trains on wasm/cpu
    const kRow = mode.lth ? transpose(k) : k;
    if (mode.fuse) return { t: tf.fused.matMul({ a: h, b: kRow, bias: bias ?? undefined, activation: relu ? 'relu' : 'linear' }), col: false };
    const z = tf.matMul(h, kRow);
    return { t: bias ? tf.add(z, bias) : z, col: false };
  },
  macs: () => ({ kernel: 1 }),
  units: 'own',
  unitParams: (c) => ({ kernel: 'kernel', bias: c.useBias === false ? null : 'bias' }),
  toLayers: ({ cfg, name, relu, weight, tfl }) => ({
    layer: tfl.layers.dense({ units: weight('kernel').shape[1], useBias: cfg.useBias !== false, activation: relu ? 'relu' : 'linear', name }),
    weights: cfg.useBias === false ? [weight('kernel')] : [weight('kernel'), weight('bias')],
  }),
};
