import { initialize, type Weights } from '../models/index.js';
import {
  AT_INIT_DEFAULTS,
  atInitScores,
  denseMasks,
  isAtInit,
  keepTop,
  obdScores,
  prune,
  prunePools,
  sampleAt,
  saliencySample,
  type SaliencySample,
} from '../pruning/index.js';
import { denseStepMultiplyAdds, keptCounts, scheduleMultiplyAdds } from '../pruning/compute.js';
import { dynamicSparsity, earlyBirdSearch, EarlyBirdFound, gradualPruning, levelTargets, type MaskSchedule } from '../pruning/during.js';
import type { Masks } from '../models/index.js';
import { stepToIterations } from '../spec/index.js';
import { fixedMaskMacs, maskCost, plus } from './compute.js';
import { MASK0 } from '../mask0/index.js';
import { makeRng } from '../util/index.js';
import { runBranches } from './branch-rows.js';
import { sampleIndices, unitStatistics } from '../pruning/index.js';
import { UNIT_CRITERIA } from '../pruning/index.js';
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
  const n = res.iterations;
  await record(
    ctx,
    job,
    { strategy: '', trial, level: 0 },
    masks,
    res,
    started,
    artifacts,
    { compute: { totalIterations: n, totalMultiplyAdds: n * denseStepMultiplyAdds(ctx.model, ctx.plan.spec.batchSize) } },
    res.weights,
  );
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

/**
 * Runs a chain's unfinished levels and branches, one commit per row. A twin chain (chain.twinOf)
 * trains no level: each is copied from the chain it duplicates once that level is stored there;
 * its branches run as usual off the copied levels. 'waiting': a twin whose next source level is
 * not stored yet (another job trains it; run this job again later).
 */
