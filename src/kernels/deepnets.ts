import { tf } from '../util/tf.js';
import { fusedOn } from './wasm.js';

/**
 * Kernels of the deep nets' layers (BatchNorm, ReLU, global average pooling) that only the native backend registers
 * (src/kernels/native.ts; native/src/batchnorm.c, eltwise.c). Callers ask `hasBatchNormKernels()`
 * / `hasReluGrad()` and otherwise run tfjs's own ops, so wasm, cpu, webgpu and tensorflow keep
 * their numerics (docs/PERFORMANCE.md, "ResNet-20 on native").
 */

export const BATCH_MOMENTS = 'LthBatchMoments';
export const BATCH_NORM_GRAD = 'LthBatchNormGrad';
export const RELU_GRAD = 'LthReluGrad';
export const GLOBAL_AVG_POOL = 'LthGlobalAvgPool';
export const GLOBAL_AVG_POOL_GRAD = 'LthGlobalAvgPoolGrad';

/** Whether this backend has the batch-moments and BatchNorm-gradient kernels. */
export const hasBatchNormKernels = (): boolean => fusedOn(BATCH_MOMENTS) && fusedOn(BATCH_NORM_GRAD);

/**
 * The batch moments of x [..., c] over every axis but the last: [mean [c], biased variance [c]]
 * (float64 sums, two passes: Σ(x − mean)²/N). Not differentiable: see ops.batchNormTrain.
 */
export function batchMoments(x: tf.Tensor): [tf.Tensor1D, tf.Tensor1D] {
  return tf.engine().runKernel(BATCH_MOMENTS, { x }) as unknown as [tf.Tensor1D, tf.Tensor1D];
}

/**
 * [dx, dγ, dβ] of y = (x − μ)·γ/√(σ² + ε) + β over x [..., c] when μ, σ² are x's own batch moments
 * (batchMoments), given dy (Ioffe & Szegedy 2015, §3): with x̂ = (x − μ)/√(σ² + ε) and N values
 * per channel, dβ = Σdy, dγ = Σdy·x̂, dx = γ/√(σ² + ε)·(dy − dβ/N − x̂·dγ/N).
 */
export function batchNormGrad(
  dy: tf.Tensor,
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x, gamma, mean, variance }, { epsilon } as unknown as tf.NamedAttrMap) as unknown as [
    tf.Tensor,
    tf.Tensor1D,
    tf.Tensor1D,
  ];
}

/** Whether this backend has the one-pass ReLU gradient. */
export const hasReluGrad = (): boolean => fusedOn(RELU_GRAD);

/** dy·step(y) for a ReLU's output y (tfjs's ReLU gradient, in one pass). */
export function reluGrad<T extends tf.Tensor>(dy: T, y: T): T {
  return tf.engine().runKernel(RELU_GRAD, { dy, y }) as T;
}

/** Whether this backend has the global-average-pooling kernels. */
export const hasGlobalAvgPool = (): boolean => fusedOn(GLOBAL_AVG_POOL) && fusedOn(GLOBAL_AVG_POOL_GRAD);

/** The mean of x [n, h, w, c] over h and w → [n, c] (float64 sums). */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.engine().runKernel(GLOBAL_AVG_POOL, { x }) as tf.Tensor2D;
}

/** Its gradient w.r.t. x given dy [n, c]: dx [n, h, w, c] = dy / (h·w) at every position. */
export function globalAvgPoolGrad(dy: tf.Tensor2D, shape: readonly number[]): tf.Tensor4D {
  return tf.engine().runKernel(GLOBAL_AVG_POOL_GRAD, { dy }, { shape: [...shape] } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
