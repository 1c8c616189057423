import { backendLabel } from '../backend/index.js';
import type { Masks, Weights } from '../models/index.js';
import { activationSparsity } from '../models/activations.js';
import { maskHash, sparsity } from '../pruning/index.js';
import { unitCounts } from '../pruning/index.js';
import { train, type CurvePoint, type LevelSchedule, type StepCallback, type TrainResult } from '../training/index.js';
import type { LevelRecord } from '../storage/index.js';
import { trialSeed, type Context, type ProgressEvent } from './context.js';

/** How a finished level is trained and stored: shared by chains and branches. The file layout
 *  and level packing are storage's (src/storage/levels.ts), re-exported here for callers. */
export { keys, packLevel, unpackLevel, type Artifact } from '../storage/index.js';
import type { Artifact } from '../storage/index.js';

export async function trainLevel(
  ctx: Context,
  job: string,
  level: number,
  args: {
    init: Weights;
    masks: Masks;
    frozen?: Weights;
    schedule: LevelSchedule;
    trial: number;
    snapshotAt?: number[];
    /** keep the weights at the early-stop point (a chain level or level 0 of a spec with training.keepEarlyStop) */
    keepEarlyStop?: boolean;
    stepCallbacks?: StepCallback[];
    orderLevel?: number;
    /** the data-order key, instead of the trial's order for the level (dataOrder) */
    orderKey?: (string | number)[];
  },
): Promise<TrainResult> {
  const steps = args.schedule.kind === 'replay' ? ctx.plan.iterations - args.schedule.from : args.schedule.steps;
  ctx.emit({ type: 'level-start', job, level, steps });
  return train({
    model: ctx.model,
    data: ctx.data,
    plan: ctx.plan,
    schedule: args.schedule,
    init: args.init,
    masks: args.masks,
    frozen: args.frozen,
    // Same batches at the same step for every chain of a trial: comparisons are paired.
    orderKey: args.orderKey ?? dataOrder(ctx, args.trial, args.orderLevel ?? level),
    snapshotAt: args.snapshotAt,
    keepEarlyStop: args.keepEarlyStop,
    stepCallbacks: args.stepCallbacks,
    callbacks: {
      onStep: (done, total) => ctx.emit({ type: 'step', job, done, total }),
      onEval: (p) => ctx.emit(evalEvent(job, p)),
      shouldStop: ctx.shouldStop,
    },
  });
}

/** The progress event of an evaluation of `job` (the CLI shows its loss and accuracy while the level trains). */
export const evalEvent = (job: string, p: CurvePoint): ProgressEvent => ({
  type: 'eval',
  job,
  iteration: p.iteration,
  trainLoss: p.trainLoss,
  testLoss: p.testLoss,
  testAccuracy: p.testAccuracy,
});

export const dataOrder = (ctx: Context, trial: number, level: number): (string | number)[] => ['data', trialSeed(ctx.spec, trial), level];

/** The early-stop weights file of a level when training kept them (training.keepEarlyStop), under `key` (keys.earlyStop). */
export const earlyStopArtifact = (key: string, res: Pick<TrainResult, 'earlyStopWeights'>): Record<string, Artifact> =>
  res.earlyStopWeights ? { [key]: res.earlyStopWeights } : {};

/** What a stored row reports about its training (a trained level, or an evaluation at iteration 0). */
export type Outcome = Pick<TrainResult, 'curve' | 'earlyStop' | 'final' | 'iterations'>;

/**
 * Stores a finished row. With `weights` (the network as evaluated, stored layout) it also
 * measures activation sparsity on the test split (models/activations.ts); unit counts are
 * stored under neuron/filter granularity (pruning/units.ts).
 */
export async function record(
  ctx: Context,
  job: string,
  row: { strategy: string; branch?: string; replicate?: number; trial: number; level: number },
  masks: Masks,
  res: Outcome,
  started: number,
  artifacts: Record<string, Artifact>,
  extra: Pick<LevelRecord, 'churn' | 'distances' | 'compute' | 'instability'> = {},
  weights?: Weights,
): Promise<void> {
  const sp = sparsity(ctx.model, masks);
  const activations = weights ? await activationSparsity(ctx.model, weights, ctx.data.test) : undefined;
  const units = unitCounts(ctx.model, ctx.spec.pruning.granularity, masks);
  const seconds = (Date.now() - started) / 1000;
  ctx.store.commitLevel(ctx.spec.name, {
    experimentId: ctx.experimentId,
    ...row,
    sparsity: sp,
    maskHash: maskHash(ctx.model, masks),
    earlyStop: res.earlyStop,
    final: res.final,
    curve: res.curve,
    iterations: res.iterations,
    wallSeconds: seconds,
    // the device too, e.g. "webgpu:llvmpipe (software)": what actually ran
    backend: backendLabel(),
    artifacts,
    ...extra,
    units,
    activations,
  });
  ctx.emit({
    type: 'level-done',
    job,
    level: row.level,
    percentRemaining: sp.percentRemaining,
    earlyStopIteration: res.earlyStop.iteration,
    earlyStopTestAccuracy: res.earlyStop.testAccuracy,
    finalTestAccuracy: res.final.testAccuracy,
    seconds,
  });
}
