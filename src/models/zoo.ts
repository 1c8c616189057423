import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.js';
import { transpose } from '../kernels/index.js';
import * as ops from './ops.js';
import type { LayerKind, Model, ParamSpec } from './types.js';

/** Architectures from Frankle & Carbin (2019) Fig. 2 (docs/PAPERS.md#frankle-carbin-2019). */

function denseParams(name: string, fanIn: number, fanOut: number, kind: LayerKind): ParamSpec[] {
  // Column layout only where lth's own gradients run (wasm, cpu; see ops.usesLthGradients):
  // decided when the model is built, i.e. after the backend is chosen.
  const layout = ops.usesLthGradients() ? { layout: 'transposed' as const } : {};
  return [
    { name: `${name}/kernel`, shape: [fanIn, fanOut], kind, fanIn, fanOut, ...layout },
    { name: `${name}/bias`, shape: [fanOut], kind: 'none', fanIn, fanOut },
  ];
}

function convParams(name: string, cin: number, cout: number): ParamSpec[] {
  // Glorot fans for a 3×3 kernel count the receptive field.
  const fanIn = 9 * cin;
  const fanOut = 9 * cout;
  return [
    { name: `${name}/kernel`, shape: [3, 3, cin, cout], kind: 'conv', fanIn, fanOut },
    { name: `${name}/bias`, shape: [cout], kind: 'none', fanIn, fanOut },
  ];
}

/**
 * Dense layers (kernel/bias pairs, in order; ReLU between them, none after the last) on a
 * batch x [n, in]. Computed in column layout (activations [features, n], kernels held
 * [out, in]; see ops.denseT): one transpose in, one out.
 */
function denseStack(w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor2D, layers: readonly ParamSpec[]): tf.Tensor2D {
  // Row layout (kernels held as stored): tfjs's fused matMul and its own gradient.
  if (layers[0].layout !== 'transposed') return denseStackPredict(w, x, layers);
  let hT = transpose(x);
  for (let i = 0; i < layers.length; i += 2) {
    const relu = i + 2 < layers.length;
    hT = ops.denseT(hT, w[layers[i].name] as tf.Tensor2D, w[layers[i + 1].name] as tf.Tensor1D, { relu, x: i === 0 ? x : undefined });
  }
  return transpose(hT);
}

/** The same stack for inference (and training on webgpu/tensorflow), in row layout from stored-layout kernels, bias+ReLU fused into the GEMM. */
function denseStackPredict(w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor2D, layers: readonly ParamSpec[]): tf.Tensor2D {
  let h = x;
  for (let i = 0; i < layers.length; i += 2) {
    const activation = i + 2 < layers.length ? 'relu' : 'linear';
    h = tf.fused.matMul({ a: h, b: w[layers[i].name] as tf.Tensor2D, bias: w[layers[i + 1].name], activation }) as tf.Tensor2D;
  }
  return h;
}

/** A fully connected net: hidden sizes then the output layer. */
function mlp(name: string, inputShape: readonly number[], hidden: number[], numClasses: number): Model {
  const inSize = inputShape.reduce((a, b) => a * b, 1);
  const sizes = [inSize, ...hidden, numClasses];
  const params: ParamSpec[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const last = i === sizes.length - 2;
    params.push(...denseParams(last ? 'output' : `fc${i + 1}`, sizes[i], sizes[i + 1], last ? 'output' : 'fc'));
  }
  return {
    name,
    inputShape,
    numClasses,
    params,
    forward(w, x) {
      return denseStack(w, tf.reshape(x, [x.shape[0], inSize]) as tf.Tensor2D, params);
    },
    predict(w, x) {
      return denseStackPredict(w, tf.reshape(x, [x.shape[0], inSize]) as tf.Tensor2D, params);
    },
  };
}

/** Conv-2/4/6: blocks of two 3×3 convs then 2×2 max-pool; then FC 256-256-10. */
function convNet(name: string, inputShape: readonly number[], blocks: number[], numClasses: number): Model {
  if (inputShape.length !== 3) throw new UserError(`model ${name} needs image input [h, w, c]; this data set has shape [${inputShape}]: use lenet-300-100`);
  const [h0, w0, c0] = inputShape;
  const params: ParamSpec[] = [];
  const convs: { name: string; poolAfter: boolean }[] = [];
  let cin = c0;
  blocks.forEach((c, b) => {
    for (let j = 0; j < 2; j++) {
      const n = `conv${2 * b + j + 1}`;
      params.push(...convParams(n, cin, c));
      convs.push({ name: n, poolAfter: j === 1 });
      cin = c;
    }
  });
  const scale = 2 ** blocks.length;
  const flat = Math.floor(h0 / scale) * Math.floor(w0 / scale) * cin;
  const features = (w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor): tf.Tensor4D => {
    let h = tf.reshape(x, [x.shape[0], h0, w0, c0]) as tf.Tensor4D;
    const lth = ops.usesLthGradients();
    for (const c of convs) {
      const filter = w[`${c.name}/kernel`] as tf.Tensor4D;
      const bias = w[`${c.name}/bias`] as tf.Tensor1D;
      h = lth ? tf.relu(ops.conv2d(h, filter, bias)) : tf.fused.conv2d({ x: h, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
      if (c.poolAfter) h = ops.maxPool(h);
    }
    return h;
  };
  const denseLayers = [...denseParams('fc1', flat, 256, 'fc'), ...denseParams('fc2', 256, 256, 'fc'), ...denseParams('output', 256, numClasses, 'output')];
  params.push(...denseLayers);
  return {
    name,
    inputShape,
    numClasses,
    params,
    forward(w, x) {
      return denseStack(w, tf.reshape(features(w, x), [x.shape[0], flat]) as tf.Tensor2D, denseLayers);
    },
    predict(w, x) {
      return denseStackPredict(w, tf.reshape(features(w, x), [x.shape[0], flat]) as tf.Tensor2D, denseLayers);
    },
  };
}

type Builder = (inputShape: readonly number[], numClasses: number) => Model;

const MODELS: Record<string, Builder> = {
  'lenet-300-100': (s, k) => mlp('lenet-300-100', s, [300, 100], k),
  'mlp-small': (s, k) => mlp('mlp-small', s, [32, 16], k),
  'conv-2': (s, k) => convNet('conv-2', s, [64], k),
  'conv-4': (s, k) => convNet('conv-4', s, [64, 128], k),
  'conv-6': (s, k) => convNet('conv-6', s, [64, 128, 256], k),
};

export function buildModel(name: string, inputShape: readonly number[], numClasses: number): Model {
  const b = MODELS[name];
  if (!b) throw new UserError(`unknown model "${name}": use one of ${Object.keys(MODELS).join(', ')}`);
  return b(inputShape, numClasses);
}
