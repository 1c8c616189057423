import { initialize, type Weights } from '../models/index.js';
import { denseMasks, prune } from '../pruning/index.js';
import { sampleIndices, unitStatistics } from '../pruning/statistics.js';
import { UNIT_CRITERIA } from '../pruning/units.js';
import { MASK0 } from '../strategies/index.js';
import { makeRng } from '../util/rng.js';
import { runBranches } from './branches.js';
import { trialSeed, type Chain, type Context } from './context.js';
import { keys, packLevel, record, trainLevel } from './levels.js';
import { planRun } from './plan.js';

/**
 * The level loop. Level 0 (dense) is trained once per trial and shared by every chain;
 * each chain then prunes, resets and retrains level after level. Every level reads its
 * inputs from stored files and writes its outputs in one commit, so a run can stop after
 * any level and the next `lth run` continues bit-exactly. A level's branches run right
 * after it is stored (and, on resume, before the chain goes on).
 */

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
  await record(ctx, job, { strategy: '', trial, level: 0 }, masks, res, started, artifacts, res.weights);
}

/** Levels a chain still has to train (empty when done). Needs level 0 of its trial to be stored. */
export function remainingLevels(ctx: Context, chain: Chain, trial: number): number[] {
  const done = ctx.store.doneLevels(ctx.experimentId, chain.name, trial);
  const last = done.length ? done[done.length - 1] : 0;
  // Termination (targetPercent, maxAccuracyDrop) is the run plan's call, so lth run and lth status agree.
  const task = planRun(ctx.spec, ctx.store.storedRows(ctx.experimentId)).chains.find((c) => c.chain === chain.name && c.trial === trial);
  if (task?.stoppedAt != null) return [];
  const out: number[] = [];
  for (let l = last + 1; l <= ctx.spec.pruning.levels; l++) out.push(l);
  return out;
}

/** Runs a chain's unfinished levels and branches, one commit per row. */
export async function runChain(ctx: Context, chain: Chain, trial: number): Promise<void> {
  const seed = trialSeed(ctx.spec, trial);
  const job = `${chain.name} t${trial}`;
  const oneShot = ctx.spec.pruning.schedule === 'one-shot';
  const theta0 = ctx.store.loadArtifact(ctx.experimentId, keys.theta0(trial)) as Weights;
  const thetaK = chain.strategy.needsThetaK ? (ctx.store.loadArtifact(ctx.experimentId, keys.thetaK(trial, chain.strategy.k)) as Weights) : null;
  for (;;) {
    await runBranches(ctx, chain, trial, theta0);
    const [level] = remainingLevels(ctx, chain, trial);
    if (level === undefined) return;
    const started = Date.now();
    // One-shot: every level prunes the dense network, as far as `level` iterative rounds would.
    const prev = ctx.store.loadLevel(ctx.experimentId, oneShot ? keys.dense(trial) : keys.chainLevel(trial, chain.name, level - 1));
    const p = ctx.spec.pruning;
    const dataDriven = p.granularity !== 'weight' && UNIT_CRITERIA[chain.unitCriterion].needsData;
    const unitStats = dataDriven ? await unitStatistics(ctx.model, prev.weights, ctx.data.train, sampleIndices(ctx.data.train.n, p.sample.size, p.sample.seed)) : undefined;
    const masks = prune({
      model: ctx.model,
      masks: prev.masks,
      init: theta0,
      final: prev.weights,
      spec: ctx.spec.pruning,
      criterion: chain.criterion,
      rng: makeRng('prune', seed, chain.name, level),
      rounds: oneShot ? level : 1,
      unitCriterion: chain.unitCriterion,
      unitStats,
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
    const frozen = MASK0[chain.mask0].frozen({ model: ctx.model, theta0, prevFinal: prev.weights, prevMasks: prev.masks, masks }) ?? undefined;
    const res = await trainLevel(ctx, job, level, { init, masks, frozen, schedule: chain.strategy.schedule(ctx.plan), trial });
    await record(ctx, job, { strategy: chain.name, trial, level }, masks, res, started, { [keys.level(trial, chain.name, level)]: packLevel(res.weights, masks) }, res.weights);
  }
}
