import type * as tf from '@tensorflow/tfjs-core';
import { MODES, resolveGraph, runGraph, type Graph, type LayerKinds } from './graph.js';
import type { Node } from './layers/index.js';
import * as ops from './ops.js';
import { checkInput } from './registry.js';
import { modelLabel, resolveModel, type ModelSpec } from './source.js';
import type { Model, ParamSpec } from './types.js';

/**
 * Models as tensors: a resolved layer graph (src/models/graph.ts) and its three passes.
 * Training (`forward`, `forwardTrain`) and inference (`predict`) differ in the ops the layers
 * pick (lth's fused kernels and column layout on wasm/cpu, see ops.denseT and
 * docs/PERFORMANCE.md) and in BatchNorm's statistics (batch vs running).
 */

/**
 * Builds a registered model for examples of `inputShape` and `numClasses` classes, at `width`
 * (the spec's `model.width`; null: the model's own).
 * @throws UserError for an unknown model, an input it cannot take or a width it does not take (see registry.checkInput).
 */
export function buildModel(name: string, inputShape: readonly number[], numClasses: number, width: number | null = null): Model {
  return modelOf(name, checkInput(name, inputShape, numClasses, width), numClasses);
}

/**
 * Builds the model a spec's `model` section names (a registered name, a file, a module;
 * src/models/source.ts) for examples of `inputShape` and `numClasses` classes.
 * @throws UserError for a model that cannot be read or cannot take the data (see resolveModel)
 */
export function buildSpecModel(m: ModelSpec, inputShape: readonly number[], numClasses: number): Model {
  const g = resolveModel(m, inputShape, numClasses);
  return modelOf(modelLabel(m), g, numClasses);
}

/**
 * A model from a layer list of the caller's (`kinds`: the layer registry, LAYERS by default, or
 * LAYERS plus kinds of the caller's own); as buildModel, for models and layers not registered.
 */
export function buildGraphModel(name: string, layers: readonly Node[], inputShape: readonly number[], numClasses: number, kinds?: LayerKinds): Model {
  return modelOf(name, resolveGraph(name, layers, inputShape, numClasses, kinds), numClasses);
}

function modelOf(name: string, graph: Graph, numClasses: number): Model {
  // Column layout and lth's own gradients only where they were tuned for (wasm, cpu; see
  // ops.usesLthGradients); webgpu and tensorflow train in row layout with tfjs's fused ops and
  // gradients. Decided here, when the model is built, i.e. after the backend is chosen.
  const lth = ops.usesLthGradients();
  const params = lth ? graph.params : graph.params.map(rowLayout);
  const mode = lth ? MODES.trainLth : MODES.train;
  const forwardTrain = (w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor) => {
    const state: Record<string, tf.Tensor> = {};
    const logits = runGraph(graph, w, x, { mode, setState: (p, t) => (state[p] = t) });
    return { logits, state };
  };
  return {
    name,
    inputShape: graph.inputShape,
    numClasses,
    params,
    graph,
    forward: (w, x) => forwardTrain(w, x).logits,
    forwardTrain,
    predict: (w, x) => runGraph(graph, w, x, { mode: MODES.predict }),
  };
}

/** The tensor held as stored (no column layout). */
function rowLayout(q: ParamSpec): ParamSpec {
  const { layout, ...rest } = q;
  void layout;
  return rest;
}
