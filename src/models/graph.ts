import { tf } from '../util/tf.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { transpose } from '../kernels/index.js';
import { UserError } from '../util/index.js';
import { dense } from './layers/dense.js';
import { LAYERS } from './layers/registry.js';
import type { ExportWeight, LayerDef, Mode, Node, Shape, TflLayer, Value } from './layers/types.js';
import type { LayerKind, ParamGroup, ParamSpec } from './types.js';

/**
 * A model as a graph of named layers and the one interpreter that walks it: the training forward
 * pass, prediction, activation taps, multiply-add counts, unit coupling and the tfjs-layers
 * export all read the same resolved graph (docs/DESIGN.md#models). Layer kinds are in
 * src/models/layers/ (one file each).
 */

/** A node with its kind, configuration, shapes and parameters resolved. */
export interface GraphNode {
  readonly name: string;
  readonly kind: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the config type is the kind's
  readonly def: LayerDef<any>;
  readonly cfg: Record<string, unknown>;
  /** names of earlier nodes or "input" */
  readonly inputs: readonly string[];
  readonly inputShapes: readonly Shape[];
  readonly outputShape: Shape;
  readonly params: readonly ParamSpec[];
}

export interface Graph {
  /** per example, e.g. [784] or [28, 28, 1] */
  readonly inputShape: Shape;
  /** in evaluation order; the last is the output layer "output" (logits) */
  readonly nodes: readonly GraphNode[];
  /** every node's parameters and state, in node order: the keys of every stored weight file */
  readonly params: readonly ParamSpec[];
}

/** The registry of kinds a graph may use: LAYERS, or LAYERS plus kinds of the caller's own. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see LAYERS
export type LayerKinds = Readonly<Record<string, LayerDef<any>>>;

const INPUT = 'input';

/** Splits a node into its kind, name, inputs and configuration. */
function parts(n: Node): { kind: string; name?: string; inputs?: readonly string[]; cfg: Record<string, unknown> } {
  const { kind, name, inputs, ...cfg } = n;
  return { kind, name, inputs, cfg };
}

/** The name each node gets: its own, or its kind's prefix and a running number (conv1, conv2, fc1, …). */
function names(layers: readonly Node[], kinds: LayerKinds): string[] {
  const counters = new Map<string, number>();
  const out = layers.map((n) => {
    const def = kinds[n.kind];
    if (!def) throw new UserError(`unknown layer kind "${n.kind}": use one of ${Object.keys(kinds).join(', ')}`);
    counters.set(def.prefix, (counters.get(def.prefix) ?? 0) + 1);
    return n.name ?? `${def.prefix}${counters.get(def.prefix)}`;
  });
  const dup = out.find((n, i) => out.indexOf(n) !== i || n === INPUT);
  if (dup) throw new UserError(`two layers are named "${dup}": give each layer its own name ("${INPUT}" is the model's input)`);
  return out;
}

/** Per-example shapes through the graph, or the first node whose inputs do not fit. */
function walk(
  layers: readonly Node[],
  named: readonly string[],
  inputShape: Shape,
  kinds: LayerKinds,
): { shapes: Map<string, Shape>; failed?: { node: string; why: string } } {
  const shapes = new Map<string, Shape>([[INPUT, inputShape]]);
  for (const [i, n] of layers.entries()) {
    const { kind, inputs, cfg } = parts(n);
    const ins = (inputs ?? [i === 0 ? INPUT : named[i - 1]]).map((x) => {
      const s = shapes.get(x);
      if (!s) throw new UserError(`layer "${named[i]}" takes "${x}", which is not an earlier layer: name an earlier layer or "${INPUT}"`);
      return s;
    });
    try {
      shapes.set(named[i], kinds[kind].outputShape(cfg, ins));
    } catch (e) {
      return { shapes, failed: { node: named[i], why: (e as Error).message } };
    }
  }
  return { shapes };
}

