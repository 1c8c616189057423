import { datasetMeta, type DatasetMeta, checkSplits, DATA_SHAPE_FIELDS } from '../data/index.js';
import { buildSpecModel, modelField, modelLabel, paramGroup, readModel, type Model } from '../models/index.js';
import {
  AT_INIT_DEFAULTS,
  CRITERIA,
  duringPruner,
  isExcluded,
  isUnitExcluded,
  layerOf,
  UNIT_CRITERIA,
  unitLayers,
  unitLayersLeftOut,
} from '../pruning/index.js';
import { expandBranch, type BranchTask } from '../branches/index.js';
import { resolveReset, type Reset } from '../resets/index.js';
import { resolveSchedule, type TrainingSchedule } from '../training/index.js';
import { SpecError, UserError } from '../util/index.js';
import { overlaps, setPath, type LoadedSpec } from './load.js';
import type { Spec } from './schema.js';
import { stepToIterations, type Step } from './step.js';

/**
 * Everything a spec says, checked before any backend, data or database is touched: the data
 * split sizes, model/data shape compatibility, strategy names and `@k` rewind points, the
 * chains branches refer to, `pruning.exclude` and the pruning rates. Uses only the spec and the
 * data sets' sizes (data/registry.ts datasetMeta).
 *
 * Not re-exported from spec/index.ts: it builds the model, which imports tfjs, and spec
 * validation alone should stay light.
 */
export interface CheckedSpec {
  readonly meta: DatasetMeta;
  readonly model: Model;
  /** the training plan for the split size the spec asks for */
  readonly plan: TrainingSchedule;
  /** spec.strategies resolved, in order */
  readonly strategies: readonly Reset[];
  /** spec.branches expanded */
  readonly tasks: BranchTask[];
  /** things that are allowed but almost certainly not meant (one line each), e.g. two chains that are one computation */
  readonly warnings: string[];
  /** chains that are one computation with an earlier chain: trained once, copied (twinPairs) */
  readonly twins: readonly TwinPair[];
}

/**
 * Checks a loaded spec (see CheckedSpec).
 * @throws UserError, one line naming the field, the fix, and `--set …` when the value came from `--set`
 */
export function checkSpec(loaded: LoadedSpec): CheckedSpec {
  try {
    return check(loaded.spec);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    throw new UserError(`${specErrorSource(loaded, e)}: ${e.message}`);
  }
}

/**
 * Where a spec mistake came from, for its one line: the `--set`s that wrote its field, and those
 * that wrote the other fields a cross-field check read; the spec file when its own field is
 * the file's (named with the `--set`s of the other fields, which it was checked against).
 */
function specErrorSource(loaded: LoadedSpec, e: SpecError): string {
  const sets = loaded.sets ?? [];
  const wrote = (path: string) => sets.filter((s) => overlaps(setPath(s), path));
  const own = wrote(e.path);
  const other = e.also.flatMap(wrote).filter((s, i, all) => !own.includes(s) && all.indexOf(s) === i);
  const named = [...own, ...other].map((s) => `--set ${s}`).join(', ');
  if (own.length) return named;
  const file = `invalid spec${loaded.source ? ` ${loaded.source}` : ''}`;
  return other.length ? `${file} with ${named}` : file;
}

