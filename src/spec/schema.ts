import { z } from 'zod';
import { DATASET_NAMES } from '../data/index.js';
import { MODEL_NAMES } from '../models/index.js';
import { atInitSettings, CRITERIA, DURING_PRUNERS, duringPruner, duringShorthand, type CriterionName } from '../pruning/index.js';
import { MASK0, type Mask0Name } from '../mask0/index.js';
import { strategyNames } from '../resets/index.js';
import { UNIT_CRITERIA, type UnitCriterionName } from '../pruning/index.js';
import { it, stepSchema as step } from './step.js';

/**
 * The one declaration of every hyperparameter: its type, its default and its help text.
 * Validation, `--set` overrides, `lth spec --help` and the experiment's identity hash all
 * derive from this schema. Defaults are Frankle & Carbin (2019)'s LeNet-300-100 / MNIST
 * setup, so a default never silently differs from the paper.
 */

// The enums come from the registries (src/data/registry.ts, src/models/registry.ts,
// src/pruning/criteria.ts, src/resets/, src/branches/, src/mask0/): adding an entry there is all a new name needs.
export const DATASETS = DATASET_NAMES;
export const MODELS = MODEL_NAMES;

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
      features: z.number().int().positive().default(64).describe('values per example (Gaussian classes); ignored when shape is given'),
      shape: z
        .tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()])
        .optional()
        .describe('[h, w, c]: generate images for conv nets instead of flat vectors (one smooth template per class, shifted by up to a pixel, plus noise)'),
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

export const PRUNING_CRITERIA = Object.keys(CRITERIA) as [CriterionName, ...CriterionName[]];

export const UNIT_CRITERION_NAMES = Object.keys(UNIT_CRITERIA) as [UnitCriterionName, ...UnitCriterionName[]];

export const pruningSchema = z.strictObject({
  granularity: z
    .enum(['weight', 'neuron', 'filter'])
    .default('weight')
    .describe(
      "what one pruning decision removes: weight = single weights (criterion); neuron = whole hidden dense units, i.e. incoming weights, bias and the next layer's input row (unitCriterion); filter = conv filters (output channel, bias, next layer's input channel) and hidden dense units. Rates apply to units; output units are never pruned; layerwise scope only (docs/DESIGN.md#structured)",
    ),
  unitCriterion: z.enum(UNIT_CRITERION_NAMES).default('l1_norm').describe('unit importance when granularity is neuron or filter; keep the highest scores'),
  sample: z
    .strictObject({
      size: z.number().int().positive().default(1000).describe('training examples drawn for data-driven criteria (mean_activation, apoz, taylor, obd)'),
      seed: z.number().int().nonnegative().default(0).describe('seed of the draw (the same examples for every level, chain and trial)'),
    })
    .prefault({})
    .describe('the fixed, seeded sample of the training split that data-driven criteria read'),
  maxAccuracyDrop: z
    .number()
    .gt(0)
    .max(100)
    .nullable()
    .default(null)
    .describe("stop a chain once a level's final test accuracy is more than this many percentage points below the dense level's (null = never)"),
  scope: z
    .enum(['layerwise', 'global', 'erk'])
    .default('layerwise')
    .describe(
      "how a level's pruning is distributed over layers: layerwise = each layer by its own rate (pruning.rates); global = all prunable weights together at globalRate; erk = each layer at its Erdős–Rényi-Kernel density, ∝ (Σ kernel dims)/(Π kernel dims), scaled so the level keeps what globalRate would overall, a layer that would exceed 1 kept dense (Evci et al. 2020, RigL; docs/CONTROLS.md#erk)",
    ),
  rates: z
    .strictObject({
      conv: z.number().min(0).lt(1).default(0.1).describe('fraction of remaining conv weights removed per level'),
      fc: z.number().min(0).lt(1).default(0.2).describe('fraction of remaining hidden fully connected weights removed per level'),
      output: z.number().min(0).lt(1).default(0.1).describe('fraction of remaining output-layer weights removed per level'),
    })
    .prefault({}),
  globalRate: z
    .number()
    .min(0)
    .lt(1)
    .default(0.2)
    .describe('fraction removed per level when scope = global or erk (of every prunable layer not in pruning.exclude)'),
  exclude: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'layers pruning never touches, by layer name (e.g. "fc1", "output") or kind ("conv", "fc", "output"), for either scope; they stay dense and still count in % remaining. OpenLTH\'s LeNet default is scope global with ["output"]',
    ),
  levels: z.number().int().min(0).default(5).describe('pruning levels after the dense level 0; may grow on resume'),
  targetPercent: z.number().gt(0).max(100).nullable().default(null).describe('stop early once % weights remaining ≤ this'),
  criterion: z
    .enum(PRUNING_CRITERIA)
    .default('large_final')
    .describe('mask criterion (Zhou et al. 2019; at init: snip, grasp, synflow); keep the highest scores'),
  atInit: atInitSettings
    .optional()
    .describe('settings of the at-initialization criteria snip, grasp, synflow (absent = {sample: 100, synflowIterations: 100})'),
  schedule: z
    .enum(['iterative', 'one-shot'])
    .default('iterative')
    .describe(
      "iterative: level L prunes the previous level's survivors by `rate` (Frankle & Carbin). one-shot: level L prunes the dense level-0 network in one round to exactly the per-layer count iterative pruning has at level L (≈ rate 1 − (1 − rate)^L), so both series line up at the same % remaining; fine-tune and lr-rewind then start from the dense final weights",
    ),
});

