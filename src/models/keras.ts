import { UserError } from '../util/index.js';
import { add } from './layers/add.js';
import { averagePooling2d } from './layers/average-pooling2d.js';
import { batchNormalization } from './layers/batch-normalization.js';
import { conv2d } from './layers/conv2d.js';
import { dense } from './layers/dense.js';
import { flatten } from './layers/flatten.js';
import { globalAveragePooling2d } from './layers/global-average-pooling2d.js';
import { maxPooling2d } from './layers/max-pooling2d.js';
import { relu } from './layers/relu.js';
import type { Node, Shape } from './layers/types.js';

/**
 * A Keras / tfjs-layers model topology (the `modelTopology` of a tfjs `model.json`, as
 * `tensorflowjs_converter` writes it from Keras and tfjs' `model.save('file://…')` writes it) as
 * lth's layer graph (docs/DESIGN.md#model-files). Each Keras layer becomes the lth node of the
 * same name (so parameters are "<layer>/kernel", …, the names in the file's weights manifest, and
 * an export carries the file's names); a Dense/Conv2D `activation: "relu"` becomes a ReLU node
 * after it, which the interpreter fuses back. InputLayer is the graph's input, Dropout is the
 * identity, and the model's last layer must be a dense layer: it is the output layer (prune kind
 * `output`), whose softmax, if any, is dropped (lth trains on logits).
 */

/** A Keras layer as the JSON gives it. */
interface KerasLayer {
  readonly class_name: string;
  readonly config: Record<string, unknown>;
  readonly name?: string;
  readonly inbound_nodes?: unknown[];
}

/** What a converter sees of one layer. */
interface Conv {
  /** the layer's name */
  readonly name: string;
  readonly cfg: Record<string, unknown>;
  /** the lth nodes its inputs are (aliases followed) */
  readonly inputs: string[];
  /** whether this layer is the model's output */
  readonly isOutput: boolean;
  /** one line naming the file and the layer */
  fail(what: string): never;
}

/** A converter's result: nodes (the last carries the layer's output), or an alias of its one input (identity layers). */
type Converted = { nodes: Node[] } | { alias: string };

/** A square size from a Keras int or [a, b] pair. */
function square(c: Conv, key: string, dflt?: number): number {
  const v = c.cfg[key] ?? dflt;
  const pair = Array.isArray(v) ? (v as number[]) : [v as number, v as number];
  if (pair.length !== 2 || pair[0] !== pair[1] || !Number.isInteger(pair[0]))
    c.fail(`${key} ${JSON.stringify(v)} is not square; lth supports square windows and strides only`);
  return pair[0];
}

/** NHWC only, no dilation. */
function channelsLast(c: Conv): void {
  if ((c.cfg.data_format ?? 'channels_last') !== 'channels_last') c.fail(`data_format ${String(c.cfg.data_format)}; lth supports channels_last only`);
  for (const k of ['dilation_rate']) if (c.cfg[k] !== undefined && square(c, k) !== 1) c.fail(`${k} ${JSON.stringify(c.cfg[k])}; lth supports no dilation`);
  if ((c.cfg.groups ?? 1) !== 1) c.fail(`groups ${String(c.cfg.groups)}; lth supports groups 1 only`);
}

/** The padding of a conv or pool. */
function padding(c: Conv): 'same' | 'valid' {
  const p = c.cfg.padding ?? 'valid';
  if (p !== 'same' && p !== 'valid') c.fail(`padding ${JSON.stringify(p)}; lth supports "same" and "valid"`);
  return p;
}

/** The node after a kernel layer for its `activation`: relu → a ReLU node; linear → none; softmax → none on the output layer. */
function activation(c: Conv, a: unknown, reluName: string): Node[] {
  const name = typeof a === 'string' ? a : ((a as { class_name?: string } | null)?.class_name ?? 'linear');
  if (name === 'linear' || name === 'Linear') return [];
  if (name === 'relu' || name === 'ReLU') return [relu({ name: reluName })];
  if ((name === 'softmax' || name === 'Softmax') && c.isOutput) return [];
  return c.fail(
    `activation ${JSON.stringify(name)}; lth supports "relu" and "linear" (and "softmax" on the output layer, which lth drops: it trains on logits)`,
  );
}

const one = (c: Conv): string => {
  if (c.inputs.length !== 1) c.fail(`${c.inputs.length} inputs; this layer takes one`);
  return c.inputs[0];
};

