import { initialize, initializerOf, isPretrained, readModelWeights, type Masks, type Weights } from '../models/index.js';
import { evaluateWeights } from '../training/index.js';
import { chainPruning, fullMasks, duringPruner, type DuringOutcome } from '../pruning/index.js';
import { denseStepMultiplyAdds } from '../pruning/compute.js';
import { stepToIterations } from '../spec/index.js';
import { fixedMaskMacs, maskCost, plus } from './compute.js';
import { MASK0 } from '../mask0/index.js';
import { makeRng } from '../util/index.js';
import { runBranches } from './branch-rows.js';
import { trialSeed, type Chain, type Context } from './context.js';
import { earlyStopArtifact, keys, packLevel, record, trainLevel, type Artifact } from './levels.js';
import { planRun } from './plan.js';

/**
 * The level loop. Level 0 (dense) is trained once per trial and shared by every chain;
 * each chain then prunes, resets and retrains level after level. Every level reads its
 * inputs from stored files and writes its outputs in one commit, so a run can stop after
 * any level and the next `lth run` continues bit-exactly. A level's branches run right
 * after it is stored (and, on resume, before the chain goes on).
 */

/** Rewind points any chain needs from level 0 (a chain with a start source of its own takes θ_k from there). */
const rewindPoints = (ctx: Context): number[] => [...new Set(ctx.chains.filter((c) => c.strategy.needsThetaK && !c.start).map((c) => c.strategy.k))];

/** What a chain's levels start from: θ0 and θ_k (the chain's reset reads them at every level). */
export interface ChainInputs {
  readonly theta0: Weights;
  readonly thetaK: Weights | null;
}

/**
 * A chain's θ0 and θ_k: its trial's (stored with level 0), or, for a chain with a start source
 * (src/resets/start.ts), the source's as stored with the chain's level 1. `first`: before level 1
 * is stored, the source's mask for level 1 and the weight files to store with it (so every later
 * level, branch and resume reads this experiment's files only); null once it is stored.
 */
function chainInputs(ctx: Context, chain: Chain, trial: number): ChainInputs & { first: { masks: Masks; artifacts: Record<string, Artifact> } | null } {
  const load = (key: string) => ctx.store.loadArtifact(ctx.experimentId, key) as Weights;
  const k = chain.strategy.k;
  if (!chain.start) return { theta0: load(keys.theta0(trial)), thetaK: chain.strategy.needsThetaK ? load(keys.thetaK(trial, k)) : null, first: null };
  const k0 = keys.chainTheta0(trial, chain.name);
  const kK = keys.chainThetaK(trial, chain.name, k);
  if (ctx.store.hasArtifact(ctx.experimentId, k0)) return { theta0: load(k0), thetaK: chain.strategy.needsThetaK ? load(kK) : null, first: null };
  const s = chain.start.load(load(keys.theta0(trial)));
  const artifacts: Record<string, Artifact> = { [k0]: s.theta0 };
  if (s.thetaK) artifacts[kK] = s.thetaK;
  return { theta0: s.theta0, thetaK: s.thetaK, first: { masks: s.masks, artifacts } };
}

export function denseDone(ctx: Context, trial: number): boolean {
  return ctx.store.doneLevels(ctx.experimentId, '', trial).includes(0);
}

/**
 * Level 0 of a trial: draw θ0 (or read it from the model file, model.init "file"), train dense,
 * keep θ_k for every rewind point. A pretrained model file (model.weights "pretrained") is
 * evaluated instead, not trained: its weights are level 0's final weights, and are stored as θ0
 * too, which no chain reads as an initialization (src/spec/check.ts refuses those that would).
 */