function check(spec: Spec): CheckedSpec {
  const meta = datasetMeta(spec.data);
  checkSplits(meta, spec.data);
  const trainN = spec.data.trainSubset ?? meta.trainN - spec.data.validation;
  const plan = resolveSchedule(spec.training, trainN);
  const field = modelField(spec.model);
  // a file's own messages start with its field and path already
  const atField = (e: unknown) => ((e as Error).message.startsWith(field) ? (e as Error).message : `${field}: ${(e as Error).message}`);
  try {
    readModel(spec.model);
  } catch (e) {
    throw new SpecError(field, atField(e));
  }
  let model: Model;
  try {
    model = buildSpecModel(spec.model, meta.inputShape, meta.numClasses);
  } catch (e) {
    // the model reads; what it cannot take is the data's shape
    throw new SpecError(field, `${atField(e)} (data.dataset "${spec.data.dataset}" gives examples of shape [${meta.inputShape}])`, DATA_SHAPE_FIELDS);
  }
  if ((spec.training.augment ?? 'none') !== 'none' && meta.inputShape.length !== 3)
    throw new SpecError(
      'training.augment',
      `training.augment: ${spec.training.augment} crops and flips images, and data set "${spec.data.dataset}" gives flat examples [${meta.inputShape}]: set training.augment to "none", or use image data (synthetic: data.synthetic.shape)`,
      DATA_SHAPE_FIELDS,
    );
  const frozen = new Set(spec.training.freeze ?? []);
  if (frozen.size && [...paramGroup(model.graph).values()].every((g) => frozen.has(g)))
    throw new SpecError(
      'training.freeze',
      `training.freeze: [${[...frozen].join(', ')}] freezes every parameter of ${modelLabel(spec.model)}, so nothing would train: leave at least one of its groups (${[...new Set(paramGroup(model.graph).values())].join(', ')}) out`,
      ['model'],
    );
  const strategies = spec.strategies.map((c, i) => {
    try {
      return resolveReset(c.reset, plan);
    } catch (e) {
      // a rewind point beyond the end of training is a SpecError of training.iterations (resets/registry.ts): a --set of it is named too
      throw new SpecError(`strategies.${i}`, `strategies.${i}: ${(e as Error).message}`, e instanceof SpecError ? [e.path, ...e.also] : []);
    }
  });
  const tasks = checkChainsAndBranches(spec);
  checkFileWeights(spec, strategies);
  checkPruning(spec, model);
  checkDuring(spec, plan);
  checkTickets(spec, strategies);
  const twins = twinPairs(spec, strategies, plan);
  return {
    meta,
    model,
    plan,
    strategies,
    tasks,
    twins,
    warnings: [...scheduleWarnings(plan), ...sampleWarnings(spec, trainN), ...unitWarnings(spec, model), ...twins.map(twinWarning)],
  };
}

/** Chain names are unique, and every branch names existing chains and levels and has a label of its own.
 *  Needs only the spec. Returns the expanded branch tasks. */
export function checkChainsAndBranches(spec: Spec): BranchTask[] {
  const tasks = spec.branches.flatMap(expandBranch);
  const names = new Set<string>();
  spec.strategies.forEach((c, i) => {
    if (names.has(c.name))
      throw new SpecError(`strategies.${i}`, `strategies.${i}: strategy "${c.name}" appears twice in the spec: give one of them a distinct "name"`);
    names.add(c.name);
  });
  spec.branches.forEach((b, i) => {
    for (const n of b.chains === 'all' ? [] : b.chains)
      if (!names.has(n))
        throw new SpecError(`branches.${i}.chains`, `branches.${i}.chains: no chain is named "${n}" (chains: ${[...names].join(', ')})`, ['strategies']);
    for (const l of b.levels === 'all' ? [] : b.levels)
      if (l > spec.pruning.levels)
        throw new SpecError(`branches.${i}.levels`, `branches.${i}.levels: level ${l} is beyond pruning.levels (${spec.pruning.levels})`, ['pruning.levels']);
  });
  for (const c of names) {
    const seen = new Set<string>();
    for (const t of tasks.filter((t) => t.chains === 'all' || t.chains.includes(c))) {
      const k = `${t.label}#${t.replicate}`;
      if (seen.has(k)) throw new SpecError('branches', `branches: two branches of chain "${c}" are both labelled "${t.label}": give one a distinct "label"`);
      seen.add(k);
    }
  }
  return tasks;
}

/**
 * A model file's weights (model.weights "pretrained"): without model.init "file" there is no θ0,
 * so every chain must start from the previous level's final weights (fine-tune, lr-rewind), with
 * a criterion that does not read w_i, mask-0 "zero" and no pruning during training; with
 * model.init "file" θ0 is the file's weights and there is no initializer, so no reset may draw.
 * Branches (all of which start from θ0 or draw) are refused under both.
 */