/** Keras class name → lth nodes. The keys are the classes lth reads (the "supported" list of every message). */
const CONVERTERS: Record<string, (c: Conv) => Converted> = {
  Dense: (c) => ({
    nodes: [
      dense(c.cfg.units as number, { name: c.name, useBias: c.cfg.use_bias !== false, inputs: [one(c)] }),
      ...activation(c, c.cfg.activation, `${c.name}_relu`),
    ],
  }),
  Conv2D: (c) => {
    channelsLast(c);
    const node = conv2d(c.cfg.filters as number, {
      name: c.name,
      kernelSize: square(c, 'kernel_size'),
      strides: square(c, 'strides', 1),
      padding: padding(c),
      useBias: c.cfg.use_bias !== false,
      inputs: [one(c)],
    });
    return { nodes: [node, ...activation(c, c.cfg.activation, `${c.name}_relu`)] };
  },
  BatchNormalization: (c) => {
    const axis = Array.isArray(c.cfg.axis) ? (c.cfg.axis as number[]) : [(c.cfg.axis ?? -1) as number];
    if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3 && axis[0] !== 1))
      c.fail(`axis ${JSON.stringify(c.cfg.axis)}; lth normalizes the last axis only`);
    if (c.cfg.center === false || c.cfg.scale === false) c.fail('center or scale false; lth supports BatchNormalization with both γ and β');
    const more = { momentum: (c.cfg.momentum ?? 0.99) as number, epsilon: (c.cfg.epsilon ?? 0.001) as number };
    return { nodes: [batchNormalization({ name: c.name, ...more, inputs: [one(c)] })] };
  },
  MaxPooling2D: (c) => {
    channelsLast(c);
    const k = square(c, 'pool_size', 2);
    return {
      nodes: [maxPooling2d({ name: c.name, poolSize: k, strides: c.cfg.strides == null ? k : square(c, 'strides'), padding: padding(c), inputs: [one(c)] })],
    };
  },
  AveragePooling2D: (c) => {
    channelsLast(c);
    const k = square(c, 'pool_size', 2);
    return {
      nodes: [
        averagePooling2d({ name: c.name, poolSize: k, strides: c.cfg.strides == null ? k : square(c, 'strides'), padding: padding(c), inputs: [one(c)] }),
      ],
    };
  },
  GlobalAveragePooling2D: (c) => {
    channelsLast(c);
    if (c.cfg.keepdims === true) c.fail('keepdims true; lth supports keepdims false');
    return { nodes: [globalAveragePooling2d({ name: c.name, inputs: [one(c)] })] };
  },
  Flatten: (c) => {
    channelsLast(c);
    return { nodes: [flatten({ name: c.name, inputs: [one(c)] })] };
  },
  Activation: (c) => {
    const nodes = activation(c, c.cfg.activation, c.name);
    return nodes.length ? { nodes: [{ ...nodes[0], inputs: [one(c)] }] } : { alias: one(c) };
  },
  ReLU: (c) => {
    if ((c.cfg.max_value ?? null) !== null || ((c.cfg.negative_slope ?? 0) as number) !== 0 || ((c.cfg.threshold ?? 0) as number) !== 0)
      c.fail('max_value, negative_slope or threshold set; lth supports the plain ReLU max(x, 0)');
    return { nodes: [relu({ name: c.name, inputs: [one(c)] })] };
  },
  Add: (c) => ({ nodes: [add(c.inputs, { name: c.name })] }),
  Dropout: (c) => ({ alias: one(c) }),
};
/** Other spellings Keras uses for the same classes. */
const SYNONYMS: Record<string, string> = { MaxPool2D: 'MaxPooling2D', AvgPool2D: 'AveragePooling2D', GlobalAvgPool2D: 'GlobalAveragePooling2D' };
const INPUT_LAYER = 'InputLayer';

/** The Keras classes lth reads, for messages. */
export const KERAS_LAYERS: readonly string[] = [INPUT_LAYER, ...Object.keys(CONVERTERS)];

/** A model read from a file: its per-example input shape and its nodes, the last being the output layer. */
export interface KerasGraph {
  readonly inputShape: Shape;
  readonly nodes: Node[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The names of the layers a Keras 2 (`[[name, node, tensor, kwargs], …]`) or Keras 3 (`{args: [keras tensors]}`) inbound node reads. */
function inboundNames(inbound: unknown[] | undefined): string[] {
  if (!inbound || inbound.length === 0) return [];
  const first = inbound[0];
  if (Array.isArray(first)) return first.map((x) => String((x as unknown[])[0]));
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObject(v)) {
      const hist = isObject(v.config) ? v.config.keras_history : undefined;
      if (v.class_name === '__keras_tensor__' && Array.isArray(hist)) out.push(String(hist[0]));
      else Object.values(v).forEach(visit);
    }
  };
  visit(isObject(first) ? first.args : first);
  return out;
}

