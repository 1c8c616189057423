import { initBackend, type BackendChoice, type BackendName } from '../backend/index.js';
import { loadDataset } from '../data/index.js';
import type { Dataset, DataOptions } from '../data/types.js';
import { buildModel, type Model } from '../models/index.js';
import type { LoadedSpec } from '../spec/load.js';
import type { Mask0Name, Spec } from '../spec/schema.js';
import { checkSpec } from '../spec/check.js';
import { resolveStrategy, type BranchTask, type Strategy } from '../strategies/index.js';
import { planTraining, type TrainingPlan } from '../training/schedule.js';
import { Store } from '../storage/db.js';
import { deriveSeed } from '../util/rng.js';

/** What a run reports while it works; the CLI turns these into progress bars or log lines. */
export type ProgressEvent =
  | { type: 'plan'; experiment: string; backend: string; totalLevels: number; doneLevels: number }
  | { type: 'level-start'; job: string; level: number; steps: number }
  | { type: 'step'; job: string; done: number; total: number }
  | { type: 'level-done'; job: string; level: number; percentRemaining: number; earlyStopIteration: number; earlyStopTestAccuracy: number; finalTestAccuracy: number; seconds: number }
  | { type: 'log'; message: string };

export interface RunOptions {
  db?: string;
  backend?: BackendChoice;
  workers?: number;
  data?: DataOptions;
  onProgress?: (e: ProgressEvent) => void;
  /** polled between training steps; true = stop cleanly (nothing of the level in flight is stored) */
  shouldStop?: () => boolean;
}

/** A chain as the orchestrator runs it: the spec's entry with its strategy resolved. */
export interface Chain {
  readonly name: string;
  readonly strategy: Strategy;
  readonly criterion: Spec['pruning']['criterion'];
  readonly unitCriterion: Spec['pruning']['unitCriterion'];
  readonly mask0: Mask0Name;
  /** the branch rows hanging off this chain's levels (spec.branches, expanded and filtered) */
  readonly branches: readonly BranchTask[];
}

/** Everything one process needs to run levels of one experiment. */
export interface Context {
  readonly loaded: LoadedSpec;
  readonly spec: Spec;
  readonly store: Store;
  readonly experimentId: number;
  readonly data: Dataset;
  readonly model: Model;
  readonly plan: TrainingPlan;
  readonly chains: readonly Chain[];
  readonly backend: BackendName;
  readonly emit: (e: ProgressEvent) => void;
  readonly shouldStop: () => boolean;
  /** what checkSpec found allowed but almost certainly not meant; runExperiment prints them before any training */
  readonly warnings: readonly string[];
}

/** The seed of trial `trial`: a hash of (spec.seed, trial), never their sum, so no two
 *  (seed, trial) pairs share θ0, data order or masks (docs/SCHEMA.md, "Seeds"). */
export const trialSeed = (spec: Spec, trial: number): number => deriveSeed('lth-trial', spec.seed, trial);

/** Loads data and resolves the spec; the parts that can fail on bad input fail here, before anything is written. */
export async function prepare(loaded: LoadedSpec, opts: RunOptions) {
  const spec = loaded.spec;
  // Every mistake in the spec is found here, before the backend, the data or the database.
  const checked = checkSpec(loaded);
  const backend = await initBackend(opts.backend ?? 'auto');
  const data = await loadDataset(spec.data, spec.seed, opts.data ?? {});
  const model = buildModel(spec.model.name, data.inputShape, data.numClasses);
  const plan = planTraining(spec.training, data.train.n);
  const chains: Chain[] = spec.strategies.map((c) => ({
    name: c.name,
    strategy: resolveStrategy(c.reset, plan),
    criterion: c.criterion ?? spec.pruning.criterion,
    unitCriterion: c.unitCriterion ?? spec.pruning.unitCriterion,
    mask0: c.mask0,
    branches: checked.tasks.filter((t) => t.chains === 'all' || t.chains.includes(c.name)),
  }));
  return { backend, data, model, plan, chains, warnings: checked.warnings };
}

/** Kept for callers of the earlier API; see spec/check.ts. */
export { checkChainsAndBranches } from '../spec/check.js';