function checkFileWeights(spec: Spec, strategies: readonly Reset[]): void {
  const m = spec.model;
  if (!('file' in m)) return;
  if (m.init === 'file' && m.weights !== 'pretrained')
    throw new SpecError('model.init', 'model.init: "file" takes θ0 from the file\'s weights: add "weights": "pretrained" to model', ['model.weights']);
  if (m.weights !== 'pretrained') return;
  const why = m.init === 'file' ? 'model.init "file" gives θ0 but no initializer to draw from' : 'a pretrained model file has no θ0';
  if (spec.branches.length) throw new SpecError('branches', `branches: ${why}, and branches start from θ0 or draw fresh weights: remove them`, ['model']);
  spec.strategies.forEach((c, i) => {
    const at = `strategies.${i}`;
    if (m.init === 'file') {
      if (strategies[i].draws)
        throw new SpecError(
          at,
          `${at}: reset "${c.reset}" draws from an initializer, and ${why}: use rewind, reshuffle, fine-tune or lr-rewind, or model.init "glorot-normal" without "weights"`,
          ['model'],
        );
      return;
    }
    const fix = 'or add "init": "file" to model to take the file\'s weights as θ0 (level 0 then trains from them)';
    if (strategies[i].from === 'theta0')
      throw new SpecError(at, `${at}: reset "${c.reset}" starts from θ0, and ${why}: use "fine-tune" or "lr-rewind" (from the pretrained weights), ${fix}`, [
        'model',
      ]);
    const crit = c.criterion ?? spec.pruning.criterion;
    if (CRITERIA[crit].readsInit || CRITERIA[crit].atInit)
      throw new SpecError(
        c.criterion ? `${at}.criterion` : 'pruning.criterion',
        `criterion "${crit}" scores θ0, and ${why}: use a criterion of the final weights such as large_final, ${fix}`,
        ['model'],
      );
    if (c.mask0 !== 'zero') throw new SpecError(`${at}.mask0`, `${at}.mask0: "${c.mask0}" holds θ0 values, and ${why}: use mask0 "zero", ${fix}`, ['model']);
    if (c.during) throw new SpecError(`${at}.during`, `${at}.during: pruning during training trains θ0, and ${why}: prune between levels, ${fix}`, ['model']);
  });
}

/** Chains that prune while training start from θ0 with pruned weights at zero, and pass their pruner's own checks. */
function checkDuring(spec: Spec, plan: TrainingSchedule): void {
  spec.strategies.forEach((c, i) => {
    if (!c.during) return;
    const at = `strategies.${i}`;
    if (c.reset !== 'rewind')
      throw new SpecError(`${at}.reset`, `${at}.reset: a chain with "during" trains θ0 once per level, so its reset must be "rewind" (got "${c.reset}")`, [
        `${at}.during`,
      ]);
    if (c.mask0 !== 'zero')
      throw new SpecError(
        `${at}.mask0`,
        `${at}.mask0: a chain with "during" keeps pruned weights at zero (regrown ones start at 0): remove mask0 "${c.mask0}"`,
        [`${at}.during`],
      );
    if (c.criterion !== null)
      throw new SpecError(`${at}.criterion`, `${at}.criterion: a chain with "during" prunes by magnitude as it trains: remove "criterion"`, [`${at}.during`]);
    const problem = duringPruner(c.during.kind).check(c.during, plan, (x: Step) => stepToIterations(x, plan.itersPerEpoch));
    if (!problem) return;
    const field = problem.field ? `${at}.during.${problem.field}` : at;
    throw new SpecError(field, problem.field ? `${field}: ${problem.message}` : `${at}: "${c.name}": ${problem.message}`);
  });
}

/**
 * A chain that starts from another experiment's ticket (strategies[].ticket) trains that level's
 * mask from its θ0 or θ_k: its reset starts from θ0 (not from this experiment's level-0 weights),
 * pruned weights hold zero, it prunes between levels and iteratively (one-shot prunes this
 * experiment's level 0, which the ticket did not come from), and no branch hangs off its level 0
 * (this experiment's, shared by every chain). What the source holds is checked when the run opens
 * it (src/resets/ticket.ts), still before any work.
 */