export async function runChain(ctx: Context, chain: Chain, trial: number): Promise<'done' | 'waiting'> {
  const seed = trialSeed(ctx.spec, trial);
  const job = `${chain.name} t${trial}`;
  const oneShot = ctx.spec.pruning.schedule === 'one-shot';
  const theta0 = ctx.store.loadArtifact(ctx.experimentId, keys.theta0(trial)) as Weights;
  const criterion = chain.criterion ?? ctx.spec.pruning.criterion;
  const atInit = ctx.spec.pruning.atInit ?? AT_INIT_DEFAULTS;
  // SNIP and GraSP score θ0 on one fixed sample of the training split per trial (the same for
  // every chain and level); SynFlow is data-free (docs/PAPERS.md#when-to-prune).
  let sample: SaliencySample | null = null;
  if (isAtInit(criterion) && criterion !== 'synflow') sample = saliencySample(ctx.data.train, atInit.sample, makeRng('saliency-sample', seed));
  // OBD scores the trained weights on pruning.sample, the draw the data-driven unit criteria read.
  if (criterion === 'obd') sample = sampleAt(ctx.data.train, sampleIndices(ctx.data.train.n, ctx.spec.pruning.sample.size, ctx.spec.pruning.sample.seed));
  const thetaK = chain.strategy.needsThetaK ? (ctx.store.loadArtifact(ctx.experimentId, keys.thetaK(trial, chain.strategy.k)) as Weights) : null;
  for (;;) {
    await runBranches(ctx, chain, trial, theta0);
    const [level] = remainingLevels(ctx, chain, trial);
    if (level === undefined) return 'done';
    if (chain.twinOf !== null) {
      if (!copyTwinLevel(ctx, chain, chain.twinOf, trial, level)) return 'waiting';
      continue;
    }
    if (chain.during) {
      await runDuringLevel(ctx, chain, trial, level, theta0);
      continue;
    }
    const started = Date.now();
    // One-shot: every level prunes the dense network, as far as `level` iterative rounds would.
    const prev = ctx.store.loadLevel(ctx.experimentId, oneShot ? keys.dense(trial) : keys.chainLevel(trial, chain.name, level - 1));
    const p = ctx.spec.pruning;
    const dataDriven = p.granularity !== 'weight' && UNIT_CRITERIA[chain.unitCriterion].needsData;
    const unitStats = dataDriven
      ? await unitStatistics(ctx.model, prev.weights, ctx.data.train, sampleIndices(ctx.data.train.n, p.sample.size, p.sample.seed))
      : undefined;
    const masks = prune({
      model: ctx.model,
      masks: prev.masks,
      init: theta0,
      final: prev.weights,
      spec: ctx.spec.pruning,
      criterion: chain.criterion,
      rng: makeRng('prune', seed, chain.name, level),
      rounds: oneShot ? level : 1,
      // At-init criteria score θ0 under the masks pruned so far, never trained weights.
      saliency: isAtInit(criterion)
        ? (m) => atInitScores(ctx.model, criterion, theta0, m, sample)
        : criterion === 'obd' && sample
          ? (m) => obdScores(ctx.model, prev.weights, m, sample)
          : undefined,
      iterations: criterion === 'synflow' ? atInit.synflowIterations : 1,
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
    const compute = plus(maskCost(ctx, chain, trial, level), res.iterations, fixedMaskMacs(ctx, masks, res.iterations));
    await record(
      ctx,
      job,
      { strategy: chain.name, trial, level },
      masks,
      res,
      started,
      { [keys.level(trial, chain.name, level)]: packLevel(res.weights, masks) },
      { compute },
      res.weights,
    );
  }
}

/** Stores level `level` of twin `chain` as a copy of the source's (false: not stored there yet). */
function copyTwinLevel(ctx: Context, chain: Chain, source: string, trial: number, level: number): boolean {
  if (!ctx.store.doneLevels(ctx.experimentId, source, trial).includes(level)) return false;
  ctx.store.copyLevel(ctx.experimentId, { strategy: source, trial, level }, chain.name, [
    { from: keys.level(trial, source, level), to: keys.level(trial, chain.name, level) },
  ]);
  ctx.emit({ type: 'level-copied', job: `${chain.name} t${trial}`, level, from: source });
  return true;
}

/** θ0 ⊙ m, biases from θ0. */
const maskedTheta0 = (ctx: Context, theta0: Weights, masks: Masks): Weights =>
  Object.fromEntries(
    ctx.model.params.map((p) => [p.name, masks[p.name] ? theta0[p.name].map((v, i) => (masks[p.name][i] ? v : 0)) : Float32Array.from(theta0[p.name])]),
  );

/**
 * Level L of a chain that prunes during training (docs/PAPERS.md#when-to-prune): θ0 trained
 * once, for the full schedule, reaching level L's per-pool counts — gradually from dense
 * (Zhu & Gupta), at those counts from a random mask throughout (SET, RigL), or after an
 * early-bird search on a dense replay of level 0 (You et al.: same θ0, same batches).
 */
async function runDuringLevel(ctx: Context, chain: Chain, trial: number, level: number, theta0: Weights): Promise<void> {
  const d = chain.during!;
  const started = Date.now();
  const seed = trialSeed(ctx.spec, trial);
  const job = `${chain.name} t${trial}`;
  const pools = prunePools(ctx.model, ctx.spec.pruning);
  const dense = denseMasks(ctx.model);
  const targets = levelTargets(pools, dense, level);
  const rng = makeRng('during', seed, chain.name, level);
  const steps = (x: Parameters<typeof stepToIterations>[0]) => stepToIterations(x, ctx.plan.itersPerEpoch);
  const batch = ctx.plan.spec.batchSize;
  const replay = { kind: 'replay', from: 0 } as const;
  const file = { [keys.level(trial, chain.name, level)]: {} };
  if (d.kind === 'early-bird') {
    const search = earlyBirdSearch({ pools, dense, targets, every: ctx.plan.evalEvery, epsilon: d.epsilon, window: d.window, rng });
    let masks: Masks;
    let detection: number;
    try {
      // The dense replay of level 0 (same θ0, same batches) until the ticket is found.
      const res = await trainLevel(ctx, `${job} search`, level, {
        init: theta0,
        masks: dense,
        schedule: replay,
        trial,
        stepCallbacks: [search],
        orderLevel: 0,
      });
      // Never detected: the mask of the fully trained dense network.
      detection = res.iterations;
      masks = Object.fromEntries(Object.entries(dense).map(([k, v]) => [k, Uint8Array.from(v)]));
      pools.forEach((p, j) => keepTop(masks, p.names, Object.fromEntries(p.names.map((n) => [n, res.weights[n].map(Math.abs)])), targets[j], rng));
    } catch (e) {
      if (!(e instanceof EarlyBirdFound)) throw e;
      detection = e.step;
      masks = e.masks;
    }
    const res = await trainLevel(ctx, job, level, { init: maskedTheta0(ctx, theta0, masks), masks, schedule: replay, trial });
    const searchMacs = detection * denseStepMultiplyAdds(ctx.model, batch);
    const compute = {
      totalIterations: detection + res.iterations,
      totalMultiplyAdds: searchMacs + fixedMaskMacs(ctx, masks, res.iterations),
      detectionIteration: detection,
    };
    file[keys.level(trial, chain.name, level)] = packLevel(res.weights, masks);
    await record(ctx, job, { strategy: chain.name, trial, level }, masks, res, started, file, { compute, distances: search.distances }, res.weights);
    return;
  }
  const end = d.end === null ? Math.floor(0.75 * ctx.plan.iterations) : steps(d.end);
  let start: Masks;
  let schedule: MaskSchedule;
  if (d.kind === 'gradual') {
    start = dense;
    schedule = gradualPruning({ pools, masks: dense, targets, start: steps(d.start), end, every: steps(d.every), rng });
  } else {
    // A random mask at the level's counts (per layer under layerwise scope), as SET and RigL start.
    start = prune({ model: ctx.model, masks: dense, init: theta0, final: theta0, spec: ctx.spec.pruning, criterion: 'random', rng, rounds: level });
    schedule = dynamicSparsity({ pools, masks: start, regrow: d.regrow, dropFraction: d.dropFraction, end, every: steps(d.every), rng });
  }
  const res = await trainLevel(ctx, job, level, { init: maskedTheta0(ctx, theta0, start), masks: start, schedule: replay, trial, stepCallbacks: [schedule] });
  const masks = schedule.masks();
  const updates = new Set(schedule.churn.map((c) => c.step)).size;
  const macs = scheduleMultiplyAdds(
    ctx.model,
    batch,
    { from: 0, to: res.iterations },
    keptCounts(start),
    schedule.churn,
    d.kind === 'dynamic' && d.regrow === 'gradient' ? updates : 0,
  );
  file[keys.level(trial, chain.name, level)] = packLevel(res.weights, masks);
  await record(
    ctx,
    job,
    { strategy: chain.name, trial, level },
    masks,
    res,
    started,
    file,
    { compute: { totalIterations: res.iterations, totalMultiplyAdds: macs }, churn: schedule.churn },
    res.weights,
  );
}
