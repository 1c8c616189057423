import type * as tf from '@tensorflow/tfjs-core';

/** Which pruning rate applies to a weight tensor. Biases are `none`: never pruned. */
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
}

export interface Model {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly params: readonly ParamSpec[];
  /** logits for a training batch; `w` holds one tensor per param, by name, in held layout (see ParamSpec.layout) */
  forward(w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor): tf.Tensor2D;
  /**
   * The same logits, for evaluation (no gradient), from weights in stored layout
   * (ParamSpec.shape). Row layout with the weights as the second matMul operand: they do not
   * change between evaluation chunks, so XNNPACK packs them once per evaluation, not per chunk.
   */
  predict(w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor): tf.Tensor2D;
}

/** Weights as plain arrays: what strategies transform, what storage writes, backend-independent. */
export type Weights = Record<string, Float32Array>;
/** 1 = kept, 0 = pruned; only prunable tensors have an entry. */
export type Masks = Record<string, Uint8Array>;

export const isPrunable = (p: ParamSpec): boolean => p.kind !== 'none';
