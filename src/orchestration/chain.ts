import { initialize, type Masks, type Weights } from '../models/index.js';
import { denseMasks, maskHash, prune, sparsity } from '../pruning/index.js';
import { train, type LevelSchedule, type TrainResult } from '../training/loop.js';
import { makeRng } from '../util/rng.js';
import { trialSeed, type Chain, type Context } from './context.js';

/**
 * The level loop. Level 0 (dense) is trained once per trial and shared by every chain;
 * each chain then prunes, resets and retrains level after level. Every level reads its
 * inputs from stored files and writes its outputs in one commit, so a run can stop after
 * any level and the next `lth run` continues bit-exactly.
 */

const chainDir = (trial: number, chain: string) => `trial-${trial}/${encodeURIComponent(chain)}`;
const keys = {
  theta0: (t: number) => `trial-${t}/theta-0`,
  thetaK: (t: number, k: number) => `trial-${t}/theta-k${k}`,
  dense: (t: number) => `trial-${t}/level-0`,
  level: (t: number, chain: string, level: number) => `${chainDir(t, chain)}/level-${level}`,
};

/** Weights and mask share one file per level: weights under "w/", masks under "m/". */
function packLevel(w: Weights, m: Masks): Record<string, Float32Array | Uint8Array> {
  const out: Record<string, Float32Array | Uint8Array> = {};
  for (const [k, v] of Object.entries(w)) out[`w/${k}`] = v;
  for (const [k, v] of Object.entries(m)) out[`m/${k}`] = v;
  return out;
}

function unpackLevel(a: Record<string, Float32Array | Uint8Array>): { weights: Weights; masks: Masks } {
  const weights: Weights = {};
  const masks: Masks = {};
  for (const [k, v] of Object.entries(a)) {
    if (k.startsWith('w/')) weights[k.slice(2)] = v as Float32Array;
    else if (k.startsWith('m/')) masks[k.slice(2)] = v as Uint8Array;
  }
  return { weights, masks };
}

async function trainLevel(ctx: Context, job: string, level: number, args: { init: Weights; masks: Masks; schedule: LevelSchedule; trial: number; snapshotAt?: number[] }): Promise<TrainResult> {
  const steps = args.schedule.kind === 'replay' ? ctx.plan.iterations - args.schedule.from : args.schedule.steps;
  ctx.emit({ type: 'level-start', job, level, steps });
  return train({
    model: ctx.model,
    data: ctx.data,
    plan: ctx.plan,
    schedule: args.schedule,
    init: args.init,
    masks: args.masks,
    // Same batches at the same step for every chain of a trial: comparisons are paired.
    orderKey: ['data', trialSeed(ctx.spec, args.trial), level],
    snapshotAt: args.snapshotAt,
    callbacks: {
      onStep: (done, total) => ctx.emit({ type: 'step', job, done, total }),
      shouldStop: ctx.shouldStop,
    },
  });
}

function record(ctx: Context, job: string, strategy: string, trial: number, level: number, masks: Masks, res: TrainResult, started: number, artifacts: Record<string, Record<string, Float32Array | Uint8Array>>) {
  const sp = sparsity(ctx.model, masks);
  const seconds = (Date.now() - started) / 1000;
  ctx.store.commitLevel(ctx.spec.name, {
    experimentId: ctx.experimentId,
    strategy,
    trial,
    level,
    sparsity: sp,
    maskHash: maskHash(ctx.model, masks),
    earlyStop: res.earlyStop,
    final: res.final,
    curve: res.curve,
    iterations: res.iterations,
    wallSeconds: seconds,
    backend: ctx.backend,
    artifacts,
  });
  ctx.emit({
    type: 'level-done',
    job,
    level,
    percentRemaining: sp.percentRemaining,
    earlyStopIteration: res.earlyStop.iteration,
    earlyStopTestAccuracy: res.earlyStop.testAccuracy,
    finalTestAccuracy: res.final.testAccuracy,
    seconds,
  });
}

