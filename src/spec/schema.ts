import { z } from 'zod';
import { AUGMENTATIONS, DATASET_DEFS, type DatasetDef } from '../data/index.js';
import { MODEL_NAMES, PARAM_GROUPS } from '../models/index.js';
import { atInitSettings, CRITERIA, DURING_PRUNERS, duringPruner, duringShorthand, type CriterionName } from '../pruning/index.js';
import { MASK0, type Mask0Name } from '../mask0/index.js';
import { resetNames } from '../resets/index.js';
import { UNIT_CRITERIA, type UnitCriterionName } from '../pruning/index.js';
import { it, stepSchema as step } from './step.js';

/**
 * How a field that only says how far an experiment goes may change on resume (docs/SCHEMA.md,
 * "Identity"). Such a field is left out of the identity hash; a resumed spec may take it further,
 * never less far (src/spec/identity.ts derives both from these declarations).
 * - `larger` / `smaller`: a number that goes further when larger / smaller; null (none) counts as `nullAs`
 * - `superset`: 'all' or a list; goes further when it covers the stored one
 * - `named` / `appended`: a list whose entries are matched by `name` (chains) or by position
 *   (branches); more entries go further, and each entry's own fields are compared
 */
export type Growth = { kind: 'larger' | 'smaller'; nullAs: number } | { kind: 'superset' } | { kind: 'named' } | { kind: 'appended' };

/** Declares that a spec field may grow on resume (see Growth); put it outside `.describe()`, which replaces metadata. */
const mayGrow = <T extends z.ZodType>(schema: T, growth: Growth): T => schema.meta({ growth });

/**
 * The one declaration of every hyperparameter: its type, its default and its help text.
 * Validation, `--set` overrides, `lth spec --help` and the experiment's identity hash all
 * derive from this schema. Defaults are Frankle & Carbin (2019)'s LeNet-300-100 / MNIST
 * setup, so a default never silently differs from the paper.
 */

// The enums come from the registries (src/data/registry.ts, src/models/registry.ts,
// src/pruning/criteria.ts, src/resets/, src/branches/, src/mask0/): adding an entry there is all a new name needs.
export const MODELS = MODEL_NAMES;

const normalize = z.union([
  z.literal('dataset').describe("the dataset's usual per-channel mean/std (MNIST 0.1307/0.3081)"),
  z.literal('none').describe('pixels scaled to [0, 1] only'),
  z.strictObject({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }),
]);

/** The fields every `data` section has, whichever data set it names. */
export const commonDataFields = {
  validation: z.number().int().nonnegative().default(5000).describe('examples held out of the training set for early stopping (F&C: 5000)'),
  normalize: normalize.default('dataset').describe("input normalization: 'dataset', 'none' or {mean:[..], std:[..]}"),
  trainSubset: z.number().int().positive().nullable().default(null).describe('use only the first N training examples (after the validation split); null = all'),
  testSubset: z.number().int().positive().nullable().default(null).describe('use only the first N test examples; null = all'),
};
export type CommonDataSpec = z.output<z.ZodObject<typeof commonDataFields>>;

/** The data set a `data` section without `dataset` trains on. */
const DEFAULT_DATASET = 'mnist';

type DataVariant<D> =
  D extends DatasetDef<infer N, infer F>
    ? z.ZodObject<{ dataset: N extends typeof DEFAULT_DATASET ? z.ZodDefault<z.ZodLiteral<N>> : z.ZodLiteral<N> } & typeof commonDataFields & F, z.core.$strict>
    : never;
type DataVariants<T extends readonly unknown[]> = { -readonly [K in keyof T]: DataVariant<T[K]> };

/**
 * `data`: one variant per registered data set (src/data/registry.ts), chosen by `dataset`: the
 * common fields plus the data set's own (DatasetDef.fields).
 */
export const dataSchema = z
  .discriminatedUnion(
    'dataset',
    DATASET_DEFS.map((d) =>
      z
        .strictObject({
          dataset: d.name === DEFAULT_DATASET ? z.literal(d.name).default(d.name) : z.literal(d.name),
          ...commonDataFields,
          ...d.fields,
        })
        .describe(d.help),
    ) as unknown as DataVariants<typeof DATASET_DEFS>,
  )
  .describe(`which data set to train on, by data.dataset (default "${DEFAULT_DATASET}"), and how to split and normalize it`);

