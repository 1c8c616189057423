import { backendLabel } from '../backend/index.js';
import type { Masks, Weights } from '../models/index.js';
import { maskHash, sparsity } from '../pruning/index.js';
import { train, type LevelSchedule, type TrainResult } from '../training/loop.js';
import { trialSeed, type Context } from './context.js';

/** Where a level's files live, how they are packed, and how a finished level is stored:
 *  shared by chains and branches. */

const chainDir = (trial: number, chain: string) => `trial-${trial}/${encodeURIComponent(chain)}`;
export const keys = {
  theta0: (t: number) => `trial-${t}/theta-0`,
  thetaK: (t: number, k: number) => `trial-${t}/theta-k${k}`,
  dense: (t: number) => `trial-${t}/level-0`,
  level: (t: number, chain: string, level: number) => `${chainDir(t, chain)}/level-${level}`,
  /** a chain level's weights and mask; level 0 is the trial's shared dense level */
  chainLevel: (t: number, chain: string, level: number) => (level === 0 ? keys.dense(t) : keys.level(t, chain, level)),
  branch: (t: number, chain: string, level: number, label: string, replicate: number) => `${chainDir(t, chain)}/level-${level}-${encodeURIComponent(label)}-${replicate}`,
};

export type Artifact = Record<string, Float32Array | Uint8Array>;

/** Weights and mask share one file per level: weights under "w/", masks under "m/". */
export function packLevel(w: Weights, m: Masks): Artifact {
  const out: Artifact = {};
  for (const [k, v] of Object.entries(w)) out[`w/${k}`] = v;
  for (const [k, v] of Object.entries(m)) out[`m/${k}`] = v;
  return out;
}

export function unpackLevel(a: Artifact): { weights: Weights; masks: Masks } {
  const weights: Weights = {};
  const masks: Masks = {};
  for (const [k, v] of Object.entries(a)) {
    if (k.startsWith('w/')) weights[k.slice(2)] = v as Float32Array;
    else if (k.startsWith('m/')) masks[k.slice(2)] = v as Uint8Array;
  }
  return { weights, masks };
}

export async function trainLevel(
  ctx: Context,
  job: string,
  level: number,
  args: { init: Weights; masks: Masks; frozen?: Weights; schedule: LevelSchedule; trial: number; snapshotAt?: number[] },
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
    orderKey: dataOrder(ctx, args.trial, level),
    snapshotAt: args.snapshotAt,
    callbacks: {
      onStep: (done, total) => ctx.emit({ type: 'step', job, done, total }),
      shouldStop: ctx.shouldStop,
    },
  });
}

export const dataOrder = (ctx: Context, trial: number, level: number): (string | number)[] => ['data', trialSeed(ctx.spec, trial), level];

/** What a stored row reports about its training (a trained level, or an evaluation at iteration 0). */
export type Outcome = Pick<TrainResult, 'curve' | 'earlyStop' | 'final' | 'iterations'>;

export function record(
  ctx: Context,
  job: string,
  row: { strategy: string; branch?: string; replicate?: number; trial: number; level: number },
  masks: Masks,
  res: Outcome,
  started: number,
  artifacts: Record<string, Artifact>,
): void {
  const sp = sparsity(ctx.model, masks);
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