/** Rewind points any chain needs from level 0. */
const rewindPoints = (ctx: Context): number[] => [...new Set(ctx.chains.filter((c) => c.strategy.needsThetaK).map((c) => c.strategy.k))];

export function denseDone(ctx: Context, trial: number): boolean {
  return ctx.store.doneLevels(ctx.experimentId, '', trial).includes(0);
}

/** Level 0 of a trial: draw θ0, train dense, keep θ_k for every rewind point. */
export async function runDense(ctx: Context, trial: number): Promise<void> {
  if (denseDone(ctx, trial)) return;
  const started = Date.now();
  const seed = trialSeed(ctx.spec, trial);
  const theta0 = initialize(ctx.model, ctx.spec.model.init, 'theta0', seed);
  const masks = denseMasks(ctx.model);
  const ks = rewindPoints(ctx);
  const job = `dense t${trial}`;
  const res = await trainLevel(ctx, job, 0, { init: theta0, masks, schedule: { kind: 'replay', from: 0 }, trial, snapshotAt: ks });
  const artifacts: Record<string, Record<string, Float32Array | Uint8Array>> = {
    [keys.dense(trial)]: packLevel(res.weights, masks),
    [keys.theta0(trial)]: theta0,
  };
  for (const k of ks) artifacts[keys.thetaK(trial, k)] = res.snapshots.get(k)!;
  record(ctx, job, '', trial, 0, masks, res, started, artifacts);
}

/** Levels a chain still has to train (empty when done). Needs level 0 of its trial to be stored. */
export function remainingLevels(ctx: Context, chain: Chain, trial: number): number[] {
  const done = ctx.store.doneLevels(ctx.experimentId, chain.name, trial);
  const last = done.length ? done[done.length - 1] : 0;
  const target = ctx.spec.pruning.targetPercent;
  if (target !== null && last > 0) {
    const row = ctx.store.db
      .prepare("SELECT percent_remaining p FROM results WHERE experiment_id=? AND strategy=? AND trial=? AND level=? AND branch=''")
      .get(ctx.experimentId, chain.name, trial, last) as { p: number };
    if (row.p <= target) return [];
  }
  const out: number[] = [];
  for (let l = last + 1; l <= ctx.spec.pruning.levels; l++) out.push(l);
  return out;
}

/** Runs a chain's unfinished levels, one commit per level. */
export async function runChain(ctx: Context, chain: Chain, trial: number): Promise<void> {
  const seed = trialSeed(ctx.spec, trial);
  const job = `${chain.name} t${trial}`;
  const theta0 = ctx.store.readArtifact(ctx.experimentId, keys.theta0(trial)) as Weights;
  const thetaK = chain.strategy.needsThetaK ? (ctx.store.readArtifact(ctx.experimentId, keys.thetaK(trial, chain.strategy.k)) as Weights) : null;
  for (;;) {
    const [level] = remainingLevels(ctx, chain, trial);
    if (level === undefined) return;
    const started = Date.now();
    const prev = unpackLevel(ctx.store.readArtifact(ctx.experimentId, level === 1 ? keys.dense(trial) : keys.level(trial, chain.name, level - 1)));
    const masks = prune({
      model: ctx.model,
      masks: prev.masks,
      init: theta0,
      final: prev.weights,
      spec: ctx.spec.pruning,
      criterion: chain.criterion,
      rng: makeRng('prune', seed, chain.name, level),
    });
    const init = chain.strategy.reset({
      model: ctx.model,
      init: ctx.spec.model.init,
      theta0,
      thetaK,
      thetaFinal: prev.weights,
      masks,
      rng: makeRng('reset', seed, chain.name, level),
    });
    const res = await trainLevel(ctx, job, level, { init, masks, schedule: chain.strategy.schedule(ctx.plan), trial });
    record(ctx, job, chain.name, trial, level, masks, res, started, { [keys.level(trial, chain.name, level)]: packLevel(res.weights, masks) });
  }
}
