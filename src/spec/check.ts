import { datasetMeta, type DatasetMeta } from '../data/meta.js';
import { checkSplits } from '../data/prepare.js';
import { buildModel, type Model } from '../models/index.js';
import { isExcluded, layerOf } from '../pruning/masker.js';
import { unitLayers } from '../pruning/units.js';
import { expandBranch, resolveStrategy, type BranchTask, type Strategy } from '../strategies/index.js';
import { planTraining, type TrainingPlan } from '../training/schedule.js';
import { SpecError, UserError } from '../util/errors.js';
import type { LoadedSpec } from './load.js';
import type { Spec } from './schema.js';

/**
 * Everything a spec says, checked before any backend, data or database is touched: the data
 * split sizes, model/data shape compatibility, strategy names and `@k` rewind points, the
 * chains branches refer to, `pruning.exclude` and the pruning rates. Uses only the spec and the
 * data sets' published sizes (data/meta.ts).
 *
 * Not re-exported from spec/index.ts: it builds the model, which imports tfjs, and spec
 * validation alone should stay light.
 */
export interface CheckedSpec {
  readonly meta: DatasetMeta;
  readonly model: Model;
  /** the training plan for the split size the spec asks for */
  readonly plan: TrainingPlan;
  /** spec.strategies resolved, in order */
  readonly strategies: readonly Strategy[];
  /** spec.branches expanded */
  readonly tasks: BranchTask[];
  /** things that are allowed but almost certainly not meant (one line each), e.g. two chains that are one computation */
  readonly warnings: string[];
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
    const sets = (loaded.sets ?? []).filter((s) => overlaps(s.slice(0, s.indexOf('=')), e.path));
    throw new UserError(sets.length ? `${sets.map((s) => `--set ${s}`).join(', ')}: ${e.message}` : `invalid spec ${loaded.source ?? ''}: ${e.message}`.replace('spec :', 'spec:'));
  }
}

/** Whether a value set at `setPath` contains or is contained in the field at `path`. */
const overlaps = (setPath: string, path: string): boolean => setPath === path || path.startsWith(`${setPath}.`) || setPath.startsWith(`${path}.`);

function check(spec: Spec): CheckedSpec {
  const meta = datasetMeta(spec.data);
  checkSplits(meta, spec.data);
  const plan = planTraining(spec.training, spec.data.trainSubset ?? meta.trainN - spec.data.validation);
  let model: Model;
  try {
    model = buildModel(spec.model.name, meta.inputShape, meta.numClasses);
  } catch (e) {
    throw new SpecError('model.name', `model.name: ${(e as Error).message} (data.dataset "${spec.data.dataset}" gives examples of shape [${meta.inputShape}])`);
  }
  const strategies = spec.strategies.map((c, i) => {
    try {
      return resolveStrategy(c.reset, plan);
    } catch (e) {
      throw new SpecError(`strategies.${i}`, `strategies.${i}: ${(e as Error).message}`);
    }
  });
  const tasks = checkChainsAndBranches(spec);
  checkPruning(spec, model);
  return { meta, model, plan, strategies, tasks, warnings: twinChains(spec, strategies, plan) };
}

/** Chain names are unique, and every branch names existing chains and levels and has a label of its own.
 *  Needs only the spec. Returns the expanded branch tasks. */