/** "3 2×2 max-pools": what makes images smaller, for messages. */
function reducers(layers: readonly Node[]): string {
  const pools = layers.filter((n) => n.kind === 'maxPooling2d').length;
  const others = layers.some((n) => n.kind !== 'maxPooling2d' && ((n.strides as number | undefined) ?? 1) > 1);
  return others ? 'its pools and strides' : `${pools} 2×2 max-pool${pools === 1 ? '' : 's'}`;
}

/**
 * Resolves a model's layers (the output dense layer of `numClasses` units, named "output", is
 * appended) over examples of `inputShape`: names, shapes and parameters of every node.
 * @throws UserError naming the model and what it accepts: an image model on flat input, images
 *   too small for its pools, an unknown kind, a duplicate name, an input that is not an earlier layer
 */
export function resolveGraph(model: string, layers: readonly Node[], inputShape: Shape, numClasses: number, kinds: LayerKinds = LAYERS): Graph {
  return resolveNodes(model, [...layers, dense(numClasses, { name: 'output', prune: 'output' })], inputShape, numClasses, kinds);
}

/**
 * As resolveGraph, for a node list that already ends in its output layer (a model read from a
 * file: its last dense layer, prune kind `output`).
 * @throws UserError as resolveGraph, and when the last node does not give `numClasses` logits
 */
export function resolveNodes(model: string, all: readonly Node[], inputShape: Shape, numClasses: number, kinds: LayerKinds = LAYERS): Graph {
  const named = names(all, kinds);
  const spatial = all.some((n) => kinds[n.kind]?.spatial);
  const minSide = () => {
    for (let s = 1; s <= 4096; s++) if (!walk(all, named, [s, s, inputShape[2] ?? 1], kinds).failed) return s;
    return Infinity;
  };
  if (spatial && (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1))) {
    const m = minSide();
    throw new UserError(
      `model ${model} needs image input [h, w, c], images of at least ${m}×${m} (${reducers(all)}); this data set has shape [${inputShape.join(', ')}]: use an image data set or an MLP such as lenet-300-100`,
    );
  }
  const { shapes, failed } = walk(all, named, inputShape, kinds);
  if (failed && spatial) {
    const m = minSide();
    if (Number.isFinite(m) && (inputShape[0] < m || inputShape[1] < m))
      throw new UserError(
        `model ${model} needs images of at least ${m}×${m} (${reducers(all)}); this data set's images are ${inputShape[0]}×${inputShape[1]}, which its pools reduce to nothing: use larger images or a model with fewer pools`,
      );
  }
  if (failed) throw new UserError(`model ${model}, layer ${failed.node}: ${failed.why}`);
  const out = shapes.get(named[named.length - 1])!;
  if (out.length !== 1 || out[0] !== numClasses)
    throw new UserError(
      `model ${model} ends in layer ${named[named.length - 1]} of shape [${out.join(', ')}], but the data set has ${numClasses} classes: end the model in a dense layer of ${numClasses} units`,
    );
  const nodes: GraphNode[] = all.map((n, i) => {
    const { kind, cfg, inputs } = parts(n);
    const def = kinds[kind];
    const ins = inputs ?? [i === 0 ? INPUT : named[i - 1]];
    const c = { cfg, name: named[i], inputShapes: ins.map((x) => shapes.get(x)!), outputShape: shapes.get(named[i])! };
    const prune: LayerKind = (cfg.prune as LayerKind | undefined) ?? def.prune ?? 'none';
    return { ...c, kind, def, inputs: ins, params: def.params?.(c, prune) ?? [] };
  });
  return { inputShape, nodes, params: nodes.flatMap((n) => n.params) };
}

/** Per node name, the nodes that take it as an input (one pass over the graph). */
function consumerMap(g: Graph): Map<string, GraphNode[]> {
  const out = new Map<string, GraphNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) out.set(i, [...(out.get(i) ?? []), n]);
  return out;
}