const init = z.enum(['glorot-normal', 'he-normal']).default('glorot-normal').describe('weight initializer (biases start at 0)');
const digest = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
  .optional()
  .describe("sha256 of the model's content, filled in when the spec loads (give it to pin the model); enters the identity instead of the path");

/**
 * `model`: a registered architecture by name, a tfjs LayersModel file, or a JavaScript module of
 * lth nodes (src/models/source.ts, docs/DESIGN.md#model-files). The name form is the default, so
 * specs written before the other forms existed resolve (and hash) as they always did.
 */
/** The forms of `model`, by the key that chooses each (src/spec/load.ts reports a mistake against the chosen form). */
export const MODEL_FORMS = {
  name: z.strictObject({
    name: z.enum(MODELS).default('lenet-300-100').describe('network architecture'),
    init,
    width: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "filters of the first stage, for the models that take one (resnet-N: 16, 2× and 4× after — OpenLTH's cifar_resnet_N_W; vgg-N: 64, up to 8×); absent = the model's own (absent, so older specs keep their identity)",
      ),
  }),
  file: z.strictObject({
    file: z
      .string()
      .min(1)
      .describe(
        'a tfjs LayersModel model.json (tensorflowjs_converter from Keras, or tfjs model.save), relative to the working folder: its layers become the model (output = its last dense layer; pruning.exclude by its layer names)',
      ),
    weights: z
      .enum(['none', 'pretrained'])
      .default('none')
      .describe(
        "pretrained: the file's weights are the trained dense network: level 0 is evaluated, not trained, and chains prune and fine-tune or lr-rewind from it (no θ0: resets, criteria and branches that need one are refused); none: the file's topology only",
      ),
    init: z
      .enum(['glorot-normal', 'he-normal', 'file'])
      .default('glorot-normal')
      .describe('weight initializer (biases start at 0); "file" (with weights "pretrained"): the file\'s weights are θ0 and level 0 trains from them'),
    digest,
  }),
  module: z.strictObject({
    module: z
      .string()
      .min(1)
      .describe(
        'a JavaScript module exporting `layers`, a list of lth nodes (examples/my-net.js), relative to the working folder; the output layer is appended',
      ),
    init,
    digest,
  }),
};

export const modelSchema = z
  .union([MODEL_FORMS.name, MODEL_FORMS.file, MODEL_FORMS.module])
  .describe('the network: {"name": …} (a registered model), {"file": "…/model.json"} or {"module": "…/net.js"}');

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
    weightDecay: z.number().min(0).default(0).describe('L2 penalty added to the gradient of every trained tensor (a pruned weight stays exactly 0)'),
    nesterov: z
      .boolean()
      .optional()
      .describe(
        "Nesterov momentum, PyTorch's form: update = g + momentum·buf after buf ← momentum·buf + g (absent = false, so older specs keep their identity)",
      ),
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
  augment: z
    .enum(AUGMENTATIONS)
    .optional()
    .describe(
      "training-batch augmentation: crop-flip = random crop with 4-pixel zero padding + horizontal flip (He et al. 2016; OpenLTH's CIFAR-10), drawn from the trial's data order and the step, so resume, --workers and Slurm see the same batches; absent = the model's recipe (crop-flip for resnet-N and vgg-N, written into the spec when it is resolved), else none",
    ),
  keepEarlyStop: z
    .boolean()
    .optional()
    .describe(
      "store each level's weights at its early-stop point (minimum validation loss) beside its final ones, for lth export-model --weights early-stop: one more weight file per level (level 0 and chain levels that prune between levels); changes no number. Absent = false, so older specs keep their identity",
    ),
  freeze: z
    .array(z.enum(PARAM_GROUPS))
    .optional()
    .describe(
      'parameter groups the optimizer never steps (OpenLTH\'s hparams; Frankle et al. 2020\'s "training only BatchNorm" = ["output", "others"]): batchnorm = BatchNorm\'s γ and β (its running statistics still follow the batches), output = the output layer, others = every other trained tensor; absent = none',
    ),
});

export const PRUNING_CRITERIA = Object.keys(CRITERIA) as [CriterionName, ...CriterionName[]];

export const UNIT_CRITERION_NAMES = Object.keys(UNIT_CRITERIA) as [UnitCriterionName, ...UnitCriterionName[]];

