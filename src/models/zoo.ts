import * as tf from '@tensorflow/tfjs-core';
import { transpose } from '../kernels/index.js';
import type { Plan } from './layers.js';
import * as ops from './ops.js';
import { checkInput } from './registry.js';
import type { Model, ParamSpec } from './types.js';

/**
 * Models as tensors: one builder for every layer list of src/models/registry.ts. Training
 * (`forward`) and inference (`predict`) share the image part and differ only in the layout of
 * the dense stack, which is the ops' business (see ops.denseT and docs/PERFORMANCE.md).
 */

type W = Readonly<Record<string, tf.Tensor>>;

/**
 * Dense layers (kernel/bias pairs, in order; ReLU between them, none after the last) on a
 * batch x [n, in]. Computed in column layout (activations [features, n], kernels held
 * [out, in]; see ops.denseT): one transpose in, one out.
 */
function denseStack(w: W, x: tf.Tensor2D, layers: readonly ParamSpec[]): tf.Tensor2D {
  let hT = transpose(x);
  for (let i = 0; i < layers.length; i += 2) {
    const relu = i + 2 < layers.length;
    hT = ops.denseT(hT, w[layers[i].name] as tf.Tensor2D, w[layers[i + 1].name] as tf.Tensor1D, { relu, x: i === 0 ? x : undefined });
  }
  return transpose(hT);
}

/** The same stack for inference (and training on webgpu/tensorflow), in row layout from stored-layout kernels, bias+ReLU fused into the GEMM. */
function denseStackPredict(w: W, x: tf.Tensor2D, layers: readonly ParamSpec[]): tf.Tensor2D {
  let h = x;
  for (let i = 0; i < layers.length; i += 2) {
    const activation = i + 2 < layers.length ? 'relu' : 'linear';
    h = tf.fused.matMul({ a: h, b: w[layers[i].name] as tf.Tensor2D, bias: w[layers[i + 1].name], activation }) as tf.Tensor2D;
  }
  return h;
}

/** The conv/pool part on x [n, prod(inputShape)] (or already [n, h, w, c]); returns [n, flat]. */
function features(p: Plan, w: W, x: tf.Tensor, lthGradients: boolean): tf.Tensor2D {
  const n = x.shape[0];
  if (!p.image) return tf.reshape(x, [n, p.flat]);
  let h = tf.reshape(x, [n, ...p.image]) as tf.Tensor4D;
  for (const s of p.features) {
    if (s.kind === 'pool') h = ops.maxPool(h);
    else {
      const filter = w[s.kernel] as tf.Tensor4D;
      const bias = w[s.bias] as tf.Tensor1D;
      h = lthGradients ? ops.conv2d(h, filter, bias, { relu: true }) : tf.fused.conv2d({ x: h, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
    }
  }
  return tf.reshape(h, [n, p.flat]);
}

/**
 * Builds a registered model for examples of `inputShape` and `numClasses` classes.
 * @throws UserError for an unknown model or an input it cannot take (see registry.checkInput).
 */
export function buildModel(name: string, inputShape: readonly number[], numClasses: number): Model {
  const planned = checkInput(name, inputShape, numClasses);
  // Column layout and lth's own gradients only where they were tuned for (wasm, cpu; see
  // ops.usesLthGradients); webgpu and tensorflow train in row layout with tfjs's fused ops and
  // gradients. Decided here, when the model is built, i.e. after the backend is chosen.
  const lth = ops.usesLthGradients();
  const p = lth ? planned : rowLayout(planned);
  return {
    name,
    inputShape,
    numClasses,
    params: p.params,
    forward: (w, x) => (lth ? denseStack : denseStackPredict)(w, features(p, w, x, lth), p.dense),
    // inference needs no gradients: tfjs's fused conv (bias and ReLU in the conv kernel, one
    // pass instead of three) on every backend
    predict: (w, x) => denseStackPredict(w, features(p, w, x, false), p.dense),
  };
}

/** The plan with every kernel held as stored (no column layout). */
function rowLayout(p: Plan): Plan {
  const row = (q: ParamSpec): ParamSpec => {
    const { layout, ...rest } = q;
    void layout;
    return rest;
  };
  return { ...p, params: p.params.map(row), dense: p.dense.map(row) };
}