/** ReLU nodes computed by the layer before them (its only consumer, a kind that `fusesRelu`). */
function fusedRelus(g: Graph, uses: Map<string, GraphNode[]>): Set<string> {
  const out = new Set<string>();
  for (const n of g.nodes) {
    const c = uses.get(n.name) ?? [];
    if (n.def.fusesRelu && c.length === 1 && c[0].kind === 'relu') out.add(c[0].name);
  }
  return out;
}

/** The four passes of the interpreter. */
export const MODES = {
  /** training on wasm/cpu: lth's gradients, column-layout dense layers, BatchNorm on batch statistics */
  trainLth: { training: true, lth: true, fuse: true },
  /** training on webgpu/tensorflow: tfjs's fused ops and gradients */
  train: { training: true, lth: false, fuse: true },
  /** evaluation: fused ops, BatchNorm on running statistics, weights in stored layout */
  predict: { training: false, lth: false, fuse: true },
  /** activation taps: plain ops, one per step, so every ReLU output exists (src/models/activations.ts) */
  taps: { training: false, lth: false, fuse: false },
} as const satisfies Record<string, Mode>;

/** The layer that made the units a node's output carries along its last axis (conv1 for conv1's ReLU and pool). */
export function unitOwner(g: Graph, name: string): string {
  const n = g.nodes.find((m) => m.name === name);
  return n && n.def.units === 'keep' && n.inputs[0] !== INPUT ? unitOwner(g, n.inputs[0]) : name;
}

export interface RunOptions {
  readonly mode: Mode;
  /** called on every ReLU output (unfused modes only); its result flows on (activation taps add probes) */
  readonly tap?: (relu: GraphNode, value: tf.Tensor) => tf.Tensor;
  /** receives updated state tensors by parameter name in training mode (BatchNorm's running statistics) */
  readonly setState?: (param: string, value: tf.Tensor) => void;
}

/**
 * Frees each node's output as soon as its last consumer has run (call after a node has set its
 * value): a deep net's pre-ReLU and pre-add tensors are then gone before the backward pass,
 * a third of its activation memory. A tensor some gradient saved lives on in the tape's clone
 * (tfjs shares the data), so this never frees what the backward pass reads; the tape itself only
 * reads shapes of its inputs. Names that alias one tensor (a ReLU fused into its layer) count
 * together; the graph input and the last node's output are never freed here.
 */
function releaser(g: Graph, uses: Map<string, GraphNode[]>, values: Map<string, Value>): (n: GraphNode) => void {
  const pending = new Map<tf.Tensor, number>();
  const last = g.nodes[g.nodes.length - 1].name;
  const add = (name: string) => {
    const t = values.get(name)!.t;
    pending.set(t, (pending.get(t) ?? 0) + (name === last ? Infinity : (uses.get(name) ?? []).length));
  };
  add(INPUT);
  pending.set(values.get(INPUT)!.t, Infinity);
  return (n) => {
    add(n.name);
    for (const i of n.inputs) {
      const t = values.get(i)!.t;
      const left = pending.get(t)! - 1;
      pending.set(t, left);
      if (left === 0) t.dispose();
    }
  };
}

const toRow = (v: Value): Value => (v.col ? { t: transpose(v.t as tf.Tensor2D), col: false } : v);

/**
 * The forward pass of a graph: logits [n, classes] for a batch x [n, prod(inputShape)] (or
 * already [n, ...inputShape]). `w` holds every parameter and state tensor by name (held layout
 * in MODES.trainLth, stored layout otherwise).
 */