function checkTickets(spec: Spec, strategies: readonly Reset[]): void {
  spec.strategies.forEach((c, i) => {
    if (!c.ticket) return;
    const at = `strategies.${i}`;
    if (strategies[i].from !== 'theta0')
      throw new SpecError(
        `${at}.reset`,
        `${at}.reset: "${c.reset}" starts from the previous level's final weights, and a ticket chain's level 1 has none of its own: use rewind (or rewind@k, or a reset of θ0)`,
        [`${at}.ticket`],
      );
    if (c.during)
      throw new SpecError(`${at}.during`, `${at}.during: a ticket chain starts from a stored mask: prune between levels (remove "during")`, [`${at}.ticket`]);
    if (c.mask0 !== 'zero')
      throw new SpecError(`${at}.mask0`, `${at}.mask0: a ticket chain keeps pruned weights at zero: remove mask0 "${c.mask0}"`, [`${at}.ticket`]);
    if (spec.pruning.schedule === 'one-shot')
      throw new SpecError(
        'pruning.schedule',
        `pruning.schedule: "one-shot" prunes this experiment's level 0, which ticket chain "${c.name}" did not come from: use "iterative"`,
        [`${at}.ticket`],
      );
    spec.branches.forEach((b, j) => {
      const levels = b.levels === 'all' ? [] : b.levels;
      if (levels.includes(0) && (b.chains === 'all' || b.chains.includes(c.name)))
        throw new SpecError(
          `branches.${j}.levels`,
          `branches.${j}: level 0 is this experiment's dense network, not ticket chain "${c.name}"'s start: list the other chains in branches.${j}.chains, or drop level 0`,
          [`${at}.ticket`],
        );
    });
  });
}

/**
 * Samples larger than the training split: a criterion that scores a sample (its registry entry's
 * `needs.sample`) or a data-driven unit criterion reads at most the whole split. Both samples are
 * capped at the split's size, alike, and each cap is reported as a warning before any work.
 */
/**
 * Milestones at or past the end of training never step the LR (e.g. a preset's schedule after
 * `--set training.iterations` was shortened): then fine-tuning and LR rewinding train alike.
 */
export function scheduleWarnings(plan: TrainingSchedule): string[] {
  const late = plan.milestones.filter((m) => m >= plan.iterations);
  if (!late.length) return [];
  return [
    `training.schedule.milestones: ${late.map((m) => `${m}it`).join(', ')} ${late.length === 1 ? 'is' : 'are'} at or past the end of training (training.iterations = ${plan.iterations}it), so the LR never steps there: lower the milestones with training.iterations (e.g. --set training.schedule.milestones='["${Math.floor(plan.iterations / 2)}it"]')`,
  ];
}

function sampleWarnings(spec: Spec, trainN: number): string[] {
  const p = spec.pruning;
  if (p.levels === 0) return [];
  const between = spec.strategies.filter((c) => !c.during);
  const needs = new Set<string>();
  for (const c of between) {
    if (p.granularity === 'weight') {
      const need = CRITERIA[c.criterion ?? p.criterion].needs?.sample;
      if (need) needs.add(need);
    } else if (UNIT_CRITERIA[c.unitCriterion ?? p.unitCriterion].needsData) needs.add('pruning');
  }
  const out: string[] = [];
  const cap = (field: string, n: number) =>
    `${field} is ${n} but the training split has ${trainN} examples: all ${trainN} are used (set ${field} to at most ${trainN} to say so)`;
  const atInit = (p.atInit ?? AT_INIT_DEFAULTS).sample;
  if (needs.has('at-init') && atInit > trainN) out.push(cap('pruning.atInit.sample', atInit));
  if (needs.has('pruning') && p.sample.size > trainN) out.push(cap('pruning.sample.size', p.sample.size));
  return out;
}