export const pruningSchema = z.strictObject({
  granularity: z
    .enum(['weight', 'neuron', 'filter'])
    .default('weight')
    .describe(
      "what one pruning decision removes: weight = single weights (criterion); neuron = whole hidden dense units, i.e. incoming weights, bias and the next layer's input row (unitCriterion); filter = conv filters (output channel, bias, the γ and β of a BatchNorm after it, next layer's input channel) and hidden dense units; the convs whose channels residual adds sum are pruned as one group (channel c of all of them). Rates apply to units; output units are never pruned; layerwise scope only (docs/DESIGN.md#structured)",
    ),
  unitCriterion: z.enum(UNIT_CRITERION_NAMES).default('l1_norm').describe('unit importance when granularity is neuron or filter; keep the highest scores'),
  sample: z
    .strictObject({
      size: z.number().int().positive().default(1000).describe('training examples drawn for data-driven criteria (mean_activation, apoz, taylor, obd)'),
      seed: z.number().int().nonnegative().default(0).describe('seed of the draw (the same examples for every level, chain and trial)'),
    })
    .prefault({})
    .describe('the fixed, seeded sample of the training split that data-driven criteria read'),
  maxAccuracyDrop: mayGrow(
    z
      .number()
      .gt(0)
      .max(100)
      .nullable()
      .default(null)
      .describe("stop a chain once a level's final test accuracy is more than this many percentage points below the dense level's (null = never)"),
    { kind: 'larger', nullAs: Infinity },
  ),
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
  levels: mayGrow(z.number().int().min(0).default(5).describe('pruning levels after the dense level 0; may grow on resume'), { kind: 'larger', nullAs: 0 }),
  targetPercent: mayGrow(z.number().gt(0).max(100).nullable().default(null).describe('stop early once % weights remaining ≤ this'), {
    kind: 'smaller',
    nullAs: 0,
  }),
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

/**
 * Where a chain starts from another experiment's ticket (Morcos et al. 2019, "One ticket to win
 * them all"; docs/DESIGN.md#ticket-transfer): the stored level's mask and its θ0 (or θ_k with
 * rewind@k), trained on this experiment's data (src/resets/ticket.ts).
 */
export const ticketSchema = z.strictObject({
  experiment: z.string().min(1).describe("the source experiment's name"),
  chain: z.string().min(1).describe('the source chain\'s name (its `strategy` column, e.g. "rewind")'),
  level: z
    .number()
    .int()
    .min(1, {
      error:
        "a ticket is a pruned level of the source (level ≥ 1); level 0 is its dense network: give level 1 or higher, or leave out ticket to start from this trial's θ0",
    })
    .describe("the source level whose mask, θ0 (or θ_k with rewind@k) the chain's level 1 starts from"),
  trial: z.number().int().nonnegative().default(0).describe('the source trial; every trial of this experiment starts from this one ticket'),
  db: z
    .string()
    .min(1)
    .optional()
    .describe(
      "the database the source is stored in, relative to the working folder; absent = this run's --db. A location only: not part of the identity (maskHash is)",
    ),
  maskHash: z
    .string()
    .regex(/^[0-9a-f]{16}$/, 'a mask hash: 16 hex digits (the `mask_hash` column)')
    .optional()
    .describe("the source level's mask hash, filled in when the run opens the source (give it to pin the ticket: a different stored mask is refused)"),
});
export type TicketSpec = z.output<typeof ticketSchema>;

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
      ticket: undefined as TicketSpec | undefined,
    };
  }),
  z
    .strictObject({
      reset: z.string().describe(`reset strategy ("mask-1 action"): ${resetNames().join(', ')}; rewind and lr-rewind take @k, e.g. "rewind@1000it"`),
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
      ticket: ticketSchema
        .optional()
        .describe(
          "start from another experiment's ticket (Morcos et al. 2019): level 1 trains that stored level's mask from its θ0 (θ_k with rewind@k) on this data; later levels prune on from there. Shapes must agree; an output layer with other classes starts from this trial's θ0, unpruned. Absent = this trial's level 0",
        ),
    })
    .transform((c) => ({
      reset: c.reset,
      name:
        c.name ??
        (c.during
          ? duringPruner(c.during.kind).name(c.during)
          : [
              c.reset,
              c.criterion,
              c.unitCriterion,
              c.mask0 === 'zero' ? null : c.mask0,
              c.ticket ? `ticket:${c.ticket.experiment}:${c.ticket.chain}:${c.ticket.level}` : null,
            ]
              .filter((x) => x !== null)
              .join('/')),
      criterion: c.criterion,
      unitCriterion: c.unitCriterion,
      mask0: c.mask0,
      during: c.during as DuringSpec | null,
      ticket: c.ticket,
    })),
]);

