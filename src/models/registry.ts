import { UserError } from '../util/index.js';
import { convTiny } from './conv-tiny.js';
import { convBlocks, dense, describeLayers, plan, type Layer } from './layers.js';

/**
 * Every model lth knows, by the name a spec gives in `model.name`. The spec's enum, `lth run
 * --help`, the bench's model list and the README table all derive from this object. Adding a
 * model = one file declaring its ModelDef (see conv-tiny.ts) + one line here.
 * Pure data (no tfjs): src/models/zoo.ts builds the tensors' side from `layers`.
 */
export interface ModelDef {
  /** one line for --help and the README: what the model is and where it comes from */
  readonly help: string;
  /** the layers before the output layer, which every model gets (see layers.ts) */
  readonly layers: readonly Layer[];
  /** in `lth bench`'s default model list ('quick': also in --quick's) */
  readonly bench?: 'quick' | 'full';
}

export const MODELS = {
  'lenet-300-100': { help: 'LeNet-300-100 (Frankle & Carbin 2019, Fig. 2)', layers: [dense(300), dense(100)], bench: 'quick' },
  'conv-2': { help: 'Conv-2 (Frankle & Carbin 2019, Fig. 2; a VGG-style net)', layers: [...convBlocks(64), dense(256), dense(256)], bench: 'quick' },
  'conv-4': { help: 'Conv-4 (Frankle & Carbin 2019, Fig. 2)', layers: [...convBlocks(64, 128), dense(256), dense(256)], bench: 'full' },
  'conv-6': { help: 'Conv-6 (Frankle & Carbin 2019, Fig. 2)', layers: [...convBlocks(64, 128, 256), dense(256), dense(256)], bench: 'full' },
  'mlp-small': { help: 'a small MLP for tests and smoke runs', layers: [dense(32), dense(16)] },
  'conv-tiny': convTiny,
} as const satisfies Record<string, ModelDef>;

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];

const defOf = (name: string): ModelDef => {
  const d = (MODELS as Record<string, ModelDef>)[name];
  if (!d) throw new UserError(`unknown model "${name}": use one of ${MODEL_NAMES.join(', ')}`);
  return d;
};

/** The model's layers in words, e.g. "LeNet-300-100 (…): fc 300, fc 100, output". */
export const modelHelp = (name: string): string => `${defOf(name).help}: ${describeLayers(defOf(name).layers)}`;

/** Whether the model starts with convolutions, i.e. needs [h, w, c] input. */
export const needsImage = (name: string): boolean => defOf(name).layers.some((l) => l.kind !== 'dense');

/**
 * Checks that the model can take examples of `inputShape` (per example, e.g. [784] or
 * [28, 28, 1]); returns its layer plan.
 * @throws UserError naming the model and the sizes it accepts (unknown model; convolutions on
 *   flat input; images too small for the model's pools).
 */
export function checkInput(name: string, inputShape: readonly number[], numClasses = 10): ReturnType<typeof plan> {
  return plan(name, defOf(name).layers, inputShape, numClasses);
}

/** The models `lth bench` times by default (`quick`: with --quick). */
export const benchModels = (quick = false): ModelName[] =>
  MODEL_NAMES.filter((n) => {
    const b = (MODELS[n] as ModelDef).bench;
    return quick ? b === 'quick' : b !== undefined;
  });