/** pruning.exclude names layers or kinds of the model; some rate applies to some layer that is pruned. */
function checkPruning(spec: Spec, model: Model): void {
  const p = spec.pruning;
  const layers = model.params.filter((x) => x.kind !== 'none');
  const names = layers.map((x) => layerOf(x.name));
  const kinds = [...new Set(layers.map((x) => x.kind))];
  for (const e of p.exclude)
    if (!names.includes(e) && !(kinds as string[]).includes(e))
      throw new SpecError(
        'pruning.exclude',
        `pruning.exclude: ${model.name} has no layer or kind "${e}" (layers: ${names.join(', ')}; kinds: ${kinds.join(', ')})`,
        ['model'],
      );
  const pruned = layers.filter((x) => !isExcluded(x, p.exclude));
  if (pruned.length === 0 && p.levels > 0)
    throw new SpecError(
      'pruning.exclude',
      `pruning.exclude leaves no layer of ${model.name} to prune: remove an entry, or set pruning.levels to 0 for dense training only`,
      ['model', 'pruning.levels'],
    );
  if (p.levels === 0) return;
  if (p.granularity !== 'weight') {
    // Unit scores of different layers are not on one scale (a norm grows with fan-in), so units are pruned layer by layer.
    if (p.scope !== 'layerwise')
      throw new SpecError(
        'pruning.scope',
        `pruning.scope: granularity "${p.granularity}" prunes units layer by layer with pruning.rates; set pruning.scope to "layerwise"`,
        ['pruning.granularity'],
      );
    // A weight criterion would be silently unused: the unit criterion decides which units go.
    const weightCriterion = p.criterion !== 'large_final' ? p.criterion : spec.strategies.find((c) => c.criterion != null)?.criterion;
    if (weightCriterion)
      throw new SpecError(
        'pruning.criterion',
        `criterion "${weightCriterion}" ranks single weights, but pruning.granularity "${p.granularity}" removes whole units: choose a unit score with pruning.unitCriterion (or a chain's unitCriterion), or use granularity "weight"`,
        ['pruning.granularity', 'strategies'],
      );
    const units = unitLayers(model, p.granularity).filter((l) => !isUnitExcluded(l, p.exclude));
    // A data-driven score reads one layer's ReLU outputs; a group's units are several layers' channels summed by adds.
    const groups = units.filter((l) => l.kernels.length > 1);
    if (groups.length)
      spec.strategies.forEach((c, i) => {
        const name = c.unitCriterion ?? p.unitCriterion;
        if (c.during || !UNIT_CRITERIA[name].needsData) return;
        const field = c.unitCriterion ? `strategies.${i}.unitCriterion` : 'pruning.unitCriterion';
        const first = groups.map((g) => g.layer.split('+')[0]);
        throw new SpecError(
          field,
          `${field}: "${name}" scores the ReLU outputs of one layer, but residual adds sum the channels of several layers of ${model.name} into one group (${groups.length} groups, e.g. ${groups[0].layer.split('+').join(', ')}): use l1_norm, l2_norm or random, which score a group by all its kernels, or keep the groups dense by adding ${JSON.stringify(first)} to pruning.exclude`,
        );
      });
    if (units.length === 0 || units.every((l) => p.rates[l.kind] === 0)) {
      const left = leftOut(spec, model);
      throw new SpecError(
        'pruning.granularity',
        `pruning.granularity: "${p.granularity}" finds no ${p.granularity === 'neuron' ? 'hidden dense layer' : 'conv or hidden dense layer'} of ${model.name} with a rate above 0 to prune units of${left ? ` (${left})` : ''}: set pruning.rates.fc${p.granularity === 'filter' ? ' or pruning.rates.conv' : ''} above 0, check pruning.exclude, or use granularity "weight"`,
        ['model', 'pruning.rates', 'pruning.exclude'],
      );
    }
    return;
  }
  if (p.scope !== 'layerwise' && p.globalRate === 0)
    throw new SpecError(
      'pruning.globalRate',
      'pruning.globalRate is 0, so no level would prune anything: set it above 0 (e.g. 0.2), or pruning.levels to 0 for dense training only',
      ['pruning.scope', 'pruning.levels'],
    );
  if (p.scope === 'layerwise' && pruned.every((x) => p.rates[x.kind as 'conv' | 'fc' | 'output'] === 0)) {
    const used = [...new Set(pruned.map((x) => x.kind))];
    throw new SpecError(
      'pruning.rates',
      `pruning.rates: every rate that applies to ${model.name} (${used.map((k) => `${k}`).join(', ')}) is 0, so no level would prune anything: set one above 0 (e.g. pruning.rates.fc = 0.2), or pruning.levels to 0 for dense training only`,
      ['model', 'pruning.exclude', 'pruning.scope', 'pruning.levels'],
    );
  }
}

/**
 * The layers of the kinds pruning.granularity prunes (not excluded) whose units it cannot prune,
 * each with why (src/models/graph.ts unitsLeftOut), in words, or '' when there are none.
 */
function leftOut(spec: Spec, model: Model): string {
  const p = spec.pruning;
  return unitLayersLeftOut(model, p.granularity)
    .filter((l) => !isUnitExcluded(l, p.exclude))
    .map((l) => `${l.layer} ${l.why}`)
    .join('; ');
}

/** A warning when unit granularity leaves some of the model's layers of its kinds dense (leftOut). */
function unitWarnings(spec: Spec, model: Model): string[] {
  if (spec.pruning.granularity === 'weight' || spec.pruning.levels === 0) return [];
  const left = leftOut(spec, model);
  return left ? [`pruning.granularity "${spec.pruning.granularity}" leaves these layers of ${model.name} unpruned: ${left}`] : [];
}

