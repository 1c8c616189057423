import { tf } from '../../util/tf.js';
import * as ops from '../ops.js';
import type { ParamSpec } from '../types.js';
import type { LayerDef, Node } from './types.js';

/**
 * Batch normalization over the last (channel) axis (Ioffe & Szegedy 2015; tfjs-layers / Keras
 * `batchNormalization`): y = γ·(x − μ)/√(σ² + ε) + β per channel.
 * - training mode: μ, σ² are the batch's mean and biased variance over examples (and positions);
 *   the running statistics move to r ← m·r + (1 − m)·b, with b = μ for the mean and the
 *   unbiased batch variance σ²·N/(N − 1) for the variance (N values per channel), as PyTorch's
 *   BatchNorm2d and OpenLTH do;
 * - inference mode (evaluation, predict, export): μ, σ² are the running statistics.
 * Defaults momentum m = 0.9 and ε = 1e-5: PyTorch's momentum 0.1 and eps 1e-5 (OpenLTH's
 * ResNets and VGG), written in Keras' convention so the exported layer computes the same.
 * γ (starts 1) and β (0) are trained and never pruned by weight, but filter pruning masks a
 * pruned channel's γ and β with its conv's filter (docs/DESIGN.md#structured); moving_mean (0)
 * and moving_variance (1) are model state (ParamSpec.role 'state', docs/DESIGN.md#model-state).
 */
export interface BatchNormConfig {
  /** default 0.9 (r ← m·r + (1 − m)·batch) */
  readonly momentum?: number;
  /** default 1e-5 */
  readonly epsilon?: number;
}

export const batchNormalization = (more: BatchNormConfig & { name?: string; inputs?: string[] } = {}): Node => ({ kind: 'batchNormalization', ...more });

const MOMENTUM = 0.9;
const EPSILON = 1e-5;

export const batchNormalizationDef: LayerDef<BatchNormConfig> = {
  prefix: 'bn',
  describe: () => 'batchnorm',
  outputShape: (_c, [x]) => x,
  params: ({ name, inputShapes: [x] }) => {
    const c = x[x.length - 1];
    const p = (suffix: string, more: Partial<ParamSpec> = {}): ParamSpec => ({
      name: `${name}/${suffix}`,
      shape: [c],
      kind: 'none',
      fanIn: c,
      fanOut: c,
      ...more,
    });
    return [p('gamma', { fill: 1 }), p('beta'), p('moving_mean', { role: 'state' }), p('moving_variance', { role: 'state', fill: 1 })];
  },
  forward: ({ cfg, inputs: [x], param, mode, setState }) => {
    const eps = cfg.epsilon ?? EPSILON;
    const [gamma, beta] = [param('gamma'), param('beta')] as tf.Tensor1D[];
    if (!mode.training) return { t: tf.batchNorm(x.t, param('moving_mean'), param('moving_variance'), beta, gamma, eps), col: false };
    const { y, mean, variance } = ops.batchNormTrain(x.t, gamma, beta, eps);
    const m = cfg.momentum ?? MOMENTUM;
    const count = x.t.size / x.t.shape[x.t.shape.length - 1];
    const unbiased = count > 1 ? count / (count - 1) : 1;
    setState('moving_mean', tf.add(tf.mul(param('moving_mean'), m), tf.mul(mean, 1 - m)));
    setState('moving_variance', tf.add(tf.mul(param('moving_variance'), m), tf.mul(variance, (1 - m) * unbiased)));
    return { t: y, col: false };
  },
  units: 'keep',
  // filter pruning masks γ and β of a pruned channel: y = 0·x̂ + 0 = 0 in training and inference mode
  unitMasked: true,
  toLayers: ({ cfg, name, weight, tfl }) => ({
    layer: tfl.layers.batchNormalization({ axis: -1, momentum: cfg.momentum ?? MOMENTUM, epsilon: cfg.epsilon ?? EPSILON, name }),
    weights: [weight('gamma'), weight('beta'), weight('moving_mean'), weight('moving_variance')],
  }),
};