/** What pruned weights hold while a level trains (Zhou et al. 2019 §3, "mask-0 actions"). */
export const MASK0_ACTIONS = Object.keys(MASK0) as [Mask0Name, ...Mask0Name[]];
export type { Mask0Name };

/**
 * Pruning during training (docs/PAPERS.md#when-to-prune): level L of such a chain trains θ0
 * once, for the full schedule, while callbacks move the mask to level L's per-layer counts
 * (the counts iterative pruning has at level L). One variant per entry of src/pruning/registry.ts.
 */
type DuringVariant = z.ZodObject<{ kind: z.ZodLiteral<string> }, z.core.$loose>;
const duringKinds = DURING_PRUNERS.map((d) => d.kind);
const duringForms = DURING_PRUNERS.flatMap((d) => d.shorthands.map((s) => s.form));
export const duringSchema = z.discriminatedUnion(
  'kind',
  // typed loosely: each entry's fields are its own business (src/pruning/*.ts); zod checks them strictly
  DURING_PRUNERS.map((d) => d.schema) as unknown as [DuringVariant, ...DuringVariant[]],
  {
    error: (iss: { code?: string }) =>
      iss.code === 'invalid_type'
        ? `write an object such as {"kind": "${duringKinds[0]}"} (kinds: ${duringKinds.join(', ')}); a string such as "${duringForms[1] ?? duringForms[0]}" is shorthand for the whole chain: "strategies": ["${duringForms[1] ?? duringForms[0]}"]`
        : iss.code === 'invalid_union' && 'discriminator' in iss
          ? `must be one of ${duringKinds.join(', ')} (the chain strings ${duringForms.join(', ')} are shorthands: write one as the whole chain, e.g. "strategies": ["${duringForms[1] ?? duringForms[0]}"])`
          : undefined,
  },
);

