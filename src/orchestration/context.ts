import { initBackend, type BackendChoice, type BackendName } from '../backend/index.js';
import { loadDataset, type Dataset, type DataOptions } from '../data/index.js';
import { buildSpecModel, type Model } from '../models/index.js';
import { type LoadedSpec, type DuringSpec, type Mask0Name, type Spec, checkSpec, type TwinPair, validateSpec } from '../spec/index.js';
import type { BranchTask } from '../branches/index.js';
import { hasStart, openStart, resolveReset, type OpenedStart, type Reset } from '../resets/index.js';
import { resolveSchedule, type TrainingSchedule } from '../training/index.js';
import { Store, type StoreOptions } from '../storage/index.js';
import { deriveSeed } from '../util/index.js';

/** What a run reports while it works; the CLI turns these into progress bars or log lines. */
export type ProgressEvent =
  | {
      type: 'plan';
      experiment: string;
      /** as levels.backend records it, e.g. native:avx2+onednn-2.6.3 */ backend: string;
      totalLevels: number;
      doneLevels: number;
    }
  | { type: 'level-start'; job: string; level: number; steps: number }
  | { type: 'step'; job: string; done: number; total: number }
  /** an evaluation during a level (every training.evalEvery): the curve point as stored */
  | { type: 'eval'; job: string; iteration: number; trainLoss: number | null; testLoss: number; testAccuracy: number }
  | {
      type: 'level-done';
      job: string;
      level: number;
      percentRemaining: number;
      earlyStopIteration: number;
      earlyStopTestAccuracy: number;
      finalTestAccuracy: number;
      seconds: number;
    }
  /** a twin chain's level stored as a copy of the level of the chain it duplicates (nothing trained) */
  | { type: 'level-copied'; job: string; level: number; from: string }
  | { type: 'log'; message: string };

export interface RunOptions {
  db?: string;
  /** Store options of the database (weights folder, journal mode): a cluster task's shard, docs/CLUSTER.md */
  store?: StoreOptions;
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
  readonly strategy: Reset;
  readonly criterion: Spec['pruning']['criterion'];
  readonly unitCriterion: Spec['pruning']['unitCriterion'];
  readonly mask0: Mask0Name;
  /** a during-training pruner of src/pruning/registry.ts instead of pruning between levels; null = between */
  readonly during: DuringSpec | null;
  /** the branch rows hanging off this chain's levels (spec.branches, expanded and filtered) */
  readonly branches: readonly BranchTask[];
  /** the earlier chain this one is the same computation as (spec/check.ts twinPairs): its levels
   *  are copied from that chain's, never trained; null for a chain that trains */
  readonly twinOf: string | null;
  /** where the chain starts when not from its trial's level 0 (src/resets/start.ts, e.g. another experiment's ticket); null = level 0 */
  readonly start: OpenedStart | null;
}

/** Everything one process needs to run levels of one experiment. */
export interface Context {
  readonly loaded: LoadedSpec;
  readonly spec: Spec;
  readonly store: Store;
  readonly experimentId: number;
  readonly data: Dataset;
  readonly model: Model;
  readonly plan: TrainingSchedule;
  readonly chains: readonly Chain[];
  readonly backend: BackendName;
  readonly emit: (e: ProgressEvent) => void;
  readonly shouldStop: () => boolean;
  /** what checkSpec found allowed but almost certainly not meant; runExperiment prints them before any training */
  readonly warnings: readonly string[];
  /** chains that are copies of an earlier chain (spec/check.ts twinPairs), also on each Chain as twinOf */
  readonly twins: readonly TwinPair[];
}

/** The seed of trial `trial`: a hash of (spec.seed, trial), never their sum, so no two
 *  (seed, trial) pairs share θ0, data order or masks (docs/SCHEMA.md, "Seeds"). */
export const trialSeed = (spec: Spec, trial: number): number => deriveSeed('lth-trial', spec.seed, trial);

/**
 * Opens the start sources the spec's chains name (src/resets/start.ts) against this experiment,
 * before any data loads: a missing or mismatched source fails here, in one line. Returns the spec
 * with what pins each source filled in (it enters the stored spec and the resume check) and the
 * opened sources by chain name. `db`: this run's database.
 */
export function openStarts(loaded: LoadedSpec, db: string): { loaded: LoadedSpec; starts: ReadonlyMap<string, OpenedStart> } {
  const starts = new Map<string, OpenedStart>();
  if (!loaded.spec.strategies.some(hasStart)) return { loaded, starts };
  const checked = checkSpec(loaded);
  const raw = JSON.parse(loaded.json) as { strategies: Record<string, unknown>[] };
  loaded.spec.strategies.forEach((c, i) => {
    const s = openStart(c, { runDb: db, model: checked.model, strategy: checked.strategies[i], at: `strategies.${i}` });
    if (!s) return;
    starts.set(c.name, s.opened);
    raw.strategies[i] = { ...raw.strategies[i], [s.field]: s.opened.resolved };
  });
  return { loaded: validateSpec(raw, loaded.source ?? 'spec', loaded.sets), starts };
}

/**
 * Loads data and resolves the spec; the parts that can fail on bad input fail here, before anything is written.
 * `starts`: the chains' opened start sources (openStarts), by chain name.
 */
export async function resolveRun(loaded: LoadedSpec, opts: RunOptions, starts: ReadonlyMap<string, OpenedStart> = new Map()) {
  const spec = loaded.spec;
  // Every mistake in the spec is found here, before the backend, the data or the database.
  const checked = checkSpec(loaded);
  const backend = await initBackend(opts.backend ?? 'auto');
  const data = await loadDataset(spec.data, spec.seed, opts.data ?? {});
  const model = buildSpecModel(spec.model, data.inputShape, data.numClasses);
  const plan = resolveSchedule(spec.training, data.train.n);
  const chains: Chain[] = spec.strategies.map((c) => ({
    name: c.name,
    strategy: resolveReset(c.reset, plan),
    criterion: c.criterion ?? spec.pruning.criterion,
    unitCriterion: c.unitCriterion ?? spec.pruning.unitCriterion,
    mask0: c.mask0,
    during: c.during,
    branches: checked.tasks.filter((t) => t.chains === 'all' || t.chains.includes(c.name)),
    twinOf: checked.twins.find((p) => p.chain === c.name)?.twinOf ?? null,
    start: starts.get(c.name) ?? null,
  }));
  return { backend, data, model, plan, chains, warnings: checked.warnings, twins: checked.twins };
}