export async function runDense(ctx: Context, trial: number): Promise<void> {
  if (denseDone(ctx, trial)) return;
  const started = Date.now();
  const seed = trialSeed(ctx.spec, trial);
  const m = ctx.spec.model;
  const init = initializerOf(m);
  const theta0 = init === null && 'file' in m ? readModelWeights(m.file, ctx.model.graph) : initialize(ctx.model, init!, 'theta0', seed);
  const masks = fullMasks(ctx.model);
  if (isPretrained(m)) {
    const p = await evaluateWeights(ctx.model, theta0, ctx.data);
    const res = { curve: [p], earlyStop: p, final: p, iterations: 0 };
    const artifacts = { [keys.level0(trial)]: packLevel(theta0, masks), [keys.theta0(trial)]: theta0 };
    return record(
      ctx,
      `dense t${trial}`,
      { strategy: '', trial, level: 0 },
      masks,
      res,
      started,
      artifacts,
      { compute: { totalIterations: 0, totalMultiplyAdds: 0 } },
      theta0,
    );
  }
  const ks = rewindPoints(ctx);
  const job = `dense t${trial}`;
  const keepEarlyStop = ctx.spec.training.keepEarlyStop;
  const res = await trainLevel(ctx, job, 0, { init: theta0, masks, schedule: { kind: 'replay', from: 0 }, trial, snapshotAt: ks, keepEarlyStop });
  const artifacts: Record<string, Record<string, Float32Array | Uint8Array>> = {
    [keys.level0(trial)]: packLevel(res.weights, masks),
    [keys.theta0(trial)]: theta0,
    ...earlyStopArtifact(keys.earlyStop(trial, '', 0), res),
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
  const inputs = chainInputs(ctx, chain, trial);
  const { theta0, thetaK } = inputs;
  // What the chain's criterion needs (a data sample, unit statistics, rounds) is its pruner's business (src/pruning/level.ts).
  const pruning = chainPruning({
    model: ctx.model,
    pruning: ctx.spec.pruning,
    criterion: chain.criterion,
    unitCriterion: chain.unitCriterion,
    train: ctx.data.train,
    trialSeed: seed,
    theta0,
  });
  for (;;) {
    await runBranches(ctx, chain, trial, inputs);
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
    const prev = ctx.store.loadLevel(ctx.experimentId, oneShot ? keys.level0(trial) : keys.chainLevel(trial, chain.name, level - 1));
    // prune → reset → mask-0 → train → record (level 1 of a chain with a start source takes its mask from there)
    const given = level === 1 ? inputs.first : null;
    if (given) ctx.emit({ type: 'log', message: `${job}: starts from ${chain.start!.summary}` });
    const masks =
      given?.masks ??
      (await pruning.pruneLevel({
        masks: prev.masks,
        final: prev.weights,
        rng: makeRng('prune', seed, chain.name, level),
        rounds: oneShot ? level : 1,
        level,
      }));
    const init = chain.strategy.reset({
      model: ctx.model,
      init: initializerOf(ctx.spec.model),
      theta0,
      thetaK,
      thetaFinal: prev.weights,
      masks,
      rng: makeRng('reset', seed, chain.name, level),
    });
    const frozen = MASK0[chain.mask0].frozen({ model: ctx.model, theta0, prevFinal: prev.weights, prevMasks: prev.masks, masks }) ?? undefined;
    const res = await trainLevel(ctx, job, level, {
      init,
      masks,
      frozen,
      schedule: chain.strategy.schedule(ctx.plan),
      trial,
      keepEarlyStop: ctx.spec.training.keepEarlyStop,
    });
    const compute = plus(maskCost(ctx, chain, trial, level), res.iterations, fixedMaskMacs(ctx, masks, res.iterations));
    await record(
      ctx,
      job,
      { strategy: chain.name, trial, level },
      masks,
      res,
      started,
      {
        [keys.level(trial, chain.name, level)]: packLevel(res.weights, masks),
        ...given?.artifacts,
        ...earlyStopArtifact(keys.earlyStop(trial, chain.name, level), res),
      },
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

/**
 * Level L of a chain that prunes during training (docs/PAPERS.md#when-to-prune): θ0 trained
 * once, for the full schedule, by the chain's during-training pruner (src/pruning/registry.ts),
 * which moves the mask to level L's per-pool counts; the row it returns is stored here.
 */
async function runDuringLevel(ctx: Context, chain: Chain, trial: number, level: number, theta0: Weights): Promise<void> {
  const d = chain.during!;
  const started = Date.now();
  const job = `${chain.name} t${trial}`;
  const out: DuringOutcome = await duringPruner(d.kind).run(d, {
    model: ctx.model,
    pruning: ctx.spec.pruning,
    plan: ctx.plan,
    train: ctx.data.train,
    level,
    theta0,
    rng: makeRng('during', trialSeed(ctx.spec, trial), chain.name, level),
    steps: (x) => stepToIterations(x, ctx.plan.itersPerEpoch),
    trainFrom: (a) =>
      trainLevel(ctx, a.label ? `${job} ${a.label}` : job, level, {
        init: a.init,
        masks: a.masks,
        schedule: { kind: 'replay', from: 0 },
        trial,
        stepCallbacks: a.stepCallbacks,
        orderLevel: a.orderLevel,
      }),
  });
  await record(
    ctx,
    job,
    { strategy: chain.name, trial, level },
    out.masks,
    out.res,
    started,
    { [keys.level(trial, chain.name, level)]: packLevel(out.res.weights, out.masks) },
    { compute: out.compute, churn: out.churn, distances: out.distances },
    out.res.weights,
  );
}