/** A chain: a reset strategy, optionally with its own mask criterion and mask-0 action. A plain string is shorthand for {reset}. */
export const chainSchema = z.union([
  z.string().transform((reset) => {
    const during = duringShorthand(reset) as DuringSpec | null;
    return {
      reset: during ? 'rewind' : reset,
      name: reset,
      criterion: null as null | (typeof PRUNING_CRITERIA)[number],
      unitCriterion: null as null | UnitCriterionName,
      mask0: 'zero' as Mask0Name,
      during,
    };
  }),
  z
    .strictObject({
      reset: z.string().describe(`reset strategy ("mask-1 action"): ${strategyNames().join(', ')}; rewind and lr-rewind take @k, e.g. "rewind@1000it"`),
      name: z.string().min(1).optional().describe('label in the database (default: reset[/criterion][/mask0], the parts that are set)'),
      criterion: z.enum(PRUNING_CRITERIA).nullable().default(null).describe('override pruning.criterion for this chain'),
      unitCriterion: z
        .enum(UNIT_CRITERION_NAMES)
        .nullable()
        .default(null)
        .describe('override pruning.unitCriterion for this chain (neuron/filter granularity)'),
      mask0: z
        .enum(MASK0_ACTIONS)
        .default('zero')
        .describe(
          'what pruned weights hold while training (Zhou et al. mask-0 action): zero; freeze-init = frozen at θ0; freeze-init-or-zero = frozen at θ0 if the weight moved away from zero in the training that pruned it (|w_f| ≥ |w_i|), else zero',
        ),
      during: duringSchema
        .nullable()
        .default(null)
        .describe(
          `prune while training (${DURING_PRUNERS.map((d) => d.kind).join(', ')}: lth run --help) instead of between levels; needs reset "rewind" and mask0 "zero". The chain may instead be one of the strings ${duringForms.map((f) => `"${f}"`).join(', ')}`,
        ),
    })
    .transform((c) => ({
      reset: c.reset,
      name:
        c.name ??
        (c.during
          ? duringPruner(c.during.kind).name(c.during)
          : [c.reset, c.criterion, c.unitCriterion, c.mask0 === 'zero' ? null : c.mask0].filter((x) => x !== null).join('/')),
      criterion: c.criterion,
      unitCriterion: c.unitCriterion,
      mask0: c.mask0,
      during: c.during as DuringSpec | null,
    })),
]);

/** Levels a branch hangs off: 'all' = every pruned level 1…levels of the chain; or an explicit list (0 = the dense level). */
const branchLevels = z.union([z.literal('all'), z.array(z.number().int().nonnegative()).min(1)]);
const branchCommon = {
  label: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-"')
    .optional()
    .describe('the `branch` value in the database (default: the kind; "-signed-constant" is appended for signed-constant weights)'),
  chains: z
    .union([z.literal('all'), z.array(z.string().min(1)).min(1)])
    .default('all')
    .describe(
      "names of the chains this branch hangs off (default 'all'); level-0 branches are identical under every chain, so list one chain to run them once",
    ),
};
const supermaskWeights = z.enum(['init', 'signed-constant']);

/**
 * Controls that hang off a chain's level L, reuse its mask m_L and start no chain of their own
 * (docs/DESIGN.md#branches). Each is stored as rows with `branch` = its label; `replicate` numbers repeats.
 */