export function runGraph(g: Graph, w: Readonly<Record<string, tf.Tensor>>, x: tf.Tensor, o: RunOptions): tf.Tensor2D {
  const values = new Map<string, Value>([[INPUT, { t: tf.reshape(x, [x.shape[0], ...g.inputShape]), col: false }]]);
  const uses = consumerMap(g);
  const fused = o.mode.fuse ? fusedRelus(g, uses) : new Set<string>();
  // the taps pass hands its ReLU outputs to the caller: nothing is freed there
  const release = o.tap ? () => {} : releaser(g, uses, values);
  for (const n of g.nodes) {
    if (fused.has(n.name)) {
      values.set(n.name, values.get(n.inputs[0])!);
      release(n);
      continue;
    }
    const inputs = n.inputs.map((i) => (n.def.columns ? values.get(i)! : toRow(values.get(i)!)));
    const c = uses.get(n.name) ?? [];
    let v: Value = n.def.forward({
      cfg: n.cfg,
      name: n.name,
      inputShapes: n.inputShapes,
      outputShape: n.outputShape,
      inputs,
      param: (s: string) => w[`${n.name}/${s}`],
      relu: c.length === 1 && fused.has(c[0].name),
      mode: o.mode,
      setState: (s: string, t: tf.Tensor) => o.setState?.(`${n.name}/${s}`, t),
    });
    if (o.tap && n.kind === 'relu') v = { t: o.tap(n, v.t), col: v.col };
    values.set(n.name, v);
    release(n);
  }
  return toRow(values.get(g.nodes[g.nodes.length - 1].name)!).t as tf.Tensor2D;
}

/**
 * Forward multiply-adds per example of one kept weight, per prunable tensor: 1 for a dense
 * kernel, the output positions h·w for a convolution's kernel (each weight is used once per
 * position). A layer's forward multiply-adds = Σ its kept weights × this (Evci et al. 2020, App. H).
 */
export function macsPerWeight(g: Graph): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of g.nodes) {
    const m = n.def.macs?.(n) ?? {};
    for (const [suffix, v] of Object.entries(m)) {
      const p = n.params.find((q) => q.name === `${n.name}/${suffix}`);
      if (p && p.kind !== 'none') out[p.name] = v;
    }
  }
  return out;
}

/** A kernel that a group's units feed: input rows i with i mod U = u carry unit u. */
export interface UnitNext {
  readonly kernel: string;
  /** the kernel's input size (U, or h·w·U through a flatten) and output size */
  readonly in: number;
  readonly out: number;
}

/**
 * Units (neurons, filters) that are pruned as wholes: one layer's, or, where residual adds sum
 * the channels of several layers, one group of theirs (channel c of every member is one unit).
 */
export interface UnitCoupling {
  /** the layer ("fc1", "b1_conv1"), or the group's layers joined by "+" ("stem+b1_conv2+b2_conv2+b3_conv2") */
  readonly layer: string;
  readonly kind: 'conv' | 'fc';
  /** the kernels whose last axis is the units, one per layer of the group */
  readonly kernels: readonly string[];
  /** the per-unit tensor [units] whose mask records which units are alive: the first layer's bias, or the γ of the BatchNorm after a conv without bias */
  readonly alive: string;
  /**
   * every trained per-unit tensor masked with the unit, `alive` first: the layers' biases and the
   * γ, β of the BatchNorm nodes their units pass (β would otherwise keep a pruned unit's output
   * alive)
   */
  readonly vectors: readonly string[];
  /** model state per unit on the way (BatchNorm's running mean and variance): never masked, cut out with the unit at export */
  readonly state: readonly string[];
  /** units (output channels / neurons) */
  readonly units: number;
  /** the kernels the units feed, in node order */
  readonly nexts: readonly UnitNext[];
}

/** Layers that make units but are not unit-prunable, and why (for messages). */
export interface UnitLeftOut {
  /** as UnitCoupling.layer */
  readonly layer: string;
  readonly kind: 'conv' | 'fc';
  readonly kernels: readonly string[];
  readonly why: string;
}

/**
 * Unit coupling, read from the graph, in the spirit of Torch-Pruning's dependency graph (Fang et
 * al. 2023, docs/PAPERS.md#fang-2023): every node output carries a channel space along its last
 * axis; a layer that makes units (conv2d, dense) starts one, a layer that keeps units (ReLU,
 * pooling, flatten, BatchNorm) passes its input's on, and an `add` joins its inputs' spaces into
 * one. Each joined space whose makers are hidden conv/dense layers is one group: pruning unit c
 * masks kernel column c of every maker, entry c of their biases and of the γ, β of every
 * BatchNorm in the space (`vectors`), and input rows ≡ c (mod U) of every kernel that reads the
 * space (`nexts`: through a flatten input i = position·U + c). A space is left out (unitsLeftOut
 * says why) when it includes the model's input, reaches a node that mixes units or a layer
 * with parameters that are not per unit, has no bias or BatchNorm to record its units, or feeds
 * no kernel. The output layer's units are never pruned.
 */