/** Levels a branch hangs off: 'all' = every pruned level 1…levels of the chain; or an explicit list (0 = the dense level). */
const branchLevels = mayGrow(z.union([z.literal('all'), z.array(z.number().int().nonnegative()).min(1)]), { kind: 'superset' });
const branchCommon = {
  label: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-"')
    .optional()
    .describe('the `branch` value in the database (default: the kind; "-signed-constant" is appended for signed-constant weights)'),
  chains: mayGrow(
    z
      .union([z.literal('all'), z.array(z.string().min(1)).min(1)])
      .default('all')
      .describe(
        "names of the chains this branch hangs off (default 'all'); level-0 branches are identical under every chain, so list one chain to run them once",
      ),
    { kind: 'superset' },
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
      count: mayGrow(z.number().int().positive().default(3).describe('fresh initializations per level (Frankle & Carbin: 3)'), { kind: 'larger', nullAs: 1 }),
      levels: branchLevels.default('all'),
      ...branchCommon,
    })
    .describe('m_L ⊙ a fresh draw from the initializer, trained the full schedule (Frankle & Carbin control)'),
  z
    .strictObject({
      kind: z.literal('random-mask'),
      count: mayGrow(z.number().int().positive().default(1).describe('random masks per level'), { kind: 'larger', nullAs: 1 }),
      levels: branchLevels.default('all'),
      ...branchCommon,
    })
    .describe("a random mask with m_L's per-layer counts ⊙ θ0, trained the full schedule (Frankle et al. 2019; Su et al. 2020)"),
  z
    .strictObject({
      kind: z.literal('layer-shuffle'),
      count: mayGrow(z.number().int().positive().default(1).describe('shuffled masks per level'), { kind: 'larger', nullAs: 1 }),
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
      batchnorm: z
        .enum(['interpolate', 'reestimate'])
        .default('interpolate')
        .describe(
          'BatchNorm running statistics of the interpolated network: interpolate = (1 − α)·a + α·b like every other entry; reestimate = recomputed at each α from statsBatches training batches, as Frankle et al. 2020 do (use it for resnet-N, vgg-N); no effect on a network without BatchNorm',
        ),
      statsBatches: z
        .number()
        .int()
        .positive()
        .default(100)
        .describe(
          "training batches (training.batchSize, augmented as training is) the statistics are re-estimated on at each α, the same batches at every α (batchnorm reestimate): r ← m·r + (1 − m)·b from mean 0, variance 1, the layers' own update, so the start keeps weight m^statsBatches (0.9^100 ≈ 3e-5)",
        ),
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
  trials: mayGrow(z.number().int().positive().default(1).describe('independent repetitions (different seeds); may grow on resume'), {
    kind: 'larger',
    nullAs: 0,
  }),
  recipe: z
    .literal('model')
    .optional()
    .describe(
      "\"model\": take the model's training recipe (OpenLTH's default_hparams: resnet-N and vgg-N train with SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, 160 epochs, ×0.1 at 80 and 120, crop-flip; global pruning at 20%) for every field the spec does not set; the resolved spec states them. Absent = the schema's defaults",
    ),
  data: dataSchema.prefault({}),
  model: modelSchema.prefault({}),
  training: trainingSchema.prefault({}),
  pruning: pruningSchema.prefault({}),
  strategies: mayGrow(z.array(chainSchema).min(1).prefault(['rewind']).describe('one chain per strategy per trial'), { kind: 'named' }),
  branches: mayGrow(
    z
      .array(branchSchema)
      .default([])
      .describe(
        `controls hanging off chain levels, e.g. [{"kind":"random-reinit","count":3}, {"kind":"supermask"}] (kinds: ${branchSchema.options.map((o) => o.shape.kind.value).join(', ')})`,
      ),
    { kind: 'appended' },
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