/** A chain that is the same computation as an earlier chain of the spec: `chain` is not trained,
 *  its rows are copies of `twinOf`'s (orchestration/chain.ts); `reason` is the warning text. */
export interface TwinPair {
  /** the later chain in spec order */
  readonly chain: string;
  /** the earlier chain it duplicates, itself never a twin */
  readonly twinOf: string;
  readonly reason: string;
}

/**
 * Pairs of chains that are one computation (same masks, same starting weights, same batches,
 * same learning rates), up to the random tie-breaking of exactly equal scores. Never for the
 * 'random' criterion or a random reset: those draw from streams keyed by the chain name.
 * - the same deterministic reset, rewind point, criterion and mask-0 action under two names;
 * - lr-rewind (from 0) and fine-tune when the learning rate is constant (no step schedule, no
 *   warmup) and fineTuneIterations equals iterations: both train θ_final ⊙ m for the full
 *   length at the one learning rate. Renda et al. (2020) compare them under a decaying
 *   schedule, where lr-rewind replays the high learning rates and fine-tune does not.
 */
/** Resets that use no randomness: the same reset under two names is the same computation. */
const DETERMINISTIC_RESETS = ['rewind', 'sign-constant', 'fine-tune', 'lr-rewind'];

export function twinPairs(spec: Spec, strategies: readonly Reset[], plan: TrainingSchedule): TwinPair[] {
  const out: TwinPair[] = [];
  // Under neuron/filter granularity the unit criterion decides the mask; the weight criterion is unused.
  const criterionOf = (c: Spec['strategies'][number]): string =>
    spec.pruning.granularity === 'weight' ? (c.criterion ?? spec.pruning.criterion) : (c.unitCriterion ?? spec.pruning.unitCriterion);
  const chains = spec.strategies.map((c, i) => ({
    name: c.name,
    s: strategies[i],
    criterion: criterionOf(c),
    mask0: c.mask0,
    during: JSON.stringify(c.during),
    ticket: JSON.stringify(c.ticket ?? null),
  }));
  const constantLr = spec.training.schedule.kind === 'constant' && plan.warmup === 0;
  const sourceOf = new Map<string, string>();
  for (let j = 1; j < chains.length; j++)
    for (let i = 0; i < j; i++) {
      const a = chains[i];
      const b = chains[j];
      // 'random' scores and random resets draw from streams keyed by the chain name: two such chains are independent draws
      if (a.criterion !== b.criterion || a.mask0 !== b.mask0 || a.during !== b.during || a.ticket !== b.ticket || a.criterion === 'random') continue;
      let reason: string | null = null;
      if (a.s.base === b.s.base && a.s.k === b.s.k && DETERMINISTIC_RESETS.includes(a.s.base))
        reason = `strategies "${a.name}" and "${b.name}" are the same computation (reset ${a.s.base}${a.s.k ? `@${a.s.k}it` : ''}, criterion ${a.criterion}, mask0 ${a.mask0}): drop one, or change its reset, criterion or mask0`;
      const pair = [a, b]
        .map((c) => (c.s.base === 'lr-rewind' && c.s.k === 0 ? 'lr' : c.s.base === 'fine-tune' ? 'ft' : ''))
        .sort()
        .join('+');
      if (pair === 'ft+lr' && constantLr && plan.fineTuneIterations === plan.iterations)
        reason = `strategies "${a.name}" and "${b.name}" are the same computation: under a constant learning rate with fineTuneIterations = iterations, lr-rewind and fine-tune both train θ_final ⊙ m for ${plan.iterations} steps at lr ${spec.training.optimizer.lr}; Renda et al. (2020) compare them under a decaying schedule, e.g. training.schedule = {"kind":"step","milestones":[…],"gamma":0.1}`;
      if (reason === null) continue;
      // the earliest chain of the computation is the one trained; a twin of a twin copies it too
      const twinOf = sourceOf.get(a.name) ?? a.name;
      sourceOf.set(b.name, twinOf);
      out.push({ chain: b.name, twinOf, reason });
      break;
    }
  return out;
}

/** The warning of a twin pair: one line naming both chains and the likely intended setting. */
const twinWarning = (p: TwinPair): string => `${p.reason}; "${p.chain}" is not trained: its levels are copies of "${p.twinOf}"'s`;