export function unitCouplings(g: Graph): UnitCoupling[] {
  return traceAll(g).filter((t): t is UnitCoupling => 'nexts' in t);
}

/** The unit-making layers (conv2d, hidden dense) that unitCouplings leaves out, each with why. */
export function unitsLeftOut(g: Graph): UnitLeftOut[] {
  return traceAll(g).filter((t): t is UnitLeftOut => 'why' in t);
}

interface Space {
  makers: GraphNode[];
  /** per-unit tensors of the makers and of BatchNorm nodes in the space, in node order */
  vectors: string[];
  state: string[];
  nexts: UnitNext[];
  /** why the space cannot be pruned, when it cannot */
  blocked?: string;
}

/** Channel spaces of the graph, joined by adds (union–find over space numbers); see unitCouplings. */
function channelSpaces(g: Graph): { spaces: Map<number, Space>; root: (node: string) => number } {
  const parent: number[] = [];
  const make = () => parent.push(parent.length) - 1;
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const of = new Map<string, number>([[INPUT, make()]]);
  const mixers: GraphNode[] = [];
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => of.get(i)!);
    if (n.def.units === 'keep') of.set(n.name, ins[0]);
    else if (n.def.units === 'sum') {
      for (const x of ins.slice(1)) parent[find(x)] = find(ins[0]);
      of.set(n.name, ins[0]);
    } else {
      of.set(n.name, make());
      if (n.def.units !== 'own' || !n.def.unitParams) mixers.push(n);
    }
  }
  const root = (node: string) => find(of.get(node)!);
  const spaces = new Map<number, Space>();
  const at = (r: number): Space => spaces.get(r) ?? spaces.set(r, { makers: [], vectors: [], state: [], nexts: [] }).get(r)!;
  const block = (r: number, why: string) => (at(r).blocked ??= why);
  block(root(INPUT), "is summed with the model's input");
  for (const n of mixers) for (const i of n.inputs) block(root(i), `feeds ${n.kind} ${n.name}, which mixes its units`);
  for (const n of g.nodes) {
    const unitParams = n.def.unitParams?.(n.cfg) as { kernel: string; bias: string | null } | undefined;
    if (n.def.units === 'own' && unitParams) {
      const kernel = n.params.find((p) => p.name === `${n.name}/${unitParams.kernel}`)!;
      const s = at(root(n.name));
      s.makers.push(n);
      if (unitParams.bias !== null) s.vectors.push(`${n.name}/${unitParams.bias}`);
      const sh = kernel.shape;
      for (const i of n.inputs) at(root(i)).nexts.push({ kernel: kernel.name, in: sh[sh.length - 2], out: sh[sh.length - 1] });
    } else if (n.def.units === 'keep' && n.params.length > 0) {
      const s = at(root(n.name));
      if (!n.def.unitMasked) s.blocked ??= `feeds ${n.kind} ${n.name}, whose parameters would keep a pruned unit alive`;
      for (const p of n.params) (p.role === 'state' ? s.state : s.vectors).push(p.name);
    }
  }
  return { spaces, root };
}