export function checkChainsAndBranches(spec: Spec): BranchTask[] {
  const tasks = spec.branches.flatMap(expandBranch);
  const names = new Set<string>();
  spec.strategies.forEach((c, i) => {
    if (names.has(c.name)) throw new SpecError(`strategies.${i}`, `strategies.${i}: strategy "${c.name}" appears twice in the spec: give one of them a distinct "name"`);
    names.add(c.name);
  });
  spec.branches.forEach((b, i) => {
    for (const n of b.chains === 'all' ? [] : b.chains)
      if (!names.has(n)) throw new SpecError(`branches.${i}.chains`, `branches.${i}.chains: no chain is named "${n}" (chains: ${[...names].join(', ')})`);
    for (const l of b.levels === 'all' ? [] : b.levels)
      if (l > spec.pruning.levels) throw new SpecError(`branches.${i}.levels`, `branches.${i}.levels: level ${l} is beyond pruning.levels (${spec.pruning.levels})`);
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

/** pruning.exclude names layers or kinds of the model; some rate applies to some layer that is pruned. */
function checkPruning(spec: Spec, model: Model): void {
  const p = spec.pruning;
  const layers = model.params.filter((x) => x.kind !== 'none');
  const names = layers.map((x) => layerOf(x.name));
  const kinds = [...new Set(layers.map((x) => x.kind))];
  for (const e of p.exclude)
    if (!names.includes(e) && !(kinds as string[]).includes(e))
      throw new SpecError('pruning.exclude', `pruning.exclude: ${model.name} has no layer or kind "${e}" (layers: ${names.join(', ')}; kinds: ${kinds.join(', ')})`);
  const pruned = layers.filter((x) => !isExcluded(x, p.exclude));
  if (pruned.length === 0 && p.levels > 0)
    throw new SpecError('pruning.exclude', `pruning.exclude leaves no layer of ${model.name} to prune: remove an entry, or set pruning.levels to 0 for dense training only`);
  if (p.levels === 0) return;
  if (p.granularity !== 'weight') {
    // Unit scores of different layers are not on one scale (a norm grows with fan-in), so units are pruned layer by layer.
    if (p.scope === 'global')
      throw new SpecError('pruning.scope', `pruning.scope: granularity "${p.granularity}" prunes units layer by layer with pruning.rates; set pruning.scope to "layerwise"`);
    const units = unitLayers(model, p.granularity).filter((l) => !isExcluded({ name: l.kernel, kind: l.kind }, p.exclude));
    if (units.length === 0 || units.every((l) => p.rates[l.kind] === 0))
      throw new SpecError(
        'pruning.granularity',
        `pruning.granularity: "${p.granularity}" finds no ${p.granularity === 'neuron' ? 'hidden dense layer' : 'conv or hidden dense layer'} of ${model.name} with a rate above 0 to prune units of: set pruning.rates.fc${p.granularity === 'filter' ? ' or pruning.rates.conv' : ''} above 0, check pruning.exclude, or use granularity "weight"`,
      );
    return;
  }
  if (p.scope === 'global' && p.globalRate === 0)
    throw new SpecError('pruning.globalRate', 'pruning.globalRate is 0, so no level would prune anything: set it above 0 (e.g. 0.2), or pruning.levels to 0 for dense training only');
  if (p.scope === 'layerwise' && pruned.every((x) => p.rates[x.kind as 'conv' | 'fc' | 'output'] === 0)) {
    const used = [...new Set(pruned.map((x) => x.kind))];
    throw new SpecError(
      'pruning.rates',
      `pruning.rates: every rate that applies to ${model.name} (${used.map((k) => `${k}`).join(', ')}) is 0, so no level would prune anything: set one above 0 (e.g. pruning.rates.fc = 0.2), or pruning.levels to 0 for dense training only`,
    );
  }
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

export function twinChains(spec: Spec, strategies: readonly Strategy[], plan: TrainingPlan): string[] {
  const out: string[] = [];
  // Under neuron/filter granularity the unit criterion decides the mask; the weight criterion is unused.
  const criterionOf = (c: Spec['strategies'][number]): string =>
    spec.pruning.granularity === 'weight' ? (c.criterion ?? spec.pruning.criterion) : (c.unitCriterion ?? spec.pruning.unitCriterion);
  const chains = spec.strategies.map((c, i) => ({ name: c.name, s: strategies[i], criterion: criterionOf(c), mask0: c.mask0 }));
  const constantLr = spec.training.schedule.kind === 'constant' && plan.warmup === 0;
  for (let i = 0; i < chains.length; i++)
    for (let j = i + 1; j < chains.length; j++) {
      const a = chains[i];
      const b = chains[j];
      // 'random' scores and random resets draw from streams keyed by the chain name: two such chains are independent draws
      if (a.criterion !== b.criterion || a.mask0 !== b.mask0 || a.criterion === 'random') continue;
      if (a.s.base === b.s.base && a.s.k === b.s.k && DETERMINISTIC_RESETS.includes(a.s.base))
        out.push(`strategies "${a.name}" and "${b.name}" are the same computation (reset ${a.s.base}${a.s.k ? `@${a.s.k}it` : ''}, criterion ${a.criterion}, mask0 ${a.mask0}): drop one, or change its reset, criterion or mask0`);
      const pair = [a, b].map((c) => (c.s.base === 'lr-rewind' && c.s.k === 0 ? 'lr' : c.s.base === 'fine-tune' ? 'ft' : '')).sort().join('+');
      if (pair === 'ft+lr' && constantLr && plan.fineTuneIterations === plan.iterations)
        out.push(
          `strategies "${a.name}" and "${b.name}" are the same computation: under a constant learning rate with fineTuneIterations = iterations, lr-rewind and fine-tune both train θ_final ⊙ m for ${plan.iterations} steps at lr ${spec.training.optimizer.lr}; Renda et al. (2020) compare them under a decaying schedule, e.g. training.schedule = {"kind":"step","milestones":[…],"gamma":0.1}`,
        );
    }
  return out;
}
