import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind, ParamSpec } from '../types.js';

/**
 * What a layer kind declares (one file per kind in this folder, one line in registry.ts). The
 * interpreter (src/models/graph.ts) is the only code that walks a model; everything it knows
 * about a kind is here. docs/DESIGN.md#adding-a-layer.
 */

/** A per-example shape: [units] for flat features, [h, w, c] (NHWC) for images. */
export type Shape = readonly number[];

/** How a pass runs; src/models/graph.ts names the four passes (train, predict, taps). */
export interface Mode {
  /** BatchNorm on batch statistics (true) or on the running statistics (false) */
  readonly training: boolean;
  /** lth's own gradients and column layout (src/models/ops.ts), for training on wasm and cpu */
  readonly lth: boolean;
  /** bias and a following ReLU fused into the layer's op; false: plain ops, one per step (activation taps) */
  readonly fuse: boolean;
}

/** A value flowing along the graph: [n, ...shape], or `col`: a flat [features, n] (column layout, ops.denseT). */
export interface Value {
  readonly t: tf.Tensor;
  readonly col: boolean;
}

/** One weight tensor as export sees it: stored layout, possibly slimmed (dead units cut out). */
export interface ExportWeight {
  readonly data: Float32Array;
  readonly shape: number[];
}

export interface LayerContext<C> {
  readonly cfg: C;
  /** the node's name, e.g. "conv1" (its parameters are "conv1/kernel", …) */
  readonly name: string;
  /** per-example shapes of the inputs */
  readonly inputShapes: readonly Shape[];
  /** per-example shape of the output */
  readonly outputShape: Shape;
}

export interface ForwardContext<C> extends LayerContext<C> {
  /** the inputs; row layout unless the kind declares `columns` */
  readonly inputs: readonly Value[];
  /** the node's parameter or state tensor by suffix ("kernel", "moving_mean"), held layout */
  readonly param: (suffix: string) => tf.Tensor;
  /** true: the node's only consumer is a ReLU the node must apply itself (kinds with `fusesRelu`) */
  readonly relu: boolean;
  readonly mode: Mode;
  /** in training mode: hands over the updated value of a state tensor (BatchNorm's running statistics) */
  readonly setState: (suffix: string, value: tf.Tensor) => void;
}

export interface LayerDef<C> {
  /** the prefix of automatic names: conv → conv1, conv2, … (the stored parameter names) */
  readonly prefix: string;
  /** in words, for --help and the README catalog, e.g. "conv3×3 64" */
  describe(cfg: C): string;
  /** true for kinds that need [h, w, c] input: a model using one needs image data */
  readonly spatial?: boolean;
  /**
   * The output shape for the given inputs.
   * @throws Error (the interpreter turns it into one UserError naming the model) when the inputs do not fit
   */
  outputShape(cfg: C, inputs: readonly Shape[]): Shape;
  /** the prune kind of its kernel (which rate applies), unless a node's `prune` says otherwise (the output layer) */
  readonly prune?: Exclude<LayerKind, 'none'>;
  /** parameters and state, named `${name}/${suffix}`; `kind` is the node's prune kind */
  params?(c: LayerContext<C>, kind: LayerKind): ParamSpec[];
  /** the forward pass on a batch */
  forward(c: ForwardContext<C>): Value;
  /** accepts column-layout inputs (Value.col) */
  readonly columns?: boolean;
  /** can apply a following ReLU itself (ForwardContext.relu) */
  readonly fusesRelu?: boolean;
  /** forward multiply-adds per example of one kept weight, per parameter suffix (kernels only) */
  macs?(c: LayerContext<C>): Record<string, number>;
  /**
   * Units (neurons/filters) along the last axis: 'own' = the layer makes them (its kernel's last
   * axis, with `unitParams`), 'keep' = it passes its input's units through (ReLU, pooling,
   * BatchNorm, flatten: channel c stays channel c, flatten keeps c = i mod C), 'sum' = its
   * output's unit c is a function of unit c of each input (add), which couples its inputs'
   * units into one group (src/models/graph.ts unitCouplings). Absent: it mixes its input's
   * units; unit pruning stops there.
   */
  readonly units?: 'own' | 'keep' | 'sum';
  /**
   * For 'keep' kinds with parameters: every parameter is one value per unit ([units]), and a
   * unit's output is exactly 0 once its trained parameters are masked to 0 (BatchNorm:
   * γ·x̂ + β), so unit pruning passes through the node and masks them with the unit
   * (src/models/graph.ts unitCouplings). A 'keep' kind with parameters without it stops unit pruning.
   */
  readonly unitMasked?: boolean;
  /** for 'own': the suffixes of the kernel and bias whose last axis is the units (no bias: its units are recorded in a following `unitMasked` node, or not unit-prunable) */
  unitParams?(cfg: C): { kernel: string; bias: string | null };
  /**
   * The tfjs-layers layer equal to this node (the node's name, `relu` fused as its activation),
   * and its weights in tfjs-layers' order; null: the node is the identity at export.
   */
  toLayers(
    c: LayerContext<C> & { relu: boolean; weight: (suffix: string) => ExportWeight; tfl: typeof tfl },
  ): { layer: TflLayer; weights: ExportWeight[] } | null;
}

/** tfjs-layers' Layer class (the package does not export its name). */
export type TflLayer = ReturnType<typeof tfl.layers.conv3dTranspose>;

/** A node of a model graph: a registered kind, its configuration, an optional name and inputs. */
export interface Node {
  readonly kind: string;
  /** defaults to the kind's prefix and a running number (conv1, conv2, fc1, …) */
  readonly name?: string;
  /** names of earlier nodes, or "input"; defaults to the previous node */
  readonly inputs?: readonly string[];
  readonly [config: string]: unknown;
}

/** Helper for kinds: the product of a shape's entries. */
export const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** Helper for kinds: a shape check that fails with `what` (the interpreter adds the model and node). */
export function need(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}
