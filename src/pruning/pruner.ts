import type { z } from 'zod';
import type { Split } from '../data/types.js';
import type { Masks, Model, Weights } from '../models/types.js';
import type { PruningSpec } from '../spec/schema.js';
import type { Step } from '../spec/step.js';
import type { StepCallback, TrainResult } from '../training/loop.js';
import type { TrainingSchedule } from '../training/schedule.js';
import type { Rng } from '../util/rng.js';
import type { Churn } from './during.js';
import type { ScoreFn } from './criteria.js';
import type { SaliencySample } from './saliency.js';

/**
 * The pruner abstraction (docs/DESIGN.md#pruners), after google-research/jaxpruner's
 * BaseUpdater: a pruner is a score, a schedule and a per-layer distribution that together give
 * each level its mask by top-k. Two families share one registry (./registry.ts):
 *
 * - **between levels** (CriterionDef): scores the weights after a level's training (or θ0) and
 *   the masker keeps the top `remainingAfter(…)` per pool of the distribution (`pruning.scope`:
 *   layerwise rates, global, ERK). An entry declares what it needs (a data sample, rescoring
 *   rounds) and the orchestrator prepares nothing by name (./level.ts does).
 * - **during training** (DuringPruner): level L trains θ0 once while the entry's callbacks move
 *   the mask to level L's counts (gradual, SET/RigL, early-bird). An entry declares its spec
 *   fields (zod), its shorthand chain strings, its checks, its help line, and runs the level.
 *
 * Adding a pruner = one file plus one line in ./registry.ts; the spec's unions, shorthands,
 * checks and `lth run --help` read the registry.
 */

/** Which fixed sample of the training split a between-level criterion scores on. */
export type SampleNeed =
  /** `pruning.atInit.sample` examples, drawn per trial (SNIP, GraSP: docs/PAPERS.md#when-to-prune) */
  | 'at-init'
  /** `pruning.sample`, the draw the data-driven unit criteria read too (OBD: docs/PAPERS.md#obd) */
  | 'pruning';

/** What a network-level saliency is computed from, for one chain and level. */
export interface SaliencyInputs {
  readonly model: Model;
  /** θ0 */
  readonly theta0: Weights;
  /** the previous level's final weights */
  readonly final: Weights;
  /** the sample the entry asked for (`needs.sample`), null when it asks for none */
  readonly sample: SaliencySample | null;
}

/** A between-level criterion: a score per weight, with its help line and what it needs. */
export interface CriterionDef extends ScoreFn {
  readonly help: string;
  readonly needs?: {
    readonly sample?: SampleNeed;
  };
  /** scores θ0, so the mask costs no training (docs/SCHEMA.md, table compute) */
  readonly atInit?: boolean;
  /** reads w_i (θ0): refused for a pretrained model file, which has no θ0 (src/spec/check.ts) */
  readonly readsInit?: boolean;
  /** the network-level score of every prunable weight under `masks` (stored layout), which
   *  the score function then reads as `saliency`; absent for per-weight criteria */
  readonly saliency?: (x: SaliencyInputs) => (masks: Masks) => Weights;
  /** rescoring rounds per level (SynFlow); default 1 */
  readonly rounds?: (p: PruningSpec) => number;
}

/** A criterion entry: a score function carrying its declarations. */
export const criterion = (help: string, score: ScoreFn, more: Omit<CriterionDef, 'help' | keyof ScoreFn> = {}): CriterionDef =>
  Object.assign(score, { help, ...more });

/** Everything a during-training pruner needs to run level L of a chain. */
export interface DuringLevel {
  readonly model: Model;
  readonly pruning: PruningSpec;
  readonly plan: TrainingSchedule;
  readonly train: Split;
  readonly level: number;
  readonly theta0: Weights;
  /** the chain's rng for this level */
  readonly rng: Rng;
  /** a spec step in iterations */
  steps(s: Step): number;
  /**
   * Trains from `init` under `masks` on the full schedule (replayed from step 0) with the
   * level's batches, or level `orderLevel`'s (0: the dense level's batches); `label` is
   * appended to the job's name in progress output.
   */
  trainFrom(a: { init: Weights; masks: Masks; stepCallbacks?: StepCallback[]; orderLevel?: number; label?: string }): Promise<TrainResult>;
}

/** What a during-training level produces: the row's masks, training and extra tables. */
export interface DuringOutcome {
  readonly masks: Masks;
  readonly res: TrainResult;
  readonly compute: { totalIterations: number; totalMultiplyAdds: number; detectionIteration?: number };
  readonly churn?: Churn[];
  readonly distances?: { iteration: number; distance: number }[];
}

/** A shorthand chain string of a during-training pruner, e.g. "early-bird@0.1". */
export interface Shorthand {
  /** how it is written, for help texts */
  readonly form: string;
}

/**
 * A during-training pruner (docs/PAPERS.md#when-to-prune): one entry of ./registry.ts.
 * `S` is the output of `schema` (its `kind` is the entry's kind).
 */
export interface DuringPruner<S extends { kind: string } = { kind: string }> {
  readonly kind: S['kind'];
  /** the `strategies[].during` object: a zod strictObject with `kind: z.literal(kind)`, described */
  readonly schema: z.ZodType<S> & z.core.$ZodTypeDiscriminable;
  /** shorthand chain strings (`"strategies": ["rigl"]`) */
  readonly shorthands: readonly Shorthand[];
  /** the settings a shorthand string stands for, null when it is not one of this entry's */
  parse(s: string): S | null;
  /** the chain's default name (its label in the database) */
  name(d: S): string;
  /**
   * Checks the settings against the training plan, before any work.
   * @returns the problem as "field: what is wrong: the fix" (field relative to the `during` object, "" for the chain), or null
   */
  check(d: S, plan: TrainingSchedule, steps: (s: Step) => number): { field: string; message: string } | null;
  /** trains level L of a chain */
  run(d: S, x: DuringLevel): Promise<DuringOutcome>;
}

/** An entry typed by its own settings, stored in the registry's list. */
export const during = <S extends { kind: string }>(p: DuringPruner<S>): DuringPruner => p as unknown as DuringPruner;
