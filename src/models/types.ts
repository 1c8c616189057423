import type * as tf from '@tensorflow/tfjs-core';
import type { Graph } from './graph.js';

/** Which pruning rate applies to a weight tensor. Biases, BatchNorm's γ/β and model state are `none`: never pruned. */
export type LayerKind = 'conv' | 'fc' | 'output' | 'none';

export interface ParamSpec {
  /** stable name, e.g. "fc1/kernel"; the key of this tensor in every stored weight file */
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: LayerKind;
  /** for initializers */
  readonly fanIn: number;
  readonly fanOut: number;
  /**
   * How the model holds this tensor while it computes (absent = as `shape`). 'transposed': a
   * dense kernel [in, out] held as [out, in], which makes the wasm training step ~3 ms faster
   * (see ops.denseT). Everything outside a running model — stored files, masks, strategies,
   * criteria — sees `shape`; src/models/layout.ts converts at the boundary.
   */
  readonly layout?: 'transposed';
  /**
   * 'state': model state, not a parameter (BatchNorm's running mean and variance): stored with
   * the weights in every weight file, updated by the training forward pass, never stepped by the
   * optimizer and never masked (docs/DESIGN.md#model-state). Absent = a trained parameter.
   */
  readonly role?: 'state';
  /** the constant a tensor of kind 'none' starts from (γ and running variance: 1); absent = 0 */
  readonly fill?: number;
}

export interface Model {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly params: readonly ParamSpec[];
  /** the layer graph the model interprets (src/models/graph.ts): MACs, unit coupling, export read it */
  readonly graph: Graph;
  /** logits for a training batch; `w` holds one tensor per param, by name, in held layout (see ParamSpec.layout) */
  forward(w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor): tf.Tensor2D;
  /**
   * The training forward pass with its model state: logits and, per state tensor (role
   * 'state'), its updated value from this batch's statistics (held layout; empty for models
   * without state). The caller assigns the state after the optimizer step, outside the gradient.
   */
  forwardTrain(w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor): { logits: tf.Tensor2D; state: Record<string, tf.Tensor> };
  /**
   * The same logits, for evaluation (no gradient; BatchNorm in inference mode, on the running
   * statistics), from weights in stored layout (ParamSpec.shape). Row layout with the weights as
   * the second matMul operand: they do not change between evaluation chunks, so XNNPACK packs
   * them once per evaluation, not per chunk.
   */
  predict(w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor): tf.Tensor2D;
}

/** Weights as plain arrays: what strategies transform, what storage writes, backend-independent. */
export type Weights = Record<string, Float32Array>;
/** 1 = kept, 0 = pruned; only prunable tensors have an entry. */
export type Masks = Record<string, Uint8Array>;

export const isPrunable = (p: ParamSpec): boolean => p.kind !== 'none';
/** Whether the optimizer steps this tensor (every parameter but model state). */
export const isTrained = (p: ParamSpec): boolean => p.role !== 'state';

/** The parameter groups `training.freeze` names (OpenLTH's hparams): BatchNorm's γ and β, the output layer, everything else. */
export const PARAM_GROUPS = ['batchnorm', 'output', 'others'] as const;
export type ParamGroup = (typeof PARAM_GROUPS)[number];
