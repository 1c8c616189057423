import type { SpecInput } from '../spec/schema.js';
import { didYouMean, UserError } from '../util/index.js';
import { convTiny } from './conv-tiny.js';
import { resnet } from './resnet.js';
import { vgg } from './vgg.js';
import { describeLayers, resolveGraph, type Graph } from './graph.js';
import { conv2d, dense, flatten, LAYERS, maxPooling2d, relu, type Node } from './layers/index.js';

/**
 * Every model lth knows, by the name a spec gives in `model.name`. The spec's enum, `lth run
 * --help`, the bench's model list and the README table all derive from this object. Adding a
 * model = one file declaring its ModelDef (see conv-tiny.ts) + one line here.
 * Pure data (no tensors): src/models/graph.ts resolves and interprets `layers`.
 */
export interface ModelDef {
  /** one line for --help and the README: what the model is and where it comes from */
  readonly help: string;
  /**
   * the layer graph before the output dense layer ("output", numClasses units), which every
   * model gets; a function of the width for a model that declares `width`
   */
  readonly layers: readonly Node[] | ((width: number) => readonly Node[]);
  /** the model's own width (filters of its first stage) when it takes the spec's `model.width` */
  readonly width?: number;
  /**
   * The model's training recipe (OpenLTH's default_hparams), a spec fragment: a spec with
   * `"recipe": "model"` takes every field of it that it does not set (src/spec/recipe.ts); its
   * `training.augment` applies even without (augmentation on by default for these models).
   */
  readonly recipe?: Recipe;
  /** in `lth bench`'s default model list ('quick': also in --quick's) */
  readonly bench?: 'quick' | 'full';
}

/** A spec fragment: what a model's recipe may set. */
export type Recipe = Pick<SpecInput, 'model' | 'training' | 'pruning'>;

/** Hidden dense layers, each followed by ReLU. */
const fc = (...units: number[]): Node[] => units.flatMap((u) => [dense(u), relu()]);
/** VGG-style blocks (Frankle & Carbin's Conv-2/4/6): per entry, two 3×3 'same' convs of that width with ReLU, then a 2×2 max-pool. */
const convBlocks = (...filters: number[]): Node[] => filters.flatMap((f) => [conv2d(f), relu(), conv2d(f), relu(), maxPooling2d()]);

export const MODELS = {
  'lenet-300-100': { help: 'LeNet-300-100 (Frankle & Carbin 2019, Fig. 2)', layers: [flatten(), ...fc(300, 100)], bench: 'quick' },
  'conv-2': { help: 'Conv-2 (Frankle & Carbin 2019, Fig. 2; a VGG-style net)', layers: [...convBlocks(64), flatten(), ...fc(256, 256)], bench: 'quick' },
  'conv-4': { help: 'Conv-4 (Frankle & Carbin 2019, Fig. 2)', layers: [...convBlocks(64, 128), flatten(), ...fc(256, 256)], bench: 'full' },
  'conv-6': { help: 'Conv-6 (Frankle & Carbin 2019, Fig. 2)', layers: [...convBlocks(64, 128, 256), flatten(), ...fc(256, 256)], bench: 'full' },
  'mlp-small': { help: 'a small MLP for tests and smoke runs', layers: [flatten(), ...fc(32, 16)] },
  'conv-tiny': convTiny,
  'resnet-20': resnet(20),
  'resnet-32': resnet(32),
  'resnet-44': resnet(44),
  'resnet-56': resnet(56),
  'resnet-110': resnet(110),
  'vgg-11': vgg(11),
  'vgg-13': vgg(13),
  'vgg-16': vgg(16),
  'vgg-19': vgg(19),
} as const satisfies Record<string, ModelDef>;

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];

const defOf = (name: string): ModelDef => {
  const d = (MODELS as Record<string, ModelDef>)[name];
  if (!d) throw new UserError(`unknown model "${name}": use one of ${MODEL_NAMES.join(', ')}${didYouMean(name, MODEL_NAMES)}`);
  return d;
};

/**
 * The model's layers at `width` (null: its own).
 * @throws UserError for a width given to a model that takes none
 */
export function layersOf(name: string, width: number | null = null): readonly Node[] {
  const d = defOf(name);
  if (typeof d.layers !== 'function') {
    if (width !== null)
      throw new UserError(
        `model ${name} takes no width (model.width = ${width}): remove model.width, or use a model that takes one (${widthModels().join(', ')})`,
      );
    return d.layers;
  }
  return d.layers(width ?? d.width!);
}

const widthModels = () => MODEL_NAMES.filter((n) => (MODELS[n] as ModelDef).width !== undefined);

/**
 * The model's layers in words, e.g. "LeNet-300-100 (…): flatten, fc 300, relu, fc 100, relu,
 * output"; a model family with a width (ResNets, VGG: up to 110 layers) is described by its help line.
 */
export const modelHelp = (name: string): string =>
  defOf(name).width === undefined ? `${defOf(name).help}: ${describeLayers(layersOf(name))}` : defOf(name).help;

/** Whether the model has image layers (convolutions, pools), i.e. needs [h, w, c] input. */
export const needsImage = (name: string): boolean => layersOf(name).some((n) => LAYERS[n.kind]?.spatial);

/**
 * Checks that the model, at `width` (null: its own; the spec's `model.width`), can take
 * examples of `inputShape` (per example, e.g. [784] or [28, 28, 1]); returns its resolved layer graph.
 * @throws UserError naming the model and the sizes it accepts (unknown model; convolutions on
 *   flat input; images too small for the model's pools; a width for a model that takes none).
 */
export function checkInput(name: string, inputShape: readonly number[], numClasses = 10, width: number | null = null): Graph {
  return resolveGraph(name, layersOf(name, width), inputShape, numClasses);
}

/** The models `lth bench` times by default (`quick`: with --quick). */
export const benchModels = (quick = false): ModelName[] =>
  MODEL_NAMES.filter((n) => {
    const b = (MODELS[n] as ModelDef).bench;
    return quick ? b === 'quick' : b !== undefined;
  });