function traceAll(g: Graph): (UnitCoupling | UnitLeftOut)[] {
  const { spaces, root } = channelSpaces(g);
  const out: (UnitCoupling | UnitLeftOut)[] = [];
  const seen = new Set<number>();
  for (const n of g.nodes) {
    if (n.def.units !== 'own' || !n.def.unitParams || seen.has(root(n.name))) continue;
    seen.add(root(n.name));
    const s = spaces.get(root(n.name))!;
    const kernels = s.makers.map((m) => m.params.find((p) => p.name === `${m.name}/${(m.def.unitParams!(m.cfg) as { kernel: string }).kernel}`)!);
    // the output layer's space: never pruned, not worth a message
    if (kernels.some((k) => k.kind === 'output')) continue;
    const kind = kernels[0].kind as 'conv' | 'fc';
    const why =
      s.blocked ??
      (s.vectors.length === 0 ? 'has no bias and no BatchNorm after it to record its units' : s.nexts.length === 0 ? 'feeds no later kernel' : null);
    const layer = s.makers.map((m) => m.name).join('+');
    if (why) out.push({ layer, kind, kernels: kernels.map((k) => k.name), why });
    else
      out.push({
        layer,
        kind,
        kernels: kernels.map((k) => k.name),
        alive: s.vectors[0],
        vectors: s.vectors,
        state: s.state,
        units: kernels[0].shape[kernels[0].shape.length - 1],
        nexts: s.nexts,
      });
  }
  return out;
}

/**
 * The graph as a tfjs-layers functional model (`tf.model({inputs, outputs})`), each node the
 * kind's tfjs-layers layer under the node's name, a ReLU fused into the layer before it as its
 * activation (as the training pass fuses it), weights from `weight` (stored layout, by parameter
 * name; possibly slimmed). Loadable with plain `tf.loadLayersModel` once saved. The caller disposes it.
 */
export function toLayersModel(g: Graph, weight: (param: string) => ExportWeight, layers: typeof tfl): tfl.LayersModel {
  const sym = new Map<string, tfl.SymbolicTensor>([[INPUT, layers.input({ shape: [...g.inputShape] })]]);
  const uses = consumerMap(g);
  const fused = fusedRelus(g, uses);
  const toSet: { layer: TflLayer; weights: ExportWeight[] }[] = [];
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => sym.get(i)!);
    if (fused.has(n.name)) {
      sym.set(n.name, ins[0]);
      continue;
    }
    const r = n.def.toLayers({
      cfg: n.cfg,
      name: n.name,
      inputShapes: n.inputShapes,
      outputShape: n.outputShape,
      relu: (uses.get(n.name) ?? []).some((c) => fused.has(c.name)),
      weight: (s: string) => weight(`${n.name}/${s}`),
      tfl: layers,
    });
    if (!r) {
      sym.set(n.name, ins[0]);
      continue;
    }
    sym.set(n.name, r.layer.apply(ins.length === 1 ? ins[0] : ins) as tfl.SymbolicTensor);
    toSet.push(r);
  }
  const model = layers.model({ inputs: sym.get(INPUT)!, outputs: sym.get(g.nodes[g.nodes.length - 1].name)! });
  for (const r of toSet) {
    const values = r.weights.map((v) => tf.tensor(v.data, v.shape));
    r.layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}

/** A node list in words, a ReLU joined to the layer before it, e.g. "conv3×3 64 relu, maxpool2×2, flatten, fc 256 relu, output". */
export function describeLayers(layers: readonly Node[], kinds: LayerKinds = LAYERS): string {
  const words: string[] = [];
  for (const n of layers) {
    const w = kinds[n.kind].describe(parts(n).cfg);
    if (n.kind === 'relu' && words.length > 0 && !n.inputs) words[words.length - 1] += ` ${w}`;
    else words.push(w);
  }
  return [...words, 'output'].join(', ');
}

/**
 * The `training.freeze` group of each of the graph's trained parameters, by name: `batchnorm`
 * (γ, β of a batchNormalization node), `output` (the output layer) or `others`. Model state
 * belongs to no group (it is never stepped).
 */
export function paramGroup(g: Graph): Map<string, ParamGroup> {
  const out = new Map<string, ParamGroup>();
  for (const n of g.nodes)
    for (const p of n.params)
      if (p.role !== 'state') out.set(p.name, n.kind === 'batchNormalization' ? 'batchnorm' : n.name === 'output' ? 'output' : 'others');
  return out;
}