/** The per-example input shape an InputLayer or first layer declares (batch_input_shape / batch_shape, without the batch axis). */
function declaredShape(cfg: Record<string, unknown>): number[] | undefined {
  const s = (cfg.batch_input_shape ?? cfg.batch_shape) as unknown[] | undefined;
  if (Array.isArray(s)) return s.slice(1) as number[];
  if (Array.isArray(cfg.input_shape)) return cfg.input_shape as number[];
  return undefined;
}

/**
 * Converts a model topology (`{class_name: "Sequential" | "Model" | "Functional", config}`,
 * possibly wrapped as `{model_config: …}`) to lth nodes.
 * @param where the file, for messages ("model.file net/model.json")
 * @throws UserError, one line naming the file, the layer and what lth supports: an unsupported
 *   layer class or setting, no declared input shape, several inputs or outputs, an output that is
 *   not a dense layer
 */
export function fromKeras(topology: unknown, where: string): KerasGraph {
  const top = isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology;
  if (!isObject(top) || typeof top.class_name !== 'string' || (!isObject(top.config) && !Array.isArray(top.config)))
    throw new UserError(`${where}: modelTopology has no class_name and config: give a model.json written by tensorflowjs_converter or tfjs model.save`);
  const cfg = top.config;
  const layers = (Array.isArray(cfg) ? cfg : cfg.layers) as KerasLayer[] | undefined;
  if (!Array.isArray(layers) || layers.length === 0) throw new UserError(`${where}: the model has no layers`);
  const sequential = top.class_name === 'Sequential';
  if (!sequential && top.class_name !== 'Model' && top.class_name !== 'Functional')
    throw new UserError(`${where}: a ${top.class_name} model; lth reads Sequential and functional (Model) models`);
  const nameOf = (l: KerasLayer, i: number) => String(l.name ?? l.config?.name ?? `layer${i}`);
  let inputShape: number[] | undefined;
  let inputName: string | undefined;
  if (!sequential) {
    const ins = (cfg as Record<string, unknown>).input_layers as unknown[][] | undefined;
    const outs = (cfg as Record<string, unknown>).output_layers as unknown[][] | undefined;
    const many = (v: unknown[][] | undefined) => Array.isArray(v) && Array.isArray(v[0]) && v.length !== 1;
    if (many(ins) || many(outs)) throw new UserError(`${where}: the model has several inputs or outputs; lth trains models of one input and one output`);
  }
  const alias = new Map<string, string>();
  const nodes: Node[] = [];
  const last = layers.length - 1;
  layers.forEach((l, i) => {
    const name = nameOf(l, i);
    const cls = SYNONYMS[l.class_name] ?? l.class_name;
    const fail = (what: string): never => {
      throw new UserError(`${where}: layer "${name}" (${l.class_name}) has ${what}`);
    };
    if (cls === INPUT_LAYER) {
      if (inputName !== undefined) throw new UserError(`${where}: the model has several inputs; lth trains models of one input and one output`);
      inputShape = declaredShape(l.config ?? {});
      inputName = name;
      alias.set(name, 'input');
      return;
    }
    const convert = CONVERTERS[cls];
    if (!convert)
      throw new UserError(
        `${where}: layer "${name}" is a ${l.class_name}, which lth cannot read; supported layers: ${KERAS_LAYERS.join(', ')} (convert or remove it)`,
      );
    if (inputShape === undefined && i === 0) inputShape = declaredShape(l.config ?? {});
    const from = sequential ? [i === 0 ? 'input' : nameOf(layers[i - 1], i - 1)] : inboundNames(l.inbound_nodes);
    const inputs = from.map((x) => alias.get(x) ?? x);
    const r = convert({ name, cfg: l.config ?? {}, inputs, isOutput: i === last, fail });
    if ('alias' in r) alias.set(name, r.alias);
    else {
      nodes.push(...r.nodes);
      alias.set(name, r.nodes[r.nodes.length - 1].name!);
    }
  });
  if (!inputShape || inputShape.some((d) => !Number.isInteger(d) || d < 1))
    throw new UserError(
      `${where}: the model declares no input shape (an InputLayer or the first layer's batch_input_shape): build it with an explicit input shape`,
    );
  const out = nodes[nodes.length - 1];
  if (!out || out.kind !== 'dense' || alias.get(nameOf(layers[last], last)) !== out.name)
    throw new UserError(
      `${where}: the model's last layer must be a dense layer (the output layer, one unit per class; a softmax after it is dropped); it ends in "${nameOf(layers[last], last)}" (${layers[last].class_name})`,
    );
  nodes[nodes.length - 1] = { ...out, prune: 'output' };
  return { inputShape, nodes };
}
