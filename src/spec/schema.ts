import { z } from 'zod';
import { it, parseStep } from './step.js';

/**
 * The one declaration of every hyperparameter: its type, its default and its help text.
 * Validation, `--set` overrides, `lth spec --help` and the experiment's identity hash all
 * derive from this schema. Defaults are Frankle & Carbin (2019)'s LeNet-300-100 / MNIST
 * setup, so a default never silently differs from the paper.
 */

const step = z
  .union([z.string(), z.number().int().nonnegative(), z.strictObject({ value: z.number().nonnegative(), unit: z.enum(['it', 'ep']) })])
  .transform((v, ctx) => {
    try {
      return typeof v === 'object' ? parseStep(`${v.value}${v.unit}`) : parseStep(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

export const DATASETS = ['mnist', 'fashion-mnist', 'cifar10', 'synthetic'] as const;
export const MODELS = ['lenet-300-100', 'conv-2', 'conv-4', 'conv-6', 'mlp-small'] as const;

const normalize = z.union([
  z.literal('dataset').describe("the dataset's usual per-channel mean/std (MNIST 0.1307/0.3081)"),
  z.literal('none').describe('pixels scaled to [0, 1] only'),
  z.strictObject({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }),
]);

export const dataSchema = z.strictObject({
  dataset: z.enum(DATASETS).default('mnist').describe('which data set to train on'),
  validation: z.number().int().nonnegative().default(5000).describe('examples held out of the training set for early stopping (F&C: 5000)'),
  normalize: normalize.default('dataset').describe("input normalization: 'dataset', 'none' or {mean:[..], std:[..]}"),
  trainSubset: z.number().int().positive().nullable().default(null).describe('use only the first N training examples (after the validation split); null = all'),
  testSubset: z.number().int().positive().nullable().default(null).describe('use only the first N test examples; null = all'),
  synthetic: z
    .strictObject({
      train: z.number().int().positive().default(2000),
      test: z.number().int().positive().default(500),
      features: z.number().int().positive().default(64),
      classes: z.number().int().min(2).default(4),
    })
    .prefault({})
    .describe('size of the generated data set when dataset = synthetic'),
});

export const modelSchema = z.strictObject({
  name: z.enum(MODELS).default('lenet-300-100').describe('network architecture'),
  init: z.enum(['glorot-normal', 'he-normal']).default('glorot-normal').describe('weight initializer (biases start at 0)'),
});

const optimizer = z.discriminatedUnion('name', [
  z.strictObject({
    name: z.literal('adam'),
    lr: z.number().positive().default(1.2e-3),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    epsilon: z.number().positive().default(1e-8),
  }),
  z.strictObject({
    name: z.literal('sgd'),
    lr: z.number().positive().default(0.1),
    momentum: z.number().min(0).max(1).default(0.9),
    weightDecay: z.number().min(0).default(0),
  }),
]);

const schedule = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant') }),
  z.strictObject({
    kind: z.literal('step'),
    milestones: z.array(step).min(1).describe('steps at which the LR is multiplied by gamma'),
    gamma: z.number().positive().default(0.1),
  }),
]);

export const trainingSchema = z.strictObject({
  optimizer: optimizer.default({ name: 'adam', lr: 1.2e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }).describe('optimizer and its settings'),
  schedule: schedule.default({ kind: 'constant' }).describe('learning-rate schedule'),
  warmup: step.default(it(0)).describe('linear LR warmup length, e.g. "1000it" (0 = none)'),
  batchSize: z.number().int().positive().default(60).describe('examples per step'),
  iterations: step.default(it(50000)).describe('training length per level: "50000it" or "55ep"'),
  evalEvery: step.default(it(100)).describe('evaluate validation and test every this many steps'),
  fineTuneIterations: step.nullable().default(null).describe('steps per level for fine-tune; null = same as iterations'),
});

export const PRUNING_CRITERIA = [
  'large_final',
  'small_final',
  'large_init',
  'small_init',
  'large_init_large_final',
  'small_init_small_final',
  'magnitude_increase',
  'movement',
  'random',
  'large_final_same_sign',
  'large_final_diff_sign',
] as const;

export const pruningSchema = z.strictObject({
  scope: z.enum(['layerwise', 'global']).default('layerwise').describe('prune each layer by its own rate, or all prunable weights together'),
  rates: z
    .strictObject({
      conv: z.number().min(0).lt(1).default(0.1).describe('fraction of remaining conv weights removed per level'),
      fc: z.number().min(0).lt(1).default(0.2).describe('fraction of remaining hidden fully connected weights removed per level'),
      output: z.number().min(0).lt(1).default(0.1).describe('fraction of remaining output-layer weights removed per level'),
    })
    .prefault({}),
  globalRate: z.number().min(0).lt(1).default(0.2).describe('fraction removed per level when scope = global (output layer included)'),
  levels: z.number().int().min(0).default(5).describe('pruning levels after the dense level 0'),
  targetPercent: z.number().gt(0).max(100).nullable().default(null).describe('stop early once % weights remaining ≤ this'),
  criterion: z.enum(PRUNING_CRITERIA).default('large_final').describe('mask criterion (Zhou et al. 2019); keep the highest scores'),
});

/** A chain: a reset strategy, optionally with its own mask criterion. A plain string is shorthand for {reset}. */
export const chainSchema = z.union([
  z.string().transform((reset) => ({ reset, name: reset, criterion: null as null | (typeof PRUNING_CRITERIA)[number] })),
  z
    .strictObject({
      reset: z.string().describe('reset strategy, e.g. "rewind", "rewind@1000it"'),
      name: z.string().min(1).optional().describe('label in the database (default: the reset)'),
      criterion: z.enum(PRUNING_CRITERIA).nullable().default(null).describe('override pruning.criterion for this chain'),
    })
    .transform((c) => ({ reset: c.reset, name: c.name ?? (c.criterion ? `${c.reset}/${c.criterion}` : c.reset), criterion: c.criterion })),
]);

export const specSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-"')
    .describe("the experiment's name in the database"),
  description: z.string().default('').describe('free text; cite the paper a preset follows'),
  seed: z.number().int().nonnegative().default(0).describe('master seed; trial t uses a seed derived from (seed, t)'),
  trials: z.number().int().positive().default(1).describe('independent repetitions (different seeds)'),
  data: dataSchema.prefault({}),
  model: modelSchema.prefault({}),
  training: trainingSchema.prefault({}),
  pruning: pruningSchema.prefault({}),
  strategies: z.array(chainSchema).min(1).prefault(['rewind']).describe('one chain per strategy per trial'),
});

export type SpecInput = z.input<typeof specSchema>;
export type Spec = z.output<typeof specSchema>;
export type DataSpec = Spec['data'];
export type ModelSpec = Spec['model'];
export type TrainingSpec = Spec['training'];
export type PruningSpec = Spec['pruning'];
export type ChainSpec = Spec['strategies'][number];
export type Criterion = (typeof PRUNING_CRITERIA)[number];