export const branchSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('random-reinit'),
      count: z.number().int().positive().default(3).describe('fresh initializations per level (Frankle & Carbin: 3)'),
      levels: branchLevels.default('all'),
      ...branchCommon,
    })
    .describe('m_L ⊙ a fresh draw from the initializer, trained the full schedule (Frankle & Carbin control)'),
  z
    .strictObject({
      kind: z.literal('random-mask'),
      count: z.number().int().positive().default(1).describe('random masks per level'),
      levels: branchLevels.default('all'),
      ...branchCommon,
    })
    .describe("a random mask with m_L's per-layer counts ⊙ θ0, trained the full schedule (Frankle et al. 2019; Su et al. 2020)"),
  z
    .strictObject({
      kind: z.literal('layer-shuffle'),
      count: z.number().int().positive().default(1).describe('shuffled masks per level'),
      levels: branchLevels.default('all'),
      ...branchCommon,
    })
    .describe("m_L with its kept positions permuted within each layer ⊙ θ0, trained the full schedule (Su et al. 2020's layer-wise shuffle)"),
  z
    .strictObject({
      kind: z.literal('supermask'),
      weights: z
        .array(supermaskWeights)
        .min(1)
        .default(['init', 'signed-constant'])
        .describe("evaluate θ0 ⊙ m_L ('init') and/or sign(θ0)·σ ⊙ m_L ('signed-constant')"),
      levels: branchLevels.default('all'),
      ...branchCommon,
    })
    .describe('accuracy of m_L on the untrained network, no training at all (Zhou et al. §5); iterations 0'),
  z
    .strictObject({
      kind: z.literal('learned-supermask'),
      weights: supermaskWeights.default('init').describe("frozen weights: θ0 ⊙ m_L ('init') or sign(θ0)·σ ⊙ m_L ('signed-constant')"),
      iterations: step.nullable().default(null).describe('score-training steps; null = training.iterations'),
      lr: z.number().positive().default(0.1).describe('Adam learning rate of the scores (constant)'),
      scoreInit: z.number().default(0).describe('initial score of every weight: keep probability sigmoid(scoreInit) (0 → 0.5)'),
      levels: branchLevels.default([0]).describe('levels to learn a supermask at (default [0]: the dense network, as Zhou et al. §5)'),
      ...branchCommon,
    })
    .describe(
      'Zhou et al. §5: weights frozen, a score per weight trained through a Bernoulli(sigmoid(score)) sample with a straight-through estimator; accuracy is that of one sampled mask per evaluation',
    ),
  z
    .strictObject({
      kind: z.literal('instability'),
      points: z
        .number()
        .int()
        .min(2)
        .default(30)
        .describe('evenly spaced α in [0, 1] at which the interpolated network is evaluated (Frankle et al. 2020: 30)'),
      levels: branchLevels.default('all').describe("levels to measure (0 = the dense network; a rewind@k chain's level 0 measures the instability at k)"),
      ...branchCommon,
    })
    .describe(
      "Frankle, Dziugaite, Roy & Carbin 2020: two copies trained from the level's start (the chain's reset of m_L: θ_k ⊙ m for rewind@k, θ0 ⊙ m for rewind) with different data orders; test error on the straight line between their final weights, and the error barrier (max − mean of the ends)",
    ),
]);

export const specSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-"')
    .describe("the experiment's name in the database"),
  description: z.string().default('').describe('free text; cite the paper a preset follows'),
  seed: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe(
      'master seed; trial t uses the seed sha256(JSON ["lth-trial", seed, t]) → first 4 bytes, so no two (seed, trial) pairs share randomness (docs/SCHEMA.md, "Seeds and identity")',
    ),
  trials: z.number().int().positive().default(1).describe('independent repetitions (different seeds); may grow on resume'),
  data: dataSchema.prefault({}),
  model: modelSchema.prefault({}),
  training: trainingSchema.prefault({}),
  pruning: pruningSchema.prefault({}),
  strategies: z.array(chainSchema).min(1).prefault(['rewind']).describe('one chain per strategy per trial'),
  branches: z
    .array(branchSchema)
    .default([])
    .describe(
      `controls hanging off chain levels, e.g. [{"kind":"random-reinit","count":3}, {"kind":"supermask"}] (kinds: ${branchSchema.options.map((o) => o.shape.kind.value).join(', ')})`,
    ),
});

export type SpecInput = z.input<typeof specSchema>;
export type Spec = z.output<typeof specSchema>;
export type DataSpec = Spec['data'];
export type TrainingSpec = Spec['training'];
export type PruningSpec = Spec['pruning'];
/** A chain's `during` settings: an entry's kind and its fields (the entry reads them). */
export type DuringSpec = { kind: string } & Record<string, unknown>;
export type Criterion = (typeof PRUNING_CRITERIA)[number];
export type BranchSpec = Spec['branches'][number];
export type BranchKind = BranchSpec['kind'];
